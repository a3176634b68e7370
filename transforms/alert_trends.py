"""Each alert's daily series, as the surge stage computed it for a run (`scores.alert_trends`,
one set per as-of date), for the reports' trend charts: a report rebuilt later shows what the
run saw, without re-running the detector's queries."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from transforms.warehouse import has_table

TREND_COLUMNS = pl.Schema(
    {"alert_id": pl.String(), "day": pl.Date(), "value": pl.Float64(), "moving_sum": pl.Float64()}
)


def record_alert_trends(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, trends: pl.DataFrame
) -> None:
    """Replace the stored series of `as_of` with `trends` (alert_id, day, value, moving_sum)."""
    con.execute("create schema if not exists scores")
    con.execute(
        "create table if not exists scores.alert_trends (as_of DATE, alert_id VARCHAR, "
        "day DATE, value DOUBLE, moving_sum DOUBLE)"
    )
    con.execute("delete from scores.alert_trends where as_of = ?", [as_of])
    con.register("_alert_trends", trends.select(list(TREND_COLUMNS)).cast(TREND_COLUMNS).to_arrow())
    try:
        con.execute("insert into scores.alert_trends select ?, * from _alert_trends", [as_of])
    finally:
        con.unregister("_alert_trends")


def stored_alert_trends(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame | None:
    """The series the run for `as_of` stored, in alert and day order; None when it stored none
    (a warehouse from before, or a day never run)."""
    if not has_table(con, "scores", "alert_trends"):
        return None
    trends = con.sql(
        "select alert_id, day, value, moving_sum from scores.alert_trends where as_of = ? "
        "order by alert_id, day",
        params=[as_of],
    ).pl()
    return trends.cast(TREND_COLUMNS) if trends.height else None
