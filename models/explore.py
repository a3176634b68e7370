"""The models seen from inside, for analysts' notebooks (`notebooks/`); nothing here writes.

- `lead_terms`: why one lead scores what it does: every term's input and its contribution
  to the baseline, the model and the blend, recomputed as the last run made them;
- `surge_trace`: one region x category x signal day by day: its daily values, the 7-day sum
  the detector reports, the expectation it tested that sum against, the p-value and the
  alarm days;
- `stored_lead_history`, `lead_outcomes`, `precision_at_k`: how past runs' lead lists fared
  against the outcomes enforcement reported after each run (flows/replay.py recomputes
  past runs a warehouse did not record).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from data_contracts.contract import regions
from models.dispositions import disposition_outcomes
from models.episodes import regional_episodes
from models.registry import model_of_version
from models.scan import fit_scan, scan_days
from models.scoring import (
    TERMS,
    contributions,
    explain_lead,
    load_baseline_config,
    term_inputs,
    with_episodes,
)
from models.surges import (
    SERIES_KEYS,
    SurveillanceConfig,
    load_config,
    moving_sum,
    score_days,
)
from models.train import ModelConfig, load_model_config
from transforms.warehouse import sql_file

# --- why one lead scores what it does ----------------------------------------------------


@dataclass(frozen=True)
class LeadScore:
    """One lead's score taken apart. `terms` has one row per term of models/scoring.py:
    term, x (its input), weight (baseline), baseline_contribution, model_contribution (null
    without a model), contribution (the blend, what orders the reasons), reason."""

    lead_id: str
    score: float
    baseline_score: float
    model_probability: float | None
    model_weight: float
    model_version: str | None
    terms: pl.DataFrame


def lead_terms(con: duckdb.DuckDBPyConnection, lead_id: str, as_of: dt.date) -> LeadScore:
    """Lead `lead_id`'s score recomputed term by term from the features of the last run
    (as of `as_of`) and the model that run used. LookupError when it has no features."""
    baseline = load_baseline_config()
    features = con.sql(
        "select * from features.entity_features where entity_id = $lead_id",
        params={"lead_id": lead_id},
    ).pl()
    if features.is_empty():
        raise LookupError(f"no features for {lead_id}")
    episodes = regional_episodes(con, as_of, baseline.episodes)
    f = (
        with_episodes(features, episodes.filter(pl.col("entity_id") == lead_id))
        .with_columns(pl.col(pl.Decimal).cast(pl.Float64))
        .row(0, named=True)
    )
    used = con.execute(
        "select model_version from scores.entity_leads where lead_id = ?", [lead_id]
    ).fetchall()
    version = used[0][0] if used else None
    model = model_of_version(con, version, load_model_config()) if version else None
    x = term_inputs(f)
    explained = explain_lead(f, baseline, model)
    c = contributions(x, baseline, model)
    terms = pl.DataFrame(
        {
            "term": list(TERMS),
            "x": [x[n] for n in TERMS],
            "weight": [baseline.weights.get(n, 0.0) for n in TERMS],
            "baseline_contribution": [c.baseline[n] for n in TERMS],
            "model_contribution": [c.model.get(n) for n in TERMS],
            "contribution": [c.blended[n] for n in TERMS],
            "reason": [TERMS[n].reason(f) for n in TERMS],
        },
        schema_overrides={"model_contribution": pl.Float64},
    ).sort(["contribution", "term"], descending=[True, False])
    return LeadScore(
        lead_id,
        explained.score,
        explained.baseline,
        explained.model_probability,
        explained.model_weight,
        model.version if model is not None else None,
        terms,
    )


# --- one surveillance series, day by day --------------------------------------------------

TRACE_SCHEMA = {
    "day": pl.Date,
    "value": pl.Float64,
    "observed": pl.Float64,
    "expected": pl.Float64,
    "p_value": pl.Float64,
    "alarm": pl.Boolean,
}


def surge_trace(
    series: pl.DataFrame,
    as_of: dt.date,
    region_code: str,
    product_category: str,
    signal: str,
    config: SurveillanceConfig | None = None,
) -> pl.DataFrame:
    """One series as the negative-binomial detector saw it on each day up to `as_of`.

    `series` is `models.surges.daily_series(con, as_of, config.history_days)`. Columns: day,
    value (that day's events), observed (the sum of the `block_days` days ending that day,
    the unit of the alerts' observed / expected), and on the days the detector tests (the
    look-back window and the episode memory before it) expected, p_value (the scan's, after
    Bonferroni) and alarm; null before. Alarm days within one episode raise one alert, dated
    its first alarm day.
    """
    config = config or load_config()
    keys = pl.DataFrame(
        {"region_code": [region_code], "product_category": [product_category], "signal": [signal]}
    )
    scored = score_days(series, as_of, config, method="negbin", keys=keys)
    assert scored is not None  # one key given: always scored
    n_untested = (scored.tested_from - scored.first_day).days

    def tested(values: np.ndarray) -> list[object]:
        return [None] * n_untested + values[0].tolist()

    return pl.DataFrame(
        {
            "day": pl.date_range(scored.first_day, as_of, eager=True),
            "value": np.nan_to_num(scored.values[0]),
            "observed": np.nan_to_num(moving_sum(scored.values, config.negbin.block_days)[0]),
            "expected": tested(scored.scores.expected),
            "p_value": tested(scored.scores.p_value),
            "alarm": tested(scored.scores.alarm),
        },
        schema=TRACE_SCHEMA,
    )


SCAN_TRACE_SCHEMA = {
    "day": pl.Date,
    "statistic": pl.Float64,
    "alarm": pl.Boolean,
    "counties": pl.String,
    "window_days": pl.Int64,
    "observed": pl.Float64,
    "expected": pl.Float64,
}


def scan_trace(
    series: pl.DataFrame,
    as_of: dt.date,
    region_code: str,
    product_category: str,
    config: SurveillanceConfig | None = None,
) -> pl.DataFrame:
    """One prefecture x category as the space-time scan saw it on each tested day (the
    look-back window and the episode memory before it), for the prefecture of `region_code`.

    `series` is `models.surges.daily_series(con, as_of, config.history_days)`. Columns: day,
    statistic (the largest over the prefecture's clusters and windows), alarm (at least the
    threshold), and the cluster and window that gave it: its counties, window_days, observed
    and expected (events of all signals, the unit of the alerts'). Alarm days within one
    episode raise one alert, dated its first alarm day. Empty when nothing is in reach.
    """
    config = config or load_config()
    fitted = fit_scan(series, as_of, config, None)
    prefecture = regions()[region_code].prefecture_code if region_code in regions() else region_code
    if fitted is None or product_category not in fitted[0].categories:
        return pl.DataFrame(schema=SCAN_TRACE_SCHEMA)
    model, daily = fitted
    scanned = scan_days(model, daily, config.scan)
    p, c = scanned.prefectures.index(prefecture), model.categories.index(product_category)
    statistic = scanned.statistic[p, c]
    return pl.DataFrame(
        {
            "day": pl.date_range(
                model.tested_from,
                model.tested_from + dt.timedelta(days=statistic.size - 1),
                eager=True,
            ),
            "statistic": statistic,
            "alarm": statistic >= config.scan.threshold,
            "counties": [
                ";".join(model.counties[i] for i in model.clusters[k])
                for k in scanned.cluster[p, c]
            ],
            "window_days": scanned.window[p, c],
            "observed": scanned.observed[:, p, c].sum(axis=0),
            "expected": scanned.expected[:, p, c].sum(axis=0),
        },
        schema=SCAN_TRACE_SCHEMA,
    )


def series_keys(series: pl.DataFrame) -> pl.DataFrame:
    """The distinct region x category x signal keys of a `daily_series` frame, with their
    total events, busiest first."""
    return (
        series.group_by(SERIES_KEYS)
        .agg(pl.col("value").sum().alias("events"))
        .sort("events", *SERIES_KEYS, descending=[True, False, False, False])
    )


# --- past runs against outcomes -----------------------------------------------------------

HISTORY_SCHEMA = {
    "as_of": pl.Date,
    "lead_id": pl.String,
    "rank": pl.Int64,
    "score": pl.Float64,
    "risk_level": pl.String,
}


def stored_lead_history(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every recorded run's lead list (scores.lead_history): as_of, lead_id, rank, score,
    risk_level."""
    return (
        con.sql("select * from scores.lead_history order by as_of, rank")
        .pl()
        .select([pl.col(c).cast(t) for c, t in HISTORY_SCHEMA.items()])
    )


def lead_outcomes(
    con: duckdb.DuckDBPyConnection,
    history: pl.DataFrame,
    horizon_days: int,
    config: ModelConfig | None = None,
) -> pl.DataFrame:
    """Each lead of each run in `history` with the outcomes closed in the `horizon_days` after
    that run that concern it (by lead id or entity), labelled as the model is trained:
    as_of, lead_id, rank, outcome_id, closed_on, outcome, label (1 confirmed, 0 not, null
    when there is no outcome or it is excluded, e.g. transferred)."""
    config = config or load_model_config()
    con.register("_history", history.select("as_of", "lead_id", "rank").to_arrow())
    try:
        matched = con.sql(
            sql_file("explore/lead_outcomes.sql"), params={"horizon": horizon_days}
        ).pl()
        # Officers' dispositions answer leads too (已立案 / 已移送 1, checked-nothing-found 0).
        dispositions = disposition_outcomes(con, horizon_days)
    finally:
        con.unregister("_history")
    labels = {
        outcome: labelled[0]
        for outcome in matched["outcome"].drop_nulls().unique().to_list()
        if (labelled := config.label(outcome)) is not None
    }
    label = pl.col("outcome").replace_strict(labels, default=None, return_dtype=pl.Int64)
    matched = matched.with_columns(label.alias("label"))
    if dispositions.is_empty():
        return matched
    answered = dispositions.select("as_of", "lead_id").unique()
    unanswered = matched.filter(pl.col("outcome_id").is_null()).join(
        answered, on=["as_of", "lead_id"], how="anti"
    )
    return pl.concat(
        [matched.filter(pl.col("outcome_id").is_not_null()), unanswered, dispositions],
        how="vertical_relaxed",
    ).sort("as_of", "rank", "closed_on", "outcome_id", nulls_last=True)


def precision_at_k(outcomes: pl.DataFrame, ks: Sequence[int]) -> pl.DataFrame:
    """Per run and k, how its top k leads fared (from `lead_outcomes`):

    positives (leads with a confirmed outcome), decided (leads with any labelled outcome),
    precision = positives / k (k cut to the list's length), precision_decided = positives /
    decided, and base_rate = the share of all the run's leads with a confirmed outcome (the
    precision of a random pick).
    """
    per_lead = outcomes.group_by("as_of", "lead_id", "rank").agg(
        (pl.col("label") == 1).any().alias("positive"),
        pl.col("label").is_not_null().any().alias("decided"),
    )
    runs = per_lead.group_by("as_of").agg(
        pl.len().alias("leads"), pl.col("positive").mean().alias("base_rate")
    )
    rows = []
    for k in ks:
        top = per_lead.filter(pl.col("rank") <= k)
        rows.append(
            top.group_by("as_of").agg(
                pl.lit(k).alias("k"),
                pl.len().alias("ranked"),
                pl.col("positive").sum().alias("positives"),
                pl.col("decided").sum().alias("decided"),
            )
        )
    table = (
        pl.concat(rows)
        .join(runs, on="as_of")
        .with_columns(
            (pl.col("positives") / pl.col("ranked")).alias("precision"),
            pl.when(pl.col("decided") > 0)
            .then(pl.col("positives") / pl.col("decided"))
            .alias("precision_decided"),
        )
    )
    return table.select(
        "as_of",
        pl.col("k").cast(pl.Int64),
        "leads",
        "positives",
        "decided",
        "precision",
        "precision_decided",
        "base_rate",
    ).sort("as_of", "k")


def horizon_complete(table: pl.DataFrame, horizon_days: int, known_until: dt.date) -> pl.DataFrame:
    """`precision_at_k`'s table with `complete`: whether outcomes are known for the whole
    horizon after the run (later runs' precision is an underestimate)."""
    end = pl.col("as_of") + pl.duration(days=horizon_days)
    return table.with_columns((end <= pl.lit(known_until)).alias("complete"))
