"""Feeds gone quiet: stale-feed warnings from the delivery history."""

from __future__ import annotations

import datetime as dt

import duckdb

from transforms.load import ensure_warehouse
from transforms.quality import feed_freshness, stale_feed_messages


def delivered(con: duckdb.DuckDBPyConnection, feed: str, day: dt.date) -> None:
    moment = dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC).timestamp()
    con.execute(
        "insert into ops.manifest (feed, file, status, mtime) values (?, ?, 'loaded', ?)",
        [feed, f"{feed}/{day}.csv", moment],
    )


def test_weekly_feed_silent_for_a_month_is_stale(con: duckdb.DuckDBPyConnection) -> None:
    ensure_warehouse(con)
    start = dt.date(2026, 5, 4)
    for week in range(6):
        delivered(con, "listings", start + dt.timedelta(weeks=week))
        delivered(con, "complaints", start + dt.timedelta(weeks=week))
    last = start + dt.timedelta(weeks=5)
    assert stale_feed_messages(feed_freshness(con, last + dt.timedelta(days=3))) == [
        f"{feed}: 从未收到数据 no delivery received yet"
        for feed in ("credit", "entities", "inspections", "outcomes")
    ]
    messages = stale_feed_messages(feed_freshness(con, last + dt.timedelta(days=30)))
    assert any(m.startswith("listings: 已30天未收到数据") for m in messages)
    assert any(m.startswith("complaints:") for m in messages)


def test_deliveries_after_the_as_of_date_do_not_count(con: duckdb.DuckDBPyConnection) -> None:
    ensure_warehouse(con)
    for week in range(4):
        delivered(con, "listings", dt.date(2026, 5, 4) + dt.timedelta(weeks=week))
    fresh = feed_freshness(con, dt.date(2026, 5, 12))
    row = fresh.filter(fresh["feed"] == "listings").row(0, named=True)
    assert row["last_delivery"] == dt.date(2026, 5, 11) and row["deliveries"] == 2
