"""The Great Expectations layer: suites derived from the contract, typed-row checks, Data Docs."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from data_contracts.contract import CONTRACT_DIR, contracts, regions
from data_contracts.expectations import (
    SHARE_REASON,
    SUITE_DIR,
    FeedValidation,
    build_data_docs,
    gx_context,
    suite_for,
    suite_json,
    validate_typed,
)
from data_contracts.readers import RawTable
from data_contracts.steward_docs import contract_markdown, reason_codes
from data_contracts.validate import validate_rows
from tests.conftest import make_uscc

PHONE = "13912345678"
GOOD_USCC = make_uscc("92630102MA0000001")


@pytest.fixture(scope="module")
def context() -> Iterator[Any]:
    """One GX context for the module (creating contexts is slow)."""
    yield gx_context()


def inspections(**overrides: list[Any]) -> pl.DataFrame:
    """Three typed inspection rows that pass, with columns replaced by `overrides`."""
    data: dict[str, list[Any]] = {
        "_row_number": [1, 2, 3],
        "inspection_id": ["I1", "I2", "I3"],
        "inspected_on": [dt.date(2026, 5, 10)] * 3,
        "region_code": ["630102", "630103", "630102"],
        "entity_name": ["绿丰种业经营部"] * 3,
        "entity_uscc": [GOOD_USCC, None, None],
        "product_category": ["seeds", "fuel", "seeds"],
        "inspection_type": ["double_random", "targeted", "sampling_test"],
        "result": ["fail", "pass", "pending"],
        "violation_type": ["counterfeit_trademark", None, None],
        "inspector_team": ["城东一队"] * 3,
        "seized_value_cny": [1200.0, None, 0.0],
        "lead_id": [None, None, None],
    }
    data.update(overrides)
    return pl.DataFrame(data, schema_overrides={"lead_id": pl.String, "entity_uscc": pl.String})


def reasons_of(contract_name: str) -> list[str]:
    return [e.meta["reason"] for e in suite_for(contracts()[contract_name]).expectations]


# --- the suites --------------------------------------------------------------------------


@pytest.mark.parametrize("feed", list(contracts()))
def test_committed_suite_equals_what_the_contract_derives(feed: str) -> None:
    committed = (SUITE_DIR / f"{feed}.json").read_text(encoding="utf-8")
    assert committed == suite_json(contracts()[feed]), (
        f"gx_suites/{feed}.json is stale: run `python -m data_contracts.expectations`"
    )


@pytest.mark.parametrize("feed", list(contracts()))
def test_every_expectation_names_a_reason_code_and_has_bilingual_words(feed: str) -> None:
    contract = contracts()[feed]
    allowed = (
        set(reason_codes(contract))
        | {f"uscc:{c.name}" for c in contract.columns if c.type == "uscc"}
        | {SHARE_REASON}
    )
    for e in suite_for(contract).expectations:
        assert e.meta["reason"] in allowed
        assert re.search(r"[\u4e00-\u9fff]", e.description) and re.search(
            r"[a-z]{4}", e.description
        )


def test_suite_mirrors_the_contract_rules() -> None:
    listings = suite_for(contracts()["listings"])
    by_reason = {e.meta["reason"]: e for e in listings.expectations}
    assert by_reason["range:price_cny"].min_value == 0 and by_reason["range:price_cny"].strict_min
    assert (by_reason["range:rating"].min_value, by_reason["range:rating"].max_value) == (0, 5)
    assert set(by_reason["enum:platform"].value_set) >= {"taobao", "jd", "pdd"}
    assert "required:brand" not in by_reason and "required:listing_id" in by_reason
    complaints = suite_for(contracts()["complaints"])
    in_province = [e for e in complaints.expectations if e.meta["reason"] == "region:region_code"]
    assert any(set(getattr(e, "value_set", None) or []) == set(regions()) for e in in_province)
    channel = next(e for e in complaints.expectations if e.meta["reason"] == "enum:channel")
    assert set(channel.value_set) == set(contracts()["complaints"].column("channel").values)
    assert "complainant_phone" not in json.dumps(complaints.to_json_dict())


def test_a_region_of_any_province_has_a_province_code_of_provinces_csv() -> None:
    listings = suite_for(contracts()["listings"])
    regexes = [
        e.regex
        for e in listings.expectations
        if e.meta["reason"] == "region:ship_from_region_code" and e.regex != r"^\d{6}$"
    ]
    assert len(regexes) == 1
    codes = ("650101", "110101", "820000", "630102", "190101", "200000", "999999", "630999")
    accepted = [c for c in codes if re.fullmatch(regexes[0], c)]
    assert accepted == ["650101", "110101", "820000", "630102"]


def test_no_expectation_asks_for_a_unique_key() -> None:
    for contract in contracts().values():
        kinds = {e.expectation_type for e in suite_for(contract).expectations}
        assert not any("unique" in kind for kind in kinds)


# --- validating typed rows ---------------------------------------------------------------


def test_good_typed_rows_pass(context: Any) -> None:
    result = validate_typed(contracts()["inspections"], inspections(), context, "inspections/a.csv")
    assert result.success and result.rows == 3 and result.reasons_by_row() == {}


def test_bad_typed_rows_are_named_by_row_number_and_reason(context: Any) -> None:
    frame = inspections(
        inspection_id=["I1", None, "I3"],
        region_code=["630102", "440300", "630102"],
        product_category=["seeds", "fuel", "no_such_category"],
        violation_type=[None, None, None],  # row 1 failed without a violation type
        seized_value_cny=[-5.0, None, 0.0],
    )
    result = validate_typed(contracts()["inspections"], frame, context, "inspections/a.csv")
    assert not result.success
    assert {n: sorted(r) for n, r in result.reasons_by_row().items()} == {
        1: ["range:seized_value_cny", "required_when:violation_type"],
        2: ["region:region_code", "required:inspection_id"],
        3: ["enum:product_category"],
    }
    failed = {o.reason: o for o in result.failed}
    assert failed["range:seized_value_cny"].unexpected_count == 1
    assert failed["range:seized_value_cny"].unexpected_rows == (1,)


def test_filtering_each_batch_once_per_row_condition_gives_gx_s_own_results(
    context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: the row conditions applied once per batch (`FILTER_ONCE`) give the same
    results, failures and the quarantined share included, as GX's filter for every metric."""
    import data_contracts.expectations as expectations

    bad = inspections(
        inspection_id=["I1", None, "I3"],
        region_code=["630102", "440300", "630102"],
        violation_type=[None, None, None],
        seized_value_cny=[-5.0, None, 0.0],
    ).with_columns(_quarantined=pl.lit(False))
    set_aside = pl.DataFrame({"_row_number": [4, 5]}).with_columns(_quarantined=pl.lit(True))
    frame = pl.concat([bad, set_aside], how="diagonal_relaxed")
    results = []
    for once in (True, False):
        monkeypatch.setattr(expectations, "FILTER_ONCE", once)
        result = validate_typed(contracts()["inspections"], frame, context, "inspections/a.csv")
        results.append([(r.success, r.result) for r in result.result.results])
    assert results[0] == results[1]
    assert not all(ok for ok, _ in results[0])


