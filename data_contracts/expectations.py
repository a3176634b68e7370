"""Great Expectations suites derived from the feed contracts, run on typed rows, and Data Docs.

`suite_for` turns one FeedContract into an ExpectationSuite: nothing here restates a
column, a type or an allowed value. Every expectation carries the quarantine reason
code it mirrors (`meta.reason`, e.g. `range:price_cny`) and a Chinese + English
description that the Data Docs show.

The committed suites (`gx_suites/<feed>.json`, what `committed_suite` loads) run on the rows
read in a run (`validate_typed`, `FileBatch.gx_rows`): each rule holds on every ACCEPTED typed
row (a row condition `_quarantined == False`; values are already canonical codes), an
independent second check of the Polars validation in `validate.py`, which has already
quarantined every row that breaks a rule, and any failure names the file and the in-file
`_row_number` it disagrees on. What quarantine already handles is one expectation with a
`mostly` threshold: `_quarantined` is false on at least 1 − `limits.quarantined_share` of the
rows read, so GX's own result fails a feed whose files had more rows set aside than the
contract allows, and only then. A few rules cannot be written as GX
expectations and are checked only in `validate.py`: the USCC check digit (the suite
checks the GB 32100 shape), "does not parse" (`type:*`, a typed cell is then null)
and malformed records. The compound key is not expected unique: a batch may repeat a
key (the last row wins).

Personal columns never reach GX (they are dropped before validating), and results
keep unexpected values only for coded and numeric columns, never for text.

Regenerate the committed suites after editing feeds.yaml:
    python -m data_contracts.expectations
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, unquote, urlparse

import great_expectations as gx
import great_expectations.expectations as gxe
import polars as pl
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.core.expectation_validation_result import (
    expectationSuiteValidationResultSchema,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.datasource.fluent import PandasDatasource
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.row_conditions import Column as RowColumn

from data_contracts.batch import FILE, QUARANTINED
from data_contracts.contract import (
    CONTRACT_DIR,
    Column,
    FeedContract,
    contracts,
    limits,
    provinces,
    regions,
)
from data_contracts.steward_docs import file_slug
from data_contracts.uscc import _FORMAT as USCC_FORMAT

SUITE_DIR = CONTRACT_DIR / "gx_suites"
DATASOURCE = "radar_typed_rows"
ROW_NUMBER = "_row_number"
SITE = "radar"
SHARE_REASON = "limit:quarantined_share"
# The rows a rule of the suite holds on: those the row checks accepted.
ACCEPTED = RowColumn(QUARANTINED) == False  # noqa: E712 (a GX condition, not a comparison)

# Types whose unexpected values may be shown in results: codes and numbers, never text.
SHOWN_VALUE_TYPES = frozenset(
    {"enum", "category", "platform", "region", "uscc", "date", "timestamp", "decimal", "integer"}
)
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [FILE, ROW_NUMBER],
    "return_unexpected_index_query": False,
}


# ---------------------------------------------------------------------------------------
# The suite
# ---------------------------------------------------------------------------------------


def _meta(check: str, column: str) -> dict[str, str]:
    return {"reason": f"{check}:{column}"}


def _codes(values: list[str], shown: int = 8) -> str:
    listed = ", ".join(values[:shown])
    return listed + (f", … ({len(values)} codes)" if len(values) > shown else "")


def _range_words(c: Column) -> str:
    if c.min_exclusive is not None and c.max is not None:
        return f"须大于 {c.min_exclusive:g} 且不大于 {c.max:g} must be > {c.min_exclusive:g} and ≤ {c.max:g}"
    if c.min_exclusive is not None:
        return f"须大于 must be > {c.min_exclusive:g}"
    if c.min is not None and c.max is not None:
        return f"须在 {c.min:g} 到 {c.max:g} 之间 must be between {c.min:g} and {c.max:g}"
    if c.min is not None:
        return f"须不小于 must be ≥ {c.min:g}"
    return f"须不大于 must be ≤ {c.max:g}"


def region_any_regex() -> str:
    """A region code of any province in provinces.csv; a Qinghai (63) code must be a listed county."""
    other = "|".join(sorted(p for p in provinces() if p != "63"))
    qinghai = "|".join(sorted(regions()))
    return rf"^(?:(?:{other})\d{{4}}|{qinghai})$"


def column_expectations(c: Column) -> list[gxe.Expectation]:
    """The expectations that mirror one column's quarantine checks, in the order of its reasons."""
    name = c.name
    out: list[gxe.Expectation] = []
    if c.required:
        out.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=name,
                row_condition=ACCEPTED,
                meta=_meta("required", name),
                description=f"{name} 必填 is required (must not be empty)",
            )
        )
    if c.type in ("enum", "category", "platform"):
        codes = list(c.values)
        out.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=name,
                value_set=codes,
                row_condition=ACCEPTED,
                meta=_meta("enum", name),
                description=f"{name} 须为允许的代码 must be an allowed code: {_codes(codes)}",
            )
        )
    if c.type == "region":
        out.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column=name,
                regex=r"^\d{6}$",
                row_condition=ACCEPTED,
                meta=_meta("region", name),
                description=f"{name} 须为六位区划代码 must be a six-digit GB/T 2260 code",
            )
        )
        if c.scope == "in_province":
            codes = sorted(regions())
            out.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=name,
                    value_set=codes,
                    row_condition=ACCEPTED,
                    meta=_meta("region", name),
                    description=(
                        f"{name} 须为青海省县级区划 must be a Qinghai county in regions.csv "
                        f"({len(codes)} codes; retired codes already mapped)"
                    ),
                )
            )
        else:
            out.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=name,
                    regex=region_any_regex(),
                    row_condition=ACCEPTED,
                    meta=_meta("region", name),
                    description=(
                        f"{name} 须以省级代码 (provinces.csv) 开头，63 开头须为青海省县级区划 "
                        "must start with a province code of provinces.csv; "
                        "a 63xxxx code must be in regions.csv"
                    ),
                )
            )
    if c.type == "uscc":
        out.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column=name,
                regex=USCC_FORMAT.pattern,
                row_condition=ACCEPTED,
                meta=_meta("uscc", name),
                description=(
                    f"{name} 须符合统一社会信用代码格式 must have the GB 32100 shape "
                    "(the check digit is verified before typing)"
                ),
            )
        )
    if c.type in ("decimal", "integer") and (
        c.min is not None or c.max is not None or c.min_exclusive is not None
    ):
        low = c.min_exclusive if c.min_exclusive is not None else c.min
        out.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=name,
                min_value=low,
                max_value=c.max,
                strict_min=c.min_exclusive is not None,
                row_condition=ACCEPTED,
                meta=_meta("range", name),
                description=f"{name} {_range_words(c)}",
            )
        )
    if c.required_when:
        other, equals = c.required_when
        out.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=name,
                row_condition=(RowColumn(other) == equals) & ACCEPTED,
                meta=_meta("required_when", name),
                description=f"{other} 为 {equals} 时 {name} 必填 is required when {other} is {equals}",
            )
        )
    return out


