"""The score of each resolved entity, its reasons, and the lead list.

The transparent baseline: score = sigmoid(intercept + Σ weight·x) with the weights in
`config/baseline.yaml`. Once enforcement outcomes have trained a model (`models/train.py`),
the score blends the two: score = w·p_model + (1 − w)·baseline, where p_model is the model's
calibrated probability that a case would be confirmed and w = n / (n + k) grows with the
number n of labelled cases (`config/model.yaml`). Both read the same inputs x of `TERMS`, so
each term's blended contribution w·(model's) + (1 − w)·(baseline's) ranks the reasons an
inspector reads, whichever way the score was made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from pydantic import field_validator

from data_contracts.config import ConfigFile, read_config
from data_contracts.personal import redact_personal
from models.episodes import EPISODE_COLUMNS, EpisodeConfig


class LeadModel(Protocol):
    """What scoring reads of a trained lead model (`models.train.LeadModel`): declared here, so
    that scoring does not import the training that imports it."""

    @property
    def version(self) -> str: ...

    @property
    def blend_weight(self) -> float: ...

    @property
    def high(self) -> float: ...

    @property
    def medium(self) -> float: ...

    def contributions(self, x: dict[str, float]) -> dict[str, float]: ...

    def probability(self, x: dict[str, float]) -> float: ...


CONFIG_DIR = Path(__file__).resolve().parent / "config"
Row = dict[str, Any]


@dataclass(frozen=True)
class BaselineConfig:
    intercept: float
    weights: dict[str, float]
    reason_min_contribution: float
    max_reasons: int
    max_mitigating_reasons: int
    high: float
    medium: float
    episodes: EpisodeConfig


@dataclass(frozen=True)
class ReferralConfig:
    min_score: float
    default_threshold_cny: float
    thresholds_cny: dict[str, float]


class RiskLevelsFile(ConfigFile):
    high: float
    medium: float


class EpisodesFile(ConfigFile):
    complaint_window_days: int | None = None
    failure_window_days: int | None = None
    min_peer_voices: float | None = None
    min_peer_failures: int | None = None
    excess_factor: float | None = None


class BaselineFile(ConfigFile):
    """models/config/baseline.yaml."""

    intercept: float
    weights: dict[str, float]
    reason_min_contribution: float
    max_reasons: int
    max_mitigating_reasons: int = 1
    risk_levels: RiskLevelsFile
    regional_episodes: EpisodesFile | None = None

    @field_validator("weights")
    @classmethod
    def _known_terms(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(TERMS))
        if unknown:
            raise ValueError(f"unknown score terms {unknown}; the terms are {list(TERMS)}")
        return weights


class ReferralFile(ConfigFile):
    """models/config/referral.yaml."""

    min_score: float
    default_threshold_cny: float
    thresholds_cny: dict[str, float] | None = None


def load_baseline_config(path: Path | None = None) -> BaselineConfig:
    raw = read_config(path or CONFIG_DIR / "baseline.yaml", BaselineFile)
    return BaselineConfig(
        intercept=float(raw["intercept"]),
        weights={k: float(v) for k, v in raw["weights"].items()},
        reason_min_contribution=float(raw["reason_min_contribution"]),
        max_reasons=int(raw["max_reasons"]),
        max_mitigating_reasons=int(raw.get("max_mitigating_reasons", 1)),
        high=float(raw["risk_levels"]["high"]),
        medium=float(raw["risk_levels"]["medium"]),
        episodes=EpisodeConfig.from_dict(raw.get("regional_episodes")),
    )


def load_referral_config(path: Path | None = None) -> ReferralConfig:
    raw = read_config(path or CONFIG_DIR / "referral.yaml", ReferralFile)
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


def _num(f: Row, name: str) -> float:
    """A feature as a number; absent or null counts as 0 (e.g. no regional episode)."""
    value = f.get(name)
    return float(value) if value is not None else 0.0


def own_voices(f: Row) -> float:
    """Credible counterfeit/quality complaints of 180 days not shared with a county burst."""
    return max(0.0, _num(f, "counterfeit_voices_180d") - _num(f, "episode_voices"))


def own_failures(f: Row) -> tuple[float, float]:
    """(severe, other) failed inspections of 365 days not shared with a county burst."""
    severe = _num(f, "severe_failures_365d") - _num(f, "episode_severe_failures")
    other = _num(f, "failed_inspections_365d") - _num(f, "severe_failures_365d")
    return max(0.0, severe), max(0.0, other - _num(f, "episode_other_failures"))


def own_seized_value(f: Row) -> float:
    """Goods seized in 365 days at inspections not shared with a county burst."""
    return max(0.0, _num(f, "seized_value_365d") - _num(f, "episode_seized_value"))


def episode_share(f: Row) -> float:
    """The share of the entity's complaint and inspection signals that a county burst shares."""
    shared = (
        _num(f, "episode_voices")
        + _num(f, "episode_severe_failures")
        + _num(f, "episode_other_failures")
    )
    own = own_voices(f) + sum(own_failures(f))
    return shared / (shared + own) if shared > 0 else 0.0


