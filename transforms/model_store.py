"""The model registry's storage: trained lead models in `ops.models`, the training cases of
the latest one in `ops.training_cases`, and optionally a JSON copy of each model's record in a
folder (`models/artifacts/`, git-ignored). What a record holds is decided by
`models.registry.model_entry`; this module only writes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from transforms.warehouse import replace_table

MODELS_DDL = """
create table if not exists ops.models (
  version VARCHAR, as_of DATE, trained_at TIMESTAMP, outcomes BIGINT, max_closed_on DATE,
  outcomes_digest VARCHAR, first_closed_on DATE, last_closed_on DATE, positives BIGINT,
  negatives BIGINT, soft_negatives BIGINT, metrics VARCHAR, parameters VARCHAR
)"""

MODEL_COLUMNS = (
    "version",
    "as_of",
    "trained_at",
    "outcomes",
    "max_closed_on",
    "outcomes_digest",
    "first_closed_on",
    "last_closed_on",
    "positives",
    "negatives",
    "soft_negatives",
    "metrics",
    "parameters",
)


@dataclass(frozen=True)
class ModelEntry:
    """One trained model as registered: its `ops.models` row (by column), its training cases
    (with the inputs each was seen with) and the record of its JSON copy."""

    row: dict[str, Any]
    cases: pl.DataFrame
    record: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.row["version"])


def ensure_registry(con: duckdb.DuckDBPyConnection) -> None:
    """Create the registry's table if it is missing (idempotent)."""
    con.execute("create schema if not exists ops")
    con.execute(MODELS_DDL)


def store_model(
    con: duckdb.DuckDBPyConnection, entry: ModelEntry, artifacts_dir: Path | None = None
) -> None:
    """Record the model (replacing an earlier record of the same version), its cases as the
    latest training's, and its JSON copy in `artifacts_dir` when given."""
    ensure_registry(con)
    con.execute("delete from ops.models where version = ?", [entry.version])
    placeholders = ", ".join("?" for _ in MODEL_COLUMNS)
    con.execute(
        f"insert into ops.models values ({placeholders})",
        [entry.row[c] for c in MODEL_COLUMNS],
    )
    cases = entry.cases.with_columns(pl.lit(entry.version).alias("version"))
    replace_table(con, "ops.training_cases", cases)
    if artifacts_dir is not None:
        artifacts_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(entry.record, indent=2, sort_keys=True, ensure_ascii=False)
        (artifacts_dir / f"{entry.version}.json").write_text(text + "\n", encoding="utf-8")