def share_expectation() -> gxe.Expectation:
    """What quarantine handles, as GX sees it: at most the contract's share of the rows read
    set aside (`limits.quarantined_share`), GX's `mostly`."""
    limit = limits().quarantined_share
    return gxe.ExpectColumnValuesToBeInSet(
        column=QUARANTINED,
        value_set=[False],
        mostly=round(1 - limit, 6),
        meta={"reason": SHARE_REASON},
        description=(
            f"隔离行不超过读入行的 {limit:.0%} at most {limit:.0%} of the rows read quarantined "
            "by the row checks (feeds.yaml limits.quarantined_share)"
        ),
    )


def suite_for(contract: FeedContract) -> gx.ExpectationSuite:
    """The feed's ExpectationSuite, derived from its contract (personal columns have none)."""
    expectations = [e for c in contract.staging_columns for e in column_expectations(c)]
    expectations.append(share_expectation())
    # Built in one go: add_expectation would need (and save into) an active GX context.
    suite = gx.ExpectationSuite(
        name=contract.name, expectations=expectations, meta={"title": contract.title}
    )
    if len(suite.expectations) != len(expectations):
        raise ValueError(f"GX rejected an expectation of {contract.name}; see the log")
    return suite


def committed_suite(feed: str) -> gx.ExpectationSuite:
    """The feed's committed suite, `gx_suites/<feed>.json` (a test keeps it equal to what
    the contract derives): what a run validates with."""
    return gx.ExpectationSuite(**json.loads((SUITE_DIR / f"{feed}.json").read_text("utf-8")))


