"""Entities and their features as of one day: the one rebuild that the nightly run, the replay
of past lead lists and the model's training and backtest share."""

from __future__ import annotations

import datetime as dt

import duckdb

from data_contracts.violations import violation_params
from transforms.resolve import resolve_entities
from transforms.warehouse import build_models, scalar
from transforms.wording import wording_params

# The SQL models of an entity's features, built in the order their files need (build_models).
ENTITY_FEATURES = (
    "features.complaint_signals",
    "features.listing_signals",
    "features.entity_features",
    "features.entity_profile",
)


def build_entity_features(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    """Complaint and listing signals, then per-entity features and profiles; returns the
    number of entities with features."""
    params = {"as_of": as_of} | wording_params() | violation_params()
    build_models(con, ENTITY_FEATURES, params)
    return int(scalar(con, "select count(*) from features.entity_features"))


def resolve_and_build(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Link records into entities from records dated on or before `as_of`, then build their
    features as of that day."""
    resolve_entities(con, as_of)
    build_entity_features(con, as_of)