def test_rows_accepted_by_row_validation_pass_the_suite(context: Any) -> None:
    """The suite and validate.py agree: what the Polars checks accept, GX accepts too."""
    contract = contracts()["listings"]
    header = [c.name for c in contract.columns]
    good = [
        "2026-06-22",
        "淘宝",
        "L1",
        "S1",
        "某店",
        GOOD_USCC,
        "440300",
        "手机",
        "",
        "手机壳",
        "9.9",
        "3",
        "",
        "4.5",
        "ab12",
    ]
    bad_price = good[:10] + ["0"] + good[11:]
    bad_region = good[:6] + ["639999"] + good[7:]
    table = RawTable(header, [good, bad_price, bad_region, good], [1, 2, 3, 4])
    rows = validate_rows(contract, table)
    assert sorted(rows.quarantined["reasons"]) == [
        "range:price_cny",
        "region:ship_from_region_code",
    ]
    result = validate_typed(contract, rows.accepted, context, "listings/a.csv")
    assert result.success and result.rows == 2


def test_a_large_feed_is_validated_in_batches_of_whole_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import duckdb

    from flows import stages
    from transforms.ingest import IngestReport
    from transforms.landing import LandingScan

    files = [
        inspections().with_columns(pl.lit(f"inspections/{name}.csv").alias("_file"))
        for name in ("a", "b")
    ]
    bad = inspections(product_category=["seeds", "seeds", "rockets"])
    files.append(bad.with_columns(pl.lit("inspections/c.csv").alias("_file")))
    report = IngestReport(scan=LandingScan([], [], []), typed_rows={"inspections": files})
    monkeypatch.setattr(stages, "MAX_GX_ROWS", 6)  # two files of three rows per batch
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema ops")
    results = stages.validate_with_gx(con, report, "r1")
    assert [(r.file, r.rows) for r in results] == [
        ("2 files, inspections/a.csv … inspections/b.csv", 6),
        ("inspections/c.csv", 3),
    ]
    assert results[0].success and not results[1].success
    # a failing row is named by its file and its row number in that file
    (failed,) = results[1].failed
    assert (failed.unexpected_files, failed.unexpected_rows) == (("inspections/c.csv",), (3,))
    assert report.typed_rows == {}  # released once validated
    stored = con.execute("select files, rows from ops.validation_results").fetchall()
    assert [f for f, _ in stored] == [r.file for r in results]


