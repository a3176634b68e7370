"""Hostile or careless input (FEEDS.md, Precise rules: Limits), one reproduction each.

Each test writes a small landing directory, runs the ingest on it and checks what the
contract says happens, in the manifest (the data_quality export) and the warehouse:

- whatever goes wrong with one file rejects that file alone, with a reason that names the
  file and never quotes a cell; the run goes on; a rejected file is recorded as seen;
- files: at most 200 columns; an .xlsx whose sheet declares more than 1,048,576 rows or
  200 columns is rejected before its sheet is read; a JSON Lines record nested deeper than
  its flat fields is quarantined;
- values: text over 10,000 characters (a description over 20,000) is quarantined with its
  column, and a CSV field running past that across line breaks is an unclosed quote on the
  line where it opens; control characters are removed from text with a finding; numbers
  are finite, money ≤ 10,000,000,000, price_cny ≤ 10,000,000, counts ≤ 1,000,000,000;
  dates and timestamps from 2000-01-01 to 2099-12-31;
- the landing directory: only regular files count, a symbolic link only when its target
  lies inside the landing directory; any other entry with a feed file's name is rejected.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import data_contracts.batch
from data_contracts.readers import RawTable
from tests.conftest import make_uscc, write
from tests.delivery import csv_bytes, file_bytes, jsonl_bytes, with_sheet_dimension, xlsx_bytes
from transforms.exports import data_quality
from transforms.ingest import IngestReport, ingest_landing

MARKER = "MARK7Qz"  # a cell value that no reason may quote
GOOD_USCC = make_uscc("92630102MA0000001")

# One valid record per feed; every test below changes one thing in one of them.
VALID: dict[str, dict[str, str]] = {
    "complaints": {
        "complaint_id": "C1",
        "received_at": "2026-05-03 14:22:10",
        "channel": "hotline_12315",
        "region_code": "630102",
        "product_category": "seeds",
        "infringement_type": "counterfeit_trademark",
        "complainant_type": "consumer",
        "subject_name": "绿丰种业",
        "amount_cny": "100",
        "description": "假种子",
    },
    "listings": {
        "snapshot_date": "2026-06-29",
        "platform": "taobao",
        "listing_id": "L1",
        "shop_id": "S1",
        "shop_name": "某某专营店",
        "product_category": "tobacco",
        "title": "香烟",
        "price_cny": "10",
        "sales_30d": "3",
        "review_count": "2",
        "rating": "4.5",
    },
    "inspections": {
        "inspection_id": "I1",
        "inspected_on": "2026-05-10",
        "region_code": "630102",
        "entity_name": "绿丰种业经营部",
        "entity_uscc": GOOD_USCC,
        "product_category": "seeds",
        "inspection_type": "double_random",
        "result": "fail",
        "violation_type": "counterfeit_trademark",
        "inspector_team": "城东一队",
        "seized_value_cny": "1200",
    },
    "entities": {
        "uscc": GOOD_USCC,
        "name": "绿丰种业经营部",
        "region_code": "630102",
        "entity_type": "company",
        "registered_on": "2015-03-02",
        "status": "active",
    },
    "credit": {
        "record_id": "R1",
        "entity_name": "某商行",
        "record_type": "admin_penalty",
        "decided_on": "2026-01-05",
        "amount_cny": "5000",
        "description": "销售假冒注册商标的商品",
    },
    "outcomes": {
        "outcome_id": "O1",
        "closed_on": "2026-05-01",
        "outcome": "confirmed",
        "illegal_turnover_cny": "1000",
    },
}


def ingest(con: duckdb.DuckDBPyConnection, landing: Path) -> tuple[IngestReport, dict[str, Any]]:
    """Run the ingest; returns its report and the data_quality export's row of each file."""
    report = ingest_landing(con, landing, "r1")
    rows = data_quality(con, report.scan).iter_rows(named=True)
    return report, {row["file"]: row for row in rows}


def deliver(landing: Path, feed: str, record: dict[str, Any], name: str = "a.csv") -> str:
    """One file of one record in the feed's folder (format from the extension); its path
    relative to the landing directory."""
    headers, row = list(record), list(record.values())
    fmt = {".csv": "csv-utf8", ".jsonl": "jsonl", ".xlsx": "xlsx"}[Path(name).suffix]
    write(landing / feed / name, file_bytes(fmt, headers, [row]))
    return f"{feed}/{name}"


