"""Entities and their features as of one day: the one rebuild that the nightly run, the replay
of past lead lists and the model's training and backtest share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb
import polars as pl

from data_contracts.violations import violation_params
from transforms.load import freeze_staging_as_known_on
from transforms.resolve import refresh_normalized_names, resolve_entities
from transforms.shop_linkage import load_config as load_shop_config
from transforms.splink_match import name_match_edges_by_day, refresh_name_candidates
from transforms.warehouse import build_models, materialize, scalar
from transforms.wording import wording_params

# The SQL models of an entity's features, built in the order their files need (build_models).
ENTITY_FEATURES = (
    "features.complaint_signals",
    "features.listing_signals",
    "features.entity_features",
    "features.entity_profile",
)
# Those the lead model's terms are computed from (`models.train`: features.entity_features,
# and the complaint signals its regional episodes read): training and backtests build no
# profiles, which only the lead lists and reports read (0.86 of 8.5 s of CPU in the 14
# feature days of seed 7, scale 1).
TERM_FEATURES = ENTITY_FEATURES[:3]


def build_entity_features(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, models: tuple[str, ...] = ENTITY_FEATURES
) -> int:
    """Complaint and listing signals, then per-entity features and profiles (`models`, a
    prefix of ENTITY_FEATURES); returns the number of entities with features."""
    params = {"as_of": as_of} | wording_params() | violation_params()
    build_models(con, models, params)
    return int(scalar(con, "select count(*) from features.entity_features"))


def resolve_and_build(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Link records into entities from records dated on or before `as_of`, then build their
    features as of that day."""
    resolve_entities(con, as_of)
    build_entity_features(con, as_of)


def _day_keys(day: dt.date) -> str:
    """The temporary table of the record keys as of `day` (`name_matches_as_known_on`)."""
    return f"record_keys_{day:%Y%m%d}"


def name_matches_as_known_on(
    con: duckdb.DuckDBPyConnection, days: Iterable[dt.date]
) -> dict[dt.date, pl.DataFrame]:
    """The name matches that `resolve_entities` would find on each day, with staging as known
    on it (`freeze_staging_as_known_on`), scored in one Splink pass; each day's record keys
    are kept in a temporary table of their own (`_day_keys`), so that they are not computed
    again. Only inside a transaction that
    is rolled back (it freezes the staging views and rebuilds core.record_keys and
    core.name_candidates for each day)."""
    refresh_normalized_names(con)
    candidates = {}
    ordered = sorted(set(days))
    for day in ordered:
        freeze_staging_as_known_on(con, day)
        materialize(con, "core.record_keys", "core/record_keys.sql", {"as_of": day})
        con.execute(f"create or replace temp table {_day_keys(day)} as from core.record_keys")
        candidates[day] = refresh_name_candidates(con, day)
    return name_match_edges_by_day(candidates) if candidates else {}


class ResolveAndBuildDays:
    """`resolve_and_build` for many days in turn (training, backtests, replays): `prepare`
    scores the name matches of every day in one pass first, then each call resolves and
    builds one of those days with its matches, the shop linker's settings read once. With
    `one_pass` False each day is matched on its own, as `resolve_and_build` does (the
    reference the one pass must equal). `models`: the feature models built (TERM_FEATURES
    for the lead model's cases)."""

    def __init__(self, one_pass: bool = True, models: tuple[str, ...] = ENTITY_FEATURES) -> None:
        self.one_pass = one_pass
        self.models = models
        self.matches: dict[dt.date, pl.DataFrame] = {}
        self.shop_config = load_shop_config() if one_pass else None

    def prepare(self, con: duckdb.DuckDBPyConnection, days: Iterable[dt.date]) -> None:
        """Score the name matches of `days` (inside the caller's rolled-back transaction)."""
        if self.one_pass:
            self.matches = name_matches_as_known_on(con, days)

    def __call__(self, con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
        """Resolve and build as of `as_of`, the staging views frozen on that day already (inside
        the caller's rolled-back transaction: the feature models not built are dropped)."""
        matches = self.matches.pop(as_of, None)
        if matches is not None:  # prepared: the day's record keys are kept too
            keys = _day_keys(as_of)
            con.execute(f"create or replace table core.record_keys as from {keys}")
            con.execute(f"drop table {keys}")
        resolve_entities(
            con,
            as_of,
            name_matches=matches,
            keys_built=matches is not None,
            shop_config=self.shop_config,
        )
        build_entity_features(con, as_of, self.models)
        for left_out in ENTITY_FEATURES[len(self.models) :]:
            # another day's table would be read without a word: none is there to read
            con.execute(f"drop table if exists {left_out}")
