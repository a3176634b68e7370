"""The supervised lead model: what enforcement found, learned from features of the day each
case was opened.

1. `training_cases`: the outcomes closed on or before the as-of date, labelled by
   `config/model.yaml` (confirmed and referred_to_police positive, not_confirmed negative,
   insufficient_evidence a negative at half weight, transferred left out), each with the day
   its case was opened: the lead's first-flagged day in scores.lead_history when the outcome
   carries a lead_id of this system, otherwise `open_lag_days` before closed_on.
2. `case_features`: each case's term inputs (models/scoring.py `TERMS`) as of the Monday of
   the ISO week it was opened (or of its `feature_period_days` period): entities are resolved and features built as of that day from
   records dated on or before it, so neither the outcome itself nor the inspection or penalty
   that closed the case can be seen. The week's tables are built inside a transaction that is
   rolled back, so the warehouse's own core/features tables are left exactly as they were.
3. `fit_lead_model`: a logistic regression that starts from the reviewed baseline: its inputs
   are the term inputs on their own (bounded) scales plus the baseline's logit, which enters
   almost unpenalised while the per-term corrections are shrunk toward zero (L2). With few
   labels the model is a recalibrated baseline; as labels grow it corrects the baseline's
   weights where outcomes disagree with them. It is Platt-scaled on out-of-fold decision
   values (stratified folds grouped by entity, fixed random_state) with the slope held non-negative: when the
   folds show no skill (slope 0) the model predicts the base rate and gets no blend weight,
   instead of ranking leads upside down. Each input's contribution to the log-odds stays
   additive (baseline weight x coefficient + correction), so the reasons of the blended
   score come from the same numbers.

Everything is deterministic: cases in outcome_id order, the lbfgs solver, seeded folds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import polars as pl

from data_contracts.config import ConfigFile, read_config
from data_contracts.contract import contracts
from models.dispositions import disposition_cases, known_dispositions
from models.episodes import regional_episodes
from models.scoring import (
    CONFIG_DIR,
    TERMS,
    BaselineConfig,
    RiskLevelsFile,
    load_baseline_config,
    sigmoid,
    term_inputs,
)
from models.scoring import with_episodes as _with_episodes
from transforms.lead_history import ensure_lead_history
from transforms.load import end_of_day, freeze_staging_as_known_on, in_force_sql

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

BuildAsOf = Callable[[duckdb.DuckDBPyConnection, dt.date], None]


@dataclass(frozen=True)
class ModelConfig:
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    soft_negative: dict[str, float]
    excluded: tuple[str, ...]
    open_lag_days: int
    feature_period_days: int
    min_positives: int
    min_negatives: int
    C: float
    baseline_scale: float
    folds: int
    random_state: int
    blend_k: float
    high: float
    medium: float
    evidence_ids: int
    status_lookback_days: int

    def label(self, outcome: str) -> tuple[int, float] | None:
        """(label, weight) of an outcome, or None when it does not train the model."""
        if outcome in self.positive:
            return 1, 1.0
        if outcome in self.negative:
            return 0, 1.0
        if outcome in self.soft_negative:
            return 0, self.soft_negative[outcome]
        return None


class LabelsFile(ConfigFile):
    positive: list[str]
    negative: list[str]
    soft_negative: dict[str, float] | None = None
    excluded: list[str] | None = None


class LogisticFile(ConfigFile):
    C: float
    baseline_scale: float


class CrossValidationFile(ConfigFile):
    folds: int
    random_state: int


class ModelFile(ConfigFile):
    """models/config/model.yaml."""

    labels: LabelsFile
    open_lag_days: int
    feature_period_days: int = 7
    min_positives: int
    min_negatives: int
    logistic: LogisticFile
    cross_validation: CrossValidationFile
    blend_k: float
    risk_levels: RiskLevelsFile
    evidence_ids: int
    status_lookback_days: int


def load_model_config(path: Path | None = None) -> ModelConfig:
    raw = read_config(path or CONFIG_DIR / "model.yaml", ModelFile)
    labels = raw["labels"]
    return ModelConfig(
        positive=tuple(labels["positive"]),
        negative=tuple(labels["negative"]),
        soft_negative={k: float(v) for k, v in (labels.get("soft_negative") or {}).items()},
        excluded=tuple(labels.get("excluded") or ()),
        open_lag_days=int(raw["open_lag_days"]),
        feature_period_days=int(raw.get("feature_period_days", 7)),
        min_positives=int(raw["min_positives"]),
        min_negatives=int(raw["min_negatives"]),
        C=float(raw["logistic"]["C"]),
        baseline_scale=float(raw["logistic"]["baseline_scale"]),
        folds=int(raw["cross_validation"]["folds"]),
        random_state=int(raw["cross_validation"]["random_state"]),
        blend_k=float(raw["blend_k"]),
        high=float(raw["risk_levels"]["high"]),
        medium=float(raw["risk_levels"]["medium"]),
        evidence_ids=int(raw["evidence_ids"]),
        status_lookback_days=int(raw["status_lookback_days"]),
    )


# --- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadModel:
    """A trained model: p = sigmoid(a·(b0 + Σ βᵢ·xᵢ) + c) over the TERMS inputs x.

    βᵢ = (the baseline weight of term i) × (the fitted weight of the baseline's logit) + the
    fitted correction of term i; a and c are the Platt calibration (a ≥ 0).
    """

    version: str
    terms: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    baseline_coef: float  # the fitted weight of the baseline's logit (part of coef already)
    platt_slope: float
    platt_intercept: float
    labelled: float  # n: labelled cases, soft ones at their weight
    blend_weight: float = 0.0  # w = n / (n + k), set from the configuration when loaded
    high: float = 0.5
    medium: float = 0.2

    @property
    def has_skill(self) -> bool:
        """Whether the out-of-fold decision values ranked the cases at all (Platt slope > 0)."""
        return self.platt_slope > 0

    def contributions(self, x: dict[str, float]) -> dict[str, float]:
        """Each input's calibrated log-odds contribution, relative to an entity with no signal."""
        return {
            name: self.platt_slope * b * x.get(name, 0.0)
            for name, b in zip(self.terms, self.coef, strict=True)
        }

    def probability(self, x: dict[str, float]) -> float:
        """The calibrated probability that a case against this entity would be confirmed."""
        z = self.platt_slope * self.intercept + self.platt_intercept
        return sigmoid(z + sum(self.contributions(x).values()))

    def for_scoring(self, config: ModelConfig) -> LeadModel:
        """This model with the blend weight and risk thresholds of the configuration; a model
        without out-of-fold skill gets no weight (its probability is the base rate)."""
        w = self.labelled / (self.labelled + config.blend_k) if config.blend_k > 0 else 1.0
        w = w if self.has_skill else 0.0
        return replace(self, blend_weight=w, high=config.high, medium=config.medium)

    def parameters_json(self) -> str:
        """The fitted parameters (what the version hashes and the registry stores)."""
        fields = ("terms", "coef", "intercept", "baseline_coef", "platt_slope", "platt_intercept")
        raw = {k: v for k, v in asdict(self).items() if k in fields} | {"labelled": self.labelled}
        return json.dumps(raw, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, version: str, text: str) -> LeadModel | None:
        """The model of a registry record; None for a record of an earlier model form."""
        raw = json.loads(text)
        if "baseline_coef" not in raw:
            return None
        return cls(
            version=version,
            terms=tuple(raw["terms"]),
            coef=tuple(raw["coef"]),
            intercept=float(raw["intercept"]),
            baseline_coef=float(raw["baseline_coef"]),
            platt_slope=float(raw["platt_slope"]),
            platt_intercept=float(raw["platt_intercept"]),
            labelled=float(raw["labelled"]),
        )


# --- which outcomes are known on a day ----------------------------------------------------


@dataclass(frozen=True)
class OutcomeSet:
    """The outcomes closed on or before a day: their number, last day and a digest of them."""

    count: int
    max_closed_on: dt.date | None
    digest: str


def known_outcomes_sql() -> str:
    """The outcomes as known on $as_of: delivered by $delivered_before (the end of that day in
    China time), each in its version in force then, closed on or before it."""
    in_force = in_force_sql(contracts()["outcomes"], delivered_before=True)
    return f"select * from ({in_force}) where closed_on <= cast($as_of as date)"


def _known_on(as_of: dt.date) -> dict[str, Any]:
    return {"as_of": as_of, "delivered_before": end_of_day(as_of)}


def outcome_set_sql() -> str:
    return f"""
        select outcome_id, closed_on, outcome, lead_id, platform, shop_id, entity_uscc
        from ({known_outcomes_sql()})
        order by outcome_id
    """


def outcome_set(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> OutcomeSet:
    """What the model for `as_of` may learn from (the outcomes and dispositions known on that
    day); a new or corrected outcome or disposition changes the digest."""
    rows = con.execute(outcome_set_sql(), _known_on(as_of)).fetchall()
    labels = rows + known_dispositions(con, as_of)  # dispositions are labels too
    digest = hashlib.sha256(json.dumps([list(map(str, r)) for r in labels]).encode()).hexdigest()
    return OutcomeSet(len(rows), max((r[1] for r in rows), default=None), digest[:16])


# --- labelled cases -----------------------------------------------------------------------


def training_cases_sql() -> str:
    """Outcomes known on $as_of, with their keys and the day their lead was first flagged."""
    return f"""
        with

        outcomes as (
            {known_outcomes_sql()}
        ),
        history as (
            select lead_id, as_of from scores.lead_history where as_of <= cast($as_of as date)
        ),

        first_flagged as (
            select o.outcome_id, min(h.as_of) as first_flagged
            from outcomes o
            join history h on h.lead_id = o.lead_id and h.as_of < o.closed_on
            group by o.outcome_id
        ),

        final as (
            select
                o.outcome_id, o.closed_on, o.outcome, o.lead_id,
                case when o.platform is not null and o.shop_id is not null
                     then 'shop:' || o.platform || ':' || o.shop_id end as shop_key,
                case when o.entity_uscc is not null then 'uscc:' || o.entity_uscc end as uscc_key,
                f.first_flagged
            from outcomes o
            left join first_flagged f using (outcome_id)
        )

        select * from final order by outcome_id
    """


CASE_SCHEMA = {
    "outcome_id": pl.String(),
    "closed_on": pl.Date(),
    "outcome": pl.String(),
    "lead_id": pl.String(),
    "shop_key": pl.String(),
    "uscc_key": pl.String(),
    "first_flagged": pl.Date(),
    "label": pl.Int64(),
    "weight": pl.Float64(),
    "opened_on": pl.Date(),
    "features_as_of": pl.Date(),
}


GRID_START = dt.date(2000, 1, 3)  # a Monday: feature periods are whole ISO weeks from here


def features_day(opened_on: dt.date, config: ModelConfig) -> dt.date:
    """The day a case's features are taken: the start of its feature period (a Monday, never
    after the open day); with 7-day periods, the Monday of the open day's ISO week."""
    weeks = max(1, config.feature_period_days // 7)
    period = (opened_on - GRID_START).days // (7 * weeks)
    return GRID_START + dt.timedelta(days=7 * weeks * period)


def training_cases(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, config: ModelConfig
) -> pl.DataFrame:
    """The labelled cases of the outcomes known on `as_of` (closed by then and delivered by
    its end), with their open day."""
    ensure_lead_history(con)
    rows = []
    for r in con.execute(training_cases_sql(), _known_on(as_of)).fetchall():
        outcome_id, closed_on, outcome, lead_id, shop_key, uscc_key, first_flagged = r
        labelled = config.label(outcome)
        if labelled is None or not (shop_key or uscc_key or lead_id):
            continue
        opened = first_flagged or closed_on - dt.timedelta(days=config.open_lag_days)
        rows.append((*r, labelled[0], labelled[1], opened, features_day(opened, config)))
    # Officers' dispositions (models/dispositions.py), as known on `as_of`; an outcome filed
    # under the same lead says more, so it wins.
    answered = {r[3] for r in rows if r[3]}
    dispositions = disposition_cases(
        con, as_of, config.open_lag_days, lambda day: features_day(day, config)
    )
    rows += [d for d in dispositions if d[3] not in answered]
    return pl.DataFrame(rows, schema=CASE_SCHEMA, orient="row")


def label_counts(cases: pl.DataFrame) -> dict[str, float]:
    """Positives, negatives (soft ones apart) and the labelled total n (soft at their weight)."""
    positives = cases.filter(pl.col("label") == 1)
    negatives = cases.filter((pl.col("label") == 0) & (pl.col("weight") >= 1))
    soft = cases.filter((pl.col("label") == 0) & (pl.col("weight") < 1))
    return {
        "positives": positives.height,
        "negatives": negatives.height,
        "soft_negatives": soft.height,
        "labelled": float(cases["weight"].sum()) if cases.height else 0.0,
    }


def enough_labels(cases: pl.DataFrame, config: ModelConfig) -> bool:
    counts = label_counts(cases)
    return (
        counts["positives"] >= config.min_positives
        and counts["negatives"] + counts["soft_negatives"] >= config.min_negatives
    )


# --- features as of the open day ----------------------------------------------------------


def _quiet_features(features: pl.DataFrame) -> dict[str, Any]:
    """Features of an entity with no record yet: zero counts, no flags, no prices."""
    quiet: dict[str, Any] = {}
    for name, dtype in features.schema.items():
        if dtype == pl.Boolean:
            quiet[name] = False
        elif dtype.is_numeric():
            quiet[name] = 0
        else:
            quiet[name] = None
    return quiet | {"median_price_ratio": None, "smoothed_fail_rate": None}


def _week_inputs(
    con: duckdb.DuckDBPyConnection, day: dt.date, cases: pl.DataFrame, baseline: BaselineConfig
) -> list[dict[str, Any]]:
    """Term inputs of the cases opened in one week, from the tables just built as of `day`."""
    features = con.sql("select * from features.entity_features").pl()
    features = _with_episodes(features, regional_episodes(con, day, baseline.episodes))
    features = features.with_columns(pl.col(pl.Decimal).cast(pl.Float64))
    keys = con.sql("select key, entity_id from core.entity_keys").pl()
    # Only the cases' keys and entities are looked up: a week holds a few dozen cases, the
    # warehouse hundreds of thousands of keys and entities.
    case_keys = pl.concat([cases["shop_key"], cases["uscc_key"]]).drop_nulls()
    mine = keys.filter(pl.col("key").is_in(case_keys.implode()))
    by_key = dict(zip(mine["key"].to_list(), mine["entity_id"].to_list(), strict=True))
    lead_ids = cases["lead_id"].drop_nulls()
    known = set(keys.filter(pl.col("entity_id").is_in(lead_ids.implode()))["entity_id"].to_list())
    entities = []
    for case in cases.iter_rows(named=True):
        entity = case["lead_id"] if case["lead_id"] in known else None
        entities.append(entity or by_key.get(case["shop_key"]) or by_key.get(case["uscc_key"]))
    wanted = features.filter(pl.col("entity_id").is_in([e for e in entities if e]))
    by_entity = {f["entity_id"]: f for f in wanted.iter_rows(named=True)}
    quiet = _quiet_features(features)
    rows = []
    for case, entity in zip(cases.iter_rows(named=True), entities, strict=True):
        f = by_entity.get(entity, quiet) if entity else quiet
        rows.append({"outcome_id": case["outcome_id"], "entity_id": entity} | term_inputs(f))
    return rows


def case_features(
    con: duckdb.DuckDBPyConnection,
    cases: pl.DataFrame,
    build_as_of: BuildAsOf,
    baseline: BaselineConfig | None = None,
) -> pl.DataFrame:
    """The cases with their entity and term inputs as of their feature day, as known on it:
    from the records delivered by the end of that day, each in its version in force then
    (`freeze_staging_as_known_on`; FEEDS.md, Training and backtests).

    `build_as_of(con, day)` resolves entities and builds features as of `day` (the nightly
    stages). It runs once per feature day inside a transaction that is rolled back at the end;
    a builder with a `prepare(con, days)` method (`transforms.features.ResolveAndBuildDays`)
    is first given every feature day, in that transaction.
    """
    baseline = baseline or load_baseline_config()
    rows: list[dict[str, Any]] = []
    days = sorted(set(cases["features_as_of"].to_list()))
    prepare = getattr(build_as_of, "prepare", None)
    con.execute("begin transaction")
    try:
        if prepare is not None:
            prepare(con, days)
        for day in days:
            freeze_staging_as_known_on(con, day)
            build_as_of(con, day)
            week = cases.filter(pl.col("features_as_of") == day)
            rows += _week_inputs(con, day, week, baseline)
    finally:
        con.execute("rollback")
    schema: dict[str, pl.DataType] = {"outcome_id": pl.String(), "entity_id": pl.String()}
    schema |= {name: pl.Float64() for name in TERMS}
    inputs = pl.DataFrame(rows, schema=schema)
    return cases.join(inputs, on="outcome_id", how="left").sort("outcome_id")


# --- fitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model with what it was trained on and how well it did out of fold."""

    model: LeadModel
    as_of: dt.date
    outcomes: OutcomeSet
    cases: pl.DataFrame
    metrics: dict[str, Any] = field(default_factory=dict)


def _fit_logistic(z: np.ndarray, y: np.ndarray, w: np.ndarray, C: float) -> LogisticRegression:
    # scikit-learn is imported where a model is fitted: a nightly run that finds its model
    # up to date (most nights) never loads it.
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000).fit(z, y, sample_weight=w)


def _design(x: np.ndarray, baseline_weights: np.ndarray, config: ModelConfig) -> np.ndarray:
    """The term inputs and the baseline's logit (less its intercept), scaled up so that the
    L2 penalty on its weight is 1/scale² of a correction's: it enters almost unpenalised."""
    return np.column_stack([x, config.baseline_scale * (x @ baseline_weights)])


def platt_calibration(decision: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Platt's (slope, intercept) on out-of-fold decision values, the slope held at or above
    0: with a negative optimum the decision values carry no usable signal, so the calibrated
    probability is the (weighted) base rate."""
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e6, max_iter=5000).fit(decision[:, None], y, sample_weight=w)
    slope, offset = float(platt.coef_[0][0]), float(platt.intercept_[0])
    if slope > 0:
        return slope, offset
    rate = float(np.average(y, weights=w))
    return 0.0, math.log(rate / (1 - rate))


def case_groups(cases: pl.DataFrame) -> list[str]:
    """Each case's entity: its resolved entity, else its shop or USCC key, else the lead it
    answers; a case with none of them is a group of its own. Validation keeps a group's
    cases on one side, so a model is never scored on an entity it has seen."""
    columns = [c for c in ("entity_id", "shop_key", "uscc_key", "lead_id") if c in cases.columns]
    keys = cases.select(pl.coalesce([*columns, pl.lit("case:") + pl.col("outcome_id")]))
    return [str(k) for k in keys.to_series().to_list()]


def calibration_folds(
    cases: pl.DataFrame, config: ModelConfig
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds grouped by entity (`case_groups`): an entity's cases are all in one
    fold. As many folds as configured, at most the number of entities with a positive case
    and of those without one."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = cases["label"].to_numpy().astype(int)
    groups = np.array(case_groups(cases))
    positive = set(groups[y == 1])
    n_splits = max(2, min(config.folds, len(positive), len(set(groups) - positive)))
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=config.random_state)
    return list(folds.split(np.zeros(len(y)), y, groups))


def fit_lead_model(
    cases: pl.DataFrame,
    config: ModelConfig,
    as_of: dt.date,
    terms: Sequence[str] | None = None,
    baseline: BaselineConfig | None = None,
) -> tuple[LeadModel, dict[str, Any]]:
    """Fit the model on cases with term inputs; returns it with its out-of-fold metrics."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    terms = tuple(terms or TERMS)
    baseline = baseline or load_baseline_config()
    x = cases.select(terms).to_numpy().astype(float)
    y = cases["label"].to_numpy().astype(int)
    w = cases["weight"].to_numpy().astype(float)
    weights = np.array([baseline.weights.get(t, 0.0) for t in terms])
    design = _design(x, weights, config)
    full = _fit_logistic(design, y, w, config.C)
    folds = calibration_folds(cases, config)
    n_splits = len(folds)
    decision = np.zeros(len(y))
    for train_idx, test_idx in folds:
        fold = _fit_logistic(design[train_idx], y[train_idx], w[train_idx], config.C)
        decision[test_idx] = fold.decision_function(design[test_idx])
    slope, offset = platt_calibration(decision, y, w)
    calibrated = 1 / (1 + np.exp(-(slope * decision + offset)))
    baseline_coef = float(full.coef_[0][-1]) * config.baseline_scale
    coef = full.coef_[0][:-1] + baseline_coef * weights
    counts = label_counts(cases)
    params = LeadModel(
        version="",
        terms=terms,
        coef=tuple(round(float(v), 10) for v in coef),
        intercept=round(float(full.intercept_[0]), 10),
        baseline_coef=round(baseline_coef, 10),
        platt_slope=round(slope, 10),
        platt_intercept=round(offset, 10),
        labelled=counts["labelled"],
    )
    digest = hashlib.sha256(params.parameters_json().encode()).hexdigest()[:8]
    model = replace(params, version=f"lm-{as_of:%Y%m%d}-{digest}")
    baseline_logit = x @ weights
    metrics = {
        **{k: v for k, v in counts.items()},
        "cases": cases.height,
        "unmatched": int(cases["entity_id"].null_count()) if "entity_id" in cases.columns else 0,
        "folds": n_splits,
        "cv_auc": round(float(roc_auc_score(y, decision, sample_weight=w)), 4),
        "cv_average_precision": round(
            float(average_precision_score(y, decision, sample_weight=w)), 4
        ),
        "cv_brier": round(float(brier_score_loss(y, calibrated, sample_weight=w)), 4),
        "baseline_auc": round(float(roc_auc_score(y, baseline_logit, sample_weight=w)), 4),
        "out_of_fold_skill": model.has_skill,
        "baseline_coef": model.baseline_coef,
        "coefficients": dict(zip(terms, model.coef, strict=True)),
        "corrections": dict(
            zip(terms, (round(float(v), 10) for v in full.coef_[0][:-1]), strict=True)
        ),
    }
    return model, metrics


def train_lead_model(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    build_as_of: BuildAsOf,
    config: ModelConfig | None = None,
) -> TrainedModel | None:
    """Train on the outcomes closed on or before `as_of`; None when there are too few labels."""
    config = config or load_model_config()
    cases = training_cases(con, as_of, config)
    if not enough_labels(cases, config):
        return None
    cases = case_features(con, cases, build_as_of)
    model, metrics = fit_lead_model(cases, config, as_of)
    metrics |= {
        "first_closed_on": cases["closed_on"].min().isoformat(),  # type: ignore[union-attr]
        "last_closed_on": cases["closed_on"].max().isoformat(),  # type: ignore[union-attr]
        "first_features_as_of": cases["features_as_of"].min().isoformat(),  # type: ignore[union-attr]
        "last_features_as_of": cases["features_as_of"].max().isoformat(),  # type: ignore[union-attr]
    }
    return TrainedModel(model, as_of, outcome_set(con, as_of), cases, metrics)
