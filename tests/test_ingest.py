"""The manifest, duplicates, corrections and versions, ignored files, rows adding up."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import data_contracts.batch
import transforms.ingest
import transforms.load
from data_contracts.batch import DeliveredFile, FileBatch, build_batch
from data_contracts.contract import FeedContract
from data_contracts.readers import RawTable
from data_contracts.validate import ValidatedRows
from tests.conftest import COMPLAINT_HEADER, write
from transforms.ingest import ingest_landing
from transforms.tombstones import Tombstones
from transforms.warehouse import scalar

ROW = (
    "{id},2026-05-03 14:22:10,hotline_12315,630102,{cat},counterfeit_trademark,consumer,绿丰种业,,,,,"
    "假种子,100,13900000001"
)


def complaints_file(landing: Path, name: str, rows: list[str], mtime: float) -> Path:
    return write(
        landing / "complaints" / name, COMPLAINT_HEADER + "\n" + "\n".join(rows) + "\n", mtime=mtime
    )


def test_duplicate_file_is_loaded_once(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    rows = [ROW.format(id="C1", cat="seeds")]
    complaints_file(tmp_path, "2026-05/a.csv", rows, 1000)
    complaints_file(tmp_path, "2026-05/a_resent.csv", rows, 2000)
    report = ingest_landing(con, tmp_path, "r1")
    assert report.statuses == {"loaded": 1, "duplicate": 1}
    dup = con.execute(
        "select rows_read, rows_accepted, rows_quarantined from ops.manifest where status = 'duplicate'"
    ).fetchall()
    assert dup == [(1, 0, 0)]
    assert scalar(con, "select count(*) from staging.complaints_history") == 1


def test_a_duplicate_is_not_read_again(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [ROW.format(id="C1", cat="seeds"), ROW.format(id="C2", cat="bogus"), "C3,short"]
    complaints_file(tmp_path, "2026-05/a.csv", rows, 1000)
    complaints_file(tmp_path, "2026-05/a_resent.csv", rows, 2000)
    read: list[str] = []

    def counted(file: DeliveredFile, data: bytes | None = None) -> FileBatch:
        read.append(file.rel)
        return build_batch(file, data)

    monkeypatch.setattr(transforms.ingest, "build_batch", counted)
    report = ingest_landing(con, tmp_path, "r1")
    assert report.statuses == {"loaded": 1, "duplicate": 1}
    assert read == ["complaints/2026-05/a.csv"]  # the resent copy was only hashed
    manifest = con.execute(
        "select file, status, rows_read, rows_accepted, rows_quarantined, issues "
        "from ops.manifest order by file"
    ).fetchall()
    assert manifest[1] == (
        "complaints/2026-05/a_resent.csv",
        "duplicate",
        3,  # as many rows as the copy loaded before, as if it had been read
        0,
        0,
        "与已载入文件内容相同 same content as a file already loaded",
    )


def test_batches_built_ahead_keep_their_order_and_errors(tmp_path: Path) -> None:
    files = [
        DeliveredFile("complaints", tmp_path / f"{i}.csv", f"complaints/{i}.csv", i, 0)
        for i in range(5)
    ]
    batches = [FileBatch(file=f, sha256=str(i), status="loaded") for i, f in enumerate(files)]
    assert list(transforms.ingest.ahead(iter(batches))) == batches

    def broken() -> Iterator[FileBatch]:
        yield batches[0]
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for batch in transforms.ingest.ahead(broken()):
            got.append(batch)
    assert got == [batches[0]]

    built: list[int] = []
    closed: list[bool] = []

    def endless() -> Iterator[FileBatch]:
        try:
            for i in range(1000):
                built.append(i)
                yield batches[i % 5]
        finally:
            closed.append(True)

    for batch in transforms.ingest.ahead(endless()):
        if batch is batches[1]:
            break  # the writer stops: the builder stops too, a batch or two ahead at most
    assert closed == [True] and len(built) <= 4


def test_same_bytes_in_another_format_are_read(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    rows = [ROW.format(id="C1", cat="seeds")]
    complaints_file(tmp_path, "a.csv", rows, 1000)
    complaints_file(tmp_path, "a.jsonl", rows, 2000)  # not JSON: read, and rejected as such
    report = ingest_landing(con, tmp_path, "r1")
    assert report.statuses == {"loaded": 1, "rejected": 1}


def test_later_delivery_wins_and_quarantined_correction_leaves_earlier(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    complaints_file(
        tmp_path,
        "a.csv",
        [ROW.format(id="C1", cat="seeds"), ROW.format(id="C2", cat="seeds")],
        1000,
    )
    complaints_file(tmp_path, "b.csv", [ROW.format(id="C1", cat="pesticides")], 2000)
    complaints_file(tmp_path, "c.csv", [ROW.format(id="C2", cat="not_a_category")], 3000)
    ingest_landing(con, tmp_path, "r1")
    versions = dict(
        con.execute("select complaint_id, product_category from staging.complaints").fetchall()
    )
    assert versions == {"C1": "pesticides", "C2": "seeds"}
    assert (
        scalar(con, "select count(*) from raw.complaints") == 4
    )  # earlier versions kept for audit
    reasons = scalar(con, "select reasons from quarantine.rows")
    assert reasons == "enum:product_category"


def test_delivery_order_is_mtime_not_name(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    complaints_file(tmp_path, "z_first.csv", [ROW.format(id="C1", cat="seeds")], 1000)
    complaints_file(tmp_path, "a_second.csv", [ROW.format(id="C1", cat="fuel")], 2000)
    ingest_landing(con, tmp_path, "r1")
    assert scalar(con, "select product_category from staging.complaints") == "fuel"


def test_last_row_of_a_file_wins_and_both_count_as_accepted(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    complaints_file(
        tmp_path, "a.csv", [ROW.format(id="C1", cat="seeds"), ROW.format(id="C1", cat="fuel")], 1000
    )
    ingest_landing(con, tmp_path, "r1")
    assert scalar(con, "select rows_accepted from ops.manifest") == 2
    assert scalar(con, "select product_category from staging.complaints") == "fuel"


def test_second_run_ingests_only_new_files(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    complaints_file(tmp_path, "a.csv", [ROW.format(id="C1", cat="seeds")], 1000)
    assert ingest_landing(con, tmp_path, "r1").new_files == 1
    assert ingest_landing(con, tmp_path, "r2").new_files == 0
    complaints_file(tmp_path, "b.csv", [ROW.format(id="C2", cat="seeds")], 2000)
    assert ingest_landing(con, tmp_path, "r3").new_files == 1
    assert scalar(con, "select count(*) from ops.manifest") == 2


def test_lock_hidden_and_outside_files_are_ignored(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    write(tmp_path / "complaints" / "~$a.xlsx", b"lock")
    write(tmp_path / "complaints" / ".DS_Store", b"x")
    write(tmp_path / "notes" / "readme.txt", "x")
    write(tmp_path / "stray.csv", "x")
    report = ingest_landing(con, tmp_path, "r1")
    assert report.new_files == 0
    assert sorted(report.scan.ignored) == ["complaints/.DS_Store", "complaints/~$a.xlsx"]
    assert sorted(report.scan.outside_feeds) == ["notes/readme.txt", "stray.csv"]


def test_counts_add_up_and_phone_stays_restricted(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    rows = [ROW.format(id="C1", cat="seeds"), ROW.format(id="C2", cat="bogus"), "C3,short"]
    complaints_file(tmp_path, "a.csv", rows, 1000)
    ingest_landing(con, tmp_path, "r1")
    read, accepted, quarantined = con.execute(
        "select rows_read, rows_accepted, rows_quarantined from ops.manifest"
    ).fetchall()[0]
    assert (read, accepted, quarantined) == (3, 1, 2)
    columns = [r[0] for r in con.execute("describe staging.complaints").fetchall()]
    assert "complainant_phone" not in columns
    assert "13900000001" not in str(con.execute("select * from quarantine.rows").fetchall())
    assert (
        scalar(con, "select complainant_phone from restricted.complainant_phones") == "13900000001"
    )


def test_a_bom_file_that_is_not_utf8_is_rejected_without_its_content(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    # A GBK export saved "with a BOM": the BOM says UTF-8, the bytes after it are GBK.
    phone = "13987654321"
    row = ROW.format(id="C2", cat="seeds").replace("13900000001", phone)
    gbk = (COMPLAINT_HEADER + "\n" + row + "\n").encode("gbk")
    bad = write(tmp_path / "complaints" / "b_gbk_with_bom.csv", b"\xef\xbb\xbf" + gbk, mtime=2000)
    complaints_file(tmp_path, "a.csv", [ROW.format(id="C1", cat="seeds")], 1000)
    complaints_file(tmp_path, "c.csv", [ROW.format(id="C3", cat="seeds")], 3000)
    caplog.set_level(logging.DEBUG)
    report = ingest_landing(con, tmp_path, "r1")  # the run goes on past the bad file
    assert report.statuses == {"loaded": 2, "rejected": 1}
    assert sorted(
        r[0] for r in con.execute("select complaint_id from staging.complaints").fetchall()
    ) == [
        "C1",
        "C3",
    ]
    first = "绿".encode("gbk")  # the first non-ASCII character of the row
    offset = bad.read_bytes().index(first)
    assert scalar(con, "select issues from ops.manifest where status = 'rejected'") == (
        f"unreadable: starts with a UTF-8 BOM but byte 0x{first[0]:02X} at offset {offset} "
        "(line 2) is not UTF-8: save it again as UTF-8, or without the BOM as GB18030"
    )
    assert scalar(con, "select rows_read from ops.manifest where status = 'rejected'") == 0
    assert caplog.text and phone not in caplog.text
    assert phone not in str(con.execute("select * from ops.manifest").fetchall())


def _delivery_in_every_format(landing: Path, extensions: dict[str, str]) -> None:
    """One complaint as CSV and as JSON Lines, one listing as Parquet and one register row as
    Excel, with the given extension for each format."""
    import json

    import openpyxl
    import polars as pl

    from tests.conftest import make_uscc

    csv_row = ROW.format(id="C1", cat="seeds")
    complaints_file(landing, f"a{extensions['csv']}", [csv_row], 1000)
    record = dict(
        zip(COMPLAINT_HEADER.split(","), ROW.format(id="C2", cat="seeds").split(","), strict=True)
    )
    write(
        landing / "complaints" / f"b{extensions['jsonl']}",
        json.dumps(record, ensure_ascii=False) + "\n",
        mtime=2000,
    )
    listing = {
        "snapshot_date": ["2026-06-22"],
        "platform": ["taobao"],
        "listing_id": ["L1"],
        "shop_id": ["S1"],
        "shop_name": ["某某专营店"],
        "product_category": ["seeds"],
        "title": ["玉米种子"],
        "price_cny": [29.0],
    }
    parquet = landing / "listings" / f"c{extensions['parquet']}"
    parquet.parent.mkdir(parents=True)
    pl.DataFrame(listing).write_parquet(parquet)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["uscc", "name", "region_code", "entity_type", "status"])
    sheet.append([make_uscc("92630102MA0000001"), "绿丰种业经营部", "630102", "company", "active"])
    (landing / "entities").mkdir(parents=True)
    book.save(landing / "entities" / f"d{extensions['xlsx']}")


def test_extensions_are_case_insensitive(tmp_path: Path) -> None:
    # FEEDS.md: the format is known from the extension, and extensions are case-insensitive
    variants = {
        "lower": {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet", "xlsx": ".xlsx"},
        "upper": {"csv": ".CSV", "jsonl": ".JSONL", "parquet": ".Parquet", "xlsx": ".XLSX"},
    }
    loaded = {}
    for name, extensions in variants.items():
        con = duckdb.connect(":memory:")
        _delivery_in_every_format(tmp_path / name, extensions)
        ingest_landing(con, tmp_path / name, "r1")
        loaded[name] = (
            con.execute(
                "select feed, status, rows_read, rows_accepted, rows_quarantined "
                "from ops.manifest order by file"
            ).fetchall(),
            con.execute("select complaint_id from staging.complaints order by 1").fetchall(),
            con.execute("select listing_id from staging.listings").fetchall(),
            con.execute("select name from staging.entities").fetchall(),
        )
        con.close()
    manifest = [
        (feed, "loaded", 1, 1, 0) for feed in ("complaints", "complaints", "entities", "listings")
    ]
    assert loaded["lower"] == (manifest, [("C1",), ("C2",)], [("L1",)], [("绿丰种业经营部",)])
    assert loaded["upper"] == loaded["lower"]


# --- one file never stops a night (FEEDS.md, Limits) ---------------------------------------

KILLER = """
import os, sys
from pathlib import Path
import duckdb
import data_contracts.batch, transforms.ingest

