"""`radar steward`: the data steward's view of quarantined rows, and their decisions.

All work is on the DuckDB warehouse the pipeline builds (`quarantine.rows`, `ops.manifest`,
`staging.<feed>_history`). The business logic is in plain functions tests call directly:

- `quarantine_summary`: open quarantined rows counted by feed, file and reason;
- `export_quarantine`: one CSV per delivered file with open rows, for the sending office;
- `accept_row`: a steward accepts a quarantined row (audit trail in `ops.steward_actions`);
- `supersede_corrected`: rows a later delivery corrected are closed as `superseded`.

A row's resolution is only recorded here: whether an accepted row then flows into staging
is decided by the loader (`transforms/`), which reads `quarantine.rows.resolution`.
Personal data never leaves the warehouse: records in `quarantine.rows` exclude personal
columns, exports drop any personal key again and blank out phone and ID-card numbers
written into free text or into unparsable records. No delivered text is a formula in an
export (`transforms.exports.defuse_formula`); a number stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import duckdb
import polars as pl
import typer

from data_contracts.contract import Column, FeedContract, contracts
from data_contracts.personal import redact_personal
from data_contracts.steward_docs import file_slug
from data_contracts.validate import reason_text
from transforms.exports import defuse_formula

AUTOMATIC = "radar"  # resolved_by of the pipeline's own decisions

STEWARD_DDL = """
create schema if not exists ops;
create table if not exists ops.steward_actions (
  action VARCHAR, feed VARCHAR, file VARCHAR, row_number BIGINT,
  acted_by VARCHAR, acted_at TIMESTAMP, note VARCHAR, sha256 VARCHAR
);
"""


def ensure_steward_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the steward's audit table if it is missing (idempotent)."""
    con.execute(STEWARD_DDL)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _personal_names() -> set[str]:
    """Every personal column's name and Chinese header, lower-cased."""
    names: set[str] = set()
    for contract in contracts().values():
        for c in contract.columns:
            if c.personal:
                names |= {c.name.lower(), *(a.strip().lower() for a in c.aliases)}
    return names


# ---------------------------------------------------------------------------------------
# list
# ---------------------------------------------------------------------------------------


def summary_sql(filters: list[str]) -> str:
    where = "".join(f"\n  and {f}" for f in filters)
    return f"""
with open_rows as (
  select feed, file, unnest(string_split(reasons, ';')) as reason
  from quarantine.rows
  where resolution is null
),
final as (
  select feed, file, reason, count(*) as rows
  from open_rows
  where true{where}
  group by feed, file, reason
)
select * from final order by feed, file, reason"""


def quarantine_summary(
    con: duckdb.DuckDBPyConnection,
    feed: str | None = None,
    file: str | None = None,
    reason: str | None = None,
) -> pl.DataFrame:
    """Open quarantined rows counted by feed, file and reason (a row counts under each reason).

    `reason` is a full code (`range:price_cny`) or just its check (`range`).
    Columns: feed, file, reason, reason_text, rows.
    """
    filters, params = [], []
    if feed:
        filters.append("feed = ?")
        params.append(feed)
    if file:
        filters.append("file = ?")
        params.append(file)
    if reason:
        filters.append("reason = ?" if ":" in reason else "split_part(reason, ':', 1) = ?")
        params.append(reason)
    counts = con.sql(summary_sql(filters), params=params).pl()
    text = pl.Series("reason_text", [reason_text(r) for r in counts["reason"]], dtype=pl.String)
    return counts.with_columns(text).select("feed", "file", "reason", "reason_text", "rows")


# ---------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------


def open_rows_sql() -> str:
    return """
select feed, file, sha256, _row_number, reasons, record
from quarantine.rows
where resolution is null
order by feed, file, quarantined_at, sha256, _row_number"""


def _record_fields(contract: FeedContract, records: list[dict[str, Any]]) -> list[str]:
    """The record's columns in contract order, then any other key (e.g. `_unparsed`)."""
    personal = _personal_names()
    seen = {k for r in records for k in r}
    ordered = [c.name for c in contract.staging_columns if c.name in seen]
    extra = sorted(k for k in seen if k not in ordered)
    return [k for k in ordered + extra if k.lower() not in personal]


