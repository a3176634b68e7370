"""Ingest what is new in the landing directory: scan, build batches, write them."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.batch import (
    DeliveredFile,
    FileBatch,
    build_batch,
    duplicate_batch,
    failure_reason,
    read_spooled,
    rejected_batch,
    sha256_of,
    too_large,
)
from data_contracts.readers import file_format
from transforms.landing import LandingScan, scan_landing
from transforms.load import (
    ensure_warehouse,
    handled_files,
    loaded_copy_rows,
    record_attempt,
    suspect_files,
    write_batch,
)
from transforms.tombstones import tombstones

log = logging.getLogger(__name__)

# The tombstones read once per ingest, not once per file (province world: 0.5 s of CPU over
# 347 files). Exact: only an erasure adds one (`transforms.privacy`), never a file's load, and
# `radar erase` waits for the warehouse's lock, which the run holds. False: read for each file
# (the reference path).
TOMBSTONES_ONCE = True

BatchBuilder = Callable[[list[DeliveredFile]], Iterable[FileBatch]]


@dataclass
class IngestReport:
    """What one ingestion did: file counts by status and the files passed over."""

    scan: LandingScan
    statuses: dict[str, int] = field(default_factory=dict)
    new_files: int = 0
    # feed -> the rows read of each file loaded in this run as its Great Expectations suite
    # validates them (`FileBatch.gx_rows`: accepted typed rows, quarantined rows by number)
    typed_rows: dict[str, list[pl.DataFrame]] = field(default_factory=dict)


def local_builder(con: duckdb.DuckDBPyConnection) -> BatchBuilder:
    """Build batches in this process (the default), each in a thread while the writer
    writes the one before (`ahead`)."""
    return lambda files: ahead(_built(files, con.cursor()))


def _built(files: list[DeliveredFile], cursor: duckdb.DuckDBPyConnection) -> Iterator[FileBatch]:
    """The batch of each file, in order. A file with the same bytes and format as a file of
    its feed already loaded, or read before it in this run, is not read: the writer would
    only record it as a duplicate. A file whose reading ended an earlier run is read apart
    (`build_apart`). `cursor` is the builder's own connection, closed at the end."""
    read: dict[tuple[str, str, str | None], int] = {}  # (feed, sha256, format) -> rows read
    attempt = uuid.uuid4().hex
    suspects = suspect_files(cursor)
    try:
        for f in files:
            unread = rejected_batch(f, "", f.problem) if f.problem is not None else too_large(f)
            if unread is not None:
                yield unread
                continue
            try:
                data = f.path.read_bytes()
            except OSError as exc:  # gone or unreadable since the scan
                yield rejected_batch(f, "", failure_reason("opening", exc))
                continue
            sha256 = sha256_of(data)
            copy_of = (f.feed, sha256, file_format(f.path))
            rows_read = read.get(copy_of)
            if rows_read is None:
                rows_read = loaded_copy_rows(cursor, f, sha256)
            if rows_read is not None:
                yield duplicate_batch(f, sha256, rows_read)
                continue
            if (f.feed, sha256) in suspects:
                del data
                yield build_apart(f, sha256, suspects[(f.feed, sha256)])
                continue
            record_attempt(cursor, attempt, f, sha256, "reading")
            batch = build_batch(f, data)
            del data
            record_attempt(cursor, attempt, f, sha256, "built")
            if batch.status == "loaded":
                read[copy_of] = batch.rows_read
            yield batch
    finally:
        cursor.close()


# How long a suspect file may take when read apart from the run (`build_apart`).
SUSPECT_READ_SECONDS = 1800.0


