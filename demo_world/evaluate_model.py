"""How well the lead model does: calibration of risk levels, and a time-split backtest.

- `risk_level_calibration`: on a demo world, the share of each risk level's leads that belong
  to a planted operator, next to the level's mean score (a calibrated score has the two close,
  and the shares fall from high to low).
- `backtest`: from the warehouse alone (no truth needed), the labelled outcome cases are split
  at a cut date: the model is trained on the cases closed before it and scored on the cases
  closed on or after it, each seen with its features as of the day it was opened; AUC,
  average precision and precision of the top cases, for the model, the baseline and the blend.

`evaluate_model` returns both as one dict and `format_model_report` prints them as the text
tables of `radar evaluate`.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from demo_world.evaluate import _KeyIndex, _table, lead_keys, load_truth, read_export
from models.scoring import TERMS, load_baseline_config
from models.train import (
    ModelConfig,
    case_features,
    case_groups,
    enough_labels,
    fit_lead_model,
    label_counts,
    load_model_config,
    training_cases,
)
from transforms.features import TERM_FEATURES, ResolveAndBuildDays

RISK_LEVELS = ("high", "medium", "low")
TOP_CASES = 10


# --- calibration of risk levels -----------------------------------------------------------


def risk_level_calibration(world_dir: Path, run_dir: Path) -> dict[str, Any]:
    """Per risk level: leads, those of a planted operator, their share, the mean score."""
    leads = read_export(run_dir, "entity_leads")
    if leads is None:
        return {"levels": [], "monotone": None}
    index = _KeyIndex(load_truth(world_dir))
    rows: list[dict[str, Any]] = []
    for level in RISK_LEVELS:
        part = leads.filter(pl.col("risk_level") == level)
        hits = sum(1 for r in part.to_dicts() if index.operators_of(lead_keys(r)))
        scores = part["score"].cast(pl.Float64)
        rows.append(
            {
                "risk_level": level,
                "leads": part.height,
                "operator_leads": hits,
                "operator_share": hits / part.height if part.height else None,
                "mean_score": float(scores.mean()) if part.height else None,  # type: ignore[arg-type]
            }
        )
    shares: list[float] = [r["operator_share"] for r in rows if r["operator_share"] is not None]
    return {
        "levels": rows,
        "monotone": all(a >= b for a, b in zip(shares, shares[1:], strict=False)),
    }


# --- time-split backtest ------------------------------------------------------------------


def _precision_at(y: np.ndarray, score: np.ndarray, k: int) -> float | None:
    if len(y) == 0:
        return None
    order = np.lexsort((np.arange(len(y)), -score))[: min(k, len(y))]
    return float(y[order].mean())


def _ranking(y: np.ndarray, w: np.ndarray, score: np.ndarray) -> dict[str, float | None]:
    both = 0 < y.sum() < len(y)
    return {
        "auc": float(roc_auc_score(y, score, sample_weight=w)) if both else None,
        "average_precision": (
            float(average_precision_score(y, score, sample_weight=w)) if both else None
        ),
        f"precision@{TOP_CASES}": _precision_at(y, score, TOP_CASES),
    }


def default_cut(cases: pl.DataFrame) -> dt.date:
    """The closing day that leaves about the last third of the cases for testing."""
    days = sorted(cases["closed_on"].to_list())
    return days[(2 * len(days)) // 3]


def backtest_cases(
    cases: pl.DataFrame,
    cut: dt.date,
    config: ModelConfig | None = None,
    known: set[str] | None = None,
) -> dict[str, Any]:
    """Train on cases closed before `cut` (and, given `known`, among those outcome ids: the
    cases delivered by the day before the cut), test on the later cases of the entities with
    no case before the cut (`case_groups`: an entity's cases are all on one side); cases carry
    their term inputs."""
    config = config or load_model_config()
    baseline = load_baseline_config()
    cases = cases.with_columns(pl.Series("group", case_groups(cases)))
    before = cases.filter(pl.col("closed_on") < cut)
    train = before if known is None else before.filter(pl.col("outcome_id").is_in(list(known)))
    later = cases.filter(pl.col("closed_on") >= cut)
    test = later.filter(~pl.col("group").is_in(before["group"].implode()))
    result: dict[str, Any] = {
        "cut": cut.isoformat(),
        "train": label_counts(train),
        "test": label_counts(test),
        "test_left_out": later.height - test.height,
        "train_not_yet_delivered": before.height - train.height,
    }
    if not enough_labels(train, config) or test.height == 0:
        return result | {"skipped": "too few labelled cases on one side of the cut"}
    model, metrics = fit_lead_model(train, config, cut)
    model = model.for_scoring(config)
    rows = test.select(list(TERMS)).to_dicts()
    y = test["label"].to_numpy().astype(int)
    w = test["weight"].to_numpy().astype(float)
    p_model = np.array([model.probability(x) for x in rows])
    z = [
        baseline.intercept + sum(baseline.weights.get(n, 0.0) * v for n, v in x.items())
        for x in rows
    ]
    p_base = np.array([1 / (1 + math.exp(-v)) for v in z])
    p_blend = model.blend_weight * p_model + (1 - model.blend_weight) * p_base
    return result | {
        "blend_weight": round(model.blend_weight, 3),
        "train_cv_auc": metrics["cv_auc"],
        "train_baseline_auc": metrics["baseline_auc"],
        "out_of_fold_skill": metrics["out_of_fold_skill"],
        "model": _ranking(y, w, p_model)
        | {
            "brier": float(brier_score_loss(y, p_model, sample_weight=w)),
            "mean_probability": float(np.average(p_model, weights=w)),
            "positive_rate": float(np.average(y, weights=w)),
        },
        "baseline": _ranking(y, w, p_base),
        "blend": _ranking(y, w, p_blend),
    }


def backtest(warehouse: Path, as_of: dt.date, cut: dt.date | None = None) -> dict[str, Any]:
    """The time-split backtest on the outcomes closed by `as_of` (the warehouse is unchanged:
    the features of each week are built in a transaction that is rolled back). The model is
    trained as it could have been the day before the cut: on the outcomes known then."""
    config = load_model_config()
    con = duckdb.connect(str(warehouse))
    try:
        cases = training_cases(con, as_of, config)
        if cases.height == 0:
            return {"skipped": "no labelled outcomes"}
        cut = cut or default_cut(cases)
        known = training_cases(con, cut - dt.timedelta(days=1), config)["outcome_id"]
        cases = case_features(con, cases, ResolveAndBuildDays(models=TERM_FEATURES))
    finally:
        con.close()
    return backtest_cases(cases, cut, config, known=set(known.to_list()))


# --- the whole evaluation -----------------------------------------------------------------


def evaluate_model(
    world_dir: Path, run_dir: Path, warehouse: Path | None, cut: dt.date | None = None
) -> dict[str, Any]:
    """Calibration of the run's risk levels on the world, and the backtest on the warehouse."""
    as_of = dt.date.fromisoformat(run_dir.name)
    return {
        "as_of": as_of.isoformat(),
        "calibration": risk_level_calibration(world_dir, run_dir),
        "backtest": (
            backtest(warehouse, as_of, cut)
            if warehouse is not None and warehouse.exists()
            else None
        ),
    }


def _cell(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def format_model_report(metrics: dict[str, Any]) -> str:
    """Plain-text tables of `evaluate_model`'s metrics."""
    cal = metrics["calibration"]
    parts = [
        "Risk levels: share of leads that are planted operators (calibration)",
        _table(
            ["risk_level", "leads", "operator leads", "operator share", "mean score"],
            [
                [
                    r["risk_level"],
                    r["leads"],
                    r["operator_leads"],
                    r["operator_share"],
                    r["mean_score"],
                ]
                for r in cal["levels"]
            ],
        )
        + f"\nshares fall from high to low: {cal['monotone']}",
    ]
    bt = metrics.get("backtest")
    if bt is None:
        parts.append("Backtest: no warehouse given.")
    elif "skipped" in bt:
        parts.append(f"Backtest: skipped ({bt['skipped']}).")
    else:
        train, test = bt["train"], bt["test"]
        names = ["auc", "average_precision", f"precision@{TOP_CASES}"]
        rows = [
            [n, _cell(bt["model"][n]), _cell(bt["baseline"][n]), _cell(bt["blend"][n])]
            for n in names
        ]
        parts.append(
            f"Backtest on outcomes: trained on cases closed before {bt['cut']} "
            f"({train['positives']} positive, {train['negatives']} negative, "
            f"{train['soft_negatives']} insufficient evidence; "
            f"{bt.get('train_not_yet_delivered', 0)} closed before it but delivered after"
            " left out), tested on the "
            f"{test['positives'] + test['negatives'] + test['soft_negatives']} closed after "
            f"({test['positives']} positive) of entities with no case before it"
            f" ({bt['test_left_out']} later cases of the others left out); blend weight {bt['blend_weight']}"
            + ("" if bt["out_of_fold_skill"] else " (no out-of-fold skill: baseline only)")
            + f"; out-of-fold AUC on the training cases {bt['train_cv_auc']} "
            f"(baseline {bt['train_baseline_auc']})\n"
            + _table(["metric", "model", "baseline", "blend"], rows)
            + f"\nmodel: Brier {bt['model']['brier']:.3f}, mean probability "
            f"{bt['model']['mean_probability']:.3f} vs positive rate {bt['model']['positive_rate']:.3f}"
        )
    return "\n\n".join(parts) + "\n"