def checked_columns(contract: FeedContract) -> list[str]:
    """The columns the suite reads, in contract order (never a personal column)."""
    needed = set()
    for c in contract.staging_columns:
        if column_expectations(c):
            needed.add(c.name)
        if c.required_when:
            needed.add(c.required_when[0])
    return [c.name for c in contract.staging_columns if c.name in needed] + [QUARANTINED]


def suite_json(contract: FeedContract) -> str:
    """The suite as the committed JSON text (stable key order, UTF-8, trailing newline)."""
    return json.dumps(suite_for(contract).to_json_dict(), ensure_ascii=False, indent=2) + "\n"


def write_suites(directory: Path = SUITE_DIR) -> list[Path]:
    """Write every feed's suite as `<feed>.json` into `directory`; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for contract in contracts().values():
        path = directory / f"{contract.name}.json"
        path.write_text(suite_json(contract), encoding="utf-8")
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------
# Validating one batch of typed rows
# ---------------------------------------------------------------------------------------


def gx_context() -> AbstractDataContext:
    """An ephemeral GX context (nothing written to disk) with progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's outcome on one batch: the reason it mirrors and the rows it failed."""

    reason: str
    expectation: str
    column: str
    success: bool
    unexpected_count: int
    unexpected_rows: tuple[int, ...]  # in-file row numbers
    unexpected_files: tuple[str, ...] = ()  # the file of each of them


@dataclass
class FeedValidation:
    """The outcome of one feed's suite on one batch of rows read (accepted and quarantined)."""

    feed: str
    file: str
    rows: int  # accepted rows validated
    outcomes: list[ExpectationOutcome]
    result: ExpectationSuiteValidationResult  # sanitised: no text values, no personal columns
    validated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    rows_read: int = 0  # accepted and quarantined rows of the files validated
    rows_quarantined: int = 0
    max_quarantined_share: float = 1.0

    @property
    def quarantined_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def too_much_quarantined(self) -> bool:
        """GX's `mostly` on `_quarantined` failed: more rows set aside than the contract allows."""
        return any(o.reason == SHARE_REASON and not o.success for o in self.outcomes)

    @property
    def success(self) -> bool:
        """GX's verdict: the accepted rows meet every rule and few enough were quarantined."""
        return all(o.success for o in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def reasons_by_row(self) -> dict[int, list[str]]:
        """Accepted row number -> the reason codes of the rules it failed."""
        out: dict[int, list[str]] = {}
        for o in self.failed:
            if o.reason == SHARE_REASON:
                continue
            for n in o.unexpected_rows:
                out.setdefault(n, []).append(o.reason)
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """The GX validation result as JSON, with the file it came from in its meta."""
        return self.result.to_json_dict()


def _batch_definition(context: AbstractDataContext, feed: str) -> BatchDefinition:
    """The whole-dataframe batch definition of a feed's typed rows (created on first use)."""
    names = {ds.name for ds in context.data_sources.all().values()}
    if DATASOURCE in names:
        source = cast(PandasDatasource, context.data_sources.get(DATASOURCE))
    else:
        source = context.data_sources.add_pandas(DATASOURCE)
    if feed not in source.get_asset_names():
        source.add_dataframe_asset(feed).add_batch_definition_whole_dataframe("typed_rows")
    return source.get_asset(feed).get_batch_definition("typed_rows")


def feed_checkpoint(context: AbstractDataContext, feed: str) -> gx.Checkpoint:
    """The feed's Checkpoint: one ValidationDefinition of its committed suite on the batch of
    its accepted typed rows (created in the context on first use)."""
    if feed in {c.name for c in context.checkpoints.all()}:
        return context.checkpoints.get(feed)
    suite = context.suites.add_or_update(committed_suite(feed))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=feed, data=_batch_definition(context, feed), suite=suite)
    )
    return context.checkpoints.add(
        gx.Checkpoint(name=feed, validation_definitions=[definition], result_format=RESULT_FORMAT)
    )


