"""The threshold sweep of `make surge-eval`: rows from hand-made alerts and truth, totals,
the sweep on hand-made series, SURGES.md upkeep, and once on the small world's warehouse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from demo_world.evaluate import Truth, load_truth, read_export, surge_metrics
from demo_world.evaluate_surges import (
    ALL_WORLDS,
    EARS_C2,
    NEGBIN,
    SCAN,
    Setting,
    SweepRow,
    early_signals,
    early_table,
    oracle_delay,
    sweep_report,
    sweep_row,
    sweep_settings,
    sweep_totals,
    sweep_warehouse,
    sweep_world,
    with_setting,
)
from models.surges import load_config
from tools import surge_eval
from tools.surge_eval import (
    END,
    START,
    World,
    parse_worlds,
    prepare,
    worlds_of,
    write_between_markers,
)

CONFIG = load_config()
AS_OF = date(2026, 6, 30)
ALPHA = Setting(NEGBIN, 3e-4, configured=True)


def surge(sid: str, county: str, start: date, shape: str, evident: date | None = None) -> dict:
    return {
        "surge_id": sid,
        "region_code": county,
        "product_category": "seeds",
        "start": start.isoformat(),
        "end": (start + timedelta(days=20)).isoformat(),
        "shape": shape,
        "evident_from": (evident or start).isoformat(),
    }


def alerts(*rows: tuple[str, date]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "alert_id": [f"AL-{i}" for i in range(len(rows))],
            "alert_date": [d for _, d in rows],
            "region_code": [r for r, _ in rows],
            "product_category": ["seeds"] * len(rows),
            "signal": ["complaints"] * len(rows),
        },
        schema_overrides={"alert_date": pl.Date},
    )


def row(world: str, setting: Setting, **counts: Any) -> SweepRow:
    fields: dict[str, Any] = {
        name: 0 for name in SweepRow.__dataclass_fields__ if name not in ("world", "setting")
    }
    empty = {"delays": (), "evident_delays": ()}
    return SweepRow(world=world, setting=setting, **(fields | empty | counts))


# --- rows from hand-made alerts and truth ----------------------------------------------------


def test_steps_and_ramps_are_counted_apart() -> None:
    day = date(2026, 5, 1)
    truth = Truth(
        operators=(),
        decoys=(),
        surges=(
            surge("SG01", "630102", day, "step"),  # alert on day 1
            surge("SG02", "630202", day, "step"),  # alert on day 5: late
            # evident on day 4, alert on day 6: late from its start, in time from evident
            surge("SG03", "632221", day, "ramp", evident=day + timedelta(days=4)),
            surge("SG04", "632301", day, "ramp"),  # never alerted
            surge("SG05", "632521", date(2025, 6, 1), "step"),  # before the look-back window
        ),
        seasonal=(),
    )
    found = alerts(
        ("630102", day + timedelta(days=1)),
        ("630200", day + timedelta(days=5)),  # the prefecture of 630202: detects SG02
        ("632221", day + timedelta(days=6)),
        ("632801", day),  # no surge there: one false alert-week
        ("632801", day + timedelta(days=1)),  # the same ISO week
    )
    r = sweep_row("seed 1", ALPHA, surge_metrics(found, truth, AS_OF, 90))

    assert (r.surges, r.detected, r.within_start, r.within_evident) == (4, 3, 1, 2)
    assert (r.steps, r.steps_within_start) == (2, 1)
    assert (r.ramps, r.ramps_within_start, r.ramps_within_evident) == (2, 0, 1)
    assert r.delays == (1, 5, 6)
    assert r.mean_delay == pytest.approx(4.0)
    assert (r.false_alert_weeks, r.seasonal_false_alert_weeks) == (1, 0)


def test_totals_are_the_sums_of_the_worlds() -> None:
    other = Setting(NEGBIN, 1e-3)
    rows = [
        row("seed 1", ALPHA, surges=4, detected=4, within_start=3, steps=2, delays=(1,)),
        row("seed 1", other, surges=4, detected=4, within_start=4, false_alert_weeks=5),
        row("seed 2", ALPHA, surges=8, detected=7, within_start=2, steps=4, delays=(3, 5, 7)),
        row("seed 2", other, surges=8, detected=8, within_start=6, false_alert_weeks=2),
    ]
    rows[0] = replace(rows[0], ramps=2, ramps_within_evident=1, seasonal_false_alert_weeks=1)
    rows[2] = replace(rows[2], ramps=4, ramps_within_evident=3, seasonal_false_alert_weeks=2)
    rows[0] = replace(rows[0], within_two_of_evident=1, evident_delays=(0,))
    rows[2] = replace(rows[2], within_two_of_evident=2, evident_delays=(2, 1, 4))

    totals = sweep_totals(rows)

    assert [t.setting for t in totals] == [ALPHA, other]
    assert all(t.world == ALL_WORLDS for t in totals)
    first = totals[0]
    assert (first.surges, first.detected, first.within_start, first.steps) == (12, 11, 5, 6)
    assert (first.ramps, first.ramps_within_evident, first.seasonal_false_alert_weeks) == (6, 4, 3)
    assert first.mean_delay == pytest.approx(4.0)  # over the 4 surges, not (1 + 5) / 2
    assert (totals[1].within_start, totals[1].false_alert_weeks) == (10, 7)
    assert first.evident_delays == rows[0].evident_delays + rows[2].evident_delays
    for name in SweepRow.__dataclass_fields__:
        if name not in ("world", "setting", "delays", "evident_delays"):
            per_world = sum(getattr(r, name) for r in rows if r.setting == ALPHA)
            assert getattr(first, name) == per_world, name


# --- the sweep on hand-made series -------------------------------------------------------------


def test_the_sweep_marks_the_configured_values_and_changes_only_the_swept_one() -> None:
    settings = sweep_settings(CONFIG, alphas=[1e-3, 1e-4], thresholds=[4.0], scan_thresholds=[20])

    assert [(s.method, s.parameter, s.configured) for s in settings] == [
        (SCAN, CONFIG.scan.threshold, True),
        (SCAN, 20.0, False),
        (NEGBIN, 1e-4, False),
        (NEGBIN, CONFIG.negbin.alpha, True),  # added: it was not asked for
        (NEGBIN, 1e-3, False),
        (EARS_C2, CONFIG.ears_c2.threshold, True),
        (EARS_C2, 4.0, False),
    ]
    assert with_setting(CONFIG, settings[1]).scan == replace(CONFIG.scan, threshold=20.0)
    changed = with_setting(CONFIG, settings[2])
    assert changed.negbin.alpha == 1e-4
    assert changed.negbin == replace(CONFIG.negbin, alpha=1e-4)
    assert changed.ears_c2 == CONFIG.ears_c2
    assert with_setting(CONFIG, settings[-1]).ears_c2.threshold == 4.0
    assert load_config().negbin.alpha == CONFIG.negbin.alpha  # the file is not touched


def test_a_lower_alpha_or_higher_threshold_never_raises_more_false_alert_weeks() -> None:
    """Six counties, each with one spike of 4..9 complaints on a different day over a
    steady 0, 2, 0, 2 … baseline: each spike raises at most one alert, and a stricter
    setting alarms on a subset of the days of a looser one."""
    days = [AS_OF - timedelta(days=i) for i in range(CONFIG.history_days)][::-1]
    frames = []
    for i, county in enumerate(["630102", "630103", "630104", "630105", "630106", "630121"]):
        values = np.tile([0.0, 2.0], len(days))[: len(days)]
        values[-40 + i] = 4 + i
        frames.append(
            pl.DataFrame(
                {
                    "region_code": county,
                    "product_category": "seeds",
                    "signal": "complaints",
                    "day": days,
                    "value": values,
                }
            )
        )
    no_surges = Truth((), (), (), ())
    settings = sweep_settings(CONFIG, [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], [2.0, 3.0, 4.0, 5.0])

    rows = sweep_world("hand-made", pl.concat(frames), no_surges, AS_OF, CONFIG, settings)

    for method in (NEGBIN, EARS_C2):
        weeks = [r.false_alert_weeks for r in rows if r.setting.method == method]
        looser_first = weeks if method == EARS_C2 else weeks[::-1]
        assert looser_first == sorted(looser_first, reverse=True), (method, weeks)
        assert looser_first[0] > looser_first[-1], (method, weeks)  # the parameter matters
        assert looser_first[0] <= 6  # one alert-week per spike at most


# --- each surge's first days ----------------------------------------------------------------


def complaints(county: str, days: dict[date, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region_code": [county] * len(days),
            "product_category": ["seeds"] * len(days),
            "signal": ["complaints"] * len(days),
            "day": list(days),
            "value": list(days.values()),
        },
        schema_overrides={"day": pl.Date},
    )


def test_first_days_count_the_county_voices_of_days_0_to_3_only() -> None:
    day = date(2026, 5, 1)
    quiet = surge("SG01", "630102", day, "ramp")
    loud = surge("SG02", "630202", day, "step")
    old = surge("SG03", "632221", date(2025, 6, 1), "step")  # before the look-back window
    truth = Truth(operators=(), decoys=(), surges=(quiet, loud, old), seasonal=())
    series = pl.concat(
        [
            complaints(
                "630102",
                # day -1 and day 4 are outside days 0-3; day -20 and -40 are the usual level
                {day - timedelta(days=1): 3.0, day + timedelta(days=1): 1.0}
                | {day + timedelta(days=4): 5.0, day - timedelta(days=20): 2.0}
                | {day - timedelta(days=40): 2.0, day - timedelta(days=10): 9.0},
            ),
            complaints("630202", {day + timedelta(days=d): 2.0 for d in range(4)}),
            complaints("630200", {day: 7.0}),  # the prefecture series is not the county's
        ]
    )
    negbin = (ALPHA, alerts(("630202", day + timedelta(days=2))))
    ears = (Setting(EARS_C2, 3.0, configured=True), alerts(("630200", day)))

    early = early_signals("seed 1", series, truth, AS_OF, 90, [negbin, ears])

    by_id = {e.surge_id: e for e in early}
    assert set(by_id) == {"SG01", "SG02"}
    assert by_id["SG01"].voices == 1.0
    # 4 voices in the 56 days ending 14 days before the start (day -10 is in the gap)
    assert by_id["SG01"].usual == pytest.approx(4 / 56 * 4)
    assert by_id["SG02"].voices == 8.0
    assert by_id["SG01"].delays == {NEGBIN: None, EARS_C2: None}
    assert by_id["SG02"].delays == {NEGBIN: 2, EARS_C2: 0}

    table = early_table(early, min_count=3)
    assert table.startswith("1 of 2 surges (1 of 1 ramps, 0 of 1 steps) have fewer than 3")
    # evident on their first day (the truth's), the oracle raises SG02 at once and SG01 on day 4
    assert (by_id["SG01"].evident_day, by_id["SG01"].oracle) == (0, 4)
    assert (by_id["SG02"].evident_day, by_id["SG02"].oracle) == (0, 0)
    assert "1 of 2 are within 2 days of evident for the *oracle*" in table
    assert "; not: seed 1 SG01." in table
    assert table.index("| seed 1 | SG01 |") < table.index("| seed 1 | SG02 |")


def test_the_oracle_needs_more_than_three_times_a_low_rate_for_a_few_days() -> None:
    # a pair of districts at 0.4 voices a day, one false alarm a year (p <= 1/365 = 0.0027)
    assert oracle_delay([3, 0, 0], 0.4, 1 / 365) is None  # P(Poisson(0.4) >= 3) = 0.0079
    assert oracle_delay([4, 0, 0], 0.4, 1 / 365) == 0  # P(Poisson(0.4) >= 4) = 0.0008
    # three times the rate (0.8 extra a day, as planted) for a week: 2.8 usual voices in 7
    # days; 8 voices by day 6 are not enough (P(>= 8) = 0.008), 9 are (P(>= 9) = 0.0024)
    assert oracle_delay([1, 1, 1, 1, 1, 1, 2], 0.4, 1 / 365) is None
    assert oracle_delay([1, 2, 1, 1, 1, 1, 2], 0.4, 1 / 365) == 6
    assert oracle_delay([1, 2, 1, 1, 1, 1, 2], 0.4, 1 / 3650) is None  # a stricter budget


# --- the report and SURGES.md ----------------------------------------------------------------


def test_surges_md_keeps_the_text_around_its_markers(tmp_path: Path) -> None:
    rows = [
        row("seed 7", ALPHA, surges=4, detected=2, within_start=2, steps=2, delays=(1, 2)),
        row("seed 7", Setting(NEGBIN, 1e-2), surges=4, detected=4, false_alert_weeks=9),
    ]
    measured = sweep_report(rows, "Measured today.", notes=["seed 8: not evaluated."])
    path = tmp_path / "SURGES.md"

    write_between_markers(path, "old numbers\n", START, END, "Surges")
    assert path.read_text(encoding="utf-8") == f"# Surges\n\n{START}\nold numbers\n{END}\n"
    path.write_text(path.read_text().replace("# Surges\n", "# Surges\n\nWhat it measures.\n"))
    path.write_text(path.read_text() + "\nRead more below.\n")
    write_between_markers(path, measured, START, END, "Surges")

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Surges\n\nWhat it measures.\n")
    assert text.endswith(f"{END}\n\nRead more below.\n")
    assert "old numbers" not in text
    assert text.count(START) == text.count(END) == 1
    inside = text.split(START)[1].split(END)[0]
    assert inside == "\n" + measured
    assert (
        "| negbin alpha | **3e-4** (configured) | 4 | 2 | 2 | 0 | 0 | 0/2 | 0/0 | 0/0 | 1.5 | - |"
        in inside
    )
    assert "| negbin alpha | 1e-2 | 4 | 4 | 0 | 0 | 0 | 0/0 | 0/0 | 0/0 | - | - | 9 | 0 |" in inside
    # the per-world table has the configured setting only
    assert "| seed 7 | negbin alpha | **3e-4** (configured) |" in inside
    assert "| seed 7 | negbin alpha | 1e-2 |" not in inside
    assert inside.rstrip().endswith("- seed 8: not evaluated.")


def test_worlds_from_the_command_line() -> None:
    assert parse_worlds("7:1, 13:2,15:0.5,9") == [
        World(7, 1.0),
        World(13, 2.0),
        World(15, 0.5),
        World(9, 1.0),
    ]
    assert worlds_of("7,8", "1") == [World(7, 1.0), World(8, 1.0)]
    assert worlds_of("13,15", "2,0.5") == [World(13, 2.0), World(15, 0.5)]
    with pytest.raises(ValueError, match="2 seeds but 3 scales"):
        worlds_of("7,8", "1,2,3")
    assert (World(15, 0.5).name, World(15, 0.5).label) == ("seed15-scale0.5", "seed 15, scale 0.5")
    assert World(7, 1.0).label == "seed 7"


def test_the_sweep_runs_a_radar_that_can_generate_worlds(tmp_path: Path) -> None:
    # the demo world's commands are in the installed radar (tools/radar.py), not flows.cli
    log = tmp_path / "generate.log"
    assert surge_eval._radar(["generate", "--help"], log, surge_eval._environment(tmp_path)) == ""
    assert "--seed" in log.read_text(encoding="utf-8")


def test_a_world_is_reused_unless_fresh_and_a_failed_one_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    failing = {"generate": ""}

    def radar(args: list[str], log: Path, env: dict[str, str]) -> str:
        calls.append(args[0])
        # a Prefect home per world: two sweeps at once do not share (and race to migrate) one
        assert env["PREFECT_HOME"] == str(tmp_path / "seed7-scale1" / ".prefect")
        assert env["DO_NOT_TRACK"] == "1" and "PREFECT_API_URL" not in env
        return failing.get(args[0], "")

    monkeypatch.setattr(surge_eval, "_radar", radar)
    world = World(7, 1.0)
    done = tmp_path / "seed7-scale1"
    (done / "world").mkdir(parents=True)
    (done / "world" / "truth.json").write_text("{}")
    (done / "out" / AS_OF.isoformat()).mkdir(parents=True)
    (done / "out" / AS_OF.isoformat() / "alerts.csv").write_text("alert_id\n")
    (done / "wh.duckdb").write_text("")

    reused = prepare(world, tmp_path, AS_OF, fresh=False)
    assert (calls, reused.problem) == ([], "")
    assert reused.run_dir == done / "out" / "2026-06-30"

    (done / "out" / AS_OF.isoformat() / "alerts.csv").unlink()  # a run that did not finish
    assert prepare(world, tmp_path, AS_OF, fresh=False).problem == ""
    assert calls == ["run"] and not (done / "wh.duckdb").exists()

    calls.clear()
    failing["generate"] = "`radar generate` failed"
    failed = prepare(world, tmp_path, AS_OF, fresh=True)
    assert (calls, failed.problem) == (["generate"], "`radar generate` failed")
    assert not (done / "world" / "truth.json").exists()


# --- once on the small world's warehouse -----------------------------------------------------


@pytest.mark.slow
def test_the_configured_setting_reproduces_the_runs_alerts(
    prefect_harness: None, small_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.report_world import reported_run  # imports Prefect: only for this test

    run = reported_run(small_world, tmp_path_factory)
    settings = sweep_settings(CONFIG, [1e-4, 1e-2], [5.0])

    swept = sweep_warehouse("small", small_world, run.warehouse, run.run.out_dir, CONFIG, settings)

    assert swept.matches_run is True
    exported = read_export(run.run.out_dir, "alerts")
    assert exported is not None
    expected = surge_metrics(exported, load_truth(small_world), run.run.as_of, CONFIG.lookback_days)
    # the run's alerts are the configured method's (the scan), at its configured threshold
    configured = next(
        r for r in swept.rows if r.setting.method == CONFIG.method and r.setting.configured
    )
    assert configured.surges == expected["surges"] > 0
    assert configured.detected == expected["detected"]
    assert configured.within_start == expected["within_target"]
    assert configured.within_evident == expected["within_target_of_evident"]
    assert configured.false_alert_weeks == expected["false_alert_weeks"]
    negbin = [r for r in swept.rows if r.setting.method == NEGBIN]
    assert [r.setting.parameter for r in negbin] == [1e-4, CONFIG.negbin.alpha, 1e-2]
    assert negbin[0].false_alert_weeks <= negbin[-1].false_alert_weeks
