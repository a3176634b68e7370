"""The model registry: trained lead models in ops.models, the training cases of the latest one
in ops.training_cases, and optionally a JSON copy in models/artifacts/ (git-ignored).

A model is found by the digest of the outcomes it learned from (`models.train.OutcomeSet`):
the run for a day uses the model trained on exactly the outcomes closed on or before that
day, so replaying an earlier day never uses outcomes it could not have known.

Only `save_model` creates the registry's tables; the lookups work on a read-only connection
(an analyst's notebook) and find nothing in a warehouse that never trained a model.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl

from models.scoring import TERMS
from models.train import LeadModel, ModelConfig, OutcomeSet, TrainedModel
from transforms.warehouse import has_table, replace_table

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

MODELS_DDL = """
create table if not exists ops.models (
  version VARCHAR, as_of DATE, trained_at TIMESTAMP, outcomes BIGINT, max_closed_on DATE,
  outcomes_digest VARCHAR, first_closed_on DATE, last_closed_on DATE, positives BIGINT,
  negatives BIGINT, soft_negatives BIGINT, metrics VARCHAR, parameters VARCHAR
)"""


def ensure_registry(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(MODELS_DDL)


def save_model(
    con: duckdb.DuckDBPyConnection, trained: TrainedModel, artifacts_dir: Path | None = None
) -> None:
    """Record the model (replacing an earlier record of the same version) and its cases."""
    ensure_registry(con)
    model, metrics = trained.model, trained.metrics
    con.execute("delete from ops.models where version = ?", [model.version])
    con.execute(
        "insert into ops.models values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            model.version,
            trained.as_of,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            trained.outcomes.count,
            trained.outcomes.max_closed_on,
            trained.outcomes.digest,
            metrics.get("first_closed_on"),
            metrics.get("last_closed_on"),
            metrics.get("positives"),
            metrics.get("negatives"),
            metrics.get("soft_negatives"),
            json.dumps(metrics, sort_keys=True, ensure_ascii=False),
            model.parameters_json(),
        ],
    )
    # The cases (with the inputs each was seen with) of the latest training, for audit.
    cases = trained.cases.with_columns(pl.lit(model.version).alias("version"))
    replace_table(con, "ops.training_cases", cases)
    if artifacts_dir is not None:
        artifacts_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "version": model.version,
            "as_of": trained.as_of.isoformat(),
            "outcomes": trained.outcomes.count,
            "outcomes_digest": trained.outcomes.digest,
            "max_closed_on": (
                trained.outcomes.max_closed_on.isoformat()
                if trained.outcomes.max_closed_on
                else None
            ),
            "metrics": metrics,
            "parameters": json.loads(model.parameters_json()),
        }
        text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False)
        (artifacts_dir / f"{model.version}.json").write_text(text + "\n", encoding="utf-8")


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