def test_personal_and_free_text_values_never_reach_the_results(context: Any) -> None:
    contract = contracts()["complaints"]
    frame = pl.DataFrame(
        {
            "_row_number": [1, 2],
            "complaint_id": ["C1", "C2"],
            "received_at": [dt.datetime(2026, 5, 3, 14, 22)] * 2,
            "channel": ["hotline_12315", "visit"],
            "region_code": ["630102", "630102"],
            "product_category": ["seeds", "seeds"],
            "infringement_type": ["other", "other"],
            "complainant_type": ["consumer", "consumer"],
            "subject_name": [f"店主{PHONE}", None],
            "subject_uscc": [None, None],
            "platform": [None, None],
            "shop_id": [None, None],
            "brand": [None, None],
            "description": [f"本人电话：{PHONE}", None],  # row 2 breaks required:description
            "amount_cny": [-1.0, 5.0],
            "complainant_phone": [PHONE, PHONE],
        },
        schema_overrides={c: pl.String for c in ("subject_uscc", "platform", "shop_id", "brand")},
    )
    result = validate_typed(contract, frame, context, "complaints/a.csv")
    assert result.reasons_by_row() == {1: ["range:amount_cny"], 2: ["required:description"]}
    text = json.dumps(result.to_json_dict(), ensure_ascii=False, default=str)
    assert PHONE not in text and "complainant_phone" not in text


# --- Data Docs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs(
    context: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[FeedValidation]]:
    bad = inspections(seized_value_cny=[-5.0, None, 0.0])
    results = [
        validate_typed(
            contracts()["inspections"], inspections(), context, "inspections/2026-05/好.csv"
        ),
        validate_typed(contracts()["inspections"], bad, context, "inspections/2026-06/b.csv"),
    ]
    out = tmp_path_factory.mktemp("run") / "data_docs"
    build_data_docs(results, out, run_name="2026-06-30")
    return out, results


def test_data_docs_index_opens_without_network(docs: tuple[Path, list[FeedValidation]]) -> None:
    out, _ = docs
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in index and 'src="http' not in index and "stylesheet" not in index
    for href in re.findall(r'href="([^"#]+)"', index):
        from urllib.parse import unquote

        assert (out / unquote(href)).is_file(), href
    for feed in contracts():
        assert f'id="{feed}"' in index and (out / "expectations" / f"{feed}.html").is_file()
    assert "range:seized_value_cny" in index and "inspections/2026-06/b.csv" in index


def test_gx_pages_need_no_network(docs: tuple[Path, list[FeedValidation]]) -> None:
    out, _ = docs
    pages = list(out.rglob("*.html"))
    assert len(pages) >= 1 + len(contracts()) + 1  # our index, the suites, GX's index, results
    for page in pages:
        text = page.read_text(encoding="utf-8")
        external = re.findall(r'<(?:link|script|img)\b[^>]*(?:href|src)="https?://', text)
        assert not external, (page, external)
        if page.name != "index.html":
            assert "<style>" in text, page
    suite_page = (out / "expectations" / "inspections.html").read_text(encoding="utf-8")
    assert "seized_value_cny" in suite_page