# A plain number, as a numeric column may deliver it: no formula can hide in one.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _shareable(contract: FeedContract, field: str, value: Any) -> str:
    """A record's cell as exported: text other than keys and codes has personal numbers blanked,
    and no text is a formula (a number in a numeric column, negative too, stays as delivered)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    column = next((c for c in contract.columns if c.name == field), None)
    if column is None or not (column.name in contract.key or column.type == "uscc"):
        # A malformed record of a feed with a phone column: its phone cannot be told apart.
        unparsed = field == "_unparsed" and any(c.personal for c in contract.columns)
        text = redact_personal(text, bare_numbers=unparsed)
    numeric = column is not None and column.type in ("decimal", "integer")
    if isinstance(value, int | float) or (numeric and NUMBER.fullmatch(text)):
        return text
    return defuse_formula(text)


def export_quarantine(
    con: duckdb.DuckDBPyConnection, out_dir: Path, encoding: str = "utf-8"
) -> list[Path]:
    """Write one CSV per delivered file with open quarantined rows; returns the paths.

    File name: the delivered path with `/` as `__`, then `.quarantine.csv`. Columns:
    row_number, reasons (codes), reasons_text (words), then the delivered record's fields.
    `encoding` is `utf-8` (written with a BOM, for Excel) or `gb18030`.
    """
    codec = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}.get(encoding.lower())
    if codec is None:
        raise ValueError(f"encoding must be utf-8 or gb18030, not {encoding!r}")
    rows = con.sql(open_rows_sql()).pl()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for (feed, file), group in rows.group_by(["feed", "file"], maintain_order=True):
        contract = contracts()[str(feed)]
        records = [json.loads(r) if r else {} for r in group["record"]]
        fields = _record_fields(contract, records)
        path = out_dir / f"{file_slug(str(file))}.quarantine.csv"
        with path.open("w", encoding=codec, errors="replace", newline="") as fh:
            writer = csv.writer(fh)
            # an unknown column's name is delivered text too
            header = ["row_number", "reasons", "reasons_text", *fields]
            writer.writerow([defuse_formula(h) for h in header])
            for n, codes, record in zip(
                group["_row_number"], group["reasons"], records, strict=True
            ):
                words = "; ".join(reason_text(code) for code in codes.split(";"))
                cells = [_shareable(contract, f, record.get(f)) for f in fields]
                writer.writerow([n, codes, words, *cells])
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------
# accept
# ---------------------------------------------------------------------------------------


def accept_row(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    file: str,
    row_number: int,
    by: str,
    note: str,
    at: dt.datetime | None = None,
) -> None:
    """Mark an open quarantined row accepted by a steward, with an audit record.

    When the same path was delivered with different content more than once, the most
    recently quarantined version of the row is accepted. Raises LookupError when there
    is no open quarantined row at that place, ValueError when `by` is empty.
    """
    if not by.strip():
        raise ValueError("the steward's name (--by) is required")
    at = at or _now()
    ensure_steward_tables(con)
    found = con.execute(
        "select sha256, resolution from quarantine.rows where feed = ? and file = ? "
        "and _row_number = ? order by resolution nulls first, quarantined_at desc limit 1",
        [feed, file, row_number],
    ).fetchone()
    if found is None:
        raise LookupError(f"no quarantined row {row_number} in {feed} file {file!r}")
    sha256, resolution = found
    if resolution is not None:
        raise LookupError(f"row {row_number} of {file!r} is already resolved: {resolution}")
    con.execute("begin transaction")
    try:
        con.execute(
            "update quarantine.rows set resolution = 'accepted', resolved_by = ?, "
            "resolved_at = ?, note = ? "
            "where feed = ? and file = ? and sha256 = ? and _row_number = ?",
            [by, at, note, feed, file, sha256, row_number],
        )
        con.execute(
            "insert into ops.steward_actions values ('accepted', ?, ?, ?, ?, ?, ?, ?)",
            [feed, file, row_number, by, at, note, sha256],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


# ---------------------------------------------------------------------------------------
# superseded by a corrected delivery
# ---------------------------------------------------------------------------------------


def open_rows_with_delivery_sql() -> str:
    return """
select q.feed, q.file, q.sha256, q._row_number, q.record, m.mtime as delivered
from quarantine.rows q
join ops.manifest m
  on m.feed = q.feed and m.file = q.file and m.sha256 = q.sha256 and m.status = 'loaded'
where q.resolution is null and q.feed = ?"""


def superseding_sql(contract: FeedContract) -> str:
    """For each open quarantined row (table `quarantined_keys`), the latest later-delivered
    accepted row with the same key in `staging.<feed>_history`."""
    on = " and ".join(f"cast(h.{k} as VARCHAR) = q.{k}" for k in contract.key)
    return f"""