def single_row(
    con: duckdb.DuckDBPyConnection, landing: Path, feed: str, record: dict[str, Any]
) -> tuple[tuple[str, int, int, int], list[str]]:
    """Deliver one record as CSV; returns the file's (status, rows_read, rows_accepted,
    rows_quarantined) and the reason codes of its quarantined row (empty when accepted)."""
    rel = deliver(landing, feed, record)
    _, files = ingest(con, landing)
    row = files[rel]
    counts = (row["status"], row["rows_read"], row["rows_accepted"], row["rows_quarantined"])
    reasons = con.execute("select reasons from quarantine.rows where file = ?", [rel]).fetchall()
    return counts, [code for (codes,) in reasons for code in codes.split(";")]


def assert_rejected(files: dict[str, Any], rel: str) -> None:
    """A rejected file: in data_quality (its row names the file), nothing accepted or
    quarantined, and a reason that quotes no cell."""
    assert rel in files, f"{rel} is not in data_quality: {sorted(files)}"
    row = files[rel]
    assert row["status"] == "rejected", row
    assert (row["rows_accepted"], row["rows_quarantined"]) == (0, 0)
    assert row["issues"], "rejected without a reason"
    assert MARKER not in row["issues"], "the reason quotes a cell"


def names_column(codes: list[str], column: str) -> bool:
    return any(code.partition(":")[2] == column for code in codes)


@pytest.mark.parametrize("feed", list(VALID))
def test_the_valid_record_of_each_feed_is_accepted(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, feed: str
) -> None:
    # The baseline of every test below: one change to these records is what it tests.
    assert single_row(con, tmp_path, feed, VALID[feed]) == (("loaded", 1, 1, 0), [])


# a. Counts ≤ 1,000,000,000 -------------------------------------------------------------


def test_a_sales_count_of_1e20_is_quarantined_not_raised(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    write(
        tmp_path / "listings" / "a.csv",
        "snapshot_date,platform,listing_id,shop_id,shop_name,product_category,title,price_cny,"
        "sales_30d\n2026-06-29,taobao,O1,S1,店,tobacco,t,10,1e20\n",
    )
    _, files = ingest(con, tmp_path)
    row = files["listings/a.csv"]
    assert (row["status"], row["rows_read"], row["rows_accepted"], row["rows_quarantined"]) == (
        "loaded",
        1,
        0,
        1,
    )
    reasons = con.execute("select reasons from quarantine.rows").fetchall()
    assert reasons == [("range:sales_30d",)]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("sales_30d", "1e20"),
        ("sales_30d", "1000000001"),
        ("review_count", "1e20"),
        ("review_count", "9223372036854775808"),  # one past the largest BIGINT
    ],
)
def test_a_count_over_a_billion_is_quarantined(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, column: str, value: str
) -> None:
    record = VALID["listings"] | {column: value}
    counts, reasons = single_row(con, tmp_path, "listings", record)
    assert counts == ("loaded", 1, 0, 1)
    assert f"range:{column}" in reasons