def _sanitise(contract: FeedContract, result: ExpectationSuiteValidationResult) -> None:
    """Keep only row numbers for text columns; drop full value lists everywhere."""
    for r in result.results:
        details = r.result
        column = r.expectation_config.kwargs.get("column") if r.expectation_config else None
        col = next((c for c in contract.columns if c.name == column), None)
        shown = (
            col is not None
            and col.type in SHOWN_VALUE_TYPES
            and not col.personal
            and not col.free_text
        )
        details.pop("unexpected_list", None)
        details.pop("unexpected_index_query", None)
        if not shown:
            details.pop("partial_unexpected_list", None)
            details.pop("partial_unexpected_counts", None)
        for key in ("unexpected_index_list", "partial_unexpected_index_list"):
            if key in details:
                details[key] = [
                    {FILE: str(d[FILE]), ROW_NUMBER: int(d[ROW_NUMBER])} for d in details[key]
                ]


# GX's pandas engine filters the whole batch by an expectation's row condition for every metric
# it computes (about three per expectation), each time a copy of every column: at province
# scale 45 copies of a million listing rows, 70 % of the validation's CPU (the listings' suite:
# 10.1 s, 2.9 s with each batch filtered once per condition; the same results). The reference
# path of issue 22 (tests/test_pipeline.py) sets this to False: GX's own filter every time.
FILTER_ONCE = True


@contextmanager
def _row_conditions_applied_once() -> Iterator[None]:
    """While a checkpoint runs, GX's row-condition filter computed once per batch and condition
    (`FILTER_ONCE`); each caller gets its own shallow copy (pandas copies on write)."""
    engine = PandasExecutionEngine
    own = engine._apply_row_condition_filter
    if not FILTER_ONCE:
        yield
        return
    filtered: dict[tuple[int, str, str], tuple[Any, Any]] = {}

    def once(self: Any, data: Any, row_condition: Any, domain_kwargs: dict[str, Any]) -> Any:
        key = (id(data), repr(row_condition), repr(domain_kwargs.get("condition_parser")))
        hit = filtered.get(key)
        if hit is None or hit[0] is not data:  # the batch itself is kept, so its id stays its own
            hit = filtered[key] = (data, own(self, data, row_condition, domain_kwargs))
        return hit[1].copy(deep=False)

    engine._apply_row_condition_filter = once  # type: ignore[method-assign]
    try:
        yield
    finally:
        engine._apply_row_condition_filter = own  # type: ignore[method-assign]
        filtered.clear()


def validate_typed(
    contract: FeedContract,
    frame: pl.DataFrame,
    context: AbstractDataContext,
    file: str = "",
) -> FeedValidation:
    """Run the feed's committed suite through its Checkpoint on one batch of rows read: the
    accepted typed rows (contract columns, `_row_number` in its file and `_file`, else `file`
    for every row) and the quarantined ones by row number (`_quarantined`; a frame without
    that column is all accepted rows). See `FileBatch.gx_rows`.

    `file` labels the batch (the delivered path relative to landing, or how many files).
    Personal columns are dropped before GX sees the rows.
    """
    if FILE not in frame.columns:
        frame = frame.with_columns(pl.lit(file).alias(FILE))
    if QUARANTINED not in frame.columns:
        frame = frame.with_columns(pl.lit(False).alias(QUARANTINED))
    rows_read = frame.height
    rows_quarantined = int(frame[QUARANTINED].sum())
    rows = frame.select(FILE, ROW_NUMBER, *checked_columns(contract)).to_pandas()
    with _row_conditions_applied_once():
        run = feed_checkpoint(context, contract.name).run(batch_parameters={"dataframe": rows})
    (result,) = run.run_results.values()
    del rows, run
    _sanitise(contract, result)
    meta = cast(dict[str, Any], result.meta)
    # GX's validation page names the data asset from the batch spec, which a dataframe batch
    # leaves without one ("Data asset: None"): the feed's asset and the file.
    asset = meta["active_batch_definition"]["data_asset_name"]
    meta["batch_spec"] = {**meta.get("batch_spec", {}), "data_asset_name": f"{asset}: {file}"}
    meta["radar_file"] = file
    meta["radar_rows"] = rows_read - rows_quarantined
    meta["radar_rows_read"] = rows_read
    meta["radar_rows_quarantined"] = rows_quarantined
    outcomes = []
    for r in result.results:
        config = r.expectation_config
        assert config is not None
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"GX failed on {contract.name} {config.type}: "
                f"{r.exception_info.get('exception_message')}"
            )
        index = r.result.get("unexpected_index_list") or []
        outcomes.append(
            ExpectationOutcome(
                reason=str(config.meta["reason"]),
                expectation=config.type,
                column=str(config.kwargs.get("column")),
                success=bool(r.success),
                unexpected_count=int(r.result.get("unexpected_count") or 0),
                unexpected_rows=tuple(d[ROW_NUMBER] for d in index),
                unexpected_files=tuple(d[FILE] for d in index),
            )
        )
    return FeedValidation(
        contract.name,
        file,
        rows_read - rows_quarantined,
        outcomes,
        result,
        rows_read=rows_read,
        rows_quarantined=rows_quarantined,
        max_quarantined_share=limits().quarantined_share,
    )


