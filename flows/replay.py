"""Past nightly lead lists recomputed from the warehouse, for backtests (notebooks/).

A warehouse records the lead list of every run it has seen (scores.lead_history); a demo
warehouse, or one that started recently, has few. `replay_lead_history` recomputes the lists
that nightly runs on earlier days would have produced, each from what was known on its day
(the rows delivered by its end, in their version in force then: FEEDS.md, Training and
backtests) dated on or before it, with the same stages as the nightly flow. Everything happens in one
transaction that is rolled back, so the warehouse is left exactly as it was (it must be
opened writable, and no run may hold it meanwhile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import polars as pl

from flows import stages
from models.explore import HISTORY_SCHEMA
from transforms.features import ResolveAndBuildDays
from transforms.load import freeze_staging_as_known_on


def replay_lead_history(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date]) -> pl.DataFrame:
    """The lead lists of nightly runs on `days`: as_of, lead_id, rank, score, risk_level.

    Each day is scored with the model trained on exactly the outcomes closed by that day when
    the registry holds one, else with the baseline alone (a replay does not train).
    """
    frames = []
    build = ResolveAndBuildDays()
    con.execute("begin transaction")
    try:
        build.prepare(con, days)
        for day in sorted(set(days)):
            freeze_staging_as_known_on(con, day)
            build(con, day)
            leads = stages.score_leads(con, day)
            frames.append(
                leads.with_columns(pl.lit(day).alias("as_of")).select(list(HISTORY_SCHEMA))
            )
    finally:
        con.execute("rollback")
    return pl.concat(frames) if frames else pl.DataFrame(schema=HISTORY_SCHEMA)


def month_ends_before(as_of: dt.date, months: int) -> list[dt.date]:
    """The last days of the `months` whole months before the month of `as_of`, oldest first."""
    first = as_of.replace(day=1)
    ends = []
    for _ in range(months):
        first -= dt.timedelta(days=1)  # the last day of the month before
        ends.append(first)
        first = first.replace(day=1)
    return sorted(ends)
