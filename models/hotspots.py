"""Region × product-category hotspots: risk beyond what the place's size, its businesses and
the season explain, shrunk for small counts, with trend and reasons.

Each (county, category) cell has observed and expected counts of four signals (credible
complaints, failed inspections, suspicious listings shipped from it, the risk of the leads
located in it; `hotspot_activity.sql` says how each is expected). Weighted and added up they
give the cell's observed O and expected E. The ratio O / E of a cell with a handful of events
says little, so it is shrunk towards the province's ratio by empirical Bayes: the relative risks
of all county cells are taken to follow a gamma distribution whose mean and variance are
estimated from the cells themselves (Marshall's method of moments), and each cell's relative
risk is its posterior mean (O + α) / (E + β). Cells are ranked by how far above expectation
their risk is *at least*: the `rank_quantile` (5 %) lower bound L of the posterior
Gamma(O + α, E + β), so that a small county with a handful of events against a tiny
expectation (a mean of 10×, but little evidence) ranks below a cell whose dozens of events make
its smaller excess certain. The score is L / (1 + L): 0.5 is a cell at least as expected, 0.75
at least three times, 0.9 at least nine times; it never saturates, so the top rows stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import field_validator

from data_contracts.config import ConfigFile, read_config

CONFIG_PATH = Path(__file__).resolve().parent / "config" / "hotspots.yaml"
HOTSPOT_COLUMNS = ["rank", "region_code", "product_category", "score", "trend", "reasons"]
# after the contract's columns: the weighted events behind the score and their expectation
EXTRA_COLUMNS = ["observed", "expected", "relative_risk"]
# signal -> (observed column, expected column)
SIGNALS = {
    "complaints": ("complaints_90d", "expected_complaints"),
    "failed_inspections": ("failed_90d", "expected_failed"),
    "suspicious_listings": ("suspicious_listings", "expected_listings"),
    "lead_risk": ("lead_risk", "expected_lead_risk"),
}


@dataclass(frozen=True)
class HotspotConfig:
    weights: dict[str, float]  # by signal (keys of SIGNALS)
    min_prior_variance: float
    rising_ratio: float
    falling_ratio: float
    min_events: float
    rank_quantile: float


class ShrinkageFile(ConfigFile):
    min_prior_variance: float
    rank_quantile: float


class TrendFile(ConfigFile):
    rising_ratio: float
    falling_ratio: float
    min_events: float


class HotspotsFile(ConfigFile):
    """models/config/hotspots.yaml."""

    weights: dict[str, float]
    shrinkage: ShrinkageFile
    trend: TrendFile

    @field_validator("weights")
    @classmethod
    def _every_signal(cls, weights: dict[str, float]) -> dict[str, float]:
        if set(weights) != set(SIGNALS):
            raise ValueError(f"weights must name exactly {sorted(SIGNALS)}")
        return weights


def load_hotspot_config(path: Path | None = None) -> HotspotConfig:
    raw = read_config(path or CONFIG_PATH, HotspotsFile)
    weights = {k: float(v) for k, v in raw["weights"].items()}
    return HotspotConfig(
        weights=weights,
        min_prior_variance=float(raw["shrinkage"]["min_prior_variance"]),
        rank_quantile=float(raw["shrinkage"]["rank_quantile"]),
        rising_ratio=float(raw["trend"]["rising_ratio"]),
        falling_ratio=float(raw["trend"]["falling_ratio"]),
        min_events=float(raw["trend"]["min_events"]),
    )


def trend(last_30d: float, prior_90d: float, config: HotspotConfig) -> str:
    """`rising`, `stable` or `falling`: the last 30 days' daily rate against the 90 days before."""
    last_rate, prior_rate = last_30d / 30, prior_90d / 90
    if last_30d >= config.min_events and last_rate >= config.rising_ratio * max(prior_rate, 1 / 90):
        return "rising"
    if prior_90d >= config.min_events and last_rate <= config.falling_ratio * prior_rate:
        return "falling"
    return "stable"


@dataclass(frozen=True)
class GammaPrior:
    """The relative risks' prior Gamma(alpha, beta): mean alpha / beta, variance alpha / beta²."""

    alpha: float
    beta: float

    def posterior_mean(self, observed: pl.Expr, expected: pl.Expr) -> pl.Expr:
        return (observed + self.alpha) / (expected + self.beta)

    def lower_bound(self, observed: pl.Series, expected: pl.Series, quantile: float) -> pl.Series:
        """The `quantile` of each cell's posterior Gamma(O + alpha, rate E + beta)."""
        from scipy import stats  # imported where used: ~1 s to load

        shape = observed.cast(pl.Float64).to_numpy() + self.alpha
        rate = expected.cast(pl.Float64).to_numpy() + self.beta
        return pl.Series(stats.gamma.ppf(quantile, shape, scale=1 / rate), dtype=pl.Float64)


def gamma_prior(observed: pl.Series, expected: pl.Series, min_variance: float) -> GammaPrior:
    """Marshall's (1991) moment estimates over cells with an expectation: the mean m = ΣO / ΣE,
    the variance of the relative risks = the E-weighted variance of O / E less the Poisson part
    m / mean(E), at least `min_variance` (a province of near-identical cells would otherwise
    shrink every cell to m)."""
    keep = expected > 0
    o = observed.filter(keep).cast(pl.Float64).to_numpy()
    e = expected.filter(keep).cast(pl.Float64).to_numpy()
    if e.size == 0 or e.sum() == 0:
        return GammaPrior(1.0, 1.0)
    m = max(float(o.sum() / e.sum()), 1e-9)
    spread = float((e * (o / e - m) ** 2).sum() / e.sum())
    variance = max(spread - m / float(e.mean()), min_variance)
    return GammaPrior(m * m / variance, m / variance)


