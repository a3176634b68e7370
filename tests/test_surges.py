"""Surge detection: the daily series from a tiny warehouse, and the detector on hand-made series."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import duckdb
import numpy as np
import polars as pl
import pytest
from prefect import Task
from typer.testing import CliRunner

from data_contracts.contract import contracts
from models.surges import (
    SurveillanceConfig,
    _episode_starts,
    alert_id,
    daily_series,
    detect_alerts,
    load_config,
)

CONFIG = load_config()
AS_OF = date(2025, 4, 30)
DAYS = [AS_OF - timedelta(days=i) for i in range(CONFIG.history_days)][::-1]


def series(values: np.ndarray, region: str = "630102", signal: str = "complaints") -> pl.DataFrame:
    """One hand-made daily series over DAYS."""
    return pl.DataFrame(
        {
            "region_code": region,
            "product_category": "seeds",
            "signal": signal,
            "day": DAYS,
            "value": np.asarray(values, dtype=float),
        }
    )


def step(level: float, to: float, from_day: date) -> np.ndarray:
    return np.array([to if d >= from_day else level for d in DAYS])


# --- detector -----------------------------------------------------------------------------


def test_flat_series_raises_nothing() -> None:
    assert detect_alerts(series(np.full(len(DAYS), 2.0)), AS_OF, CONFIG).is_empty()


def test_flat_noisy_series_raise_almost_nothing() -> None:
    rng = np.random.default_rng(7)
    frames = [series(rng.poisson(1.0, len(DAYS)), region=f"63{i:04d}") for i in range(100)]
    alerts = detect_alerts(pl.concat(frames), AS_OF, CONFIG)
    assert alerts.height <= 3  # 100 series x 90 days at alpha 3e-4


def test_step_raises_one_episode_within_three_days() -> None:
    start = AS_OF - timedelta(days=30)
    alerts = detect_alerts(series(step(1.0, 5.0, start)), AS_OF, CONFIG)
    assert alerts.height == 1
    row = alerts.row(0, named=True)
    assert start <= row["alert_date"] <= start + timedelta(days=3)
    assert row["observed"] > row["expected"]
    assert row["alert_id"] == alert_id("630102", "seeds", "complaints", row["alert_date"])
    assert row["severity"] in ("high", "medium", "low")


def test_sparse_step_is_found_and_rated() -> None:
    start = AS_OF - timedelta(days=40)
    alerts = detect_alerts(series(step(0.0, 2.0, start)), AS_OF, CONFIG)
    assert alerts.height == 1
    assert start <= alerts["alert_date"][0] <= start + timedelta(days=3)
    assert alerts["severity"][0] in ("high", "medium")


def test_slow_ramp_is_found_within_three_days() -> None:
    # like the demo world's surges: the extra complaints start at zero and build up
    start = AS_OF - timedelta(days=30)
    values = np.array([1.0 if i % 10 == 0 else 0.0 for i in range(len(DAYS))])
    ramp = np.array([max(0, (d - start).days) for d in DAYS], dtype=float)
    alerts = detect_alerts(series(values + ramp), AS_OF, CONFIG)
    assert alerts.height == 1
    assert start <= alerts["alert_date"][0] <= start + timedelta(days=3)


def test_short_windows_are_faster_than_the_weekly_sum() -> None:
    start = AS_OF - timedelta(days=30)
    values = np.array([0.0 if d < start else (3.0 if d == start else 1.0) for d in DAYS])
    weekly_only = replace(CONFIG, negbin=replace(CONFIG.negbin, windows={"complaints": (7,)}))
    scan = detect_alerts(series(values), AS_OF, CONFIG)["alert_date"][0]
    weekly = detect_alerts(series(values), AS_OF, weekly_only)["alert_date"][0]
    assert start <= scan < weekly


def test_sustained_step_stays_one_episode_while_the_baseline_catches_up() -> None:
    start = AS_OF - timedelta(days=80)
    alerts = detect_alerts(series(step(0.0, 2.0, start)), AS_OF, CONFIG)
    assert alerts.height == 1
    assert start <= alerts["alert_date"][0] <= start + timedelta(days=3)


def test_episode_starts() -> None:
    def starts(alarm: str, elevated: str) -> str:
        a = np.array([[c == "*" for c in alarm]])
        e = np.array([[c == "+" for c in elevated]])
        found = _episode_starts(a, e, gap_days=3, memory_days=28)[0]
        return "".join("S" if f else "." for f in found)

    # elevated days keep an episode open; more than 3 quiet days in a row close it
    assert starts("**......**", "..++++++..") == "S........."
    assert starts("**......**", "..........") == "S.......S."
    assert starts("**...**", ".......") == "S......"
    # an alarm more than 28 days after the last one opens a new episode
    assert starts("*" + "." * 29 + "*", "." + "+" * 29 + ".") == "S" + "." * 29 + "S"


def test_weighted_burst_is_not_many_events() -> None:
    # two failed inspections on one day add 4 to `combined` (weight 2): two events, not four
    values = np.zeros(len(DAYS))
    values[-10] = 4.0
    assert detect_alerts(series(values, signal="combined"), AS_OF, CONFIG).is_empty()
    assert detect_alerts(series(values, signal="complaints"), AS_OF, CONFIG).height == 1


def test_weekly_snapshots_are_tested_on_the_weekly_sum() -> None:
    # suspicious listings arrive with the Monday snapshots: 3 new shops a week is the norm
    values = np.array([3.0 if d.weekday() == 0 else 0.0 for d in DAYS])
    assert detect_alerts(series(values, signal="suspicious_listings"), AS_OF, CONFIG).is_empty()


def test_ears_c2_in_the_same_harness() -> None:
    start = AS_OF - timedelta(days=30)
    alerts = detect_alerts(series(step(1.0, 5.0, start)), AS_OF, CONFIG, method="ears_c2")
    assert alerts["alert_date"].to_list() == [start]
    with pytest.raises(ValueError):
        detect_alerts(series(step(1.0, 5.0, start)), AS_OF, CONFIG, method="cusum")


def spring(day: date) -> float:
    return 5.0 if day.month in (3, 4, 5) else 2.0


def test_seasonal_rise_seen_last_year_does_not_alarm() -> None:
    values = np.array([spring(d) for d in DAYS])
    assert detect_alerts(series(values), AS_OF, CONFIG).is_empty()


def test_sparse_counties_in_season_raise_almost_nothing() -> None:
    # 100 quiet counties whose category rises 2.5-fold every spring, last year included
    rng = np.random.default_rng(11)
    rate = np.array([0.125 if d.month in (3, 4, 5) else 0.05 for d in DAYS])
    frames = [series(rng.poisson(rate), region=f"63{i:04d}") for i in range(100)]
    assert detect_alerts(pl.concat(frames), AS_OF, CONFIG).height <= 3


def test_seasonal_rise_without_last_year_alarms() -> None:
    # the same spring, but the data only start this January: nothing says it is seasonal
    values = np.array([spring(d) if d >= date(2025, 1, 1) else np.nan for d in DAYS])
    frame = series(values).drop_nulls().filter(pl.col("value").is_not_nan())
    alerts = detect_alerts(frame, AS_OF, CONFIG)
    assert alerts["alert_date"].dt.month().to_list() == [3]


def test_seasonal_factor_does_not_hide_a_real_surge_in_season() -> None:
    start = date(2025, 4, 10)
    values = np.array([spring(d) + (6.0 if d >= start else 0.0) for d in DAYS])
    alerts = detect_alerts(series(values), AS_OF, CONFIG)
    assert alerts.height == 1
    assert start <= alerts["alert_date"][0] <= start + timedelta(days=5)


def test_no_look_ahead() -> None:
    cutoff = AS_OF - timedelta(days=20)
    base = step(1.0, 4.0, AS_OF - timedelta(days=45))
    changed = base.copy()
    after = np.array([d > cutoff for d in DAYS])
    changed[after] = np.where(np.arange(after.sum()) % 2 == 0, 30.0, 0.0)
    before = detect_alerts(series(base), AS_OF, CONFIG).filter(pl.col("alert_date") <= cutoff)
    later = detect_alerts(series(changed), AS_OF, CONFIG).filter(pl.col("alert_date") <= cutoff)
    assert before.height == 1
    assert later.equals(before)
    # and a nightly run on the cutoff day raised the same row
    nightly = detect_alerts(series(changed), cutoff, CONFIG)
    assert nightly.equals(before)


def test_episode_running_before_the_window_is_not_raised_again() -> None:
    start = AS_OF - timedelta(days=100)
    # jumps, then doubles every two weeks: it alarms every day from before the window on
    values = np.array([10 * 2 ** ((d - start).days / 14) if d >= start else 1.0 for d in DAYS])
    alerts = detect_alerts(series(values), AS_OF, CONFIG)
    assert alerts.is_empty()


def test_gap_of_quiet_days_stays_one_episode() -> None:
    start = AS_OF - timedelta(days=30)
    values = step(0.0, 3.0, start)
    quiet = np.array([start + timedelta(days=8) <= d <= start + timedelta(days=9) for d in DAYS])
    values[quiet] = 0.0
    assert detect_alerts(series(values), AS_OF, CONFIG).height == 1


def test_output_is_sorted_and_typed() -> None:
    start = AS_OF - timedelta(days=30)
    frames = [
        series(step(0.0, 3.0, start + timedelta(days=i)), region=r, signal=s)
        for i, (r, s) in enumerate(
            [("630202", "combined"), ("630102", "failed_inspections"), ("630102", "complaints")]
        )
    ]
    alerts = detect_alerts(pl.concat(frames), AS_OF, CONFIG)
    assert alerts.columns == [
        "alert_id",
        "alert_date",
        "region_code",
        "product_category",
        "signal",
        "observed",
        "expected",
        "severity",
    ]
    assert alerts.schema["alert_date"] == pl.Date
    assert alerts.equals(alerts.sort("alert_date", "region_code", "product_category", "signal"))
    assert alerts["alert_id"].str.contains(r"^AL-[0-9a-f]{12}$").all()


# --- daily series from a warehouse --------------------------------------------------------

PHONE = "13912345678"


def _create_staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema staging")
    con.execute("create schema restricted")
    for feed in ("complaints", "inspections", "listings"):
        cols = ", ".join(f"{c.name} {c.duckdb_type}" for c in contracts()[feed].staging_columns)
        con.execute(f"create table staging.{feed} ({cols}, _file VARCHAR, _row_number BIGINT)")
    con.execute(
        "create table restricted.complainant_phones"
        " (complaint_id VARCHAR, complainant_phone VARCHAR)"
    )


def _complaint(
    con: duckdb.DuckDBPyConnection, cid: str, at: datetime, description: str, phone: str | None
) -> None:
    con.execute(
        "insert into staging.complaints (complaint_id, received_at, channel, region_code,"
        " product_category, infringement_type, complainant_type, description)"
        " values (?, ?, 'hotline_12315', '630102', 'seeds', 'counterfeit_trademark',"
        " 'consumer', ?)",
        [cid, at, description],
    )
    if phone:
        con.execute("insert into restricted.complainant_phones values (?, ?)", [cid, phone])


def _listing(
    con: duckdb.DuckDBPyConnection, snapshot: date, listing_id: str, title: str, ship_from: str
) -> None:
    con.execute(
        "insert into staging.listings (snapshot_date, platform, listing_id, shop_id, shop_name,"
        " ship_from_region_code, product_category, title, price_cny)"
        " values (?, 'taobao', ?, 'S1', '店', ?, 'mobile_phones', ?, 99.0)",
        [snapshot, listing_id, ship_from, title],
    )


@pytest.fixture()
def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    _create_staging(con)
    day = datetime(2025, 4, 20, 9, 0)
    # a burst of 20 complaints from one phone, different words, over three days: one voice
    for i in range(20):
        _complaint(con, f"B{i}", day + timedelta(hours=3 * i), f"第{i}次投诉 假种子 {PHONE}", PHONE)
    # two independent voices on the same day
    _complaint(con, "C1", day, "购买的玉米种子发芽率极低，怀疑假冒", "13800000001")
    _complaint(con, "C2", day, "包装印刷模糊，商标疑似仿冒某品牌", None)
    # a copy-pasted campaign from three phones: one voice
    for i in range(3):
        text = "强烈要求查处某某农资店销售假冒伪劣种子坑农害农行为"
        _complaint(con, f"P{i}", day + timedelta(days=i), text, f"1370000000{i}")
    # after the as-of date: ignored
    _complaint(con, "F1", datetime(2025, 5, 2, 8), "以后的投诉不应出现在这里的文字", None)
    # failed inspections
    con.execute(
        "insert into staging.inspections (inspection_id, inspected_on, region_code, entity_name,"
        " product_category, inspection_type, result, violation_type, inspector_team) values"
        " ('I1', '2025-04-21', '630203', '甲', 'seeds', 'targeted', 'fail',"
        " 'counterfeit_trademark', 'T'),"
        " ('I2', '2025-04-21', '630203', '乙', 'seeds', 'targeted', 'pass', null, 'T')"
    )
    # weekly listing snapshots: the same slang listing twice, an honest one, one shipped from afar
    for snap in (date(2025, 4, 14), date(2025, 4, 21)):
        _listing(con, snap, "L1", "高仿 苹果手机 1:1 原单", "630102")
        _listing(con, snap, "L2", "适用于苹果 高仿 手机壳 兼容", "630102")
        _listing(con, snap, "L3", "A货 手机 精仿", "440300")
    _listing(con, date(2025, 4, 21), "L4", "超A 复刻 手机", "630102")
    return con


def _value(frame: pl.DataFrame, region: str, signal: str, day: date) -> float:
    hit = frame.filter(
        (pl.col("region_code") == region) & (pl.col("signal") == signal) & (pl.col("day") == day)
    )
    return float(hit["value"].sum())


def test_daily_series_counts_voices_and_signals(warehouse: duckdb.DuckDBPyConnection) -> None:
    frame = daily_series(warehouse, date(2025, 4, 30), 60)
    assert frame.columns == ["region_code", "product_category", "signal", "day", "value"]
    assert frame.schema["day"] == pl.Date and frame.schema["value"] == pl.Float64
    complaints = frame.filter(
        (pl.col("signal") == "complaints") & (pl.col("region_code") == "630102")
    )
    # 20-complaint burst (1) + two independent complaints (2) + campaign (1), all on or
    # after 4-20; nothing after the as-of date
    assert complaints["value"].sum() == 4.0
    assert _value(frame, "630102", "complaints", date(2025, 4, 20)) == 4.0
    assert (complaints["day"] <= date(2025, 4, 30)).all()
    # prefecture roll-up (630102 and 630203 lie in 630100 and 630200)
    assert _value(frame, "630100", "complaints", date(2025, 4, 20)) == 4.0
    assert _value(frame, "630203", "failed_inspections", date(2025, 4, 21)) == 1.0
    assert _value(frame, "630200", "failed_inspections", date(2025, 4, 21)) == 1.0
    # L1 first seen 4-14 and again 4-21 (counts once); L4 new on 4-21; L2 honest; L3 out of province
    assert _value(frame, "630102", "suspicious_listings", date(2025, 4, 14)) == 1.0
    assert _value(frame, "630102", "suspicious_listings", date(2025, 4, 21)) == 1.0
    assert frame.filter(pl.col("region_code") == "440300").is_empty()
    weights = CONFIG.signals.combined_weights
    assert _value(frame, "630102", "combined", date(2025, 4, 21)) == weights["suspicious_listings"]
    assert _value(frame, "630203", "combined", date(2025, 4, 21)) == weights["failed_inspections"]


def test_daily_series_uses_only_records_up_to_as_of(warehouse: duckdb.DuckDBPyConnection) -> None:
    frame = daily_series(warehouse, date(2025, 4, 20), 60)
    assert frame["day"].max() == date(2025, 4, 20)
    # on 4-20 itself: burst (1) + two independent voices + first campaign complaint
    assert _value(frame, "630102", "complaints", date(2025, 4, 20)) == 4.0
    assert _value(frame, "630102", "suspicious_listings", date(2025, 4, 21)) == 0.0


def test_phone_never_leaves_the_query(warehouse: duckdb.DuckDBPyConnection) -> None:
    frame = daily_series(warehouse, date(2025, 4, 30), 60)
    assert not any("phone" in c for c in frame.columns)
    text = frame.write_csv()
    assert PHONE not in text and "1370000000" not in text


def test_alert_trends_from_the_detectors_series_need_no_second_read(
    warehouse: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import models.surges
    from models.surges import alert_trends

    as_of = date(2025, 4, 30)
    alerts = pl.DataFrame(
        {
            "alert_id": ["AL-1", "AL-2"],
            "alert_date": [date(2025, 4, 21)] * 2,
            "region_code": ["630200", "630102"],
            "product_category": ["seeds", "mobile_phones"],
            "signal": ["combined", "suspicious_listings"],
            "counties": ["630203;630202", "630102"],
            "window_days": [3, 7],
        }
    )
    read = alert_trends(warehouse, alerts, as_of)
    assert read.filter(pl.col("alert_id") == "AL-1")["value"].sum() > 0  # not all zero
    series = daily_series(warehouse, as_of, 200)  # the detector's: a longer history

    def no_read(*args: Any) -> pl.DataFrame:
        raise AssertionError("the warehouse was read again")

    monkeypatch.setattr(models.surges, "daily_series", no_read)
    assert alert_trends(warehouse, alerts, as_of, series, 200).equals(read)
    # a series that does not reach back far enough is read afresh
    with pytest.raises(AssertionError, match="read again"):
        alert_trends(warehouse, alerts, as_of, daily_series(warehouse, as_of, 30), 30)


def test_a_shop_listing_many_fakes_is_one_voice(warehouse: duckdb.DuckDBPyConnection) -> None:
    for i in range(5):
        _listing(warehouse, date(2025, 4, 28), f"M{i}", f"高仿 手机 款{i}", "630102")
    frame = daily_series(warehouse, date(2025, 4, 30), 60)
    assert _value(frame, "630102", "suspicious_listings", date(2025, 4, 28)) == 1.0


# --- the look-back window, from `radar run` (RADAR_LOOKBACK_DAYS) to the detector -----------


def test_the_look_back_window_bounds_the_alerts() -> None:
    start = AS_OF - timedelta(days=40)
    values = series(step(1.0, 5.0, start))
    assert detect_alerts(values, AS_OF, CONFIG).height == 1  # 90 days by default
    assert detect_alerts(values, AS_OF, CONFIG.with_lookback(30)).is_empty()


def test_radar_run_passes_radar_lookback_days_to_the_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.cli
    import flows.nightly

    calls: list[dict[str, object]] = []

    def flow(**parameters: object) -> flows.nightly.RunResult:
        calls.append(parameters)
        return flows.nightly.RunResult(AS_OF, tmp_path / "out", [], pl.DataFrame(), None)  # type: ignore[arg-type]

    monkeypatch.setattr(flows.nightly, "with_task_runner", lambda *_: flow)
    monkeypatch.setattr(flows.cli, "start_temporary_server", lambda: None)
    monkeypatch.setenv("RADAR_LOOKBACK_DAYS", "30")
    (tmp_path / "landing").mkdir()
    options = {"landing": "landing", "warehouse": "w.duckdb", "out": "out"}
    args = [f"--{k}={tmp_path / v}" for k, v in options.items()]
    result = CliRunner().invoke(flows.cli.app, ["run", *args, f"--as-of={AS_OF}"])
    assert result.exit_code == 0, result.output
    assert [c["lookback_days"] for c in calls] == [30]


def test_the_nightly_flow_gives_its_look_back_window_to_the_alerts_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.nightly

    calls: dict[str, tuple[object, ...]] = {}

    def stand_in(name: str) -> Callable[..., object]:
        def run(*args: object) -> object:
            calls[name] = args
            return MagicMock()

        return run

    for name, task in vars(flows.nightly).copy().items():
        if isinstance(task, Task):  # every task of the flow, not run: only its arguments kept
            monkeypatch.setattr(flows.nightly, name, stand_in(name))
    warehouse = tmp_path / "w.duckdb"
    flows.nightly.nightly.fn(
        landing=tmp_path, warehouse=warehouse, as_of=AS_OF, out=tmp_path, lookback_days=30
    )
    assert calls["alerts_task"] == (warehouse, AS_OF, 30)


def test_the_alerts_task_detects_over_its_look_back_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.stages
    from flows.nightly import alerts_task
    from transforms.load import ensure_warehouse
    from transforms.warehouse import connect

    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        ensure_warehouse(con)
    windows: list[int] = []

    def detector(
        series: pl.DataFrame, as_of: date, config: SurveillanceConfig, *args: Any
    ) -> tuple[pl.DataFrame, None]:
        windows.append(config.lookback_days)
        return detect_alerts(series, as_of, config), None

    monkeypatch.setattr(flows.stages, "detect_nightly", detector)
    alerts_task.fn(warehouse, AS_OF, 30)
    assert windows == [30]
