"""The hotspots export (FEEDS.md "hotspots"; README "Hotspots and alerts") on hand-written rows.

One small warehouse is staged once for the module: each scenario has a product category of
its own (and its own counties), so one night's `score_hotspots` answers every test. The night
runs as the flow does: resolve, features, leads, then hotspots."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import duckdb
import polars as pl
import pytest

from flows.stages import build_features, resolve, score_hotspots, score_leads
from models.hotspots import HOTSPOT_COLUMNS, load_hotspot_config
from tests.staging import stage

AS_OF = dt.date(2026, 6, 30)
CONFIG = load_hotspot_config()


def day(before: int) -> dt.date:
    """The date `before` days before the as-of date (negative: after it)."""
    return AS_OF - dt.timedelta(days=before)


_ids = iter(range(1_000_000))


def complaints(region: str, category: str, *befores: int) -> list[dict[str, Any]]:
    """One consumer complaint per entry of `befores`, each in its own words and against its
    own shop, so that each counts as one credible voice."""
    rows = []
    for before in befores:
        n = next(_ids)
        rows.append(
            {
                "complaint_id": f"C{n}",
                "received_at": dt.datetime.combine(day(before), dt.time(10, 0)),
                "channel": "hotline_12315",
                "region_code": region,
                "product_category": category,
                "infringement_type": "counterfeit_trademark",
                "complainant_type": "consumer",
                "platform": "taobao",
                "shop_id": f"S{n}",
                "description": f"投诉{n}：买到的是假货",
            }
        )
    return rows


def failed_inspections(region: str, category: str, *befores: int) -> list[dict[str, Any]]:
    rows = []
    for before in befores:
        n = next(_ids)
        rows.append(
            {
                "inspection_id": f"I{n}",
                "inspected_on": day(before),
                "region_code": region,
                "entity_name": f"企业{n}",
                "product_category": category,
                "inspection_type": "double_random",
                "result": "fail",
                "violation_type": "counterfeit_trademark",
                "inspector_team": "执法一队",
            }
        )
    return rows


def listing(
    shop: str, ship_from: str, category: str, before: int, title: str = "高仿名牌香烟"
) -> dict[str, Any]:
    """A listing of `shop` seen `before` days before the as-of date; by default its title
    uses counterfeit slang (高仿), which makes it suspicious."""
    return {
        "snapshot_date": day(before),
        "platform": "taobao",
        "listing_id": f"L{next(_ids)}",
        "shop_id": shop,
        "shop_name": f"{shop}号店",
        "ship_from_region_code": ship_from,
        "product_category": category,
        "title": title,
        "price_cny": 50.0,
    }


# 30 days = the as-of date and the 29 before it; the 90 before them = 30 … 119 days before.
LAST = [0, 5, 10, 15, 20, 25, 29]
PRIOR = [30, 36, 42, 48, 54, 60, 66, 72, 78, 84, 90, 96, 102, 108, 114, 119]


def trend_rows(region: str, category: str, last: int, prior: int) -> list[dict[str, Any]]:
    """`last` complaints in the last 30 days and `prior` in the 90 days before them."""
    assert last <= len(LAST) and prior <= len(PRIOR)
    return complaints(region, category, *LAST[:last], *PRIOR[:prior])


COMPLAINTS = [
    # activity window: last event 89 days before (in) against 91 days before (out)
    *complaints("630102", "mobile_phones", 89, 150),
    *complaints("632221", "mobile_phones", 91, 150),
    # a county's events also count for its prefecture, in the same ranking
    *complaints("630202", "fertilizer", 3, 40),
    *complaints("630203", "fertilizer", 5, 60, 70),
    # trend, per day: last 30 days against the 90 days before them (thresholds of hotspots.yaml)
    *trend_rows("630102", "pesticides", last=6, prior=11),  # 6/30 vs 11/90: ×1.64 → rising
    *trend_rows("630103", "veterinary_drugs", last=6, prior=13),  # ×1.38 → stable
    *trend_rows("630104", "agri_products", last=3, prior=9),  # ×1.0 → stable (3 < 9, per day)
    *trend_rows("630105", "pharmaceuticals", last=2, prior=9),  # ×0.667 → falling
    *trend_rows("630106", "books", last=2, prior=0),  # too few events to rise
    *complaints("630121", "audio_video", 40, 50),  # too few events to fall
    # boundaries of the trend windows
    *complaints("630123", "software", 0, 29, 30, 119, 120),
    # records dated after the as-of date
    *complaints("632301", "tobacco", -1, -20),
    *complaints("630202", "fertilizer", -1, -2),
]
INSPECTIONS = [
    *failed_inspections("630222", "seeds", 89),
    *failed_inspections("632322", "seeds", 91),
    *failed_inspections("632301", "tobacco", -3),
    *failed_inspections("630202", "fertilizer", -1),
    # a pair whose index (2 × 15 failures) is above the scale
    *failed_inspections("632803", "fuel", *range(1, 16)),
]
LISTINGS = [
    listing("T1", "632802", "tobacco", 0),
    # T2 is known by the as-of date (an honest listing), its slang listing only after it
    listing("T2", "632801", "export_goods", 0, title="出口转内销衬衫"),
    listing("T2", "632801", "tobacco", -2),
]


@pytest.fixture(scope="module")
def night() -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse after the night's hotspot stage on the rows above."""
    con = duckdb.connect(":memory:")
    stage(con, complaints=COMPLAINTS, inspections=INSPECTIONS, listings=LISTINGS)
    resolve(con, AS_OF)
    build_features(con, AS_OF)
    score_leads(con, AS_OF)
    score_hotspots(con, AS_OF)
    yield con
    con.close()