# ---------------------------------------------------------------------------------------
# Data Docs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredResult:
    """One stored validation result of the site, as its index shows it."""

    night: str
    feed: str
    file: str
    success: bool
    rows: int  # accepted rows validated
    rows_read: int
    rows_quarantined: int
    failed: list[tuple[str, str, int, str]]  # reason, expectation, rows failing, file: rows
    page: str  # GX's page, relative to the site
    json_path: str  # relative to the site

    @property
    def too_much_quarantined(self) -> bool:
        return any(reason == SHARE_REASON for reason, *_ in self.failed)


def _stored(data: dict[str, Any], night: str, page: str, json_path: str) -> StoredResult:
    meta = data.get("meta") or {}
    failed = []
    for r in data["results"]:
        if r["success"]:
            continue
        index = r["result"].get("unexpected_index_list") or []
        shown = "; ".join(f"{d[FILE]}: {d[ROW_NUMBER]}" for d in index[:50])
        failed.append(
            (
                str(r["expectation_config"]["meta"]["reason"]),
                str(r["expectation_config"]["type"]),
                int(r["result"].get("unexpected_count") or 0),
                shown,
            )
        )
    return StoredResult(
        night=night,
        feed=str(data["suite_name"]),
        file=str(meta.get("radar_file", "")),
        success=bool(data["success"]),
        rows=int(meta.get("radar_rows", 0)),
        rows_read=int(meta.get("radar_rows_read", 0)),
        rows_quarantined=int(meta.get("radar_rows_quarantined", 0)),
        failed=failed,
        page=page,
        json_path=json_path,
    )


def _result_key(
    feed: str, night: str, validated_at: dt.datetime, file: str
) -> ValidationResultIdentifier:
    return ValidationResultIdentifier(
        ExpectationSuiteIdentifier(name=feed),
        RunIdentifier(run_name=night, run_time=validated_at),
        file_slug(file or feed),
    )


