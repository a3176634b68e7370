"""The space-time scan's verdict on each tested day of the last night (`models.scan.ScanMemo`),
kept so that the next night scans only the days it does not answer (issue 22): three tables
of `scores`, replaced together."""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.warehouse import has_table, replace_table

# the night's settings and calendar (one row), each calendar day's digest, the verdicts
SCAN_MEMO_TABLES = ("scan_memo", "scan_memo_digests", "scan_memo_days")


def stored_scan_memo(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame] | None:
    """The tables the last night stored, by name; None when there are none."""
    if not all(has_table(con, "scores", name) for name in SCAN_MEMO_TABLES):
        return None
    return {name: con.sql(f"select * from scores.{name}").pl() for name in SCAN_MEMO_TABLES}


def store_scan_memo(con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> None:
    """Replace the stored tables with this night's (`models.scan.memo_tables`)."""
    con.execute("create schema if not exists scores")
    con.execute("begin transaction")
    try:
        for name in SCAN_MEMO_TABLES:
            replace_table(con, f"scores.{name}", tables[name])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