def build_apart(file: DeliveredFile, sha256: str, when: str) -> FileBatch:
    """The batch of a file whose reading once ended a run, read again in a process of its own
    (`data_contracts.sandbox`): a run killed from outside while reading an ordinary file loses
    nothing, and a file that kills whatever reads it, or takes too long, is rejected and ends
    only that process."""
    spec: dict[str, object] = {"feed": file.feed, "path": str(file.path), "rel": file.rel}
    spec |= {"mtime": file.mtime, "size": file.size}
    command = [sys.executable, "-m", "data_contracts.sandbox", json.dumps(spec)]
    with tempfile.TemporaryDirectory(prefix="radar-suspect-") as spool:
        try:
            done = subprocess.run(
                [*command, spool], capture_output=True, text=True, timeout=SUSPECT_READ_SECONDS
            )
        except subprocess.TimeoutExpired:
            return rejected_batch(
                file, sha256, _killed_reason(when, f"took more than {SUSPECT_READ_SECONDS:g} s")
            )
        if done.returncode != 0:
            how = f"ended the process reading it (exit status {done.returncode})"
            return rejected_batch(file, sha256, _killed_reason(when, how))
        return read_spooled(Path(done.stdout.strip()))


def _killed_reason(when: str, how: str) -> str:
    return (
        f"上次处理时进程中止 a run stopped while reading this file ({when}); read again apart "
        f"from the run, it {how} (out of memory, or too slow): rejected so that it cannot stop "
        "another night; deliver it again in smaller parts, or tell the developers"
    )


_DONE = object()


def ahead(batches: Iterator[FileBatch]) -> Iterator[FileBatch]:
    """The same batches in the same order, each built in a thread while the caller handles
    the one before: reading and validating (Polars) and writing (DuckDB, the disk) mostly
    run outside the GIL, so on two cores they overlap. At most one built batch waits; an
    error while building is raised here, and stopping here stops the builder."""
    waiting: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                waiting.put(item, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(_DONE)
        except BaseException as exc:
            offer(exc)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="ingest-builder", daemon=True)
    thread.start()
    try:
        while (item := waiting.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, FileBatch)
            yield item
    finally:
        stop.set()
        thread.join()


def unseen(con: duckdb.DuckDBPyConnection, files: list[DeliveredFile]) -> list[DeliveredFile]:
    """The files not handled by an earlier run (same path, size and mtime), in the same order."""
    handled = handled_files(con)
    return [f for f in files if (f.feed, f.rel, f.size, f.mtime) not in handled]


def new_files(con: duckdb.DuckDBPyConnection, landing: Path) -> list[DeliveredFile]:
    """The feed files of the landing directory not handled by an earlier run, in delivery order."""
    ensure_warehouse(con)
    return unseen(con, scan_landing(landing).files)


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
    build: BatchBuilder | None = None,
) -> IngestReport:
    """Load every file not seen before, in delivery order; each file commits on its own.
    Files are read here (`local_builder`) unless `build` says otherwise."""
    ensure_warehouse(con)
    build = build or local_builder(con)
    scan = scan_landing(landing)
    for rel in scan.outside_feeds:
        log.warning("ignored, not under a feed folder: %s", rel)
    for rel in scan.ignored:
        log.info("ignored lock or hidden file: %s", rel)
    new = unseen(con, scan.files)
    report = IngestReport(scan=scan, new_files=len(new))
    erased = tombstones(con) if TOMBSTONES_ONCE else None
    batches = build(new)
    try:
        for batch in batches:
            try:
                status, issues = write_batch(con, batch, run_id, erased)
            except duckdb.Error as exc:  # rolled back: the file is rejected, the run goes on
                reason = failure_reason("loading", exc)
                batch = rejected_batch(batch.file, batch.sha256, reason)
                status, issues = write_batch(con, batch, run_id, erased)
            report.statuses[status] = report.statuses.get(status, 0) + 1
            if status == "loaded" and batch.rows is not None:
                report.typed_rows.setdefault(batch.file.feed, []).append(batch.gx_rows())
            if status != "loaded":
                log.warning("%s %s: %s", status, batch.file.rel, "; ".join(issues)[:300])
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # a failed write stops the builder now, not when the traceback goes
    return report