def build_data_docs(results: list[FeedValidation], out_dir: Path, run_name: str = "latest") -> Path:
    """Add one night's results to the offline Data Docs site in `out_dir` (one site for every
    night: `OUT/data_docs`) and rebuild its indexes.

    The site keeps every night built into it:
    - `results/<night>/<feed>/<file-slug>.json`: each sanitised GX validation result, the
      site's record (a night built again replaces its own results and pages);
    - GX's own pages: `validations/<feed>/<night>/...html` (rendered once, when their night is
      built), `expectations/<feed>.html`, and GX's index of every stored result as
      `gx_index.html`; all without network references (`offline_page`);
    - `index.html`: a self-contained page (no scripts, no network): every night by feed, newest
      first, each night's failed expectations with file and row numbers, and every suite.
    Returns the path of `index.html`.
    """
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / "results" / run_name, ignore_errors=True)
    for pages_of_night in (out_dir / "validations").glob(f"*/{run_name}"):
        shutil.rmtree(pages_of_night)
    context = gx_context()
    for default_site in list(context.get_site_names()):
        context.delete_data_docs_site(default_site)
    site: Any = {  # show_how_to_buttons is a SiteBuilder option GX's TypedDict omits
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(out_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    context.add_data_docs_site(SITE, site)
    suites = {c.name: context.suites.add(suite_for(c)) for c in contracts().values()}
    for v in results:
        meta = cast(dict[str, Any], v.result.meta)
        meta["radar_validated_at"] = v.validated_at.isoformat()
        json_path = out_dir / "results" / run_name / v.feed / f"{file_slug(v.file or v.feed)}.json"
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(
            json.dumps(v.to_json_dict(), ensure_ascii=False, indent=1, default=str),
            encoding="utf-8",
        )
    # Every stored result goes into GX's store (its index lists them); only this night's
    # results and the suites are rendered.
    stored: list[StoredResult] = []
    tonight: list[Any] = [ExpectationSuiteIdentifier(name=feed) for feed in suites]
    for json_path in sorted((out_dir / "results").glob("*/*/*.json")):
        night = json_path.parent.parent.name
        data = json.loads(json_path.read_text(encoding="utf-8"))
        result = expectationSuiteValidationResultSchema.load(data)
        meta = data.get("meta") or {}
        validated_at = dt.datetime.fromisoformat(str(meta.get("radar_validated_at")))
        key = _result_key(data["suite_name"], night, validated_at, meta.get("radar_file", ""))
        context.validation_results_store.set(key, result)
        if night == run_name:
            tonight.append(key)
        page = _site_page(context, key, out_dir)
        stored.append(_stored(data, night, page, json_path.relative_to(out_dir).as_posix()))
    context.build_data_docs(site_names=[SITE], resource_identifiers=tonight)
    (out_dir / "index.html").replace(out_dir / "gx_index.html")
    for html_file in out_dir.rglob("*.html"):
        text = html_file.read_text(encoding="utf-8")
        if _OFFLINE_MARK not in text:
            html_file.write_text(offline_page(text), encoding="utf-8")
    index = out_dir / "index.html"
    index.write_text(_index_html(suites, stored, run_name), encoding="utf-8")
    return index


# GX's pages load Bootstrap, jQuery, Vega and fonts from CDNs, and its logo from S3: offline
# they render unstyled. Those references are removed and this stylesheet put in their place
# (a plain rendering of the same HTML; the charts and the table filters, which need the
# scripts, are not shown).
_EXTERNAL = re.compile(
    r"<link\b[^>]*href=\"https?://[^>]*>"
    r"|<script\b[^>]*src=\"https?://[^>]*>\s*</script>"
    r"|<img\b[^>]*src=\"https?://[^>]*>",
    re.IGNORECASE,
)
_GX_OFFLINE_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.2em}th,td{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f0f0f0}.text-danger{color:#b00020}
.text-success{color:#176317}.d-none,.modal{display:none}.card{border:1px solid #ddd;margin:1em 0;
padding:.5em 1em}.card-header{font-weight:bold}nav,.navbar{margin-bottom:1em}code{font-size:90%}
ul.nav{list-style:none;padding-left:0}.badge{padding:0 .4em;border:1px solid #999;border-radius:3px}
"""


_OFFLINE_MARK = "<!-- radar: offline -->"


def offline_page(page: str) -> str:
    """A GX Data Docs page without references to the network, with a stylesheet of its own."""
    page = _EXTERNAL.sub("", page)
    return page.replace("</head>", f"<style>{_GX_OFFLINE_CSS}</style>{_OFFLINE_MARK}</head>", 1)


def _site_page(context: AbstractDataContext, key: ValidationResultIdentifier, root: Path) -> str:
    """The GX page of a validation result, relative to the site root."""
    urls = context.get_docs_sites_urls(
        resource_identifier=key, site_name=SITE, only_if_exists=False
    )
    path = Path(unquote(urlparse(urls[0]["site_url"] or "").path))
    return path.relative_to(root).as_posix()


_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f0f0f0}.ok{color:#176317}.bad{color:#b00020}
code{font-size:90%}
"""


def _index_html(
    suites: dict[str, gx.ExpectationSuite], stored: list[StoredResult], latest: str
) -> str:
    e = html.escape
    nights = sorted({r.night for r in stored}, reverse=True)
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        "<title>Counterfeit Radar 数据质量 Data Docs</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Counterfeit Radar 数据质量 Data Docs</h1>",
        f"<p>最近一次 latest night: <b>{e(latest)}</b>. "
        "每个数据源的校验规则（由 feeds.yaml 生成）及每晚的校验结果。"
        "Each feed's expectation suite (derived from feeds.yaml) and every night's results: "
        "the rules on the accepted rows of each delivered file (rows that break a rule are "
        "quarantined before), and a feed fails when more of its rows read than the "
        "contract's limit were quarantined. "
        "行号 = 文件中的记录序号 row numbers are 1-based record positions in their file. "
        '<a href="gx_index.html">GX index</a>.</p>',
        "<h2>每晚结果 Results by night</h2>",
    ]
    if nights:
        out.append("<table><tr><th>night</th>")
        out += [f"<th>{e(feed)}</th>" for feed in suites]
        out.append("</tr>")
        for night in nights:
            cells = []
            for feed in suites:
                of_feed = [r for r in stored if r.night == night and r.feed == feed]
                if not of_feed:
                    cells.append("<td>—</td>")
                elif all(r.success for r in of_feed):
                    cells.append('<td class="ok">✓ 通过 passed</td>')
                else:
                    cells.append(
                        f'<td class="bad"><a href="#night-{e(night)}">✗ 未通过 failed</a></td>'
                    )
            out.append(f'<tr><td><a href="#night-{e(night)}">{e(night)}</a></td>')
            out += cells
            out.append("</tr>")
        out.append("</table>")
    else:
        out.append("<p>尚无校验结果 no validation results yet.</p>")
    for night in nights:
        of_night = [r for r in stored if r.night == night]
        out.append(f'<h2 id="night-{e(night)}">{e(night)}</h2>')
        out.append(
            "<table><tr><th>feed</th><th>file</th><th>rows accepted</th>"
            "<th>quarantined 隔离</th><th>result</th><th>failed expectations</th><th>pages</th></tr>"
        )
        for r in of_night:
            status = (
                '<span class="ok">✓ 通过 passed</span>'
                if r.success
                else '<span class="bad">✗ 未通过 failed</span>'
            )
            share = r.rows_quarantined / r.rows_read if r.rows_read else 0.0
            quarantined = f"{r.rows_quarantined} ({share:.1%})"
            if r.too_much_quarantined:
                quarantined = f'<span class="bad">{quarantined} 超过上限 over the limit</span>'
            out.append(
                f"<tr><td>{e(r.feed)}</td><td>{e(r.file)}</td><td>{r.rows}</td>"
                f"<td>{quarantined}</td><td>{status}</td><td>{len(r.failed)}</td>"
                f'<td><a href="{e(quote(r.page))}">GX page</a> · '
                f'<a href="{e(quote(r.json_path))}">JSON</a></td></tr>'
            )
        out.append("</table>")
        for r in of_night:
            if not r.failed:
                continue
            out.append(f"<h3>{e(r.feed)} {e(r.file)}: 未通过的规则 failed expectations</h3>")
            out.append(
                "<table><tr><th>reason code</th><th>expectation</th><th>rows failing</th>"
                "<th>file: row numbers (first 50)</th></tr>"
            )
            for reason, expectation, count, shown in r.failed:
                out.append(
                    f"<tr><td><code>{e(reason)}</code></td><td><code>{e(expectation)}</code></td>"
                    f"<td>{count}</td><td>{e(shown)}</td></tr>"
                )
            out.append("</table>")
    out.append("<h2>校验规则 Suites</h2>")
    for feed, suite in suites.items():
        out.append(f'<h3 id="{e(feed)}">{e(feed)} — {e(str(suite.meta.get("title", "")))}</h3>')
        out.append(f'<p><a href="expectations/{e(quote(feed))}.html">GX suite page</a></p>')
        out.append(
            "<table><tr><th>#</th><th>column</th><th>expectation</th><th>reason code</th>"
            "<th>rule 规则</th></tr>"
        )
        for i, exp in enumerate(suite.expectations, 1):
            column = getattr(exp, "column", "")
            mostly = getattr(exp, "mostly", 1)
            rule = (exp.description or "") + (f" (mostly {mostly:g})" if mostly != 1 else "")
            out.append(
                f"<tr><td>{i}</td><td>{e(column)}</td><td><code>{e(exp.expectation_type)}</code></td>"
                f"<td><code>{e(str((exp.meta or {}).get('reason', '')))}</code></td><td>{e(rule)}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    for written in write_suites():
        print(written)