def _complaint_rate(f: Row) -> float:
    return math.log1p(own_voices(f) / (1 + _num(f, "sales_30d") * 6 / 1000))


def _failures(f: Row) -> float:
    severe, other = own_failures(f)
    return min(3.0, severe) + 0.5 * min(2.0, other)


def _own_failure_reason(f: Row) -> str:
    severe, other = own_failures(f)
    return (
        f"近一年{severe + other:.0f}次检查不合格（其中假冒/质量问题{severe:.0f}次）/ "
        f"{severe + other:.0f} failed inspections in 365 days ({severe:.0f} for counterfeit or quality)"
    )


def _episode_reason(f: Row) -> str:
    failures = _num(f, "episode_severe_failures") + _num(f, "episode_other_failures")
    return (
        f"{_num(f, 'episode_voices'):.0f}起投诉、{failures:.0f}次不合格与本县同品类的集中爆发同期"
        f"（同期另有约{_num(f, 'episode_peer_voices'):.0f}起投诉指向其他经营者），按区域性问题计入热点与预警 / "
        f"{_num(f, 'episode_voices'):.0f} complaints and {failures:.0f} failed inspections fall in a "
        f"county-wide burst in this category shared with other businesses (see hotspots and alerts)"
    )


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
            f"近180天{own_voices(f):.0f}起可信的假冒/质量投诉（共{f['complaints_180d']}起）/ "
            f"{own_voices(f):.0f} credible counterfeit or quality complaints in 180 days "
            f"({f['complaints_180d']} in all)"
        ),
    ),
    "failures": Term(_failures, _own_failure_reason),
    "seized": Term(
        lambda f: math.log1p(own_seized_value(f) / 10000),
        lambda f: (
            f"近一年查扣货值{own_seized_value(f):,.0f}元 / "
            f"goods worth {own_seized_value(f):,.0f} yuan seized in 365 days"
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
    "regional_episode": Term(episode_share, _episode_reason),
}


def term_inputs(f: Row) -> dict[str, float]:
    """The input x of every term for one entity's features."""
    return {name: float(term.x(f)) for name, term in TERMS.items()}


def has_risk_signal(f: Row) -> bool:
    """An entity is a lead when it shows any risk signal in the last 180 days."""
    return bool(
        f["complaints_180d"] > 0
        or (f["days_since_failure"] is not None and f["days_since_failure"] <= 180)
        or f["low_price_share"] > 0
        or f["slang_share"] > 0
        or f["penalties_180d"] > 0
    )


@dataclass(frozen=True)
class Explanation:
    """One entity's score, how it was made, and its reasons."""

    score: float
    baseline: float
    model_probability: float | None
    model_weight: float
    reasons: str


def sigmoid(z: float) -> float:
    """The logistic function, without overflow for large |z| (the baseline's and the lead
    model's probabilities both go through it)."""
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


NEGLIGIBLE = 1e-9  # a contribution this small is float noise, not a reason


def soft_link_reason(f: Row) -> str | None:
    """Why shops without a shared key are one lead, in the inspector's words, when shop links
    joined two or more of its shops, or a shop to its registered business (a business link;
    features.entity_profile); else None."""
    shops = int(f.get("soft_link_shops") or 0)
    business = bool(f.get("soft_link_business"))
    if shops < 2 and not business:
        return None
    stem = f.get("soft_link_stem")
    ship_from = f.get("soft_link_ship_from")
    titles = f.get("soft_link_title_similarity") or 0.0
    if business:  # a business link: its storefronts carry its registered trade name
        zh = [f"{shops}家网店与登记主体字号相同（{stem}）"]
        en = [
            f"{shops} shop{'s' if shops > 1 else ''} share{'' if shops > 1 else 's'} the trade"
            f" name {stem} with the registered business"
        ]
    else:
        zh = [f"{shops}家店铺字号相同（{stem}）" if stem else f"{shops}家店铺经营特征一致"]
        en = [f"{shops} shops share the trade name {stem}" if stem else f"{shops} shops alike"]
    places = int(f.get("soft_link_ship_from_places") or 0)
    if places > 1:  # a ring over several counties: never "the same ship-from"
        others = f"{places - 1} other count{'y' if places == 2 else 'ies'}"
        zh.append(
            f"发货地{ship_from}等{places}个县区" if ship_from else f"发货地分属{places}个县区"
        )
        en.append(
            f"ship from {ship_from} and {others}" if ship_from else f"ship from {places} counties"
        )
    elif ship_from and business:
        zh.append(f"发货地与登记地同为{ship_from}")
        en.append(f"ship from {ship_from}, where it is registered")
    elif ship_from:
        zh.append(f"同一发货地{ship_from}")
        en.append(f"ship from {ship_from}")
    if titles >= 0.5:
        zh.append("商品标题高度相似")
        en.append("near-identical titles")
    elif titles >= 0.25:
        zh.append("商品标题相似")
        en.append("similar titles")
    opened = int(f.get("soft_link_opened_with_ring") or 0)
    if opened:  # shops joined by the rule, not by their scores
        from transforms.shop_linkage import OPENED_TOGETHER_DAYS  # splink: only when needed

        weeks = OPENED_TOGETHER_DAYS // 7
        zh.append(f"其中{opened}家与同组店铺在{weeks}周内相继开店")
        en.append(f"{opened} of them opened within {weeks} weeks of the ring's shops")
    probability = f.get("shop_link_probability")
    if probability is not None:
        zh.append(f"关联概率{probability:.2f}（无共同登记号或联系方式）")
        en.append(f"linked at p = {probability:.2f} (no shared registration or contact)")
    return "，".join(zh) + " / " + ", ".join(en)


def reasons_text(f: Row, contributions: dict[str, float], config: BaselineConfig) -> str:
    """The strongest reasons, Chinese first; then the strongest mitigating factor, marked so."""
    # A term whose input is zero up to float noise (e.g. a sum of 0.3-weighted voices less the
    # same voices shared with a burst) is no reason: which way the noise falls would otherwise
    # depend on the order DuckDB summed in.
    ranked = sorted(
        ((c, name) for name, c in contributions.items() if c > NEGLIGIBLE),
        key=lambda t: (-t[0], t[1]),
    )
    chosen = [name for c, name in ranked if c >= config.reason_min_contribution]
    chosen = chosen[: config.max_reasons] or [name for _, name in ranked[:1]]
    parts = [TERMS[name].reason(f) for name in chosen]
    mitigating = sorted(
        (c, name) for name, c in contributions.items() if c <= -config.reason_min_contribution
    )
    parts += [
        "减分 / mitigating: " + TERMS[name].reason(f)
        for _, name in mitigating[: config.max_mitigating_reasons]
    ]
    if linked := soft_link_reason(f):
        parts.append(linked)
    return "；".join(parts) or "仅有少量风险信号 / only weak risk signals"


@dataclass(frozen=True)
class Contributions:
    """Each term's log-odds contribution: to the baseline, to the model (empty when no model
    is in use) and blended, w x model + (1 - w) x baseline, which orders the reasons."""

    baseline: dict[str, float]
    model: dict[str, float]
    blended: dict[str, float]


def contributions(
    x: dict[str, float], config: BaselineConfig, model: LeadModel | None = None
) -> Contributions:
    """The contributions of the term inputs `x` (see `term_inputs`)."""
    base = {name: config.weights.get(name, 0.0) * value for name, value in x.items()}
    if model is None or model.blend_weight <= 0:
        return Contributions(base, {}, base)
    w = model.blend_weight
    learned = model.contributions(x)
    blended = {n: w * learned.get(n, 0.0) + (1 - w) * c for n, c in base.items()}
    return Contributions(base, learned, blended)


def explain_lead(f: Row, config: BaselineConfig, model: LeadModel | None = None) -> Explanation:
    """The entity's score (baseline, or blended with the model) and its reasons."""
    x = term_inputs(f)
    c = contributions(x, config, model)
    baseline = sigmoid(config.intercept + sum(c.baseline.values()))
    reasons = reasons_text(f, c.blended, config)
    if model is None or model.blend_weight <= 0:
        return Explanation(baseline, baseline, None, 0.0, reasons)
    w, p = model.blend_weight, model.probability(x)
    return Explanation(w * p + (1 - w) * baseline, baseline, p, w, reasons)


def explain(f: Row, config: BaselineConfig) -> tuple[float, str]:
    """The entity's baseline score and its main reasons (Chinese first, English after)."""
    e = explain_lead(f, config)
    return e.score, e.reasons


def risk_level(score: float, config: BaselineConfig, model: LeadModel | None = None) -> str:
    """`high`, `medium` or `low`: the model's probability thresholds once a model is in use."""
    high, medium = config.high, config.medium
    if model is not None and model.blend_weight > 0:
        high, medium = model.high, model.medium
    if score >= high:
        return "high"
    return "medium" if score >= medium else "low"


def estimated_turnover(f: Row) -> float:
    """The largest evidence of illegal turnover: 6 months of listing sales, seizures, and the
    turnover found in earlier confirmed cases."""
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
    "shop_link_probability",
]
SCORE_COLUMNS = ["baseline_score", "model_probability", "model_weight", "model_version"]


