"""The model registry: trained lead models in ops.models, the training cases of the latest one
in ops.training_cases, and optionally a JSON copy in models/artifacts/ (git-ignored).

A model is found by the digest of the outcomes it learned from (`models.train.OutcomeSet`):
the run for a day uses the model trained on exactly the outcomes closed on or before that
day, so replaying an earlier day never uses outcomes it could not have known.

`model_entry` says what is registered of a trained model and `transforms.model_store` writes it
(the only place that creates the registry's tables); the lookups here work on a read-only
connection (an analyst's notebook) and find nothing in a warehouse that never trained a model.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl

from models.scoring import TERMS
from models.train import LeadModel, ModelConfig, OutcomeSet, TrainedModel
from transforms.model_store import ModelEntry, ensure_registry
from transforms.warehouse import has_table

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


def model_entry(trained: TrainedModel) -> ModelEntry:
    """What the registry keeps of a trained model (`transforms.model_store.store_model`
    writes it)."""
    model, metrics, outcomes = trained.model, trained.metrics, trained.outcomes
    row = {
        "version": model.version,
        "as_of": trained.as_of,
        "trained_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "outcomes": outcomes.count,
        "max_closed_on": outcomes.max_closed_on,
        "outcomes_digest": outcomes.digest,
        "first_closed_on": metrics.get("first_closed_on"),
        "last_closed_on": metrics.get("last_closed_on"),
        "positives": metrics.get("positives"),
        "negatives": metrics.get("negatives"),
        "soft_negatives": metrics.get("soft_negatives"),
        "metrics": json.dumps(metrics, sort_keys=True, ensure_ascii=False),
        "parameters": model.parameters_json(),
    }
    record = {
        "version": model.version,
        "as_of": trained.as_of.isoformat(),
        "outcomes": outcomes.count,
        "outcomes_digest": outcomes.digest,
        "max_closed_on": outcomes.max_closed_on.isoformat() if outcomes.max_closed_on else None,
        "metrics": metrics,
        "parameters": json.loads(model.parameters_json()),
    }
    return ModelEntry(row, trained.cases, record)


def _has_registry(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "ops", "models")


def _ready(model: LeadModel | None, config: ModelConfig | None) -> LeadModel | None:
    """The model ready to score when `config` is given, else as registered."""
    if model is None or config is None:
        return model
    return model.for_scoring(config)


def find_model(
    con: duckdb.DuckDBPyConnection, outcomes: OutcomeSet, config: ModelConfig | None = None
) -> LeadModel | None:
    """The latest model trained on exactly these outcomes and today's score terms (ready to
    score when `config` is given); None when there is none, so that one is trained."""
    if not _has_registry(con):
        return None
    rows = con.execute(
        "select version, parameters from ops.models where outcomes_digest = ? "
        "order by trained_at desc, version",
        [outcomes.digest],
    ).fetchall()
    models = [LeadModel.from_json(version, parameters) for version, parameters in rows]
    model = next((m for m in models if m is not None and m.terms == tuple(TERMS)), None)
    return _ready(model, config)


def model_of_version(
    con: duckdb.DuckDBPyConnection, version: str, config: ModelConfig | None = None
) -> LeadModel | None:
    """The registered model `version` (ready to score when `config` is given), whatever its
    terms: the one a past run used; None when the registry does not hold it."""
    if not _has_registry(con):
        return None
    rows = con.execute("select parameters from ops.models where version = ?", [version]).fetchall()
    model = LeadModel.from_json(version, rows[0][0]) if rows else None
    return _ready(model, config)


MODEL_RECORDS_SQL = "select * exclude (parameters) from ops.models order by trained_at desc"


def model_records(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every registered model, newest first, without its parameters (none, with the same
    columns, in a warehouse that never trained one)."""
    if _has_registry(con):
        return con.sql(MODEL_RECORDS_SQL).pl()
    with duckdb.connect(":memory:") as empty:
        ensure_registry(empty)
        return empty.sql(MODEL_RECORDS_SQL).pl()
