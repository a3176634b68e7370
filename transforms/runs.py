"""The run log in the warehouse: `ops.runs` (one row per nightly run: as-of date, start, end,
status, row counts per stage) and `ops.validation_results` (each Great Expectations result of
a run, per feed and batch of files)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

import duckdb

from transforms.load import ensure_warehouse
from transforms.warehouse import has_table

if TYPE_CHECKING:  # Great Expectations is imported where used (flows.stages)
    from data_contracts.expectations import FeedValidation

RUNS_DDL = """
create table if not exists ops.runs (
  run_id VARCHAR, as_of DATE, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
  counts VARCHAR
)"""

VALIDATION_RESULTS_DDL = """
create table if not exists ops.validation_results (
  run_id VARCHAR, feed VARCHAR, files VARCHAR, rows BIGINT, success BOOLEAN, result VARCHAR
)"""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date) -> None:
    """Record the run's start in ops.runs."""
    ensure_warehouse(con)
    con.execute(RUNS_DDL)
    # We hold the warehouse lock, so a run still marked running was killed mid-way.
    con.execute("update ops.runs set status = 'interrupted' where status = 'running'")
    con.execute(
        "insert into ops.runs values (?, ?, ?, null, 'running', null)",
        [run_id, as_of, _utc_now()],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: str, status: str, counts: dict[str, int]
) -> None:
    """Record the run's end, status and row counts per stage in ops.runs."""
    con.execute(
        "update ops.runs set finished_at = ?, status = ?, counts = ? where run_id = ?",
        [_utc_now(), status, json.dumps(counts, sort_keys=True), run_id],
    )


def succeeded_days(con: duckdb.DuckDBPyConnection) -> set[dt.date]:
    """The as-of dates with a succeeded run in ops.runs (read-only connections will do)."""
    if not has_table(con, "ops", "runs"):
        return set()
    rows = con.execute("select as_of from ops.runs where status = 'succeeded'").fetchall()
    return {r[0] for r in rows}


def record_validations(
    con: duckdb.DuckDBPyConnection, run_id: str, results: Iterable[FeedValidation]
) -> None:
    """Store a run's validation results in ops.validation_results."""
    con.execute(VALIDATION_RESULTS_DDL)
    for r in results:
        con.execute(
            "insert into ops.validation_results values (?, ?, ?, ?, ?, ?)",
            [
                run_id,
                r.feed,
                r.file,
                r.rows,
                r.success,
                json.dumps(r.to_json_dict(), ensure_ascii=False),
            ],
        )
