"""The single writer: puts file batches into the warehouse, one transaction per file.

Layers written here:
- `ops.manifest`: every file seen, with status and counts (the data_quality export);
- `ops.ingest_attempts`: each file as its reading starts and ends, so a file whose reading
  ended a run (out of memory, killed, timed out) is known at the next one;
- `raw.<feed>`: every delivered record as JSON with its file and row number;
- `quarantine.rows` / `quarantine.findings`: rejected rows with all reasons, row findings;
- `staging.<feed>_history`: accepted typed rows; `staging.<feed>` is the version in force
  per key (latest delivery by file mtime then path, last row within a file);
- `restricted.complaint_phones_history`: the complainant's phone, nowhere else.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.batch import DUPLICATE_ISSUE, DeliveredFile, FileBatch
from data_contracts.contract import REFERENCE_DIR, FeedContract, contracts
from data_contracts.readers import file_format
from data_contracts.validate import CHINA
from transforms.tombstones import Tombstones, scrubbed_for_load
from transforms.warehouse import scalar

SCHEMAS = ("raw", "staging", "quarantine", "restricted", "ops", "core", "features", "scores")


def staging_history_ddl_sql(contract: FeedContract) -> str:
    cols = ",\n  ".join(f"{c.name} {c.duckdb_type}" for c in contract.staging_columns)
    return f"""
create table if not exists staging.{contract.name}_history (
  {cols},
  _file VARCHAR, _sha256 VARCHAR, _row_number BIGINT, _delivered DOUBLE
)"""


def in_force_sql(contract: FeedContract, delivered_before: bool = False) -> str:
    """The version in force for each key: the latest delivery wins, then the last row of a
    file; with `delivered_before`, among the rows delivered before $delivered_before.

    A key delivered once (almost all: a correction re-delivers a few) is its own version in
    force: the window that orders the versions runs only over the keys delivered more than
    once (the province's million listing rows: about 0.3 s of CPU less for each query that
    reads staging.listings; the same rows as the window over all, `tests/test_in_force.py`).
    The keys are joined by equality, so that a reader's filter on a key column (a date range of
    listings) reaches the history's scan; a key with a missing part (the contract requires
    every part) is ordered by the window apart."""
    cols = ", ".join(f"h.{c.name}" for c in contract.staging_columns)
    key = ", ".join(f"h.{k}" for k in contract.key)
    history = f"staging.{contract.name}_history h"
    delivered = "h._delivered < $delivered_before" if delivered_before else "true"
    same_key = " and ".join(f"h.{k} = v.{k}" for k in contract.key)
    missing = " or ".join(f"h.{k} is null" for k in contract.key)
    in_order = f"""qualify row_number() over (
    partition by {key} order by h._delivered desc, h._file desc, h._row_number desc
  ) = 1"""
    rows = f"select {cols}, h._file, h._row_number"
    return f"""
with versions as not materialized (
  select {key}, count(*) as versions from {history} where {delivered} group by all
)
{rows} from {history} join versions v on {same_key} where {delivered} and v.versions = 1
union all
(
  {rows} from {history} join versions v on {same_key} where {delivered} and v.versions > 1
  {in_order}
)
union all
(
  {rows} from {history} where {delivered} and ({missing})
  {in_order}
)"""


def staging_view_sql(contract: FeedContract) -> str:
    return f"create or replace view staging.{contract.name} as {in_force_sql(contract)}"


# Delivered records as JSON repeat their keys in every row: zstd stores them in a fifth of
# the space of DuckDB's default string compression, and checkpoints them faster.
RECORD_TYPE = "VARCHAR USING COMPRESSION zstd"


def raw_ddl_sql(feed: str) -> str:
    return f"""
