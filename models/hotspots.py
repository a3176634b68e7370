"""Region × product-category hotspots: score, trend and reasons from hotspot activity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from data_contracts.contract import regions

CONFIG_PATH = Path(__file__).resolve().parent / "config" / "hotspots.yaml"
HOTSPOT_COLUMNS = ["rank", "region_code", "product_category", "score", "trend", "reasons"]


@dataclass(frozen=True)
class HotspotConfig:
    weights: dict[str, float]
    scale: float
    rising_ratio: float
    falling_ratio: float
    min_events: float


def load_hotspot_config(path: Path | None = None) -> HotspotConfig:
    raw = yaml.safe_load((path or CONFIG_PATH).read_text(encoding="utf-8"))
    return HotspotConfig(
        weights={k: float(v) for k, v in raw["weights"].items()},
        scale=float(raw["scale"]),
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


def _reasons(r: dict[str, Any], province_mean: float) -> str:
    parts = []
    if r["complaints_90d"] > 0:
        parts.append(
            f"近90天可信投诉{r['complaints_90d']:.0f}起 / {r['complaints_90d']:.0f} credible complaints in 90 days"
        )
    if r["failed_90d"] > 0:
        parts.append(
            f"近90天检查不合格{r['failed_90d']:.0f}次 / {r['failed_90d']:.0f} failed inspections in 90 days"
        )
    if r["suspicious_listings"] > 0:
        parts.append(
            f"{r['suspicious_listings']}件可疑商品由此发货 / {r['suspicious_listings']} suspicious listings ship from here"
        )
    if r["leads"] > 0:
        parts.append(f"{r['leads']}条风险线索位于此地 / {r['leads']} leads located here")
    if province_mean > 0:
        ratio = r["index"] / province_mean
        parts.append(
            f"为全省同类县均值的{ratio:.1f}倍 / {ratio:.1f}× the county average for this category"
        )
    return "；".join(parts)


def rank_hotspots(activity: pl.DataFrame, config: HotspotConfig | None = None) -> pl.DataFrame:
    """The hotspots export from the rows of `hotspot_activity.sql`, one ranking for both levels."""
    config = config or load_hotspot_config()
    if activity.is_empty():
        schema = {c: pl.String for c in HOTSPOT_COLUMNS} | {"rank": pl.Int64, "score": pl.Float64}
        return pl.DataFrame(schema=schema)
    index = pl.sum_horizontal(
        pl.col(name).cast(pl.Float64) * w for name, w in config.weights.items()
    )
    scored = activity.with_columns(index.alias("index"))
    county_count = len(regions())  # the province mean is over every county, active or not
    means = (
        scored.filter(pl.col("level") == "county")
        .group_by("product_category")
        .agg((pl.col("index").sum() / county_count).alias("province_mean"))
    )
    rows = []
    for r in scored.join(means, on="product_category", how="left").iter_rows(named=True):
        mean = r["province_mean"] or 0.0
        if r["level"] == "prefecture":
            mean = 0.0  # the county ratio would mislead for a roll-up
        rows.append(
            {
                "region_code": r["region_code"],
                "product_category": r["product_category"],
                "score": round(1 - math.exp(-r["index"] / config.scale), 6),
                "trend": trend(r["events_last_30d"], r["events_prior_90d"], config),
                "reasons": _reasons(r, mean),
            }
        )
    ranked = pl.DataFrame(rows).sort(
        ["score", "region_code", "product_category"], descending=[True, False, False]
    )
    ranked = ranked.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int64))
    return ranked.select(HOTSPOT_COLUMNS)
