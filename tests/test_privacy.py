"""Retention purge and erasure on request: phones and texts gone everywhere, audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from tests.conftest import COMPLAINT_HEADER, write
from transforms.ingest import ingest_landing
from transforms.privacy import PURGED_TEXT, apply_retention, erase_person

OLD = "C1,2022-01-03 10:00:00,hotline_12315,630102,seeds,other,consumer,某店,,,,,假种子 请回电13911112222,,13911112222"
NEW = (
    "C2,2026-05-03 10:00:00,hotline_12315,630102,seeds,other,consumer,某店,,,,,假化肥,,13933334444"
)
BROKEN = "C3,2022-01-04,13911112222"


def load(tmp_path: Path, con: duckdb.DuckDBPyConnection, *rows: str) -> None:
    write(tmp_path / "complaints" / "a.csv", "\n".join([COMPLAINT_HEADER, *rows]) + "\n")
    ingest_landing(con, tmp_path, "r1")


def everything(con: duckdb.DuckDBPyConnection) -> str:
    tables = [
        "raw.complaints",
        "staging.complaints_history",
        "quarantine.rows",
        "restricted.complaint_phones_history",
        "ops.privacy_audit",
    ]
    return str([con.execute(f"select * from {t}").fetchall() for t in tables])


def test_retention_purges_old_phones_and_texts(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    load(tmp_path, con, OLD, NEW)
    assert apply_retention(con, dt.date(2026, 6, 30), retention_days=3 * 365) == 1
    dump = everything(con)
    assert "13911112222" not in dump and "假种子" not in dump
    assert "13933334444" in dump and "假化肥" in dump  # recent complaints are kept
    texts = dict(con.execute("select complaint_id, description from staging.complaints").fetchall())
    assert texts == {"C1": PURGED_TEXT, "C2": "假化肥"}
    assert con.execute("select action, complaints from ops.privacy_audit").fetchall() == [
        ("retention", 1)
    ]
    assert apply_retention(con, dt.date(2026, 6, 30), retention_days=3 * 365) == 0  # idempotent


def test_erase_by_phone_and_by_complaint_id(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    load(tmp_path, con, OLD, NEW, BROKEN)
    assert erase_person(con, phone="13933334444", by="steward", note="申请删除") == 1
    assert "13933334444" not in everything(con)
    assert erase_person(con, complaint_id="C1", by="steward") == 1
    dump = everything(con)
    assert "假种子" not in dump
    assert "13911112222" in dump  # erasure by complaint id does not touch another record
    assert (
        erase_person(con, phone="13911112222", by="steward") == 0
    )  # its complaint is gone already
    assert "13911112222" not in everything(con)
    audit = con.execute(
        "select action, subject, acted_by from ops.privacy_audit order by acted_at"
    ).fetchall()
    assert [a[1] for a in audit] == ["phone (not recorded)", "complaint C1", "phone (not recorded)"]
