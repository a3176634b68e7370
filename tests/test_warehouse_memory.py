"""The memory limits of the warehouse and of the scratch databases (issue 22: the national
nightly run within 8 GB)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from transforms import warehouse

UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def limit_bytes(text: str) -> float:
    value, unit = text.split()
    return float(value) * UNITS[unit]


def test_the_warehouse_is_opened_within_its_memory_limit(tmp_path: Path) -> None:
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        (limit,) = con.execute("select current_setting('memory_limit')").fetchone() or ()
    finally:
        con.close()
    assert limit_bytes(limit) <= 3.01e9


def test_a_scratch_database_spills_past_its_limit_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scratch table larger than the limit is written to a directory of the system's
    temporary directory, its own, which is gone once the database is closed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(warehouse, "SCRATCH_MEMORY_LIMIT", "64MB")
    con = warehouse.scratch()
    (limit,) = con.execute("select current_setting('memory_limit')").fetchone() or ()
    assert limit_bytes(limit) <= 64e6
    con.execute("create table t as select i, repeat('x', 100) || i as s from range(2000000) t(i)")
    assert con.execute("select count(distinct s) from t").fetchone() == (2_000_000,)
    spilled = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert spilled and all(p.parent.name.startswith("radar-scratch-") for p in spilled)
    con.close()
    assert not list(tmp_path.iterdir())