def test_a_count_of_a_billion_is_accepted(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    record = VALID["listings"] | {"sales_30d": "1000000000"}
    assert single_row(con, tmp_path, "listings", record) == (("loaded", 1, 1, 0), [])


# b. Dates and timestamps from 2000-01-01 to 2099-12-31 ---------------------------------


@pytest.mark.parametrize(
    ("feed", "column", "value"),
    [
        ("complaints", "received_at", "0001-01-01T00:00:00+09:00"),
        ("complaints", "received_at", "9999-12-31T23:59:59"),
        ("complaints", "received_at", "1999-12-31 12:00:00"),
        ("complaints", "received_at", "2100-01-01 00:00:00"),
        ("listings", "snapshot_date", "0001-01-01"),
        ("listings", "snapshot_date", "1999-12-31"),
        ("listings", "snapshot_date", "2100-01-01"),
        ("inspections", "inspected_on", "9999-12-31"),
        ("entities", "registered_on", "1900-01-01"),
        ("outcomes", "closed_on", "9999-12-31"),
    ],
)
def test_a_date_outside_2000_to_2099_is_quarantined(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, feed: str, column: str, value: str
) -> None:
    counts, reasons = single_row(con, tmp_path, feed, VALID[feed] | {column: value})
    assert counts == ("loaded", 1, 0, 1)
    assert names_column(reasons, column), reasons


@pytest.mark.parametrize(
    ("feed", "column", "value"),
    [
        ("complaints", "received_at", "2000-01-01 00:00:00"),
        ("complaints", "received_at", "2099-12-31 23:59:59"),
        ("listings", "snapshot_date", "2000-01-01"),
        ("listings", "snapshot_date", "2099-12-31"),
    ],
)
def test_a_date_on_the_edges_of_the_range_is_accepted(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, feed: str, column: str, value: str
) -> None:
    assert single_row(con, tmp_path, feed, VALID[feed] | {column: value}) == (
        ("loaded", 1, 1, 0),
        [],
    )


# c. Money ≤ 10,000,000,000 yuan, price_cny ≤ 10,000,000, numbers finite ----------------


@pytest.mark.parametrize(
    ("feed", "column", "value"),
    [
        ("inspections", "seized_value_cny", "1e308"),
        ("inspections", "seized_value_cny", "10000000001"),
        ("complaints", "amount_cny", "1e308"),
        ("credit", "amount_cny", "1e11"),
        ("outcomes", "illegal_turnover_cny", "1.7976931348623157e308"),
        ("listings", "price_cny", "10000001"),
        ("listings", "price_cny", "1e308"),
    ],
)
def test_money_beyond_its_limit_is_quarantined(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, feed: str, column: str, value: str
) -> None:
    counts, reasons = single_row(con, tmp_path, feed, VALID[feed] | {column: value})
    assert counts == ("loaded", 1, 0, 1)
    assert f"range:{column}" in reasons


@pytest.mark.parametrize(
    ("feed", "column", "value"),
    [
        ("inspections", "seized_value_cny", "10000000000"),
        ("listings", "price_cny", "10000000"),
    ],
)
def test_money_at_its_limit_is_accepted(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, feed: str, column: str, value: str
) -> None:
    assert single_row(con, tmp_path, feed, VALID[feed] | {column: value}) == (
        ("loaded", 1, 1, 0),
        [],
    )


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "Infinity"])
@pytest.mark.parametrize(
    ("feed", "column"), [("inspections", "seized_value_cny"), ("listings", "sales_30d")]
)
def test_a_number_that_is_not_finite_is_quarantined(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, feed: str, column: str, value: str
) -> None:
    counts, reasons = single_row(con, tmp_path, feed, VALID[feed] | {column: value})
    assert counts == ("loaded", 1, 0, 1)
    assert names_column(reasons, column), reasons


# d. Control characters are removed from text values, with a finding -------------------


@pytest.mark.parametrize(
    ("column", "char"),
    [
        ("subject_name", "\v"),
        ("subject_name", "\x00"),
        ("subject_name", "\x7f"),
        ("subject_name", "\x1b"),
        ("subject_name", "\t"),  # tab and line breaks are kept only inside description
        ("description", "\x00"),
        ("description", "\v"),
    ],
)
@pytest.mark.parametrize("name", ["a.csv", "a.jsonl"])
def test_a_control_character_is_removed_and_the_row_kept_with_a_finding(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, column: str, char: str, name: str
) -> None:
    record = VALID["complaints"] | {column: f"绿丰{char}种业"}
    rel = deliver(tmp_path, "complaints", record, name)
    _, files = ingest(con, tmp_path)
    row = files[rel]
    assert (row["status"], row["rows_read"], row["rows_accepted"], row["rows_quarantined"]) == (
        "loaded",
        1,
        1,
        0,
    )
    staged = con.execute(f"select {column} from staging.complaints").fetchall()
    assert staged == [("绿丰种业",)]
    findings = [f for (f,) in con.execute("select finding from quarantine.findings").fetchall()]
    assert any(column in finding for finding in findings), findings


