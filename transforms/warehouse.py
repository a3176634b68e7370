"""Opening the warehouse and running the SQL files that build its tables."""

from __future__ import annotations

import datetime as dt
import fcntl
import mmap
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from graphlib import TopologicalSorter
from pathlib import Path
from typing import IO, Any

import duckdb
import polars as pl

SQL_DIR = Path(__file__).resolve().parent / "sql"


# DuckDB checkpoints whenever its write-ahead log passes 16 MB; ingestion commits once per
# file, so a cold load of a province's ~350 files checkpointed about 20 times, rewriting the
# tables' last row groups each time (half of its wall time). With 256 MB it checkpoints a
# few times, and on close; each commit still reaches the log on disk.
CHECKPOINT_THRESHOLD = "256MB"

# DuckDB's own default memory limit is 80% of the machine's. Training holds ~4 GB of
# temporary tables at national scale (each feed's history with its versions, the record keys
# of 14 feature days) and Splink's working tables ~3.5 GB more, in one process: 9.1 GB at
# its peak, over the nightly run's 8 GB. Within these limits DuckDB writes what does not fit
# to its temporary directory (`<warehouse>.tmp`, a scratch database's own under the system's
# temporary directory) and removes it on close; a province world never reaches them.
MEMORY_LIMIT = "3GB"
SCRATCH_MEMORY_LIMIT = "2GB"


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the DuckDB warehouse file."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    # Settings rather than connect() configs: other code may open the same file without them.
    con.execute(f"set checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    return con


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for working tables kept out of the warehouse (Splink's, the shop
    linker's), within `SCRATCH_MEMORY_LIMIT`, spilling to a directory of its own."""
    con = duckdb.connect(":memory:")
    con.execute(f"set memory_limit = '{SCRATCH_MEMORY_LIMIT}'")
    spill = Path(tempfile.gettempdir()) / f"radar-scratch-{os.getpid()}-{id(con):x}"
    con.execute(f"set temp_directory = '{spill}'")
    return con


def sql_file(relative: str) -> str:
    """The text of a SQL file under transforms/sql (one output table per file)."""
    return (SQL_DIR / relative).read_text(encoding="utf-8")


# A SQL model's table is `<schema>.<file stem>` of its file `sql/<schema>/<stem>.sql`; a model
# depends on the tables its SQL names (comments left out).
_TABLE_NAME = re.compile(r"\b(raw|staging|quarantine|restricted|core|features|scores|ops)\.(\w+)\b")
_SQL_COMMENT = re.compile(r"--[^\n]*")


def model_file(table: str) -> str:
    """The SQL file (under transforms/sql) that builds `table` (`schema.name`)."""
    schema, name = table.split(".")
    return f"{schema}/{name}.sql"


def sql_dependencies(relative: str) -> set[str]:
    """The `schema.table` names a SQL file reads."""
    text = _SQL_COMMENT.sub("", sql_file(relative))
    return {f"{schema}.{name}" for schema, name in _TABLE_NAME.findall(text)}


def build_order(tables: Iterable[str]) -> list[str]:
    """`tables` (SQL models) in an order where each comes after the models it reads, read
    from their files; ties in name order. Raises graphlib.CycleError on a cycle."""
    wanted = sorted(set(tables))
    graph = {t: sql_dependencies(model_file(t)) & set(wanted) - {t} for t in wanted}
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


def build_models(
    con: duckdb.DuckDBPyConnection, tables: Iterable[str], params: dict[str, Any] | None = None
) -> list[str]:
    """Materialize the SQL models `tables` in dependency order (`build_order`); returns it."""
    order = build_order(tables)
    for table in order:
        materialize(con, table, model_file(table), params)
    return order


def materialize(
    con: duckdb.DuckDBPyConnection, table: str, relative: str, params: dict[str, Any] | None = None
) -> None:
    """Create or replace `table` from the select in a SQL file, binding only the parameters it uses."""
    query = sql_file(relative)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in query}
    con.execute(f"create or replace table {table} as {query}", used or None)


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None) -> Any:
    """The single value a query returns (None when it returns no row)."""
    rows = con.execute(query, params or []).fetchall()
    return rows[0][0] if rows else None


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (a table or a view); asks the catalog, so it works on a
    read-only connection."""
    query = (
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    )
    return bool(scalar(con, query, [schema, table]))


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create or replace `table` with the rows of a Polars frame."""
    con.register("_frame", frame.to_arrow())
    try:
        con.execute(f"create or replace table {table} as select * from _frame")
    finally:
        con.unregister("_frame")


@contextmanager
def held_open(path: Path | str) -> Iterator[None]:
    """Keep the warehouse's database open while the block runs. The connections opened in
    it (each nightly task opens its own) share that one open database, so closing one is
    not a checkpoint and opening the next does not read the catalogue again; DuckDB
    checkpoints when its log passes CHECKPOINT_THRESHOLD, and when the block ends."""
    con = connect(path)
    try:
        yield
    finally:
        con.close()


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse."""


@contextmanager
def warehouse_lock(
    path: Path | str, wait_seconds: float = 0.0, holder: str = "a radar command"
) -> Iterator[None]:
    """Hold an exclusive lock on the warehouse for a whole run (a lock file beside it).

    A second run waits up to `wait_seconds`, then raises WarehouseBusy with a clear message
    that names the holder (`holder`, its process, host and start, written into the lock file
    while it is held); the lock is released by the operating system if the holder dies.
    """
    if str(path) == ":memory:":
        yield
        return
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    held_by = handle.read().strip()
                    raise WarehouseBusy(
                        f"another radar run is using the warehouse {path}"
                        f"{f' ({held_by})' if held_by else ''}; "
                        "wait for it to finish (or raise RADAR_LOCK_WAIT_SECONDS)"
                    ) from None
                time.sleep(0.5)
        _write_holder(handle, holder)
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_holder(handle: IO[str], holder: str) -> None:
    """Who holds the lock, for the message of a run that finds it taken. `holder` is a name
    the caller chose (never a command line: `radar erase --phone` has a phone on it)."""
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    handle.truncate(0)
    handle.write(f"held by {holder}, process {os.getpid()} on {socket.gethostname()} since {since}")
    handle.flush()


def rewrite_file(path: Path | str) -> None:
    """Copy the warehouse into a fresh file and put it in place of the old one.

    DuckDB keeps deleted and overwritten values in the file's free blocks until later writes
    reuse them, so after an erasure the old file still holds the erased bytes; a copy holds
    only what the tables hold now. Hold the warehouse lock: nothing else may have it open.
    """
    path = Path(path)
    fresh = path.with_name(f"{path.name}.rewrite")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        name = scalar(con, "select current_database()")
        quoted = str(fresh).replace("'", "''")
        con.execute(f"attach '{quoted}' as radar_rewrite")
        con.execute(f'copy from database "{name}" to radar_rewrite')
        con.execute("checkpoint radar_rewrite")
        con.execute("detach radar_rewrite")
    finally:
        con.close()
    Path(f"{path}.wal").unlink(missing_ok=True)  # closing checkpointed it into the old file
    os.replace(fresh, path)


def bytes_found(path: Path | str, needles: Iterable[bytes]) -> int:
    """How many of `needles` occur anywhere in the warehouse file or its write-ahead log."""
    wanted = {n for n in needles if n}
    found: set[bytes] = set()
    for file in (Path(path), Path(f"{path}.wal")):
        if not file.exists() or file.stat().st_size == 0:
            continue
        with file.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            found |= {n for n in wanted - found if data.find(n) >= 0}
    return len(found)
