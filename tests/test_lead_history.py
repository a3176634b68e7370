"""Each as-of date's lead history is the one it had at its first run (issue 24, part 5)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from models.lead_history import previous_runs_sql
from transforms.lead_history import record_history, register_first_run

JUNE = {d: dt.date(2026, 6, d) for d in range(1, 31)}


def leads(*ids: str) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {"lead_id": ids, "rank": range(1, n + 1), "score": [0.5] * n, "risk_level": ["high"] * n}
    )


def run(con: duckdb.DuckDBPyConnection, day: dt.date, *ids: str) -> dict[str, tuple]:
    """A run's view of the history (lead -> first flagged, previous rank), then its record."""
    register_first_run(con, day)
    seen = con.sql(previous_runs_sql(), params={"as_of": day}).pl()
    record_history(con, day, leads(*ids))
    return {r[0]: r[1:] for r in seen.rows()}


def test_a_date_run_later_is_not_in_the_basis_of_dates_run_before_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run(con, JUNE[10], "a", "b")
    first_view = run(con, JUNE[20], "b", "c")
    assert first_view == {"a": (JUNE[10], 1), "b": (JUNE[10], 2)}
    backfilled_view = run(con, JUNE[15], "c", "a")  # the missed night, back-filled
    assert backfilled_view == {"a": (JUNE[10], 1), "b": (JUNE[10], 2)}
    assert run(con, JUNE[20], "b", "c") == first_view  # replayed: the same basis
    # A date first run after the back-fill sees it: c was first flagged on the 15th.
    assert run(con, JUNE[25]) == {
        "a": (JUNE[10], None),
        "b": (JUNE[10], 1),
        "c": (JUNE[15], 2),
    }


def test_a_replay_keeps_the_list_of_the_first_run(con: duckdb.DuckDBPyConnection) -> None:
    run(con, JUNE[10], "a", "b")
    run(con, JUNE[10], "b", "a", "c")  # late deliveries changed the day's list
    assert run(con, JUNE[11]) == {"a": (JUNE[10], 1), "b": (JUNE[10], 2)}
    dates = con.sql("select as_of, first_run from scores.lead_history_basis").fetchall()
    assert dates == [(JUNE[10], 1), (JUNE[11], 2)]


def test_history_recorded_before_the_basis_existed_counts_in_date_order(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute("create schema scores")
    con.execute(
        "create table scores.lead_history as select * from (values "
        "(date '2026-06-12', 'b', 1, 0.5, 'high'), (date '2026-06-10', 'a', 1, 0.5, 'high')"
        ") t(as_of, lead_id, rank, score, risk_level)"
    )
    assert run(con, JUNE[11]) == {"a": (JUNE[10], 1)}
    assert run(con, JUNE[13]) == {"a": (JUNE[10], None), "b": (JUNE[12], 1)}