def _shown(name: str | None) -> str | None:
    """A name as a lead shows it: a complainant may type a phone or ID number into the name
    of the business (subject_name), and the lead list goes to every team."""
    return redact_personal(name) if name else name


def with_episodes(features: pl.DataFrame, episodes: pl.DataFrame | None) -> pl.DataFrame:
    """Entity features with the regional-episode counts (0 where the entity shares none)."""
    if episodes is None:
        episodes = pl.DataFrame(schema=EPISODE_COLUMNS)
    counts = [c for c in EPISODE_COLUMNS if c != "entity_id"]
    joined = features.drop([c for c in counts if c in features.columns]).join(
        episodes.select(list(EPISODE_COLUMNS)), on="entity_id", how="left"
    )
    return joined.with_columns(pl.col(counts).fill_null(0))


def rank_leads(
    features: pl.DataFrame,
    profile: pl.DataFrame,
    config: BaselineConfig | None = None,
    referral: ReferralConfig | None = None,
    model: LeadModel | None = None,
    episodes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The entity_leads export: one row per entity with a recent risk signal, best first.

    The spec's columns come first, then usccs, names and estimated_turnover_cny, then how the
    score was made: baseline_score, model_probability, model_weight and model_version.
    """
    config = config or load_baseline_config()
    referral = referral or load_referral_config()
    rows = []
    joined = with_episodes(features, episodes).join(profile, on="entity_id", how="left")
    joined = joined.with_columns(pl.col(pl.Decimal).cast(pl.Float64))
    for f in joined.iter_rows(named=True):
        if not has_risk_signal(f):
            continue
        e = explain_lead(f, config, model)
        score = round(e.score, 6)
        rows.append(
            {
                "lead_id": f["entity_id"],
                "entity_name": _shown(f["entity_name"]),
                "uscc": f["uscc"],
                "shop_keys": f["shop_keys"],
                "region_code": f["region_code"],
                "product_categories": f["product_categories"],
                "score": score,
                "risk_level": risk_level(score, config, model),
                "reasons": e.reasons,
                "referral_review": needs_referral_review(f, score, referral),
                "handoff_region_code": f["handoff_region_code"],
                "usccs": f["usccs"],
                "names": _shown(f["names"]),
                "estimated_turnover_cny": round(estimated_turnover(f), 2),
                "shop_link_probability": f.get("shop_link_probability"),
                "baseline_score": round(e.baseline, 6),
                "model_probability": (
                    round(e.model_probability, 6) if e.model_probability is not None else None
                ),
                "model_weight": round(e.model_weight, 6),
                "model_version": model.version if model is not None else None,
            }
        )
    columns = LEAD_COLUMNS + SCORE_COLUMNS
    schema: dict[str, pl.DataType] = {c: pl.String() for c in columns}
    schema |= {"rank": pl.Int64(), "score": pl.Float64(), "referral_review": pl.Boolean()}
    schema |= {
        c: pl.Float64()
        for c in ("estimated_turnover_cny", "shop_link_probability", *SCORE_COLUMNS[:3])
    }
    if not rows:
        return pl.DataFrame(schema=schema)
    leads = pl.DataFrame(rows, schema={c: t for c, t in schema.items() if c != "rank"})
    leads = leads.sort(["score", "lead_id"], descending=[True, False])
    return (
        leads.with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .select(columns)
    )
