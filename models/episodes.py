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

EPISODE_COLUMNS = {
    "entity_id": pl.String(),
    "episode_voices": pl.Float64(),
    "episode_severe_failures": pl.Int64(),
    "episode_other_failures": pl.Int64(),
    "episode_seized_value": pl.Float64(),
    "episode_peer_voices": pl.Float64(),
}
SEVERE_VIOLATIONS = ("counterfeit_trademark", "fake_origin", "substandard_quality", "unlicensed")
COUNTERFEIT_COMPLAINTS = ("counterfeit_trademark", "fake_origin", "substandard_quality")


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
    return """
        with

        complaints as (
            select complaint_id, entity_id, region_code, product_category, received_on, weight
            from features.complaint_signals
            where list_contains($counterfeit_types, infringement_type)
        ),
        failures as (
            select i.inspection_id, e.entity_id, i.region_code, i.product_category,
                   i.inspected_on, coalesce(i.seized_value_cny, 0) as seized_value,
                   coalesce(list_contains($severe_types, i.violation_type), false) as severe
            from staging.inspections i
            left join core.record_entities e
              on e.feed = 'inspections' and e.record_id = i.inspection_id
            where i.result = 'fail'
              and i.inspected_on between cast($as_of as date) - 364 and cast($as_of as date)
        ),

        events as (
            select 'complaint:' || complaint_id as event_id, entity_id, region_code,
                   product_category, received_on as day, weight as voices, 0 as severe_failures,
                   0 as other_failures, 0.0 as seized_value, $complaint_window as window
            from complaints where entity_id is not null
            union all
            select 'inspection:' || inspection_id, entity_id, region_code, product_category,
                   inspected_on, 0, case when severe then 1 else 0 end,
                   case when severe then 0 else 1 end, seized_value, $failure_window
            from failures where entity_id is not null
        ),
        peer_voices as (
            select
                e.event_id,
                coalesce(sum(o.weight) filter (where abs(o.received_on - e.day) <= e.window), 0)
                    as nearby,
                coalesce(sum(o.weight), 0) as total
            from events e
            left join complaints o
              on o.region_code = e.region_code and o.product_category = e.product_category
             and o.entity_id is distinct from e.entity_id
            group by e.event_id
        ),
        peer_failures as (
            select
                e.event_id,
                count(distinct coalesce(o.entity_id, o.inspection_id)) filter (
                    where abs(o.inspected_on - e.day) <= e.window
                ) as nearby,
                count(distinct coalesce(o.entity_id, o.inspection_id)) as total
            from events e
            left join failures o
              on o.region_code = e.region_code and o.product_category = e.product_category
             and o.entity_id is distinct from e.entity_id
            group by e.event_id
        ),
        shared as (
            select e.*, v.nearby as peer_voices
            from events e
            join peer_voices v using (event_id)
            join peer_failures f using (event_id)
            where v.nearby >= $min_peer_voices + $excess_factor
                    * (v.total - v.nearby) * (2 * e.window + 1) / (180 - 2 * e.window - 1)
               or f.nearby >= $min_peer_failures + $excess_factor
                    * (f.total - f.nearby) * (2 * e.window + 1) / (365 - 2 * e.window - 1)
        ),

        final as (
            select
                entity_id,
                sum(voices) as episode_voices,
                sum(severe_failures) as episode_severe_failures,
                sum(other_failures) as episode_other_failures,
                sum(seized_value) as episode_seized_value,
                max(peer_voices) as episode_peer_voices
            from shared
            group by entity_id
        )

        select * from final order by entity_id
    """


def regional_episodes(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, config: EpisodeConfig | None = None
) -> pl.DataFrame:
    """Shared signals per entity as of `as_of` (needs features.complaint_signals for that day)."""
    config = config or EpisodeConfig()
    params = {
        "as_of": as_of,
        "counterfeit_types": list(COUNTERFEIT_COMPLAINTS),
        "severe_types": list(SEVERE_VIOLATIONS),
        "complaint_window": config.complaint_window_days,
        "failure_window": config.failure_window_days,
        "min_peer_voices": config.min_peer_voices,
        "min_peer_failures": config.min_peer_failures,
        "excess_factor": config.excess_factor,
    }
    frame = con.sql(regional_episodes_sql(), params=params).pl()
    return frame.cast(EPISODE_COLUMNS) if frame.height else pl.DataFrame(schema=EPISODE_COLUMNS)
