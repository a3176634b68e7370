"""The space-time scan on hand-made series and maps (models/scan.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from data_contracts.contract import regions
from models import scan
from models.scan import (
    ScanMemo,
    calibrate,
    cluster_alerts,
    county_clusters,
    detect,
    detect_cluster_alerts,
    fit_scan,
    memo_from_tables,
    memo_tables,
    scan_night,
)
from models.surges import SurveillanceConfig, _with_prefectures, load_config

CONFIG = load_config()
AS_OF = date(2025, 4, 30)
DAYS = [AS_OF - timedelta(days=i) for i in range(CONFIG.history_days)][::-1]
XINING = sorted(c for c, r in regions().items() if r.prefecture_code == "630100")


def map_series(
    rates: dict[str, np.ndarray | float],
    seed: int,
    category: str = "fuel",
    signal: str = "complaints",
) -> pl.DataFrame:
    """Poisson daily counts over DAYS for each county at its rate (a number or one a day)."""
    rng = np.random.default_rng(seed)
    return pl.concat(
        [
            pl.DataFrame(
                {
                    "region_code": county,
                    "product_category": category,
                    "signal": signal,
                    "day": DAYS,
                    "value": rng.poisson(np.broadcast_to(rate, len(DAYS))).astype(float),
                }
            )
            for county, rate in sorted(rates.items())
        ]
    )


def regular_map(every: int = 3, category: str = "fuel") -> pl.DataFrame:
    """Xining's counties with one complaint voice every `every` days each, no chance clusters."""
    index = np.arange(len(DAYS))
    return pl.concat(
        [
            pl.DataFrame(
                {
                    "region_code": county,
                    "product_category": category,
                    "signal": "complaints",
                    "day": DAYS,
                    "value": (index % every == i % every).astype(float),
                }
            )
            for i, county in enumerate(XINING)
        ]
    )


def add(frame: pl.DataFrame, county: str, days: list[date], extra: float) -> pl.DataFrame:
    """`extra` events more in `county` on each of `days`."""
    more = (pl.col("region_code") == county) & pl.col("day").is_in(days)
    return frame.with_columns(
        pl.when(more).then(pl.col("value") + extra).otherwise(pl.col("value")).alias("value")
    )


def neighbours() -> tuple[str, str]:
    """Two Xining counties that form a cluster of their own (each other's nearest)."""
    counties, clusters, _ = county_clusters(CONFIG.scan.max_cluster_counties)
    pairs = [tuple(counties[i] for i in z) for z in clusters if len(z) == 2]
    a, b = next(p for p in pairs if p[0] in XINING)
    return a, b


QUIET = 0.3  # complaint voices a day in each county


def test_clusters_are_neighbours_within_a_prefecture() -> None:
    counties, clusters, prefecture = county_clusters(7)
    table = regions()
    assert all(len(z) >= 1 for z in clusters)
    for z, p in zip(clusters, prefecture, strict=True):
        assert {table[counties[i]].prefecture_code for i in z} == {p}
    # every county alone, and every prefecture whole, are clusters
    assert {counties[z[0]] for z in clusters if len(z) == 1} == set(counties)
    whole = {frozenset(counties[i] for i in z) for z in clusters}
    assert frozenset(XINING) in whole


def test_split_surge_over_two_neighbours_is_found_by_the_cluster() -> None:
    a, b = neighbours()
    quiet = regular_map()
    start = AS_OF - timedelta(days=20)
    days = [start + timedelta(days=i) for i in range(4)]
    one_county = add(quiet, a, days, 1.5)
    both = add(one_county, b, days, 1.5)
    assert detect_cluster_alerts(quiet, AS_OF, CONFIG).is_empty()
    # 1.5 extra a day in one county for 4 days is below what one county may raise...
    assert detect_cluster_alerts(one_county, AS_OF, CONFIG).is_empty()
    # ...in two neighbours together it is a surge: one alert listing both
    alerts = detect_cluster_alerts(both, AS_OF, CONFIG)
    assert alerts.height == 1
    assert {a, b} <= set(alerts["counties"][0].split(";"))
    assert start <= alerts["alert_date"][0] <= days[-1]
    assert alerts["signals_moved"][0] == "complaints"
    # the negbin detector misses it: each county alone is too small, the prefecture too large
    assert detect(_with_prefectures(both), AS_OF, CONFIG, method="negbin").is_empty()


