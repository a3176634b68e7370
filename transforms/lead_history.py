"""The tables of the lead history, and the only writes into them (models.lead_history reads
them: what each lead's follow-up columns say).

scores.lead_history keeps (as_of, lead_id, rank, score, risk_level) of the first run of every
as-of date; scores.lead_history_basis numbers the dates in the order they were first run.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

HISTORY_DDL = """
create table if not exists scores.lead_history (
  as_of DATE, lead_id VARCHAR, rank BIGINT, score DOUBLE, risk_level VARCHAR
)"""
BASIS_DDL = """
create table if not exists scores.lead_history_basis (as_of DATE, first_run BIGINT)"""


def ensure_lead_history(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lead history's tables when missing, and number dates recorded without a basis."""
    con.execute("create schema if not exists scores")
    con.execute(HISTORY_DDL)
    con.execute(BASIS_DDL)
    # History recorded before the basis existed: its dates were first run in date order.
    con.execute(
        """
        insert into scores.lead_history_basis
        select as_of,
               (select coalesce(max(first_run), 0) from scores.lead_history_basis)
               + row_number() over (order by as_of)
        from (select distinct as_of from scores.lead_history) dates
        where as_of not in (select as_of from scores.lead_history_basis)
        """
    )


def register_first_run(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Number `as_of` after every date run so far, unless it has been run before."""
    ensure_lead_history(con)
    con.execute(
        """
        insert into scores.lead_history_basis
        select cast($as_of as date),
               (select coalesce(max(first_run), 0) + 1 from scores.lead_history_basis)
        where not exists (
            select 1 from scores.lead_history_basis where as_of = cast($as_of as date)
        )
        """,
        {"as_of": as_of},
    )


def record_history(con: duckdb.DuckDBPyConnection, as_of: dt.date, leads: pl.DataFrame) -> None:
    """Record this run's leads as the history of `as_of`, unless a run of that date did."""
    ensure_lead_history(con)
    if con.execute("select 1 from scores.lead_history where as_of = ? limit 1", [as_of]).fetchall():
        return  # what officers were told that day stays what the later days compare with
    rows = leads.select(pl.lit(as_of).alias("as_of"), "lead_id", "rank", "score", "risk_level")
    con.register("_history", rows.to_arrow())
    try:
        con.execute("insert into scores.lead_history select * from _history")
    finally:
        con.unregister("_history")