def test_data_docs_store_each_result_as_json(docs: tuple[Path, list[FeedValidation]]) -> None:
    out, results = docs
    stored = out / "results" / "2026-06-30" / "inspections" / "inspections__2026-06__b.csv.json"
    data = json.loads(stored.read_text(encoding="utf-8"))
    assert data["success"] is False and data["meta"]["radar_file"] == "inspections/2026-06/b.csv"
    failed = [r for r in data["results"] if not r["success"]]
    assert [r["expectation_config"]["meta"]["reason"] for r in failed] == ["range:seized_value_cny"]
    assert failed[0]["result"]["unexpected_index_list"] == [
        {"_file": "inspections/2026-06/b.csv", "_row_number": 1}
    ]
    assert (
        out / "results" / "2026-06-30" / "inspections" / "inspections__2026-05__好.csv.json"
    ).is_file()
    assert len(list((out / "validations").rglob("*.html"))) == len(results)
    (page,) = (out / "validations" / "inspections").rglob("inspections__2026-06__b.csv.html")
    text = re.sub(r"<[^>]+>|\s+", " ", page.read_text(encoding="utf-8"))
    assert "Data asset: inspections: inspections/2026-06/b.csv" in re.sub(r" +", " ", text)


def test_data_docs_keep_every_night_and_a_night_built_again_replaces_its_own(
    context: Any, tmp_path: Path
) -> None:
    inspections_contract = contracts()["inspections"]
    bad = inspections(seized_value_cny=[-5.0, None, 0.0])
    first = validate_typed(inspections_contract, inspections(), context, "inspections/a.csv")
    build_data_docs([first], tmp_path, run_name="2026-06-29")
    second = validate_typed(inspections_contract, bad, context, "inspections/b.csv")
    build_data_docs([second], tmp_path, run_name="2026-06-30")
    third = validate_typed(inspections_contract, inspections(), context, "inspections/c.csv")
    build_data_docs([third], tmp_path, run_name="2026-06-30")  # the night re-run
    stored = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert stored == [
        "results/2026-06-29/inspections/inspections__a.csv.json",
        "results/2026-06-30/inspections/inspections__c.csv.json",
    ]
    pages = sorted(p.name for p in (tmp_path / "validations").rglob("*.html"))
    assert pages == ["inspections__a.csv.html", "inspections__c.csv.html"]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    # newest night first, each with its results; every link resolves
    assert index.index('id="night-2026-06-30"') < index.index('id="night-2026-06-29"')
    assert "inspections/a.csv" in index and "inspections/c.csv" in index
    assert "inspections/b.csv" not in index and "✗" not in index
    from urllib.parse import unquote

    for href in re.findall(r'href="([^"#]+)"', index):
        assert (tmp_path / unquote(href)).is_file(), href
    gx_index = (tmp_path / "gx_index.html").read_text(encoding="utf-8")
    assert "2026-06-29" in gx_index and "2026-06-30" in gx_index


# --- the steward's docs ------------------------------------------------------------------


def test_steward_docs_cover_every_column_and_value_of_feeds_yaml() -> None:
    text = contract_markdown()
    raw = yaml.safe_load((CONTRACT_DIR / "feeds.yaml").read_text(encoding="utf-8"))
    for feed, spec in raw.items():
        if feed == "limits":
            assert "## 限制 Limits" in text and "`length:<column>`" in text
            continue
        assert f"## {feed} — " in text
        for name, column in spec["columns"].items():
            assert f"`{name}`" in text
            for value in column.get("values") or {}:
                assert f"`{value}`" in text, (feed, name, value)
    for code in ("seeds", "taobao", "jd"):  # category and platform codes from the reference tables
        assert f"`{code}`" in text
    assert "双随机抽查" in text and "淘宝网" in text  # Chinese labels accepted for codes
    assert "`range:price_cny`" in text and "超出范围 value out of range" in text
    assert "`required_when:violation_type`" in text and "`malformed:record`" in text


