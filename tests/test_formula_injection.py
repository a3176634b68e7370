"""FEEDS.md, Exports: no text that came from a feed is ever a formula. CSV exports and every
CSV or workbook for people put a leading ' on text starting with = + - @ tab or CR, numbers
stay numbers, workbook text is a string cell, and Parquet keeps the value."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import openpyxl
import polars as pl

from reports.build import build_reports
from reports.data import Exports, read_exports
from reports.handoff_files import write_referral_review_list
from reports.workbook import write_workbook
from tests.conftest import COMPLAINT_HEADER, write
from tests.report_world import TINY_AS_OF, write_tiny_exports
from transforms.exports import defuse_formula, write_export
from transforms.ingest import ingest_landing
from transforms.steward import export_quarantine

HYPERLINK = '=HYPERLINK("http://evil.example","点此")'
HOSTILE = [HYPERLINK, "+86 971 1234", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+1", "\r=1+1"]
DEFUSED = ["'" + text for text in HOSTILE]
CONTROL = "马记\x0b烟酒\x00商行"  # a vertical tab and a NUL: openpyxl refuses both


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_defuse_formula_prefixes_only_formula_starts() -> None:
    assert [defuse_formula(t) for t in HOSTILE] == DEFUSED
    for harmless in ["绿丰种业", "CR-1F0C", "'=already quoted", "a=b", "", "630102"]:
        assert defuse_formula(harmless) == harmless


def test_csv_export_defuses_text_keeps_numbers_and_parquet_keeps_the_value(
    tmp_path: Path,
) -> None:
    n = len(HOSTILE)
    frame = pl.DataFrame(
        {
            "entity_name": HOSTILE,
            "reasons": ["近180天5起投诉 / 5 complaints"] * n,
            "uscc": [None] * n,
            "rank": list(range(1, n + 1)),
            "change": [-3, -1, 0, 1, 2, -7],
            "score": [-0.5, 0.25, -1e-3, 0.0, 1.0, -2.5],
            "referral_review": [True, False] * (n // 2),
            "first_flagged": [dt.date(2026, 6, 1)] * n,
        },
        schema_overrides={"uscc": pl.String},
    )
    csv_path, parquet_path = write_export(frame, tmp_path, "entity_leads")

    rows = csv_rows(csv_path)
    assert [r["entity_name"] for r in rows] == DEFUSED
    assert [r["change"] for r in rows] == ["-3", "-1", "0", "1", "2", "-7"]  # numbers stay numbers
    assert [float(r["score"]) for r in rows] == frame["score"].to_list()
    assert rows[0]["reasons"] == "近180天5起投诉 / 5 complaints" and rows[0]["uscc"] == ""
    assert rows[0]["first_flagged"] == "2026-06-01" and rows[0]["referral_review"] == "true"
    data = csv_path.read_bytes()
    assert data.count(b"\r\n") == n + 1  # CRLF rows; the defused \r sits inside quotes
    assert pl.read_parquet(parquet_path)["entity_name"].to_list() == HOSTILE

    again = write_export(frame, tmp_path / "again", "entity_leads")
    assert again[0].read_bytes() == data


def test_referral_review_workbook_and_csv_never_hold_a_formula(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "lead_id": [f"CR-{i:04d}" for i in range(len(HOSTILE) + 1)],
            "entity_name": [*HOSTILE, CONTROL],
            "score": [0.9] * (len(HOSTILE) + 1),
            "estimated_turnover_cny": [-1.0, *[50000.0] * len(HOSTILE)],
            "referral_review": [True] * (len(HOSTILE) + 1),
            "reasons": ["#N/A", *["理由"] * len(HOSTILE)],
        }
    )
    csv_path, xlsx_path = write_referral_review_list(frame, tmp_path)

    rows = csv_rows(csv_path)
    assert [r["entity_name"] for r in rows] == [*DEFUSED, CONTROL]
    assert rows[0]["estimated_turnover_cny"] == "-1.0"

    book = openpyxl.load_workbook(xlsx_path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    ws = book.worksheets[0]
    names = [c for (c,) in ws.iter_rows(min_row=2, min_col=2, max_col=2)]
    assert all(c.data_type == "s" for c in names)
    # openpyxl reads a stored carriage return back as a line feed (XML end-of-line handling)
    assert [c.value for c in names] == [*DEFUSED[:-1], "'\n=1+1", "马记烟酒商行"]
    turnover = ws.cell(row=2, column=4)
    assert turnover.data_type == "n" and turnover.value == -1
    error_text = ws.cell(row=2, column=6)
    assert error_text.value == "#N/A" and error_text.data_type == "s"  # text, not an error value


def _hostile_exports(run_dir: Path) -> Exports:
    """The tiny exports with feed text a spreadsheet would run, read as the reports read them."""
    exports = read_exports(run_dir)
    leads = exports.leads.with_columns(
        pl.Series("entity_name", [HYPERLINK, CONTROL, "@SUM(1+1)"]),
        pl.Series("names", ["+1-2", f"{CONTROL};-x", None]),
    )
    quality = exports.data_quality.with_columns(pl.Series("file", ["=1+1.csv", "-补充.csv"]))
    return Exports(leads, exports.hotspots, exports.alerts, quality)


def test_report_workbook_text_is_string_cells_never_formulas(tmp_path: Path) -> None:
    run_dir = write_tiny_exports(tmp_path / "out")
    path = write_workbook(tmp_path / "report.xlsx", _hostile_exports(run_dir), TINY_AS_OF, "t")

    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
    leads = book["线索"]
    headers = [c.value for c in leads[1]]
    name_col = headers.index("主体名称 entity_name") + 1
    names_col = headers.index("关联名称 names") + 1
    by_rank = {
        r[0].value: (r[name_col - 1].value, r[names_col - 1].value)
        for r in leads.iter_rows(min_row=2)
    }
    assert by_rank == {
        1: ("'" + HYPERLINK, "'+1-2"),
        2: ("马记烟酒商行", "马记烟酒商行；-x"),
        3: ("'@SUM(1+1)", None),
    }
    assert leads.cell(row=2, column=headers.index("风险分 score") + 1).data_type == "n"
    files = [r[1].value for r in book["数据质量"].iter_rows(min_row=2)]
    assert files == ["'=1+1.csv", "'-补充.csv"]


def test_reports_from_defused_exports_keep_one_quote(tmp_path: Path) -> None:
    """The reports read the CSV exports: text written there as '=… stays '=…, not ''=…."""
    run_dir = write_tiny_exports(tmp_path / "out")
    hostile = _hostile_exports(run_dir)
    write_export(hostile.leads, run_dir, "entity_leads")
    write_export(hostile.data_quality, run_dir, "data_quality")
    build_reports(run_dir, None, TINY_AS_OF)

    book = openpyxl.load_workbook(run_dir / "reports" / "province" / "report.xlsx")
    names = [r[2] for r in book["线索"].iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in names] == [
        ("'" + HYPERLINK, "s"),
        ("马记烟酒商行", "s"),
        ("'@SUM(1+1)", "s"),
    ]


def test_steward_export_defuses_delivered_text_but_not_numbers(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    rows = [
        # subject name, description, amount: each row is quarantined for its channel
        ('"=HYPERLINK(""http://evil.example"",""点此"")"', "@SUM(1+1)", "-5"),
        ("-绿丰种业", "+86 971", "-5+cmd|' /C calc'!A0"),
    ]
    write(
        landing / "complaints/2026-05/a.csv",
        "\n".join(
            [COMPLAINT_HEADER]
            + [
                f"C{i},2026-05-03 14:22:10,bogus,630102,seeds,counterfeit_trademark,consumer,"
                f"{name},,,,,{text},{amount},"
                for i, (name, text, amount) in enumerate(rows, start=1)
            ]
        )
        + "\n",
        mtime=1000,
    )
    ingest_landing(con, landing, "r1")
    (path,) = export_quarantine(con, tmp_path / "out")

    exported = csv_rows(path)
    assert [r["subject_name"] for r in exported] == ["'" + HYPERLINK, "'-绿丰种业"]
    assert [r["description"] for r in exported] == ["'@SUM(1+1)", "'+86 971"]
    assert [r["amount_cny"] for r in exported] == ["-5", "'-5+cmd|' /C calc'!A0"]