def _reasons(r: dict[str, Any]) -> str:
    parts = [
        f"近90天加权信号{r['observed']:.1f}，按本地规模、企业与季节预期{r['expected']:.1f}，"
        f"相对风险{r['relative_risk']:.1f}倍（已按样本量收缩，{r['credibility']:.0f}%把握不低于{r['lower']:.1f}倍）"
        f" / {r['observed']:.1f} weighted events in 90 days against {r['expected']:.1f}"
        " expected for the place's size, businesses and season:"
        f" {r['relative_risk']:.1f}× the risk, shrunk for small counts"
        f" (at least {r['lower']:.1f}× with {r['credibility']:.0f} % credibility)"
    ]
    if r["complaints_90d"] > 0:
        parts.append(
            f"近90天可信投诉{r['complaints_90d']:.0f}起（预期{r['expected_complaints']:.1f}）"
            f" / {r['complaints_90d']:.0f} credible complaints in 90 days"
            f" ({r['expected_complaints']:.1f} expected)"
        )
    if r["failed_90d"] > 0:
        parts.append(
            f"近90天检查不合格{r['failed_90d']:.0f}次（预期{r['expected_failed']:.1f}）"
            f" / {r['failed_90d']:.0f} failed inspections in 90 days"
            f" ({r['expected_failed']:.1f} expected)"
        )
    if r["suspicious_listings"] > 0:
        parts.append(
            f"{r['suspicious_listings']:.0f}件可疑商品由此发货（预期{r['expected_listings']:.1f}）"
            f" / {r['suspicious_listings']:.0f} suspicious listings ship from here"
            f" ({r['expected_listings']:.1f} expected)"
        )
    if r["leads"] > 0:
        parts.append(f"{r['leads']:.0f}条风险线索位于此地 / {r['leads']:.0f} leads located here")
    return "；".join(parts)


def score_cells(activity: pl.DataFrame, config: HotspotConfig | None = None) -> pl.DataFrame:
    """Every row of `hotspot_activity.sql` with `observed`, `expected`, the shrunk
    `relative_risk` and `score`; the prior is estimated over the county cells."""
    config = config or load_hotspot_config()
    numeric = [c for pair in SIGNALS.values() for c in pair]
    # DuckDB's parallel sums of floats may differ in their last bits from one run to the
    # next: rounded to 1e-9, the same night scores the same, byte for byte.
    frame = activity.with_columns(pl.col(numeric).cast(pl.Float64).fill_null(0.0).round(9))
    frame = frame.with_columns(
        pl.sum_horizontal(pl.col(o) * config.weights[s] for s, (o, _) in SIGNALS.items()).alias(
            "observed"
        ),
        pl.sum_horizontal(pl.col(e) * config.weights[s] for s, (_, e) in SIGNALS.items()).alias(
            "expected"
        ),
    )
    counties = frame.filter(pl.col("level") == "county")
    prior = gamma_prior(counties["observed"], counties["expected"], config.min_prior_variance)
    risk = prior.posterior_mean(pl.col("observed"), pl.col("expected"))
    lower = prior.lower_bound(frame["observed"], frame["expected"], config.rank_quantile)
    return frame.with_columns(
        risk.alias("relative_risk"), lower.alias("risk_lower_bound")
    ).with_columns((pl.col("risk_lower_bound") / (1 + pl.col("risk_lower_bound"))).alias("score"))


def rank_hotspots(activity: pl.DataFrame, config: HotspotConfig | None = None) -> pl.DataFrame:
    """The hotspots export from the rows of `hotspot_activity.sql`: the active pairs of both
    levels in one ranking, highest score first."""
    config = config or load_hotspot_config()
    columns = HOTSPOT_COLUMNS + EXTRA_COLUMNS
    schema: dict[str, type[pl.DataType]] = {c: pl.String for c in columns}
    schema |= {c: pl.Float64 for c in [*EXTRA_COLUMNS, "score"]} | {"rank": pl.Int64}
    if activity.is_empty():
        return pl.DataFrame(schema=schema)
    scored = score_cells(activity, config).filter(pl.col("active"))
    if scored.is_empty():
        return pl.DataFrame(schema=schema)
    rows = []
    for r in scored.iter_rows(named=True):
        # the reasons say the exported (rounded) figures, so the two never disagree
        r |= {c: round(r[c], 2) for c in EXTRA_COLUMNS} | {
            "lower": r["risk_lower_bound"],
            "credibility": 100 * (1 - config.rank_quantile),
        }
        rows.append(
            {
                "region_code": r["region_code"],
                "product_category": r["product_category"],
                "score": round(r["score"], 6),
                "trend": trend(float(r["events_last_30d"]), float(r["events_prior_90d"]), config),
                "reasons": _reasons(r),
            }
            | {c: r[c] for c in EXTRA_COLUMNS}
        )
    ranked = pl.DataFrame(rows).sort(
        ["score", "region_code", "product_category"], descending=[True, False, False]
    )
    ranked = ranked.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int64))
    return ranked.select(columns)