def test_tab_and_line_breaks_inside_a_description_are_kept_without_a_finding(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    description = "假种子\t三袋\n发芽率为零\r\n已报案"
    record = VALID["complaints"] | {"description": description}
    assert single_row(con, tmp_path, "complaints", record) == (("loaded", 1, 1, 0), [])
    assert con.execute("select description from staging.complaints").fetchall() == [(description,)]
    assert con.execute("select count(*) from quarantine.findings").fetchall() == [(0,)]


# e. An unclosed quote is reported on the line where it opens ---------------------------


def test_an_unclosed_quote_is_reported_on_its_line_not_accepted_as_one_giant_description(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    header = (
        "complaint_id,received_at,channel,region_code,product_category,infringement_type,"
        "complainant_type,subject_name,description"
    )
    row = "C{},2026-05-03 14:22:10,hotline_12315,630102,seeds,counterfeit_trademark,consumer,店,{}"
    rows = [row.format(1, "假种子"), row.format(2, '"open')]  # row 2 is line 3 of the file
    rows += [row.format(n, "假种子，发芽率为零，商家拒绝退款") for n in range(3, 1003)]
    write(tmp_path / "complaints" / "a.csv", header + "\n" + "\n".join(rows) + "\n")
    _, files = ingest(con, tmp_path)
    dq = files["complaints/a.csv"]
    issues = dq["issues"].lower()
    assert "quote" in issues and "line 3" in issues, dq["issues"]
    longest = con.execute("select max(length(description)) from staging.complaints").fetchone()
    assert longest is not None and (longest[0] or 0) <= 20_000
    if dq["status"] == "loaded":
        assert dq["rows_read"] == dq["rows_accepted"] + dq["rows_quarantined"]
    else:
        assert_rejected(files, "complaints/a.csv")


# f. Only regular files count; a symbolic link only when it stays inside the landing ----


@pytest.fixture
def fifo_unblocker() -> Iterator[list[Path]]:
    """FIFOs a test made; a FIFO still waiting for a writer after 30 s gets one that writes
    nothing, so a reader that opened it fails the test instead of hanging it."""
    fifos: list[Path] = []
    opened: list[Path] = []

    def unblock() -> None:
        for fifo in fifos:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader waiting
                continue
            os.close(fd)
            opened.append(fifo)

    timer = threading.Timer(30, unblock)
    timer.start()
    yield fifos
    timer.cancel()
    assert not opened, f"the ingest opened a FIFO and waited for a writer: {opened}"


def _landing_entry(landing: Path, kind: str, fifos: list[Path]) -> str:
    """A feed entry that is not a regular file inside the landing directory; its path."""
    folder = landing / "complaints"
    folder.mkdir(parents=True, exist_ok=True)
    entry = folder / "x.csv"
    if kind == "link_outside":
        outside = landing.parent / "elsewhere" / "real.csv"
        write(outside, csv_bytes(list(VALID["complaints"]), [list(VALID["complaints"].values())]))
        entry.symlink_to(outside)
    elif kind == "dangling_link":
        entry.symlink_to(folder / "gone.csv")
    elif kind == "fifo":
        os.mkfifo(entry)
        fifos.append(entry)
    elif kind == "directory":
        entry.mkdir()
    return "complaints/x.csv"


@pytest.mark.parametrize("kind", ["link_outside", "dangling_link", "fifo", "directory"])
def test_an_entry_that_is_not_a_regular_file_inside_the_landing_is_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, fifo_unblocker: list[Path], kind: str
) -> None:
    landing = tmp_path / "landing"
    rel = _landing_entry(landing, kind, fifo_unblocker)
    good = deliver(landing, "complaints", VALID["complaints"], "good.csv")
    report, files = ingest(con, landing)
    assert_rejected(files, rel)
    assert files[rel]["rows_read"] == 0
    assert files[good]["status"] == "loaded"  # the run goes on
    assert con.execute("select count(*) from raw.complaints where _file = ?", [rel]).fetchall() == [
        (0,)
    ]
    again = ingest_landing(con, landing, "r2")  # seen: not handled again
    assert again.new_files == 0 and not again.statuses
    assert data_quality(con, again.scan).filter(file=rel)["status"].to_list() == ["rejected"]


def test_a_symbolic_link_to_a_file_inside_the_landing_is_read(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    target = tmp_path / "archive" / "real.csv"  # in the landing, outside the feed folders
    write(target, csv_bytes(list(VALID["complaints"]), [list(VALID["complaints"].values())]))
    (tmp_path / "complaints").mkdir()
    (tmp_path / "complaints" / "link.csv").symlink_to(target)
    _, files = ingest(con, tmp_path)
    row = files["complaints/link.csv"]
    assert (row["status"], row["rows_read"], row["rows_accepted"]) == ("loaded", 1, 1)


# g. At most 200 columns; an .xlsx declaring a huge sheet is rejected unread ------------


def test_a_one_megabyte_header_line_is_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    record = VALID["complaints"]
    header = ",".join(record) + "," + MARKER * (1_000_000 // len(MARKER))
    write(
        tmp_path / "complaints" / "wide.csv",
        header + "\n" + ",".join(record.values()) + ",x\n",
    )
    _, files = ingest(con, tmp_path)
    assert_rejected(files, "complaints/wide.csv")


def _columns(count: int) -> tuple[list[str], list[str]]:
    """The valid complaint's header and row, padded to `count` columns with unknown ones."""
    record = VALID["complaints"]
    extra = count - len(record)
    return list(record) + [f"extra_{i}" for i in range(extra)], list(record.values()) + [
        "x"
    ] * extra


@pytest.mark.parametrize("fmt", ["csv-utf8", "jsonl", "parquet", "xlsx", "xls"])
def test_a_file_of_more_than_200_columns_is_rejected(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, fmt: str
) -> None:
    headers, row = _columns(201)
    ext = {"csv-utf8": ".csv"}.get(fmt, f".{fmt}")
    write(tmp_path / "complaints" / f"wide{ext}", file_bytes(fmt, headers, [row]))
    _, files = ingest(con, tmp_path)
    assert_rejected(files, f"complaints/wide{ext}")


@pytest.mark.parametrize("fmt", ["csv-utf8", "jsonl", "parquet", "xlsx", "xls"])
def test_a_file_of_200_columns_is_loaded(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, fmt: str
) -> None:
    headers, row = _columns(200)
    ext = {"csv-utf8": ".csv"}.get(fmt, f".{fmt}")
    write(tmp_path / "complaints" / f"wide{ext}", file_bytes(fmt, headers, [row]))
    _, files = ingest(con, tmp_path)
    row_ = files[f"complaints/wide{ext}"]
    assert (row_["status"], row_["rows_read"], row_["rows_accepted"]) == ("loaded", 1, 1)


@pytest.mark.parametrize(
    "dimension",
    [
        "A1:F2000000",  # 2,000,000 rows
        "A1:F1048577",  # one row more than a sheet can hold
        "A1:GS2",  # 201 columns
        "A1:ZZ2000000",
    ],
)
def test_an_xlsx_declaring_a_huge_sheet_is_rejected_before_it_is_read(
    tmp_path: Path,
    con: duckdb.DuckDBPyConnection,
    monkeypatch: pytest.MonkeyPatch,
    dimension: str,
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(VALID["entities"]))
    sheet.append(list(VALID["entities"].values()))
    out = io.BytesIO()
    book.save(out)
    write(tmp_path / "entities" / "huge.xlsx", with_sheet_dimension(out.getvalue(), dimension))
    read: list[object] = []

    # Reading the sheet's rows is what the limit prevents.
    def no_rows(self: object, *args: object, **kwargs: object) -> Iterator[object]:
        read.append(self)
        return iter(())

    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", no_rows)
    _, files = ingest(con, tmp_path)
    assert_rejected(files, "entities/huge.xlsx")
    assert files["entities/huge.xlsx"]["rows_read"] == 0
    assert not read, "the sheet's rows were read"


# h. A JSON Lines record nested deeper than its flat fields is quarantined --------------


@pytest.mark.parametrize(
    "nested",
    [
        {"subject_name": {"name": "绿丰种业"}},
        {"description": ["假种子", "发芽率为零"]},
        {"extra": {"a": [1, 2]}},  # an unknown column too: the record is not flat
        {"subject_name": []},
        {"subject_name": {}},
    ],
    ids=["object", "array", "unknown_column", "empty_array", "empty_object"],
)
def test_a_json_record_with_an_object_or_array_value_is_quarantined(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, nested: dict[str, Any]
) -> None:
    flat = VALID["complaints"]
    records = [flat, flat | {"complaint_id": "C2"} | nested, flat | {"complaint_id": "C3"}]
    write(tmp_path / "complaints" / "a.jsonl", jsonl_bytes(records))
    _, files = ingest(con, tmp_path)
    row = files["complaints/a.jsonl"]
    assert (row["status"], row["rows_read"], row["rows_accepted"], row["rows_quarantined"]) == (
        "loaded",
        3,
        2,
        1,
    )
    quarantined = con.execute("select _row_number from quarantine.rows").fetchall()
    assert quarantined == [(2,)]


@pytest.mark.parametrize("depth", [990, 5000])
@pytest.mark.parametrize("where", ["value", "line"])
def test_a_json_record_nested_very_deep_is_quarantined(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, depth: int, where: str
) -> None:
    flat = json.dumps(VALID["complaints"], ensure_ascii=False)
    deep = "[" * depth + "]" * depth
    line = flat[:-1] + f', "subject_note": {deep}}}' if where == "value" else deep
    write(tmp_path / "complaints" / "a.jsonl", f"{flat}\n{line}\n")
    _, files = ingest(con, tmp_path)
    row = files["complaints/a.jsonl"]
    assert (row["status"], row["rows_read"], row["rows_accepted"], row["rows_quarantined"]) == (
        "loaded",
        2,
        1,
        1,
    )


# i. A text value over 10,000 characters (a description over 20,000) -------------------


@pytest.mark.parametrize(
    ("feed", "column", "limit"),
    [
        ("complaints", "subject_name", 10_000),
        ("complaints", "description", 20_000),
        ("credit", "description", 20_000),
        ("listings", "title", 10_000),
    ],
)
@pytest.mark.parametrize("name", ["a.csv", "a.jsonl"])
def test_a_text_value_over_its_length_is_quarantined_with_its_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, feed: str, column: str, limit: int, name: str
) -> None:
    records = [VALID[feed] | {column: "假" * limit}, VALID[feed] | {column: "假" * (limit + 1)}]
    headers = list(records[0])
    rows = [[r[h] for h in headers] for r in records]
    fmt = "jsonl" if name.endswith(".jsonl") else "csv-utf8"
    write(tmp_path / feed / name, file_bytes(fmt, headers, rows))
    _, files = ingest(con, tmp_path)
    row = files[f"{feed}/{name}"]
    assert (row["status"], row["rows_read"], row["rows_accepted"], row["rows_quarantined"]) == (
        "loaded",
        2,
        1,
        1,
    )
    (reasons,) = con.execute("select reasons from quarantine.rows where _row_number = 2").fetchone()
    assert names_column(reasons.split(";"), column), reasons


# j. An error inside validation rejects that file alone ---------------------------------


def test_an_error_inside_validation_rejects_that_file_and_the_run_goes_on(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    validate_rows = data_contracts.batch.validate_rows
    calls: list[str] = []

    def failing_for_b(contract: Any, table: RawTable) -> Any:
        first_id = table.cells["0"].to_list()[0]
        calls.append(first_id)
        if first_id == "C2":  # a library's message may quote a cell: it must not be passed on
            raise ValueError(f"cannot convert {MARKER!r}")
        return validate_rows(contract, table)

    monkeypatch.setattr(data_contracts.batch, "validate_rows", failing_for_b)
    for n, name in enumerate(["a.csv", "b.csv", "c.csv"], start=1):
        record = VALID["complaints"] | {"complaint_id": f"C{n}", "subject_name": MARKER}
        write(
            tmp_path / "complaints" / name,
            csv_bytes(list(record), [list(record.values())]),
            mtime=1000 * n,
        )
    report, files = ingest(con, tmp_path)
    assert report.statuses == {"loaded": 2, "rejected": 1}
    assert_rejected(files, "complaints/b.csv")
    staged = con.execute("select complaint_id from staging.complaints order by 1").fetchall()
    assert staged == [("C1",), ("C3",)]
    again = ingest_landing(con, tmp_path, "r2")  # a rejected file is not retried
    assert again.new_files == 0 and calls == ["C1", "C2", "C3"]


def test_every_rejection_names_its_file_in_the_run_log(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    # The same rule for the oldest rejections: a 0-byte file, a required column missing.
    write(tmp_path / "entities" / "empty.xlsx", b"")
    data = xlsx_bytes(["uscc", "name"], [[GOOD_USCC, MARKER]])
    write(tmp_path / "entities" / "short.xlsx", data)
    with caplog.at_level(logging.WARNING, logger="transforms.ingest"):
        _, files = ingest(con, tmp_path)
    assert_rejected(files, "entities/empty.xlsx")
    assert_rejected(files, "entities/short.xlsx")
    logged = [r.getMessage() for r in caplog.records]
    for rel in ("entities/empty.xlsx", "entities/short.xlsx"):
        assert any(m.startswith(f"rejected {rel}: ") for m in logged), logged
    assert not any(MARKER in m for m in logged)


# Found while fuzzing -------------------------------------------------------------------


def test_a_doubled_header_beside_a_header_named_like_its_raw_rename_is_loaded(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    # The raw layer renames the second `note` (the 12th column) to `note_12`: a delivered
    # `note_12` is then a second field of that name in the raw record.
    record = VALID["complaints"]  # 10 columns
    headers = [*record, "note", "note", "note_12"]
    write(
        tmp_path / "complaints" / "a.csv",
        csv_bytes(headers, [[*record.values(), "a", "b", "c"]]),
    )
    _, files = ingest(con, tmp_path)
    row = files["complaints/a.csv"]
    assert (row["status"], row["rows_read"], row["rows_accepted"]) == ("loaded", 1, 1)
    (raw,) = con.execute("select record from raw.complaints").fetchone()
    assert sorted(json.loads(raw).values()) == sorted([*record.values(), "a", "b", "c"])