real = data_contracts.batch.build_batch

def build(file, data=None):
    if file.rel.endswith("killer.csv"):
        os._exit(137)  # as the kernel's out-of-memory killer would end the process
    return real(file, data)

transforms.ingest.build_batch = build
con = duckdb.connect(sys.argv[2])
transforms.ingest.ingest_landing(con, Path(sys.argv[1]), "killed-run")
"""


def killed_run(tmp_path: Path) -> tuple[Path, Path]:
    """A landing of three files and a warehouse whose run died while reading the second."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    complaints_file(landing, "a.csv", [ROW.format(id="C1", cat="seeds")], 1000)
    complaints_file(landing, "killer.csv", [ROW.format(id="C2", cat="seeds")], 2000)
    complaints_file(landing, "later.csv", [ROW.format(id="C3", cat="seeds")], 3000)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    root = Path(__file__).resolve().parents[1]
    died = subprocess.run(
        [sys.executable, str(script), str(landing), str(warehouse)], cwd=root, check=False
    )
    assert died.returncode == 137
    return landing, warehouse


def test_a_file_that_ends_every_run_reading_it_is_rejected_and_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, warehouse = killed_run(tmp_path)
    # Read apart, the suspect takes longer than allowed (here: any time at all).
    monkeypatch.setattr(transforms.ingest, "SUSPECT_READ_SECONDS", 0.001)
    con = duckdb.connect(str(warehouse))  # a.csv may or may not have been written before
    report = ingest_landing(con, landing, "next-run")
    assert report.statuses["rejected"] == 1
    status, issues = con.execute(
        "select status, issues from ops.manifest where file = 'complaints/killer.csv'"
    ).fetchone() or ("", "")
    assert status == "rejected" and "a run stopped while reading this file" in issues
    assert "took more than 0.001 s" in issues
    ids = con.execute("select complaint_id from staging.complaints order by 1").fetchall()
    assert ids == [("C1",), ("C3",)]
    # a copy under another name is the same bytes: a suspect too, rejected
    complaints_file(landing, "killer_again.csv", [ROW.format(id="C2", cat="seeds")], 4000)
    assert ingest_landing(con, landing, "third-run").statuses == {"rejected": 1}


