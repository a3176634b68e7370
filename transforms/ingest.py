"""Ingest what is new in the landing directory: scan, build batches, write them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.batch import DeliveredFile, FileBatch, build_batch, read_spooled
from transforms.landing import LandingScan, scan_landing
from transforms.load import ensure_warehouse, known_file, write_batch

log = logging.getLogger(__name__)

BatchBuilder = Callable[[list[DeliveredFile]], Iterable[FileBatch]]


@dataclass
class IngestReport:
    """What one ingestion did: file counts by status and the files passed over."""

    scan: LandingScan
    statuses: dict[str, int] = field(default_factory=dict)
    new_files: int = 0
    # feed -> the typed rows of each file loaded in this run (for the Great Expectations suites)
    typed_rows: dict[str, list[pl.DataFrame]] = field(default_factory=dict)


def build_batches_locally(files: list[DeliveredFile]) -> Iterable[FileBatch]:
    """Build batches one after the other in this process (the default)."""
    for f in files:
        yield build_batch(f)


def new_files(con: duckdb.DuckDBPyConnection, landing: Path) -> list[DeliveredFile]:
    """The feed files of the landing directory not handled by an earlier run, in delivery order."""
    ensure_warehouse(con)
    return [f for f in scan_landing(landing).files if not known_file(con, f)]


def spooled_builder(spooled: dict[str, Path]) -> BatchBuilder:
    """A builder that reads batches other processes already built and spooled, by file path."""

    def build(files: list[DeliveredFile]) -> Iterable[FileBatch]:
        for f in files:
            yield read_spooled(spooled[f.rel])

    return build


def ingest_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    run_id: str,
    build: BatchBuilder = build_batches_locally,
) -> IngestReport:
    """Load every file not seen before, in delivery order; each file commits on its own."""
    ensure_warehouse(con)
    scan = scan_landing(landing)
    for rel in scan.outside_feeds:
        log.warning("ignored, not under a feed folder: %s", rel)
    for rel in scan.ignored:
        log.info("ignored lock or hidden file: %s", rel)
    new = [f for f in scan.files if not known_file(con, f)]
    report = IngestReport(scan=scan, new_files=len(new))
    for batch in build(new):
        status, issues = write_batch(con, batch, run_id)
        report.statuses[status] = report.statuses.get(status, 0) + 1
        if status == "loaded" and batch.rows is not None:
            typed = batch.rows.typed.with_columns(pl.lit(batch.file.rel).alias("_file"))
            report.typed_rows.setdefault(batch.file.feed, []).append(typed)
        if status != "loaded":
            log.warning("%s %s: %s", status, batch.file.rel, "; ".join(issues)[:300])
    return report