with later as (
  select q.file, q.sha256, q._row_number,
         h._file as by_file, h._row_number as by_row, h._delivered as by_delivered
  from quarantined_keys q
  join staging.{contract.name}_history h on {on}
  where h._delivered > q.delivered
     or (h._delivered = q.delivered and (h._file > q.file
         or (h._file = q.file and h._row_number > q._row_number)))
),
final as (
  select file, sha256, _row_number, by_file, by_row
  from later
  qualify row_number() over (
    partition by file, sha256, _row_number order by by_delivered desc, by_file desc, by_row desc
  ) = 1
)
select * from final"""


def _canonical(column: Column, text: object) -> str | None:
    """A key cell of a quarantined record as staging stores it (as text), or None."""
    if not isinstance(text, str) or not text:
        return None
    if column.type in ("enum", "category", "platform"):
        return column.labels.get(text.lower())
    if column.type == "uscc":
        return text.upper()
    if column.type == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    return text


def _quarantined_keys(con: duckdb.DuckDBPyConnection, contract: FeedContract) -> pl.DataFrame:
    rows = con.sql(open_rows_with_delivery_sql(), params=[contract.name]).pl()
    keys: dict[str, list[str | None]] = {k: [] for k in contract.key}
    for record in rows["record"]:
        parsed = json.loads(record) if record else {}
        for k in contract.key:
            keys[k].append(_canonical(contract.column(k), parsed.get(k)))
    frame = rows.drop("record").with_columns(
        pl.Series(k, v, dtype=pl.String) for k, v in keys.items()
    )
    return frame.drop_nulls(list(contract.key))


def supersede_corrected(con: duckdb.DuckDBPyConnection, at: dt.datetime | None = None) -> int:
    """Close open quarantined rows that a later-delivered accepted row with the same key
    corrected (resolution `superseded`, audited); returns how many were closed."""
    at = at or _now()
    ensure_steward_tables(con)
    closed = 0
    for contract in contracts().values():
        con.register("quarantined_keys", _quarantined_keys(con, contract).to_arrow())
        try:
            found = con.sql(superseding_sql(contract)).pl()
        finally:
            con.unregister("quarantined_keys")
        if found.is_empty():
            continue
        con.execute("begin transaction")
        try:
            for file, sha256, row, by_file, by_row in found.iter_rows():
                note = f"corrected by {by_file} row {by_row}"
                con.execute(
                    "update quarantine.rows set resolution = 'superseded', resolved_by = ?, "
                    "resolved_at = ?, note = ? where feed = ? and file = ? and sha256 = ? "
                    "and _row_number = ? and resolution is null",
                    [AUTOMATIC, at, note, contract.name, file, sha256, row],
                )
                con.execute(
                    "insert into ops.steward_actions values ('superseded', ?, ?, ?, ?, ?, ?, ?)",
                    [contract.name, file, row, AUTOMATIC, at, note, sha256],
                )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        closed += found.height
    return closed


# ---------------------------------------------------------------------------------------
# The command line (mounted as `radar steward`)
# ---------------------------------------------------------------------------------------

steward_app = typer.Typer(
    no_args_is_help=True,
    help="数据管理员 Data steward: review, export and accept quarantined rows.",
)

Warehouse = Annotated[
    Path | None, typer.Option(help="DuckDB warehouse file; default from RADAR_WAREHOUSE")
]


class ExportEncoding(StrEnum):
    utf8 = "utf-8"
    gb18030 = "gb18030"


def _open(warehouse: Path | None) -> duckdb.DuckDBPyConnection:
    from flows.settings import Settings

    path = warehouse or Settings().warehouse
    if not path.is_file():
        typer.echo(f"error: warehouse not found: {path}", err=True)
        raise typer.Exit(2)
    return duckdb.connect(str(path))


def _known_feed(feed: str | None) -> None:
    """Exit 2 with one line listing the feeds when `feed` is not one of them (a typo would
    otherwise read as "no open quarantined rows")."""
    from data_contracts.contract import FEEDS

    if feed is not None and feed not in FEEDS:
        typer.echo(f"error: unknown feed {feed!r}: use one of {', '.join(FEEDS)}", err=True)
        raise typer.Exit(2)


@steward_app.command("list")
def list_quarantine(
    feed: Annotated[str | None, typer.Option(help="only this feed")] = None,
    file: Annotated[
        str | None, typer.Option(help="only this file (path relative to landing)")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="a reason code, or just its check")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Count open quarantined rows by feed, file and reason."""
    _known_feed(feed)
    con = _open(warehouse)
    try:
        counts = quarantine_summary(con, feed, file, reason)
    finally:
        con.close()
    if counts.is_empty():
        typer.echo("没有待处理的隔离行 no open quarantined rows")
        return
    for r in counts.iter_rows(named=True):
        typer.echo(
            f"{r['rows']:>6}  {r['feed']:<12} {r['file']}  {r['reason']}  ({r['reason_text']})"
        )


