"""Batch-level data-quality checks: shrunken platform snapshots and feeds gone quiet."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from data_contracts.contract import FEEDS
from transforms.warehouse import replace_table, sql_file


def snapshot_volume_warnings(
    con: duckdb.DuckDBPyConnection, run_id: str, ratio: float = 0.6
) -> pl.DataFrame:
    """Snapshots loaded in this run far smaller than their platform's recent ones; the warning
    is appended to the issues of the files that delivered them (and so to data_quality)."""
    small = con.sql(
        sql_file("quality/snapshot_volumes.sql"), params={"run_id": run_id, "ratio": ratio}
    ).pl()
    for r in small.iter_rows(named=True):
        share = r["listings"] / r["recent_median"]
        warning = (
            f"快照偏小 small snapshot: {r['platform']} {r['snapshot_date']} 仅{r['listings']}条，"
            f"为近期中位数{r['recent_median']:.0f}条的{share:.0%} / has {r['listings']} listings, "
            f"{share:.0%} of its recent median {r['recent_median']:.0f}"
        )
        con.execute(
            "update ops.manifest set issues = concat_ws('; ', nullif(issues, ''), ?) "
            "where run_id = ? and file = ?",
            [warning, run_id, r["file"]],
        )
    return small


def feed_freshness(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, factor: float = 3.0, min_days: int = 7
) -> pl.DataFrame:
    """Per feed: last delivery, usual gap, days since, and whether it is stale (also feeds never
    delivered). Kept in ops.feed_freshness for the reports."""
    fresh = con.sql(
        sql_file("quality/feed_freshness.sql"),
        params={"as_of": as_of, "factor": factor, "min_days": min_days},
    ).pl()
    missing = [f for f in FEEDS if f not in set(fresh["feed"].to_list())]
    if missing:
        never = pl.DataFrame(
            {"feed": missing, "deliveries": [0] * len(missing), "stale": [True] * len(missing)}
        )
        fresh = pl.concat([fresh, never], how="diagonal_relaxed").sort("feed")
    replace_table(con, "ops.feed_freshness", fresh)
    return fresh


def stale_feed_messages(fresh: pl.DataFrame) -> list[str]:
    """Readable warnings for the run log and reports."""
    out = []
    for r in fresh.filter(pl.col("stale")).iter_rows(named=True):
        if not r["deliveries"]:
            out.append(f"{r['feed']}: 从未收到数据 no delivery received yet")
        else:
            out.append(
                f"{r['feed']}: 已{r['days_since_delivery']}天未收到数据（通常间隔{r['usual_gap_days']}天）"
                f" / no delivery for {r['days_since_delivery']} days (usually every "
                f"{r['usual_gap_days']} days), last {r['last_delivery']}"
            )
    return out