def test_a_surge_of_three_times_the_rate_in_two_districts_is_found_by_the_cluster() -> None:
    # the demo world's split surge (demo_world/actors.py): each of two neighbouring districts
    # at three times its usual rate, here 0.5 voices a day plus 1 more, for 10 days
    a, b = neighbours()
    quiet = regular_map(every=2)
    start = AS_OF - timedelta(days=20)
    days = [start + timedelta(days=i) for i in range(10)]
    one_county = add(quiet, a, days, 1.0)
    both = add(one_county, b, days, 1.0)
    assert detect_cluster_alerts(quiet, AS_OF, CONFIG).is_empty()
    assert detect_cluster_alerts(one_county, AS_OF, CONFIG).is_empty()
    alerts = detect_cluster_alerts(both, AS_OF, CONFIG)
    assert alerts.height == 1
    assert {a, b} <= set(alerts["counties"][0].split(";"))
    # found, but late: 8 days after the start (16 extra voices), not within 2 of evident
    assert alerts["alert_date"][0] == start + timedelta(days=8)


def test_signals_that_moved_are_named() -> None:
    a, _ = neighbours()
    start = AS_OF - timedelta(days=10)
    days = [start + timedelta(days=i) for i in range(5)]
    complaints = add(map_series(dict.fromkeys(XINING, QUIET), seed=4), a, days, 3.0)
    inspections = add(
        map_series(dict.fromkeys(XINING, 0.05), seed=5, signal="failed_inspections"), a, days, 1.0
    )
    alerts = detect_cluster_alerts(pl.concat([complaints, inspections]), AS_OF, CONFIG)
    assert alerts.height == 1
    assert alerts["signal"][0] == "combined"
    assert alerts["signals_moved"][0] == "complaints;failed_inspections"


def test_a_one_county_ramp_in_a_quiet_county_is_found_by_its_fourth_day() -> None:
    # a quiet county (a voice a month), then a ramp of 1, 1, 1, 2, 2, 3, 3 voices a day
    a, _ = neighbours()
    start = AS_OF - timedelta(days=20)
    quiet = regular_map(every=30, category="seeds")

    def ramp(frame: pl.DataFrame) -> pl.DataFrame:
        for i, voices in enumerate([1, 1, 1, 2, 2, 3, 3]):
            frame = add(frame, a, [start + timedelta(days=i)], float(voices))
        return frame

    assert detect_cluster_alerts(quiet, AS_OF, CONFIG).is_empty()
    alerts = detect_cluster_alerts(ramp(quiet), AS_OF, CONFIG)
    assert alerts.height == 1 and alerts["counties"][0] == a
    # day 3: 5 voices in 4 days against 0.37 expected
    assert alerts["alert_date"][0] == start + timedelta(days=3)
    # known, not fixed: two voices in one week of the 8-week baseline (five weeks before) are
    # read as overdispersion (variance / mean 2.2), which divides the likelihood ratio and
    # delays the alert a day (README, Measured, Surges: taking such a baseline as Poisson
    # was tried and not kept)
    clumped = add(quiet, a, [start - timedelta(days=36), start - timedelta(days=35)], 1.0)
    assert detect_cluster_alerts(clumped, AS_OF, CONFIG).is_empty()
    late = detect_cluster_alerts(ramp(clumped), AS_OF, CONFIG)
    assert late["alert_date"].to_list() == [start + timedelta(days=4)]


def spring(day: date) -> float:
    return 2.5 if day.month in (3, 4, 5) else 1.0


def test_seasonal_rise_seen_last_year_raises_nothing() -> None:
    # every Xining county's seeds complaints rise 2.5-fold each spring, last year included
    rate = np.array([QUIET * 2 * spring(d) for d in DAYS])
    seasonal = map_series(dict.fromkeys(XINING, rate), seed=6, category="seeds")
    assert detect_cluster_alerts(seasonal, AS_OF, CONFIG).is_empty()
    # the same rise with no last year in the data is a surge
    this_year = seasonal.filter(pl.col("day") >= date(2025, 1, 1))
    assert not detect_cluster_alerts(this_year, AS_OF, CONFIG).is_empty()


def test_no_look_ahead() -> None:
    a, b = neighbours()
    cutoff = AS_OF - timedelta(days=20)
    surge = [cutoff - timedelta(days=i) for i in range(5)]
    base = add(add(map_series(dict.fromkeys(XINING, QUIET), seed=7), a, surge, 2.0), b, surge, 2)
    # records after the cutoff change completely: a flood, then nothing
    later = base.with_columns(
        pl.when(pl.col("day") > cutoff)
        .then(pl.when(pl.col("day").dt.day() % 2 == 0).then(9.0).otherwise(0.0))
        .otherwise(pl.col("value"))
        .alias("value")
    )
    before = detect_cluster_alerts(base, AS_OF, CONFIG).filter(pl.col("alert_date") <= cutoff)
    after = detect_cluster_alerts(later, AS_OF, CONFIG).filter(pl.col("alert_date") <= cutoff)
    assert before.height == 1
    assert after.equals(before)
    # and a nightly run on the cutoff day raised the same row
    assert detect_cluster_alerts(later, cutoff, CONFIG).equals(before)


