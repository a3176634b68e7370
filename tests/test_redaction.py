"""Redaction: phone and ID numbers blanked wherever text leaves the warehouse (lead names in
exports, reports and the top-10 list; steward exports) and in quarantined rows as they are
stored. The patterns and the rule for what counts are in data_contracts/personal.py.

No assertion here may print a phone number when it fails: values are checked through
booleans (`leaked = ...; assert not leaked`), never compared in the assertion itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data_contracts.personal import redact_personal
from tests.conftest import COMPLAINT_HEADER, write
from transforms.ingest import ingest_landing

AS_OF = dt.date(2026, 6, 30)
OTHER = "13933334444"
ROW = "{id},2026-05-03 10:00:00,{channel},630102,seeds,other,consumer,{subject},,,,,{text},,{phone}"


def complaint(
    id: str, text: str, subject: str = "某店", channel: str = "hotline_12315", phone: str = OTHER
) -> str:
    return ROW.format(id=id, channel=channel, subject=subject, text=text, phone=phone)


def load(tmp_path: Path, con: duckdb.DuckDBPyConnection, *rows: str) -> None:
    write(tmp_path / "complaints" / "a.csv", "\n".join([COMPLAINT_HEADER, *rows]) + "\n")
    ingest_landing(con, tmp_path, "r1")


def table_text(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    return str(con.execute(f'select * from {schema}."{table}"').fetchall())


def cases(*values: str) -> list[object]:
    """Test parameters with neutral ids: a phone number never appears in a test's name."""
    return [pytest.param(v, id=f"case{i}") for i, v in enumerate(values)]


@pytest.mark.parametrize(
    "text",
    cases(
        "联系电话18609710000",
        "电话 186-0971-0000",
        "+86 186 0971 0000",
        "座机0971-5555555",
        "座机(0971)5555555",
        "座机（0971）5555555",
        "座机09715555555",
        "+86 971 5555555",
        "010-12345678",
        "电话：5555555",
        "联系方式 555-5555",
        "身份证 63010219800101123X",
        "旧身份证 630102800101123",
    ),
)
def test_redaction_blanks_phones_landlines_and_id_numbers(text: str) -> None:
    leaked = any(c.isdigit() for c in redact_personal(text))
    assert not leaked


@pytest.mark.parametrize(
    "text",
    cases(
        "价格5555555元",  # a 7-digit number without a phone word may be a price
        "订单号 20260503123",
        "IMEI 356938035643809",  # 15 digits, but no date where an ID number has one
        "代码 91630100MA7EXAMPL0 区划 630102 日期 2026-05-03 买了100片",
    ),
)
def test_redaction_keeps_numbers_that_are_not_personal(text: str) -> None:
    assert redact_personal(text) == text


def test_quarantined_rows_are_stored_without_phone_or_id_numbers(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    load(
        tmp_path,
        con,
        complaint("C1", "商家座机(0971)5555555，身份证630102198001011234", channel="bogus"),
        "C3,2026-05-04,0971-6666666,电话 7777777",  # malformed: its phone cannot be told apart
        complaint("C2", "假化肥"),
    )
    quarantine = table_text(con, "quarantine", "rows")
    leaked = [
        v in quarantine for v in ("5555555", "6666666", "7777777", "630102198001011234", OTHER)
    ]
    assert leaked == [False] * 5
    kept = "商家座机" in quarantine and "bogus" in quarantine and "C3,2026-05-04" in quarantine
    assert kept


def test_the_steward_export_blanks_landlines(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    from transforms.steward import export_quarantine

    load(tmp_path, con, complaint("C1", "商家座机(0971)5555555", channel="bogus"))
    # Rows quarantined before quarantined records were redacted as they are stored.
    con.execute(
        "insert into quarantine.rows (feed, file, sha256, _row_number, reasons, record) "
        """values ('complaints', 'complaints/old.csv', 'x', 2, 'enum:channel', """
        """'{"complaint_id": "C9", "description": "店家电话 0971-8888888"}'), """
        """('complaints', 'complaints/old.csv', 'x', 3, 'malformed:record', """
        """'{"_unparsed": "C10,2026-05-04,9999999"}')"""
    )
    paths = export_quarantine(con, tmp_path / "steward")
    exported = "".join(p.read_text(encoding="utf-8-sig") for p in paths)
    leaked = [v in exported for v in ("5555555", "8888888", "9999999")]
    assert leaked == [False] * 3
    kept = "商家座机" in exported and "店家电话" in exported and "C10,2026-05-04" in exported
    assert kept


def test_leads_show_no_phone_typed_into_a_subject_name(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows import stages
    from flows.cli import _print_leads
    from flows.nightly import RunResult
    from transforms.exports import write_export

    load(
        tmp_path,
        con,
        complaint("C1", "假种子", subject="绿丰种业 0971-5555555 身份证630102198001011234"),
    )
    stages.resolve(con, AS_OF)
    stages.build_features(con, AS_OF)
    leads = stages.score_leads(con, AS_OF)
    stored = table_text(con, "scores", "entity_leads")
    paths = write_export(leads, tmp_path / "out", "entity_leads")
    _print_leads(RunResult(AS_OF, tmp_path / "out", paths, leads, None))  # type: ignore[arg-type]
    shown = capsys.readouterr().out
    exported = paths[0].read_text(encoding="utf-8-sig") + str(pl.read_parquet(paths[1]).rows())
    for text in (stored, exported, shown):
        leaked = "5555555" in text or "630102198001011234" in text
        kept = "绿丰种业" in text
        assert not leaked
        assert kept
