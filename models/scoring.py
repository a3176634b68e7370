"""The transparent baseline score of each resolved entity, its reasons, and the lead list.

score = sigmoid(intercept + Σ weight·x) with the weights in `config/baseline.yaml`;
each term's contribution weight·x also ranks the reasons an inspector reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

CONFIG_DIR = Path(__file__).resolve().parent / "config"
Row = dict[str, Any]


@dataclass(frozen=True)
class BaselineConfig:
    intercept: float
    weights: dict[str, float]
    reason_min_contribution: float
    max_reasons: int
    high: float
    medium: float


@dataclass(frozen=True)
class ReferralConfig:
    min_score: float
    default_threshold_cny: float
    thresholds_cny: dict[str, float]


def load_baseline_config(path: Path | None = None) -> BaselineConfig:
    raw = yaml.safe_load((path or CONFIG_DIR / "baseline.yaml").read_text(encoding="utf-8"))
    return BaselineConfig(
        intercept=float(raw["intercept"]),
        weights={k: float(v) for k, v in raw["weights"].items()},
        reason_min_contribution=float(raw["reason_min_contribution"]),
        max_reasons=int(raw["max_reasons"]),
        high=float(raw["risk_levels"]["high"]),
        medium=float(raw["risk_levels"]["medium"]),
    )


def load_referral_config(path: Path | None = None) -> ReferralConfig:
    raw = yaml.safe_load((path or CONFIG_DIR / "referral.yaml").read_text(encoding="utf-8"))
    return ReferralConfig(
        min_score=float(raw["min_score"]),
        default_threshold_cny=float(raw["default_threshold_cny"]),
        thresholds_cny={k: float(v) for k, v in (raw.get("thresholds_cny") or {}).items()},
    )


@dataclass(frozen=True)
class Term:
    """One input of the score: how x is computed from features, and how it reads as a reason."""

    x: Callable[[Row], float]
    reason: Callable[[Row], str]


def _complaint_rate(f: Row) -> float:
    return math.log1p(f["counterfeit_voices_180d"] / (1 + f["sales_30d"] * 6 / 1000))


TERMS: dict[str, Term] = {
    "low_price": Term(
        lambda f: f["low_price_share"],
        lambda f: (
            f"{f['low_price_share']:.0%}的在售商品低于参考价六成，中位价仅为参考价的"
            f"{(f['median_price_ratio'] or 0):.0%} / {f['low_price_share']:.0%} of listings under "
            f"60% of the reference price, median {(f['median_price_ratio'] or 0):.0%}"
        ),
    ),
    "slang": Term(
        lambda f: min(1.0, 2 * f["slang_share"]),
        lambda f: (
            f"{f['slang_share']:.0%}的商品标题含“高仿/原单/1:1”等用语 / "
            f"{f['slang_share']:.0%} of titles use counterfeit slang"
        ),
    ),
    "ring": Term(
        lambda f: float(min(4, max(0, f["shops"] - 1))),
        lambda f: (
            f"{f['shops']}家店铺（{f['platforms']}个平台）共用同一联系方式或主体 / "
            f"{f['shops']} shops on {f['platforms']} platforms share one contact or registration"
        ),
    ),
    "complaints": Term(
        _complaint_rate,
        lambda f: (
            f"近180天{f['counterfeit_voices_180d']:.0f}起可信的假冒/质量投诉（共{f['complaints_180d']}起）/ "
            f"{f['counterfeit_voices_180d']:.0f} credible counterfeit or quality complaints in 180 days "
            f"({f['complaints_180d']} in all)"
        ),
    ),
    "failures": Term(
        lambda f: (
            min(3, f["severe_failures_365d"])
            + 0.5 * min(2, f["failed_inspections_365d"] - f["severe_failures_365d"])
        ),
        lambda f: (
            f"近一年{f['failed_inspections_365d']}次检查不合格（其中假冒/质量问题{f['severe_failures_365d']}次）/ "
            f"{f['failed_inspections_365d']} failed inspections in 365 days "
            f"({f['severe_failures_365d']} for counterfeit or quality)"
        ),
    ),
    "seized": Term(
        lambda f: math.log1p(f["seized_value_365d"] / 10000),
        lambda f: (
            f"近一年查扣货值{f['seized_value_365d']:,.0f}元 / "
            f"goods worth {f['seized_value_365d']:,.0f} yuan seized in 365 days"
        ),
    ),
    "penalties": Term(
        lambda f: f["penalty_decay"],
        lambda f: (
            f"3年内{f['penalties_3y']}次行政处罚 / {f['penalties_3y']} administrative penalties "
            "in 3 years"
        ),
    ),
    "dishonesty_list": Term(
        lambda f: 1.0 if f["on_dishonesty_list"] else 0.0,
        lambda f: "列入严重违法失信名单 / on the serious-dishonesty list",
    ),
    "prior_confirmed": Term(
        lambda f: float(min(2, f["prior_confirmed"])),
        lambda f: (
            f"曾查实{f['prior_confirmed']}起 / {f['prior_confirmed']} earlier confirmed cases"
        ),
    ),
    "prior_not_confirmed": Term(
        lambda f: float(min(2, f["prior_not_confirmed"])),
        lambda f: (
            f"曾有{f['prior_not_confirmed']}起线索未查实 / "
            f"{f['prior_not_confirmed']} earlier leads not confirmed"
        ),
    ),
    "red_list": Term(
        lambda f: 1.0 if f["on_red_list"] else 0.0,
        lambda f: "列入守信激励名单 / on the red list",
    ),
}


def has_risk_signal(f: Row) -> bool:
    """An entity is a lead when it shows any risk signal in the last 180 days."""
    return bool(
        f["complaints_180d"] > 0
        or (f["days_since_failure"] is not None and f["days_since_failure"] <= 180)
        or f["low_price_share"] > 0
        or f["slang_share"] > 0
        or f["penalties_180d"] > 0
    )


def explain(f: Row, config: BaselineConfig) -> tuple[float, str]:
    """The entity's score and its main reasons (Chinese first, English after)."""
    contributions = {name: config.weights[name] * term.x(f) for name, term in TERMS.items()}
    z = config.intercept + sum(contributions.values())
    score = 1 / (1 + math.exp(-z))
    ranked = sorted(
        ((c, name) for name, c in contributions.items() if c > 0), key=lambda t: (-t[0], t[1])
    )
    chosen = [name for c, name in ranked if c >= config.reason_min_contribution]
    chosen = chosen[: config.max_reasons] or [name for _, name in ranked[:1]]
    reasons = "；".join(TERMS[name].reason(f) for name in chosen)
    return score, reasons or "仅有少量风险信号 / only weak risk signals"