def test_calibration_gives_its_recurrence_interval_on_null_data_in_sparse_and_busy_cells() -> None:
    # 8 prefectures x 2 categories with no surge: "quiet" at 0.004-0.028 complaint voices a
    # day per county (a few a year: the sparse series of a demo world, below the negbin
    # floor of 0.2 a week) and "busy" at 0.2-0.65
    counties = sorted(regions())
    quiet = {c: 0.004 + 0.006 * (i % 5) for i, c in enumerate(counties)}
    busy = {c: 0.2 + 0.15 * (i % 4) for i, c in enumerate(counties)}

    def null_map(seed: int) -> pl.DataFrame:
        return pl.concat(
            [map_series(quiet, seed, category="quiet"), map_series(busy, seed + 1, category="busy")]
        )

    def false_alerts_a_year(config: SurveillanceConfig) -> dict[str, float]:
        """Calibrate on one null map, then count false alert episodes per prefecture x
        category x year on ten independent ones, each baseline estimated from its own data."""
        fitted = fit_scan(null_map(100), AS_OF, config, None)
        assert fitted is not None
        found = calibrate(fitted[0], config, 365.0, 20, np.random.default_rng(1))
        assert 0.8 <= found.episodes_per_year <= 1.0
        maps = 10
        alerts = pl.concat(
            [
                detect_cluster_alerts(null_map(200 + 2 * i), AS_OF, found.applied(config))
                for i in range(maps)
            ]
        )
        cell_years = maps * 8 * config.lookback_days / 365
        return {
            c: alerts.filter(pl.col("product_category") == c).height / cell_years
            for c in ("quiet", "busy")
        }

    # sparse series at their empirical-Bayes rate: one false alert episode a year within
    # tolerance, in the quiet cells as in the busy ones
    honest = replace(CONFIG, scan=replace(CONFIG.scan, sparse_max_events=5))
    for category, rate in false_alerts_a_year(honest).items():
        assert 0.45 <= rate <= 1.6, (category, rate)
    # known, not fixed: with the configured floor (0.2 a week) the quiet cells' expectation is
    # several times their rate, so they alarm far less often than promised (README,
    # Measured, Surges: the empirical-Bayes expectation was measured and not kept)
    assert CONFIG.scan.sparse_max_events == 0
    assert false_alerts_a_year(CONFIG)["quiet"] < 0.2


def test_a_cluster_alert_card_lists_its_counties_window_and_signals() -> None:
    from reports.data import typed_alerts
    from reports.html import alert_cards

    a, b = neighbours()
    exported = pl.DataFrame(  # as read back from alerts.csv: every value a string
        {
            "alert_id": ["AL-1"],
            "alert_date": ["2025-04-20"],
            "region_code": ["630100"],
            "product_category": ["fuel"],
            "signal": ["combined"],
            "observed": ["16"],
            "expected": ["2.4"],
            "severity": ["medium"],
            "counties": [f"{a};{b}"],
            "window_days": ["4"],
            "signals_moved": ["complaints;failed_inspections"],
        }
    )
    (card,) = alert_cards(typed_alerts(exported), None)
    assert card["window_days"] == 4
    assert card["counties"] == f"{regions()[a].name}、{regions()[b].name}"
    assert card["signals_moved"] == "投诉举报 complaints + 检查不合格 failed inspections"
    # a per-series detector's alert keeps the 7-day window it is measured in
    (old,) = alert_cards(
        typed_alerts(exported.drop("counties", "window_days", "signals_moved")), None
    )
    assert old["window_days"] == 7 and old["counties"] == ""


# --- a night takes the days the night before scanned (issue 22) ----------------------------

N_TESTED = CONFIG.lookback_days + CONFIG.episode_memory_days + 1


def surge_map() -> pl.DataFrame:
    """Two categories of Xining's counties, a surge in two neighbours a month before AS_OF,
    prefectures rolled up, as `daily_series` gives them."""
    a, b = neighbours()
    rates = dict.fromkeys(XINING, QUIET)
    frame = pl.concat([map_series(rates, seed=3), map_series(rates, seed=4, category="food")])
    surge = [AS_OF - timedelta(days=i) for i in range(30, 26, -1)]
    return _with_prefectures(add(add(frame, a, surge, 3.0), b, surge, 2.0))


