"""The benchmark's own parts: the next day's files, peak memory, and BENCHMARKS.md upkeep."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from data_contracts.batch import DeliveredFile, build_batch
from tests.conftest import COMPLAINT_HEADER, write
from tools.bench import END, START, measure, next_day_files, write_benchmarks

AS_OF = dt.date(2026, 6, 30)
CHINA = ZoneInfo("Asia/Shanghai")
LISTING_HEADER = (
    "snapshot_date,platform,listing_id,shop_id,shop_name,product_category,title,price_cny"
)


def _batch(root: Path, rel: str):
    path = root / rel
    stat = path.stat()
    return build_batch(DeliveredFile(rel.split("/")[0], path, rel, stat.st_mtime, stat.st_size))


def test_next_day_adds_a_snapshot_and_a_day_of_complaints(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(
        landing / "listings/2026-06-29/pdd.csv",
        f"{LISTING_HEADER}\n2026-06-29,拼多多,L1,S1,某店,seeds,玉米种子,9.9\n",
        encoding="gb18030",
    )
    pl.DataFrame(
        {
            "snapshot_date": [dt.date(2026, 6, 29)],
            "platform": ["jd"],
            "listing_id": ["L2"],
            "shop_id": ["S2"],
            "shop_name": ["京东店"],
            "product_category": ["seeds"],
            "title": ["种子"],
            "price_cny": [12.5],
        }
    ).write_parquet(landing / "listings/2026-06-29/jd.parquet")
    rows = [
        "C1,2026-06-30 14:22:10,hotline_12315,630102,seeds,counterfeit_trademark,consumer,"
        '某店,,,,,"假种子,发芽率低",100,13900000001',
        "C2,2026-06-29 09:00:00,hotline_12315,630102,seeds,other,consumer,,,,,,x,,",
    ]
    write(landing / "complaints/weekly/w.csv", COMPLAINT_HEADER + "\n" + "\n".join(rows) + "\n")

    added = next_day_files(landing, AS_OF, tmp_path / "next")

    assert sorted(added) == [
        "complaints/daily/2026-07-01.csv",
        "listings/2026-07-01/jd.parquet",
        "listings/2026-07-01/pdd.csv",
    ]
    for rel in added:
        mtime = (tmp_path / "next" / rel).stat().st_mtime
        assert dt.datetime.fromtimestamp(mtime, CHINA).date() == dt.date(2026, 7, 1)
    listings = [_batch(tmp_path / "next", r) for r in added if r.startswith("listings")]
    assert [b.rows.accepted["snapshot_date"].to_list() for b in listings if b.rows] == [
        [dt.date(2026, 7, 1)],
        [dt.date(2026, 7, 1)],
    ]
    complaints = _batch(tmp_path / "next", "complaints/daily/2026-07-01.csv")
    assert complaints.rows is not None
    accepted = complaints.rows.accepted.row(0, named=True)
    assert complaints.rows_read == 1
    assert (accepted["complaint_id"], accepted["received_at"], accepted["description"]) == (
        "C1-0701",
        dt.datetime(2026, 7, 1, 14, 22, 10),
        "假种子,发芽率低",
    )


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak-memory reset")
def test_peak_memory_is_taken_per_step() -> None:
    big, _ = measure("big", lambda: len(bytearray(200 * 2**20)))
    small, _ = measure("small", lambda: len(bytearray(2**20)))
    assert big.peak_mb - small.peak_mb > 150
    assert big.seconds >= 0 and small.seconds >= 0


def test_benchmarks_file_keeps_the_text_around_the_measured_part(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    write_benchmarks("| first |\n", path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("# Benchmarks", "# Benchmarks\n\nWhy it is slow."), "utf-8")
    path.write_text(path.read_text(encoding="utf-8") + "\nNotes after.\n", encoding="utf-8")

    write_benchmarks("| second |\n", path)

    text = path.read_text(encoding="utf-8")
    assert "Why it is slow." in text and text.endswith("Notes after.\n")
    assert text.split(START)[1].split(END)[0] == "\n| second |\n"
    assert "first" not in text