def risk_level(score: float, config: BaselineConfig) -> str:
    if score >= config.high:
        return "high"
    return "medium" if score >= config.medium else "low"


def estimated_turnover(f: Row) -> float:
    """The largest evidence of illegal turnover: 6 months of listing sales, seizures, earlier cases."""
    return max(6 * f["turnover_30d"], f["seized_value_365d"], f["prior_illegal_turnover"])


def needs_referral_review(f: Row, score: float, config: ReferralConfig) -> bool:
    """两法衔接: strong evidence and a turnover above the threshold of one of its categories."""
    if score < config.min_score:
        return False
    categories = [c for c in (f.get("product_categories") or "").split(";") if c]
    threshold = min(
        (config.thresholds_cny.get(c, config.default_threshold_cny) for c in categories),
        default=config.default_threshold_cny,
    )
    return estimated_turnover(f) >= threshold


LEAD_COLUMNS = [
    "rank",
    "lead_id",
    "entity_name",
    "uscc",
    "shop_keys",
    "region_code",
    "product_categories",
    "score",
    "risk_level",
    "reasons",
    "referral_review",
    "handoff_region_code",
    "usccs",
    "names",
    "estimated_turnover_cny",
]


def rank_leads(
    features: pl.DataFrame,
    profile: pl.DataFrame,
    config: BaselineConfig | None = None,
    referral: ReferralConfig | None = None,
) -> pl.DataFrame:
    """The entity_leads export: one row per entity with a recent risk signal, best first."""
    config = config or load_baseline_config()
    referral = referral or load_referral_config()
    rows = []
    joined = features.join(profile, on="entity_id", how="left")
    joined = joined.with_columns(pl.col(pl.Decimal).cast(pl.Float64))
    for f in joined.iter_rows(named=True):
        if not has_risk_signal(f):
            continue
        score, reasons = explain(f, config)
        score = round(score, 6)
        rows.append(
            {
                "lead_id": f["entity_id"],
                "entity_name": f["entity_name"],
                "uscc": f["uscc"],
                "shop_keys": f["shop_keys"],
                "region_code": f["region_code"],
                "product_categories": f["product_categories"],
                "score": score,
                "risk_level": risk_level(score, config),
                "reasons": reasons,
                "referral_review": needs_referral_review(f, score, referral),
                "handoff_region_code": f["handoff_region_code"],
                "usccs": f["usccs"],
                "names": f["names"],
                "estimated_turnover_cny": round(estimated_turnover(f), 2),
            }
        )
    schema: dict[str, pl.DataType] = {c: pl.String() for c in LEAD_COLUMNS}
    schema |= {"rank": pl.Int64(), "score": pl.Float64(), "referral_review": pl.Boolean()}
    schema |= {"estimated_turnover_cny": pl.Float64()}
    if not rows:
        return pl.DataFrame(schema=schema)
    leads = pl.DataFrame(rows).sort(["score", "lead_id"], descending=[True, False])
    return (
        leads.with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .select(LEAD_COLUMNS)
    )