create table if not exists raw.{feed} (
  _file VARCHAR, _sha256 VARCHAR, _row_number BIGINT, record {RECORD_TYPE}, _loaded_at TIMESTAMP
)"""


FIXED_DDL = f"""
create table if not exists ops.manifest (
  feed VARCHAR, file VARCHAR, sha256 VARCHAR, size_bytes BIGINT, mtime DOUBLE,
  status VARCHAR, rows_read BIGINT, rows_accepted BIGINT, rows_quarantined BIGINT,
  issues VARCHAR, run_id VARCHAR, loaded_at TIMESTAMP
);
create table if not exists quarantine.rows (
  feed VARCHAR, file VARCHAR, sha256 VARCHAR, _row_number BIGINT, reasons VARCHAR,
  record {RECORD_TYPE}, quarantined_at TIMESTAMP,
  resolution VARCHAR, resolved_by VARCHAR, resolved_at TIMESTAMP, note VARCHAR
);
create table if not exists quarantine.findings (
  feed VARCHAR, file VARCHAR, sha256 VARCHAR, _row_number BIGINT, finding VARCHAR
);
create table if not exists ops.ingest_attempts (
  attempt VARCHAR, feed VARCHAR, file VARCHAR, sha256 VARCHAR, stage VARCHAR, noted_at TIMESTAMP
);
create table if not exists restricted.complaint_phones_history (
  complaint_id VARCHAR, complainant_phone VARCHAR, _sha256 VARCHAR, _row_number BIGINT
);
create or replace view restricted.complainant_phones as
select c.complaint_id, p.complainant_phone
from staging.complaints_history c
join restricted.complaint_phones_history p using (_sha256, _row_number)
qualify row_number() over (
  partition by c.complaint_id order by c._delivered desc, c._file desc, c._row_number desc
) = 1;
"""


def end_of_day(day: dt.date) -> float:
    """The end of `day` in China time as POSIX seconds, the unit of `_delivered` (a file's
    modification time, its delivery moment)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=CHINA).timestamp()


def staging_versions_sql(contract: FeedContract) -> str:
    """Every accepted row of a feed with `_superseded`: when the next version of its key was
    delivered (null while it is in force), in the order of `in_force_sql`."""
    cols = ", ".join(c.name for c in contract.staging_columns)
    key = ", ".join(contract.key)
    return f"""
select {cols}, _file, _row_number, _delivered,
  lead(_delivered) over (
    partition by {key} order by _delivered, _file, _row_number
  ) as _superseded
from staging.{contract.name}_history"""


def known_on_view_sql(contract: FeedContract) -> str:
    """staging.<feed> as known before temp.known_on.delivered_before: the row of each key
    delivered before it and not superseded by then."""
    cols = ", ".join(c.name for c in contract.staging_columns)
    return f"""
create or replace view staging.{contract.name} as
select {cols}, _file, _row_number
from versions_{contract.name}, known_on
where _delivered < known_on.delivered_before
  and (_superseded is null or _superseded >= known_on.delivered_before)"""