def test_a_file_that_was_read_when_a_run_was_killed_loads_when_read_apart(
    tmp_path: Path,
) -> None:
    landing, warehouse = killed_run(tmp_path)
    con = duckdb.connect(str(warehouse))
    ingest_landing(con, landing, "next-run")
    status, issues = con.execute(
        "select status, issues from ops.manifest where file = 'complaints/killer.csv'"
    ).fetchone() or ("", "")
    assert status == "loaded" and issues == ""
    ids = con.execute("select complaint_id from staging.complaints order by 1").fetchall()
    assert ids == [("C1",), ("C2",), ("C3",)]


def test_a_file_the_warehouse_cannot_take_is_rejected_and_the_run_goes_on(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    complaints_file(tmp_path, "a.csv", [ROW.format(id="C1", cat="seeds")], 1000)
    complaints_file(tmp_path, "b.csv", [ROW.format(id="C2", cat="seeds")], 2000)
    real = transforms.load._insert_rows

    def failing(
        con: duckdb.DuckDBPyConnection, batch: FileBatch, erased: Tombstones | None = None
    ) -> None:
        real(con, batch, erased)  # written, then the transaction fails and is rolled back
        if batch.file.rel.endswith("a.csv"):
            raise duckdb.ConversionException("Conversion Error: a cell quoted here 13900000001")

    monkeypatch.setattr(transforms.load, "_insert_rows", failing)
    report = ingest_landing(con, tmp_path, "r1")
    assert report.statuses == {"rejected": 1, "loaded": 1}
    manifest = con.execute("select file, status, issues from ops.manifest order by 1").fetchall()
    assert manifest[0][:2] == ("complaints/a.csv", "rejected")
    assert "ConversionException" in manifest[0][2] and "1390000" not in manifest[0][2]
    assert scalar(con, "select count(*) from raw.complaints where _file like '%a.csv'") == 0
    ids = con.execute("select complaint_id from staging.complaints").fetchall()
    assert ids == [("C2",)]
    assert ingest_landing(con, tmp_path, "r2").statuses == {}  # recorded as seen


def test_an_error_while_validating_rejects_that_file_alone(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    complaints_file(tmp_path, "a.csv", [ROW.format(id="C1", cat="seeds")], 1000)
    complaints_file(tmp_path, "b.csv", [ROW.format(id="C2", cat="seeds")], 2000)
    real = data_contracts.batch.validate_rows

    def failing(contract: FeedContract, table: RawTable) -> ValidatedRows:
        if table.cells["0"].to_list() == ["C1"]:
            raise OverflowError("date value out of range: 13900000001")
        return real(contract, table)

    monkeypatch.setattr(data_contracts.batch, "validate_rows", failing)
    assert ingest_landing(con, tmp_path, "r1").statuses == {"rejected": 1, "loaded": 1}
    status, issues = con.execute(
        "select status, issues from ops.manifest where file = 'complaints/a.csv'"
    ).fetchone() or ("", "")
    assert status == "rejected" and "validating" in issues and "OverflowError" in issues
    assert "1390000" not in issues