def test_a_feed_fails_only_when_accepted_rows_break_a_rule_or_too_many_were_quarantined(
    tmp_path: Path,
) -> None:
    import duckdb

    from data_contracts.contract import limits
    from flows import stages
    from transforms.ingest import IngestReport
    from transforms.landing import LandingScan

    assert limits().quarantined_share == 0.10
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema ops")
    verdicts = []
    # accepted rows (all meeting every rule) and quarantined ones, by row number alone
    for accepted, quarantined in [(3, 0), (27, 3), (26, 4)]:
        good = pl.concat([inspections()] * (accepted // 3 + 1))[:accepted].with_columns(
            pl.int_range(1, accepted + 1).alias("_row_number"), _quarantined=pl.lit(False)
        )
        set_aside = pl.DataFrame(
            {"_row_number": list(range(accepted + 1, accepted + quarantined + 1))},
            schema={"_row_number": pl.Int64},
        ).with_columns(_quarantined=pl.lit(True))
        rows = pl.concat([good, set_aside], how="diagonal_relaxed").with_columns(
            _file=pl.lit("inspections/a.csv")
        )
        report = IngestReport(scan=LandingScan([], [], []), typed_rows={"inspections": [rows]})
        (result,) = stages.validate_with_gx(con, report, "r1")
        assert (result.rows, result.rows_read) == (accepted, accepted + quarantined)
        assert result.reasons_by_row() == {}  # the accepted rows meet every rule
        verdicts.append((result.success, result.too_much_quarantined))
        # GX's own verdict, with the quarantined rows named by file and row when it fails
        assert result.result.success == result.success
    assert verdicts == [(True, False), (True, False), (False, True)]  # 4 of 30 > 10 %
    (share,) = result.failed
    assert share.reason == SHARE_REASON and share.unexpected_rows == (27, 28, 29, 30)
    assert set(share.unexpected_files) == {"inspections/a.csv"}


def test_a_loaded_file_gives_gx_its_accepted_rows_and_its_quarantined_row_numbers(
    tmp_path: Path,
) -> None:
    from data_contracts.batch import DeliveredFile, build_batch
    from tests.test_validate import INSPECTION

    rows = [INSPECTION | {"inspection_id": f"I{i}"} for i in range(1, 4)]
    rows[1]["region_code"] = "999999"  # quarantined
    path = tmp_path / "a.csv"
    pl.DataFrame(rows).write_csv(path)
    rel = "inspections/2026-06/a.csv"
    batch = build_batch(DeliveredFile("inspections", path, rel, 0.0, path.stat().st_size))
    gx_rows = batch.gx_rows()
    assert gx_rows.select("_row_number", "_quarantined", "inspection_id").rows() == [
        (1, False, "I1"),
        (3, False, "I3"),
        (2, True, None),
    ]
    assert set(gx_rows["_file"]) == {rel}
    result = validate_typed(contracts()["inspections"], gx_rows, gx_context(), rel)
    # one row in three quarantined: over the 10 % limit, and only that fails
    assert (result.rows, result.rows_read, result.rows_quarantined) == (2, 3, 1)
    assert [(o.reason, o.unexpected_rows) for o in result.failed] == [(SHARE_REASON, (2,))]


def test_each_feed_runs_its_committed_suite_through_its_checkpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from data_contracts import expectations

    suite = json.loads((SUITE_DIR / "inspections.json").read_text(encoding="utf-8"))
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "product_category", "value_set": ["seeds"]},
            "meta": {"reason": "enum:product_category"},
        }
    )
    (tmp_path / "inspections.json").write_text(json.dumps(suite), encoding="utf-8")
    monkeypatch.setattr(expectations, "SUITE_DIR", tmp_path)
    context = gx_context()
    result = validate_typed(
        contracts()["inspections"], inspections(), context, file="inspections/a.csv"
    )
    # The edited committed suite is what ran: the rows pass the contract, not the extra rule.
    assert [o.reason for o in result.failed] == ["enum:product_category"]
    assert [c.name for c in context.checkpoints.all()] == ["inspections"]
    meta = result.result.meta
    assert meta["checkpoint_id"] and meta["validation_id"]
    assert meta["active_batch_definition"]["data_asset_name"] == "inspections"
    assert meta["batch_spec"]["data_asset_name"] == "inspections: inspections/a.csv"
