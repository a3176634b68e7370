"""Regional episodes: complaints and failed inspections an entity shares with its county.

When a county sees a burst of complaints or failed inspections in one product category (a bad
batch of seeds, a campaign, a local scare), the businesses named in that burst collect many
signals in a few weeks although none of them need be a counterfeiter: the burst is a hotspot
and an alert, not evidence against one business. An entity's signal is *shared* when, in the
same county and category and the same weeks, others (other businesses, or complaints that name
no business) carry far more signals than that county and category usually does. Shared signals
(and the goods seized at shared inspections) are counted apart, so the complaint, inspection
and seizure terms of the score weigh only the entity's own signals (models/scoring.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from data_contracts.violations import violation_params
from transforms.warehouse import sql_file

EPISODE_COLUMNS = {
    "entity_id": pl.String(),
    "episode_voices": pl.Float64(),
    "episode_severe_failures": pl.Int64(),
    "episode_other_failures": pl.Int64(),
    "episode_seized_value": pl.Float64(),
    "episode_peer_voices": pl.Float64(),
}


@dataclass(frozen=True)
class EpisodeConfig:
    complaint_window_days: int = 14  # others within ± this many days of the entity's complaint
    failure_window_days: int = 30  # other failed inspections within ± this many days
    min_peer_voices: float = 5.0  # at least this many credible complaints about others …
    min_peer_failures: int = 2  # … or failed inspections of this many other businesses …
    excess_factor: float = 3.0  # … and more than this many times the usual count

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> EpisodeConfig:
        return cls(**{k: type(getattr(cls(), k))(v) for k, v in (raw or {}).items()})


def regional_episodes_sql() -> str:
    """Per entity: its credible complaints and failed inspections shared with a county burst."""
    return sql_file("episodes/regional_episodes.sql")


def regional_episodes(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, config: EpisodeConfig | None = None
) -> pl.DataFrame:
    """Shared signals per entity as of `as_of` (needs features.complaint_signals for that day)."""
    config = config or EpisodeConfig()
    params = violation_params() | {
        "as_of": as_of,
        "complaint_window": config.complaint_window_days,
        "failure_window": config.failure_window_days,
        "min_peer_voices": config.min_peer_voices,
        "min_peer_failures": config.min_peer_failures,
        "excess_factor": config.excess_factor,
    }
    frame = con.sql(regional_episodes_sql(), params=params).pl()
    return frame.cast(EPISODE_COLUMNS) if frame.height else pl.DataFrame(schema=EPISODE_COLUMNS)
