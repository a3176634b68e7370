"""The model registry: trained lead models in ops.models, the training cases of the latest one
in ops.training_cases, and optionally a JSON copy in models/artifacts/ (git-ignored).

A model is found by the digest of the outcomes it learned from (`models.train.OutcomeSet`):
the run for a day uses the model trained on exactly the outcomes closed on or before that
day, so replaying an earlier day never uses outcomes it could not have known.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl

from models.scoring import TERMS
from models.train import LeadModel, ModelConfig, OutcomeSet, TrainedModel

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
    con.register("_cases", cases.to_arrow())
    try:
        con.execute("create or replace table ops.training_cases as select * from _cases")
    finally:
        con.unregister("_cases")
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


def find_model(
    con: duckdb.DuckDBPyConnection, outcomes: OutcomeSet, config: ModelConfig | None = None
) -> LeadModel | None:
    """The latest model trained on exactly these outcomes and today's score terms (ready to
    score when `config` is given); None when there is none, so that one is trained."""
    ensure_registry(con)
    rows = con.execute(
        "select version, parameters from ops.models where outcomes_digest = ? "
        "order by trained_at desc, version",
        [outcomes.digest],
    ).fetchall()
    models = [LeadModel.from_json(version, parameters) for version, parameters in rows]
    model = next((m for m in models if m is not None and m.terms == tuple(TERMS)), None)
    if model is None:
        return None
    return model.for_scoring(config) if config is not None else model


def model_records(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every registered model, newest first, without its parameters."""
    ensure_registry(con)
    return con.sql("select * exclude (parameters) from ops.models order by trained_at desc").pl()