@pytest.fixture(scope="module")
def hotspots(night: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return night.sql("select * from scores.hotspots").pl()


@pytest.fixture(scope="module")
def activity(night: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, Any]]:
    frame = night.sql("select * from features.hotspot_activity").pl()
    frame = frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64))
    return {(r["region_code"], r["product_category"]): r for r in frame.iter_rows(named=True)}


def pairs(hotspots: pl.DataFrame, category: str) -> set[str]:
    return set(hotspots.filter(pl.col("product_category") == category)["region_code"])


def trend_of(hotspots: pl.DataFrame, region: str, category: str) -> str:
    row = hotspots.filter(
        (pl.col("region_code") == region) & (pl.col("product_category") == category)
    )
    assert row.height == 1, f"no hotspot {region} × {category}"
    return str(row["trend"][0])


def test_the_config_is_the_one_the_trend_rows_were_written_for() -> None:
    # The trend rows sit on both sides of these thresholds; if they are re-tuned, so must the rows.
    assert (CONFIG.rising_ratio, CONFIG.falling_ratio, CONFIG.min_events) == (1.5, 0.67, 3)


def test_only_pairs_active_in_the_last_90_days_appear(hotspots: pl.DataFrame) -> None:
    # complaints: 89 days before is in, 91 out (the older event 150 days before changes nothing)
    assert pairs(hotspots, "mobile_phones") == {"630102", "630100"}
    # failed inspections likewise
    assert pairs(hotspots, "seeds") == {"630222", "630200"}


def test_a_county_counts_for_its_prefecture_in_one_ranking(
    hotspots: pl.DataFrame, activity: dict[tuple[str, str], dict[str, Any]]
) -> None:
    assert pairs(hotspots, "fertilizer") == {"630202", "630203", "630200"}
    assert activity["630202", "fertilizer"]["complaints_90d"] == pytest.approx(2.0)
    assert activity["630203", "fertilizer"]["complaints_90d"] == pytest.approx(3.0)
    prefecture = activity["630200", "fertilizer"]
    assert prefecture["level"] == "prefecture"
    assert prefecture["complaints_90d"] == pytest.approx(5.0)
    assert (prefecture["events_last_30d"], prefecture["events_prior_90d"]) == (
        pytest.approx(2.0),
        pytest.approx(3.0),
    )
    # one ranking: the prefecture row ranks among the counties, above both of its own
    fertilizer = hotspots.filter(pl.col("product_category") == "fertilizer")
    ranks = dict(zip(fertilizer["region_code"], fertilizer["rank"], strict=True))
    assert ranks["630200"] < min(ranks["630202"], ranks["630203"])
    assert hotspots["rank"].n_unique() == hotspots.height


def test_trend_windows_are_the_last_30_days_and_the_90_before(
    activity: dict[tuple[str, str], dict[str, Any]],
) -> None:
    # events 0, 29 | 30, 119 days before; 120 days before is in neither
    row = activity["630123", "software"]
    assert (row["events_last_30d"], row["events_prior_90d"]) == (
        pytest.approx(2.0),
        pytest.approx(2.0),
    )
    assert row["complaints_90d"] == pytest.approx(3.0)  # 0, 29, 30


def test_trend_is_rising_stable_or_falling_per_day(hotspots: pl.DataFrame) -> None:
    for region in ("630102", "630100"):
        assert trend_of(hotspots, region, "pesticides") == "rising"
    assert trend_of(hotspots, "630103", "veterinary_drugs") == "stable"
    assert trend_of(hotspots, "630104", "agri_products") == "stable"
    assert trend_of(hotspots, "630105", "pharmaceuticals") == "falling"


def test_trend_needs_min_events_to_rise_or_fall(hotspots: pl.DataFrame) -> None:
    # 2 events in the last 30 days and none before would be ×∞; 2 before and none since ×0
    assert trend_of(hotspots, "630106", "books") == "stable"
    assert trend_of(hotspots, "630121", "audio_video") == "stable"


def test_records_after_the_as_of_date_are_ignored(
    hotspots: pl.DataFrame, activity: dict[tuple[str, str], dict[str, Any]]
) -> None:
    # tobacco: future complaints and a failure in 632301, a future slang listing from 632801
    assert pairs(hotspots, "tobacco") == {"632802", "632800"}
    assert activity["632800", "tobacco"]["suspicious_listings"] == 1
    fertilizer = activity["630202", "fertilizer"]
    assert (fertilizer["complaints_90d"], fertilizer["failed_90d"]) == (
        pytest.approx(2.0),
        pytest.approx(0.0),
    )
    assert fertilizer["events_last_30d"] == pytest.approx(1.0)


def test_scores_are_in_0_1_and_ranks_have_no_gaps(hotspots: pl.DataFrame) -> None:
    assert hotspots.columns == HOTSPOT_COLUMNS
    assert hotspots.height >= 20
    assert hotspots["rank"].to_list() == list(range(1, hotspots.height + 1))
    scores = hotspots["score"].to_list()
    assert all(0 <= s <= 1 for s in scores)
    # the fuel pair: index ≥ 2 × 15 failures, above the scale, and its score still below 1
    assert max(scores) >= 1 - math.exp(-30 / CONFIG.scale) - 1e-6
    assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))
    assert set(hotspots["trend"]) <= {"rising", "stable", "falling"}
