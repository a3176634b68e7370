"""The hotspots export (FEEDS.md "hotspots"; README "Hotspots and alerts") on hand-written rows.

One small warehouse is staged once for the module: each scenario has a product category of
its own (and its own counties), so one night's `score_hotspots` answers every test. The night
runs as the flow does: resolve, features, leads, then hotspots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest

from flows.stages import build_features, resolve, score_hotspots, score_leads
from models.hotspots import (
    EXTRA_COLUMNS,
    HOTSPOT_COLUMNS,
    gamma_prior,
    load_hotspot_config,
    rank_hotspots,
    score_cells,
)
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
    # a pair with 15 failures, and no other fuel inspection in the province
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
    assert hotspots.columns == HOTSPOT_COLUMNS + EXTRA_COLUMNS
    assert hotspots.height >= 20
    assert hotspots["rank"].to_list() == list(range(1, hotspots.height + 1))
    scores = hotspots["score"].to_list()
    assert all(0 < s < 1 for s in scores)
    assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))
    assert set(hotspots["trend"]) <= {"rising", "stable", "falling"}
    # the score is the risk's 95 % lower bound L on a 0-1 scale, L / (1 + L), below the
    # posterior mean's; the first reason says the exported observed, expected, relative risk
    # and the lower bound
    for r in hotspots.iter_rows(named=True):
        assert r["score"] < r["relative_risk"] / (1 + r["relative_risk"])
        first = r["reasons"].split("；")[0]
        lower = r["score"] / (1 - r["score"])
        assert f"(at least {lower:.1f}× with 95 % credibility)" in first
        assert (
            f"{r['observed']:.1f} weighted events in 90 days against {r['expected']:.1f}" in first
        )
        assert f"{r['relative_risk']:.1f}× the risk" in first


def test_a_prefecture_row_adds_up_its_counties(
    activity: dict[tuple[str, str], dict[str, Any]],
) -> None:
    counties = [activity[c, "fertilizer"] for c in ("630202", "630203")]
    prefecture = activity["630200", "fertilizer"]
    for column in ("complaints_90d", "expected_complaints", "failed_90d", "expected_failed"):
        assert prefecture[column] == pytest.approx(sum(c[column] for c in counties))


def test_the_fuel_failures_are_expected_from_the_inspections_made(
    activity: dict[tuple[str, str], dict[str, Any]], hotspots: pl.DataFrame
) -> None:
    # 15 inspections of fuel, all failed: the province fail rate is 1, so 15 are expected
    fuel = activity["632803", "fuel"]
    assert (fuel["failed_90d"], fuel["expected_failed"]) == (15, pytest.approx(15.0))
    row = hotspots.filter(
        (pl.col("region_code") == "632803") & (pl.col("product_category") == "fuel")
    )
    assert "15 failed inspections in 90 days (15.0 expected)" in row["reasons"][0]


# --- the score: excess over expectation, shrunk (hand-made activity rows) ---------------------


def cell(
    region: str,
    category: str,
    complaints: float,
    expected: float,
    *,
    failed: float = 0.0,
    expected_failed: float = 0.0,
    level: str = "county",
) -> dict[str, Any]:
    """One row of hotspot_activity.sql with complaints (and failures) and their expectation."""
    return {
        "level": level,
        "region_code": region,
        "product_category": category,
        "complaints_90d": complaints,
        "expected_complaints": expected,
        "failed_90d": failed,
        "expected_failed": expected_failed,
        "suspicious_listings": 0.0,
        "expected_listings": 0.0,
        "lead_risk": 0.0,
        "expected_lead_risk": 0.0,
        "leads": 0,
        "events_last_30d": complaints / 3,
        "events_prior_90d": complaints,
        "active": complaints + failed > 0,
    }


def province(*cells: dict[str, Any], fill: int = 300) -> pl.DataFrame:
    """`cells` among `fill` ordinary county cells, whose relative risks spread as a province's
    do (gamma, mean 1, variance 0.5) around what was expected of them."""
    rng = np.random.default_rng(5)
    rows = list(cells)
    for i in range(fill):
        expected = float(rng.gamma(2.0, 1.5))
        risk = float(rng.gamma(2.0, 0.5))
        rows.append(cell(f"64{i:04d}", "other", float(rng.poisson(expected * risk)), expected))
    return pl.DataFrame(rows)


def ranked_cells(activity: pl.DataFrame) -> list[tuple[str, str]]:
    ranking = rank_hotspots(activity, CONFIG)
    return list(zip(ranking["region_code"], ranking["product_category"], strict=True))


def test_a_big_place_doing_as_expected_ranks_below_a_small_one_beyond_it() -> None:
    # the capital's 300 complaints are what its size and the season lead one to expect;
    # a small county's 20 against 4 expected are not; counting ranks the capital first
    activity = province(
        cell("630100", "books", 300.0, 290.0, level="prefecture"),
        cell("630102", "books", 300.0, 290.0),
        cell("632221", "books", 20.0, 4.0),
    )
    cells = ranked_cells(activity)
    assert cells.index(("632221", "books")) < cells.index(("630102", "books"))
    assert cells.index(("632221", "books")) < 10  # of 303


def test_a_handful_of_events_is_shrunk_towards_the_province() -> None:
    # 2 complaints against 0.1 expected is a ratio of 20 but little evidence; 30 against 3
    # (a ratio of 10) ranks above it after shrinkage, which pulls it less
    activity = province(cell("632221", "seeds", 2.0, 0.1), cell("632522", "seeds", 30.0, 3.0))
    scored = score_cells(activity, CONFIG)
    risk = dict(zip(scored["region_code"], scored["relative_risk"], strict=True))
    assert risk["632522"] > risk["632221"]
    assert risk["632221"] < 20 / 4  # pulled far below its raw ratio
    assert risk["632522"] > 10 / 2  # 30 events are not pulled as far
    cells = ranked_cells(activity)
    assert cells.index(("632522", "seeds")) < cells.index(("632221", "seeds"))


def test_the_top_scores_differ() -> None:
    # several cells far above expectation: the old 1 − exp(−index / scale) gave them all
    # 0.9999…; relative risks of 10, 20, 40 and 80 keep apart on the 0-1 scale
    hot = [
        cell(f"6301{i:02d}", "fuel", 5.0 * ratio, 5.0) for i, ratio in enumerate((10, 20, 40, 80))
    ]
    ranking = rank_hotspots(province(*hot), CONFIG)
    top = ranking.head(4)
    assert top["region_code"].to_list() == ["630103", "630102", "630101", "630100"]
    scores = top["score"].to_list()
    assert all(a - b > 0.005 for a, b in zip(scores, scores[1:], strict=False))
    assert max(scores) < 0.99


def test_a_handful_of_events_against_a_tiny_expectation_ranks_below_a_certain_excess() -> None:
    # a small county's 10 complaints against 0.2 expected (a posterior mean above the fuel
    # wave's) is little evidence; 40 against 3 leaves no doubt: the wave ranks first
    activity = province(cell("632324", "books", 10.0, 0.2), cell("632801", "fuel", 40.0, 3.0))
    scored = score_cells(activity, CONFIG)
    risk = dict(zip(scored["region_code"], scored["relative_risk"], strict=True))
    assert risk["632324"] > risk["632801"]  # by the posterior mean, books first...
    cells = ranked_cells(activity)
    assert cells.index(("632801", "fuel")) < cells.index(("632324", "books"))  # ...not ranked


def test_failed_inspections_weigh_by_their_weight() -> None:
    # a failure counts twice a complaint (hotspots.yaml), in what was seen and what expected
    assert CONFIG.weights["failed_inspections"] == 2.0
    activity = province(cell("632221", "fuel", 4.0, 1.0, failed=3.0, expected_failed=0.5))
    row = score_cells(activity, CONFIG).filter(pl.col("region_code") == "632221")
    assert (row["observed"][0], row["expected"][0]) == (pytest.approx(10.0), pytest.approx(2.0))


def test_the_gamma_prior_recovers_the_spread_of_relative_risks() -> None:
    # relative risks drawn from Gamma(mean 1, variance 0.5), counts Poisson around E × RR
    rng = np.random.default_rng(11)
    expected = rng.uniform(0.5, 20.0, 4000)
    risk = rng.gamma(2.0, 0.5, 4000)
    observed = rng.poisson(expected * risk)
    prior = gamma_prior(pl.Series(observed), pl.Series(expected), CONFIG.min_prior_variance)
    assert prior.alpha / prior.beta == pytest.approx(1.0, abs=0.05)
    assert prior.alpha / prior.beta**2 == pytest.approx(0.5, rel=0.15)
    # no extra spread beyond Poisson: the floor holds the variance
    flat = rng.poisson(expected)
    prior = gamma_prior(pl.Series(flat), pl.Series(expected), CONFIG.min_prior_variance)
    assert prior.alpha / prior.beta**2 == pytest.approx(CONFIG.min_prior_variance, rel=0.01)


# --- expectations from size and season (its own small warehouse) -----------------------------


SIZE_COMPLAINTS = [
    # 630102 is ten times the size of 632221 in everything but books and seeds
    *complaints("630102", "other", *range(0, 170, 4)),  # 43
    *complaints("632221", "other", 3, 50, 100, 150),  # 4
    # books: the big district has more complaints, the small county more than its size explains
    *complaints("630102", "books", *range(0, 88, 8)),  # 11
    *complaints("632221", "books", *range(2, 60, 8)),  # 8
    # seeds: a spring rise in both, in proportion to their size
    *complaints("630102", "seeds", *range(0, 88, 2)),  # 44
    *complaints("632221", "seeds", *range(1, 88, 20)),  # 5
]


@pytest.fixture(scope="module")
def sized() -> Iterator[pl.DataFrame]:
    """The hotspots of a night with only SIZE_COMPLAINTS."""
    con = duckdb.connect(":memory:")
    stage(con, complaints=SIZE_COMPLAINTS)
    resolve(con, AS_OF)
    build_features(con, AS_OF)
    score_leads(con, AS_OF)
    yield score_hotspots(con, AS_OF)
    con.close()


def test_expected_complaints_follow_the_size_of_the_place(sized: pl.DataFrame) -> None:
    books = sized.filter(pl.col("product_category") == "books")
    ranks = dict(zip(books["region_code"], books["rank"], strict=True))
    # counting would put the district's 11 first; against its size the county's 8 stand out
    assert ranks["632221"] < ranks["630102"]
    risk = dict(zip(books["region_code"], books["relative_risk"], strict=True))
    assert risk["632221"] > 1.5 > risk["630102"]


def test_a_rise_in_proportion_to_size_is_no_hotspot(sized: pl.DataFrame) -> None:
    seeds = sized.filter(pl.col("product_category") == "seeds")
    for rr in seeds["relative_risk"]:
        assert 0.5 < rr < 1.6


def test_sums_differing_in_their_last_bits_score_the_same() -> None:
    # DuckDB's parallel float sums can differ in the last bits between two runs of one night
    activity = province(cell("632221", "seeds", 2.0, 0.1), cell("632522", "seeds", 30.0, 3.0))
    floats = [c for c, t in activity.schema.items() if t == pl.Float64]
    nudged = activity.with_columns(
        pl.col(floats).map_batches(lambda s: pl.Series(np.nextafter(s.to_numpy(), np.inf)))
    )
    assert not nudged.equals(activity)
    scores = ["region_code", "product_category", "observed", "expected", "relative_risk", "score"]
    assert (
        score_cells(nudged, CONFIG)
        .select(scores)
        .equals(score_cells(activity, CONFIG).select(scores))
    )