@steward_app.command()
def export(
    out: Annotated[Path, typer.Option(help="directory for the CSV files")],
    encoding: Annotated[ExportEncoding, typer.Option(help="utf-8 (with BOM) or gb18030")] = (
        ExportEncoding.utf8
    ),
    warehouse: Warehouse = None,
) -> None:
    """Write one CSV per delivered file with open quarantined rows."""
    con = _open(warehouse)
    try:
        paths = export_quarantine(con, out, encoding.value)
    finally:
        con.close()
    for path in paths:
        typer.echo(str(path))
    typer.echo(f"{len(paths)} file(s) written")


@steward_app.command()
def accept(
    feed: Annotated[str, typer.Option(help="the feed")],
    file: Annotated[str, typer.Option(help="the delivered file, path relative to landing")],
    row: Annotated[int, typer.Option(help="row number in the file (1-based, header excluded)")],
    by: Annotated[str, typer.Option(help="your name, for the audit trail")],
    note: Annotated[str, typer.Option(help="why the row is accepted")],
    warehouse: Warehouse = None,
) -> None:
    """Accept a quarantined row (recorded with who, when and why)."""
    _known_feed(feed)
    con = _open(warehouse)
    try:
        accept_row(con, feed, file, row, by, note)
    except (LookupError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        con.close()
    typer.echo(f"accepted: {feed} {file} row {row} by {by}")


@steward_app.command()
def supersede(warehouse: Warehouse = None) -> None:
    """Close quarantined rows that a later delivery corrected."""
    con = _open(warehouse)
    try:
        closed = supersede_corrected(con)
    finally:
        con.close()
    typer.echo(f"{closed} quarantined row(s) superseded by later corrections")


@steward_app.command()
def docs(
    out: Annotated[
        Path | None, typer.Option(help="write the Markdown here instead of printing")
    ] = None,
) -> None:
    """Print (or write) the steward's docs of every feed and reason code, from the contract."""
    from data_contracts.steward_docs import contract_markdown

    text = contract_markdown()
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(str(out))


@steward_app.command("links")
def list_shop_links(
    all_links: Annotated[
        bool, typer.Option("--all", help="also the links a steward split")
    ] = False,
    warehouse: Warehouse = None,
) -> None:
    """List the last run's shop links (storefronts joined without a shared key), strongest
    first: the two shops, the match probability, the evidence and the lead."""
    from transforms.shop_linkage import shop_links_for_review

    con = _open(warehouse)
    try:
        links = shop_links_for_review(con)
    finally:
        con.close()
    if not all_links:
        links = links.filter(~pl.col("split"))
    if links.is_empty():
        typer.echo("没有店铺关联 no shop links")
        return
    for r in links.iter_rows(named=True):
        mark = "  [已拆分 split]" if r["split"] else ""
        typer.echo(
            f"{r['match_probability']:.4f}  {r['key_a'][5:]} {r['name_a']}  ~  "
            f"{r['key_b'][5:]} {r['name_b']}  字号 stem {r['stem'] or '-'}  "
            f"发货地 ship-from {r['ship_from'] or '-'}  {r['category']}  "
            f"标题 titles {r['title_similarity']}  {r['entity_id']}{mark}"
        )


@steward_app.command("split-link")
def split_link(
    shop_a: Annotated[str, typer.Argument(help="platform:shop_id")],
    shop_b: Annotated[str, typer.Argument(help="platform:shop_id")],
    by: Annotated[str, typer.Option(help="your name, for the audit trail")],
    note: Annotated[str, typer.Option(help="why they are not one operator")],
    warehouse: Warehouse = None,
) -> None:
    """Split two shops that a shop link joined wrongly: no later run joins them through a
    shop link again (the next run's leads show the split)."""
    from transforms.shop_linkage import split_shop_link

    con = _open(warehouse)
    try:
        a, b = split_shop_link(con, shop_a, shop_b, by, note, _now())
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        con.close()
    typer.echo(f"split: {a[5:]} / {b[5:]} by {by}; takes effect on the next run")