def stored(night: ScanMemo | None) -> ScanMemo | None:
    """The night as the next one reads it back from the warehouse's tables."""
    assert night is not None
    return memo_from_tables(memo_tables(night), CONFIG)


def assert_same_verdicts(fast: ScanMemo | None, slow: ScanMemo | None, as_of: date) -> None:
    """Bit for bit the same verdict on every tested day, and the same alerts."""
    assert fast is not None and slow is not None
    assert (fast.tested_from, fast.categories) == (slow.tested_from, slow.categories)
    for name in ("statistic", "cluster", "window", "observed", "expected", "signal_llr"):
        assert np.array_equal(getattr(fast.scanned, name), getattr(slow.scanned, name)), name
    assert cluster_alerts(fast, as_of, CONFIG).equals(cluster_alerts(slow, as_of, CONFIG))


def test_a_night_scans_only_the_days_the_night_before_did_not() -> None:
    series = surge_map()
    first = AS_OF - timedelta(days=4)
    before = stored(scan_night(series.filter(pl.col("day") <= first), first, CONFIG))
    assert before is not None and not cluster_alerts(before, first, CONFIG).is_empty()
    for later in range(4):  # the same night again, then one, two and three days later
        as_of = first + timedelta(days=later)
        known = series.filter(pl.col("day") <= as_of)
        fast = scan_night(known, as_of, CONFIG, stored=before)
        assert fast is not None and fast.taken == N_TESTED - later
        assert_same_verdicts(fast, scan_night(known, as_of, CONFIG), as_of)


def test_a_late_row_for_an_earlier_day_rescans_from_that_day() -> None:
    a, _ = neighbours()
    series = surge_map()
    first, late_day = AS_OF - timedelta(days=1), AS_OF - timedelta(days=50)
    before = stored(scan_night(series.filter(pl.col("day") <= first), first, CONFIG))
    late = add(series, a, [late_day], 1.0)  # delivered on the night of AS_OF
    fast = scan_night(late, AS_OF, CONFIG, stored=before)
    assert fast is not None and fast.tested_from + timedelta(days=fast.taken) == late_day
    assert_same_verdicts(fast, scan_night(late, AS_OF, CONFIG), AS_OF)
    # a late row before every tested day: nothing is taken
    earliest = add(series, a, [AS_OF - timedelta(days=CONFIG.history_days - 1)], 1.0)
    again = scan_night(earliest, AS_OF, CONFIG, stored=before)
    assert again is not None and again.taken == 0
    assert_same_verdicts(again, scan_night(earliest, AS_OF, CONFIG), AS_OF)


def test_other_settings_or_the_reference_path_take_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    series = surge_map()
    first = AS_OF - timedelta(days=1)
    before = stored(scan_night(series.filter(pl.col("day") <= first), first, CONFIG))
    other = replace(CONFIG, scan=replace(CONFIG.scan, min_events=4.0))
    assert before is not None
    assert memo_from_tables(memo_tables(before), other) is None
    night = scan_night(series, AS_OF, other, stored=before)
    assert night is not None and night.taken == 0
    monkeypatch.setattr(scan, "REUSE_STORED_DAYS", False)
    night = scan_night(series, AS_OF, CONFIG, stored=before)
    assert night is not None and night.taken == 0


def test_thresholds_per_band_take_no_stored_day_and_hold() -> None:
    """A band's threshold comes from the whole tested window's expectation, so a night with
    bands scans every day (none taken from the stored night); bands of factor 1 raise what one
    threshold raises, and a band far above it raises nothing."""
    series = surge_map()
    first = AS_OF - timedelta(days=1)
    scan_cfg = replace(CONFIG.scan, band_edges=(0.05,), band_factors=(1.0, 1.0))
    banded = replace(CONFIG, scan=scan_cfg)
    earlier = scan_night(series.filter(pl.col("day") <= first), first, banded)
    assert earlier is not None
    before = memo_from_tables(memo_tables(earlier), banded)
    assert before is not None
    night = scan_night(series, AS_OF, banded, stored=before)
    assert night is not None and night.taken == 0 and night.banded is not None
    plain = cluster_alerts(scan_night(series, AS_OF, CONFIG), AS_OF, CONFIG)
    assert not plain.is_empty()
    assert cluster_alerts(night, AS_OF, banded).equals(plain)
    high = replace(CONFIG, scan=replace(scan_cfg, band_factors=(100.0, 100.0)))
    assert cluster_alerts(scan_night(series, AS_OF, high), AS_OF, high).is_empty()
