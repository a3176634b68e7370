"""A batch written to Parquet partitions by a worker reads back identical for the writer."""

from __future__ import annotations

from pathlib import Path

from polars.testing import assert_frame_equal

from data_contracts.batch import DeliveredFile, build_batch, read_spooled, spool_batch
from tests.conftest import COMPLAINT_HEADER, write


def test_spooled_batch_round_trips(tmp_path: Path) -> None:
    rows = [
        "C1,2026-05-03 14:22:10,hotline_12315,630102,seeds,counterfeit_trademark,consumer,某店,,,,,假种子,100,13900000001",
        "C2,bad,hotline_12315,630102,seeds,other,consumer,,,,,,x,,",
        "C3,short",
    ]
    path = write(
        tmp_path / "landing" / "complaints" / "a.csv",
        COMPLAINT_HEADER + "\n" + "\n".join(rows) + "\n",
    )
    batch = build_batch(
        DeliveredFile("complaints", path, "complaints/a.csv", 1.0, path.stat().st_size)
    )
    back = read_spooled(spool_batch(batch, tmp_path / "spool"))
    assert (back.file, back.sha256, back.status, back.rows_read, back.issues) == (
        batch.file,
        batch.sha256,
        batch.status,
        batch.rows_read,
        batch.issues,
    )
    assert back.raw is not None and batch.raw is not None and back.rows and batch.rows
    assert_frame_equal(back.raw, batch.raw)
    for name in ("accepted", "typed", "quarantined", "findings"):
        assert_frame_equal(getattr(back.rows, name), getattr(batch.rows, name))


def test_rejected_batch_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path / "complaints" / "empty.csv", "")
    batch = build_batch(DeliveredFile("complaints", path, "complaints/empty.csv", 1.0, 0))
    back = read_spooled(spool_batch(batch, tmp_path / "spool"))
    assert (back.status, back.rows, back.raw, back.issues) == ("rejected", None, None, batch.issues)