def freeze_staging_as_known_on(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Point each staging.<feed> view at the versions in force on `day` among the rows
    delivered by its end (China time): what a run on that day could have known (FEEDS.md,
    Training and backtests). Only inside a transaction that is rolled back (the rollback
    restores the views). The first call of the transaction copies each feed's history with
    the moment each row was superseded (`staging_versions_sql`), so that another day is a
    filter, not a new window over the history (seed 21 at scale 1: training 29 s with a
    window per day, 21 s so, 19 s before the rule); the history must not change meanwhile."""
    con.execute("create temp table if not exists known_on (delivered_before DOUBLE)")
    con.execute("delete from known_on")
    con.execute("insert into known_on values (?)", [end_of_day(day)])
    for contract in contracts().values():
        con.execute(
            f"create temp table if not exists versions_{contract.name} as "
            + staging_versions_sql(contract)
        )
        con.execute(known_on_view_sql(contract))


def ensure_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table the loader writes (idempotent)."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for contract in contracts().values():
        con.execute(raw_ddl_sql(contract.name))
        con.execute(staging_history_ddl_sql(contract))
        con.execute(staging_view_sql(contract))
    con.execute(FIXED_DDL)
    con.execute(
        "create or replace table core.regions as select * from read_csv(?, all_varchar = true)",
        [str(REFERENCE_DIR / "regions.csv")],
    )


def handled_files(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, int, float]]:
    """(feed, path, size, mtime) of every file handled by an earlier run, read at once."""
    rows = con.execute("select feed, file, size_bytes, mtime from ops.manifest").fetchall()
    return {(feed, file, int(size), float(mtime)) for feed, file, size, mtime in rows}


def loaded_copy_rows(
    con: duckdb.DuckDBPyConnection, file: DeliveredFile, sha256: str
) -> int | None:
    """The rows read from an already-loaded file of the same feed, bytes and format as
    `file` (so `file` is a duplicate and need not be read), or None when there is none."""
    query = (
        "select file, rows_read from ops.manifest where feed = ? and sha256 = ? "
        "and status = 'loaded' order by loaded_at, file"
    )
    for path, rows_read in con.execute(query, [file.feed, sha256]).fetchall():
        if file_format(Path(path)) == file_format(file.path):
            return int(rows_read)
    return None


def is_duplicate(con: duckdb.DuckDBPyConnection, feed: str, sha256: str) -> bool:
    """True when a file of the same feed with the same bytes was already loaded."""
    query = "select count(*) from ops.manifest where feed = ? and sha256 = ? and status = 'loaded'"
    return bool(scalar(con, query, [feed, sha256]))


def _manifest_row(batch: FileBatch, status: str, issues: list[str], run_id: str) -> list[object]:
    f = batch.file
    loaded = status == "loaded"
    return [
        f.feed,
        f.rel,
        batch.sha256,
        f.size,
        f.mtime,
        status,
        batch.rows_read,
        batch.rows_accepted if loaded else 0,
        batch.rows_quarantined if loaded else 0,
        "; ".join(issues),
        run_id,
        dt.datetime.now(dt.UTC).replace(tzinfo=None),
    ]


def write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: FileBatch,
    run_id: str,
    erased: Tombstones | None = None,
) -> tuple[str, list[str]]:
    """Write one file's batch atomically; returns the file's final status and issues.
    `erased`: the warehouse's tombstones, when the caller read them already."""
    f = batch.file
    status, issues = batch.status, list(batch.issues)
    if status == "loaded" and is_duplicate(con, f.feed, batch.sha256):
        status, issues = "duplicate", [DUPLICATE_ISSUE]
    con.execute("begin transaction")
    try:
        if status == "loaded":
            _insert_rows(con, batch, erased)
        con.execute(
            "insert into ops.manifest values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _manifest_row(batch, status, issues, run_id),
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return status, issues


def _insert_from(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, query: str, params: list[object]
) -> None:
    """Run an insert that selects from `batch_rows`, the given frame."""
    con.register("batch_rows", frame.to_arrow())
    try:
        con.execute(query, params)
    finally:
        con.unregister("batch_rows")


def _insert_rows(
    con: duckdb.DuckDBPyConnection, batch: FileBatch, erased: Tombstones | None = None
) -> None:
    # quarantine without personal data; erasures kept
    batch = scrubbed_for_load(con, batch, erased)
    assert batch.rows is not None and batch.raw is not None
    f, contract = batch.file, contracts()[batch.file.feed]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _insert_from(
        con,
        batch.raw,
        f"insert into raw.{f.feed} select ?, ?, _row_number, record, ? from batch_rows",
        [f.rel, batch.sha256, now],
    )
    _insert_from(
        con,
        batch.rows.quarantined,
        "insert into quarantine.rows select ?, ?, ?, _row_number, reasons, record, ?, "
        "null, null, null, null from batch_rows",
        [f.feed, f.rel, batch.sha256, now],
    )
    _insert_from(
        con,
        batch.rows.findings,
        "insert into quarantine.findings select ?, ?, ?, _row_number, finding from batch_rows",
        [f.feed, f.rel, batch.sha256],
    )
    cols = ", ".join(c.name for c in contract.staging_columns)
    _insert_from(
        con,
        batch.rows.accepted,
        f"insert into staging.{f.feed}_history select {cols}, ?, ?, _row_number, ? from batch_rows",
        [f.rel, batch.sha256, f.mtime],
    )
    if any(c.personal for c in contract.columns):
        _insert_from(
            con,
            batch.rows.accepted,
            "insert into restricted.complaint_phones_history "
            "select complaint_id, complainant_phone, ?, _row_number from batch_rows "
            "where complainant_phone is not null",
            [batch.sha256],
        )


def record_attempt(
    con: duckdb.DuckDBPyConnection, attempt: str, file: DeliveredFile, sha256: str, stage: str
) -> None:
    """Note that reading `file` starts ("reading") or ended ("built"), committed at once: if
    the process dies in between, the next run knows which file it was reading."""
    con.execute(
        "insert into ops.ingest_attempts values (?, ?, ?, ?, ?, ?)",
        [attempt, file.feed, file.rel, sha256, stage, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )


def suspect_files(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(feed, sha256) -> when: the files whose reading started in a run that never finished
    reading them: the process died on them (an interrupted run finishes the file it reads)."""
    rows = con.execute(
        """
        select a.feed, a.sha256, min(a.noted_at)
        from ops.ingest_attempts a
        where a.stage = 'reading'
          and not exists (
            select 1 from ops.ingest_attempts b
            where b.attempt = a.attempt and b.file = a.file and b.stage = 'built')
        group by a.feed, a.sha256
        """
    ).fetchall()
    return {(feed, sha256): f"{at:%Y-%m-%d %H:%M} UTC" for feed, sha256, at in rows}
