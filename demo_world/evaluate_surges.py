"""The surge detectors' thresholds swept over demo worlds: detection within 3 days against
false alerts, one row per method x parameter.

For each world the daily series are read from its warehouse once; then `detect_alerts` runs
once per setting of the sweep (negbin `alpha`, EARS C2 `threshold`, each a copy of the loaded
configuration with that one value replaced) and `surge_metrics` scores the alerts against the
world's planted surges. `sweep_totals` adds the worlds up and `sweep_report` writes both as
Markdown tables. The configuration file is never changed.

`early_signals` says how much each planted surge gives away in its first days: the complaint
voices in its county on days 0-3 against the county's usual count for 4 days. A surge with
fewer voices than the detector's `min_count` cannot raise a county alert within 3 days, at any
threshold; that bounds what "every surge within 3 days of its start" can mean on a world.
`oracle_delay` bounds "within 2 days of evident" likewise: the first day on which a test that
knows the surge's counties and start, and spends a prefecture x category's whole budget of
false alarms on them, could alarm on the voices observed.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from demo_world.evaluate import (
    TARGET_DELAY_DAYS,
    Truth,
    _cell,
    load_truth,
    read_export,
    surge_metrics,
)
from models.scan import Calibration, calibrate, detect, fit_scan
from models.surges import SurveillanceConfig, daily_series

SCAN, NEGBIN, EARS_C2 = "scan", "negbin", "ears_c2"
METHODS = (SCAN, NEGBIN, EARS_C2)
DEFAULT_SCAN_THRESHOLDS = (6.0, 10.0, 14.0)
DEFAULT_ALPHAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
DEFAULT_THRESHOLDS = (2.0, 3.0, 4.0, 5.0)
# issue 20: every surge within this many days of the day it became evident
EVIDENT_TARGET_DAYS = 2
ALL_WORLDS = "all worlds"


@dataclass(frozen=True)
class Setting:
    """One detector setting of the sweep: the scan with a `threshold`, negbin with an `alpha`,
    or EARS C2 with a `threshold` (`parameter`); `configured` when it is the value of
    surveillance.yaml."""

    method: str
    parameter: float
    configured: bool = False

    @property
    def name(self) -> str:
        return {SCAN: "scan threshold", NEGBIN: "negbin alpha"}.get(
            self.method, "EARS C2 threshold"
        )

    @property
    def value(self) -> str:
        """The parameter as written in the table: 3e-4, 3."""
        if self.method == NEGBIN:
            mantissa, exponent = f"{self.parameter:.2e}".split("e")
            text = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
        else:
            text = f"{self.parameter:g}"
        return f"**{text}** (configured)" if self.configured else text


def configured_parameter(config: SurveillanceConfig, method: str) -> float:
    """The threshold parameter of `method` in the loaded configuration."""
    if method == SCAN:
        return config.scan.threshold
    return config.negbin.alpha if method == NEGBIN else config.ears_c2.threshold


def sweep_settings(
    config: SurveillanceConfig,
    alphas: Iterable[float],
    thresholds: Iterable[float],
    scan_thresholds: Iterable[float] = (),
) -> list[Setting]:
    """Scan thresholds, negbin alphas then EARS C2 thresholds, each in increasing order and
    always including the configured value (marked)."""
    settings = []
    for method, values in ((SCAN, scan_thresholds), (NEGBIN, alphas), (EARS_C2, thresholds)):
        configured = configured_parameter(config, method)
        for value in sorted({*values, configured}):
            settings.append(Setting(method, value, configured=value == configured))
    return settings


def with_setting(config: SurveillanceConfig, setting: Setting) -> SurveillanceConfig:
    """The configuration with the setting's alpha or threshold in place of the configured one."""
    if setting.method == SCAN:
        return replace(config, scan=replace(config.scan, threshold=setting.parameter))
    if setting.method == NEGBIN:
        return replace(config, negbin=replace(config.negbin, alpha=setting.parameter))
    if setting.method == EARS_C2:
        return replace(config, ears_c2=replace(config.ears_c2, threshold=setting.parameter))
    raise ValueError(f"unknown surge detection method {setting.method!r}")


# --- rows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRow:
    """How one setting did on one world (or on all of them, `world` = ALL_WORLDS).

    Counts are of planted surges overlapping the look-back window; "within" = first alert at
    most TARGET_DELAY_DAYS after the surge's start (or after the day it became evident);
    `delays` are the days from the start of each detected surge."""

    world: str
    setting: Setting
    surges: int
    detected: int
    within_start: int
    within_evident: int
    within_two_of_evident: int
    steps: int
    steps_within_start: int
    ramps: int
    ramps_within_start: int
    ramps_within_evident: int
    delays: tuple[int, ...]
    evident_delays: tuple[int, ...]
    false_alert_weeks: int
    seasonal_false_alert_weeks: int

    @property
    def mean_delay(self) -> float | None:
        return statistics.fmean(self.delays) if self.delays else None

    @property
    def mean_evident_delay(self) -> float | None:
        return statistics.fmean(self.evident_delays) if self.evident_delays else None


def _within(delay: int | None) -> bool:
    return delay is not None and delay <= TARGET_DELAY_DAYS


def sweep_row(world: str, setting: Setting, metrics: dict[str, Any]) -> SweepRow:
    """One row from `surge_metrics` output."""
    surges = [s for s in metrics["per_surge"] if s["in_window"]]
    steps = [s for s in surges if s["shape"] == "step"]
    ramps = [s for s in surges if s["shape"] == "ramp"]
    return SweepRow(
        world=world,
        setting=setting,
        surges=len(surges),
        detected=sum(1 for s in surges if s["detected"]),
        within_start=sum(1 for s in surges if _within(s["delay_days"])),
        within_evident=sum(1 for s in surges if _within(s["delay_from_evident"])),
        within_two_of_evident=sum(
            1
            for s in surges
            if s["delay_from_evident"] is not None
            and s["delay_from_evident"] <= EVIDENT_TARGET_DAYS
        ),
        steps=len(steps),
        steps_within_start=sum(1 for s in steps if _within(s["delay_days"])),
        ramps=len(ramps),
        ramps_within_start=sum(1 for s in ramps if _within(s["delay_days"])),
        ramps_within_evident=sum(1 for s in ramps if _within(s["delay_from_evident"])),
        delays=tuple(s["delay_days"] for s in surges if s["detected"]),
        evident_delays=tuple(s["delay_from_evident"] for s in surges if s["detected"]),
        false_alert_weeks=metrics["false_alert_weeks"],
        seasonal_false_alert_weeks=metrics["seasonal_false_alert_weeks"],
    )


def sweep_alerts(
    series: pl.DataFrame, as_of: date, config: SurveillanceConfig, settings: Sequence[Setting]
) -> list[tuple[Setting, pl.DataFrame]]:
    """The alerts each setting raises from the same daily series."""
    return [(s, detect(series, as_of, with_setting(config, s), method=s.method)) for s in settings]


def score_sweep(
    world: str,
    swept: Sequence[tuple[Setting, pl.DataFrame]],
    truth: Truth,
    as_of: date,
    lookback_days: int,
) -> list[SweepRow]:
    """One row per setting: its alerts scored against the world's planted surges."""
    return [
        sweep_row(world, s, surge_metrics(alerts, truth, as_of, lookback_days))
        for s, alerts in swept
    ]


def sweep_world(
    world: str,
    series: pl.DataFrame,
    truth: Truth,
    as_of: date,
    config: SurveillanceConfig,
    settings: Sequence[Setting],
) -> list[SweepRow]:
    """One row per setting for one world's daily series and planted surges."""
    swept = sweep_alerts(series, as_of, config, settings)
    return score_sweep(world, swept, truth, as_of, config.lookback_days)


# every count of a row, and its delays (a tuple: added up = joined)
_ADDED_UP = tuple(f.name for f in fields(SweepRow) if f.name not in ("world", "setting"))


def sweep_totals(rows: Iterable[SweepRow]) -> list[SweepRow]:
    """The rows of each setting added up over the worlds (settings in first-seen order); the
    mean delay is over all detected surges, not a mean of the worlds' means."""
    by_setting: dict[Setting, SweepRow] = {}
    for r in rows:
        t = by_setting.get(r.setting)
        if t is None:
            by_setting[r.setting] = replace(r, world=ALL_WORLDS)
            continue
        by_setting[r.setting] = replace(
            t, **{name: getattr(t, name) + getattr(r, name) for name in _ADDED_UP}
        )
    return list(by_setting.values())


# --- what each surge shows in its first days --------------------------------------------

BACKGROUND_DAYS = 56  # the county's usual count: the 8 weeks ending ...
BACKGROUND_GAP_DAYS = 14  # ... 2 weeks before the surge starts


@dataclass(frozen=True)
class EarlySignal:
    """One planted surge's first TARGET_DELAY_DAYS + 1 days in its own county's complaint
    series: the voices observed (planted and ordinary), the county's usual count for that
    many days, and the first-alert delay of each configured detector (None: not detected)."""

    world: str
    surge_id: str
    region_code: str
    product_category: str
    shape: str
    extra_per_day: float
    voices: float
    usual: float
    delays: dict[str, int | None]
    evident_day: int | None = None  # days from the start to the evident day
    oracle: int | None = None  # `oracle_delay` from the start (None: never in the surge)


def _complaints_of(series: pl.DataFrame, counties: list[str], category: str) -> pl.DataFrame:
    """The complaint series of a surge's counties (two for a split surge), as one frame."""
    return series.filter(
        (pl.col("signal") == "complaints")
        & pl.col("region_code").is_in(counties)
        & (pl.col("product_category") == category)
    )


def _sum_between(frame: pl.DataFrame, first: date, last: date) -> float:
    return float(frame.filter(pl.col("day").is_between(first, last))["value"].sum())


def oracle_delay(
    daily: Sequence[float], usual_per_day: float, false_alarm_rate: float
) -> int | None:
    """The first day d (0 = the surge's start) on which the voices of days 0..d are beyond what
    its counties' usual rate gives with probability `false_alarm_rate`, or None.

    An oracle that knows where and when a surge starts tests only that (one test a day, a
    cumulative window from the start): no detector that searches every cluster and window, and
    keeps false alarms to `false_alarm_rate` a day for the prefecture x category, can be
    surer sooner, except by luck. Its usual rate leaves the season out (a lower bound on the
    day for a surge in season is not claimed)."""
    from scipy import stats  # imported where used, like models.surges

    total = 0.0
    for day, voices in enumerate(daily):
        total += voices
        tail = stats.poisson.sf(np.ceil(total - 1e-9) - 1, max(usual_per_day, 1e-9) * (day + 1))
        if tail <= false_alarm_rate:
            return day
    return None


def early_signals(
    world: str,
    series: pl.DataFrame,
    truth: Truth,
    as_of: date,
    lookback_days: int,
    configured: Sequence[tuple[Setting, pl.DataFrame]],
    recurrence_days: float = 365.0,
) -> list[EarlySignal]:
    """Per planted surge overlapping the look-back window: its county's complaint voices on
    days 0..TARGET_DELAY_DAYS (`daily_series` values) and the usual count for as many days
    (mean daily voices over BACKGROUND_DAYS ending BACKGROUND_GAP_DAYS before the start),
    with the delay of each setting in `configured` (keyed by its method), its evident day and
    `oracle_delay` at one false alarm per `recurrence_days`."""
    days = TARGET_DELAY_DAYS + 1
    delays = {
        setting.method: {
            s["surge_id"]: s["delay_days"]
            for s in surge_metrics(alerts, truth, as_of, lookback_days)["per_surge"]
        }
        for setting, alerts in configured
    }
    out = []
    for surge in truth.surges:
        start, end = date.fromisoformat(surge["start"]), date.fromisoformat(surge["end"])
        if start > as_of or end < as_of - timedelta(days=lookback_days - 1):
            continue
        counties = surge.get("counties") or [surge["region_code"]]
        county = _complaints_of(series, counties, surge["product_category"])
        before = start - timedelta(days=BACKGROUND_GAP_DAYS)
        usual = _sum_between(county, before - timedelta(days=BACKGROUND_DAYS - 1), before)
        by_day = dict(
            county.group_by("day").agg(pl.col("value").sum()).iter_rows()  # both districts
        )
        length = (min(end, as_of) - start).days + 1  # the days known on as_of
        daily = [float(by_day.get(start + timedelta(days=i), 0.0)) for i in range(length)]
        evident = surge.get("evident_from")
        out.append(
            EarlySignal(
                world=world,
                surge_id=surge["surge_id"],
                region_code="+".join(counties),
                product_category=surge["product_category"],
                shape=str(surge.get("shape")),
                extra_per_day=float(surge.get("extra_per_day", 0.0)),
                voices=_sum_between(county, start, start + timedelta(days=days - 1)),
                usual=usual / BACKGROUND_DAYS * days,
                delays={method: by_id.get(surge["surge_id"]) for method, by_id in delays.items()},
                evident_day=(date.fromisoformat(evident) - start).days if evident else None,
                oracle=oracle_delay(daily, usual / BACKGROUND_DAYS, 1 / recurrence_days),
            )
        )
    return out


# --- one world from its warehouse ---------------------------------------------------------


@dataclass(frozen=True)
class WorldSweep:
    """A world's rows, and whether the configured negbin setting raised exactly the alerts
    of the run's alerts.csv (None when the run has no alerts.csv)."""

    rows: list[SweepRow]
    matches_run: bool | None
    early: list[EarlySignal]


def same_alerts(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """Whether two alert tables hold the same alert ids."""
    return set(a["alert_id"].to_list()) == set(b["alert_id"].to_list())


def sweep_warehouse(
    world: str,
    world_dir: Path,
    warehouse: Path,
    run_dir: Path,
    config: SurveillanceConfig,
    settings: Sequence[Setting],
) -> WorldSweep:
    """The sweep of one world: its daily series read once from `warehouse` (read-only, as of
    the run directory's date OUT/<as-of>), scored against the truth of `world_dir`."""
    as_of = date.fromisoformat(run_dir.name)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        series = daily_series(con, as_of, config.history_days, config)
    finally:
        con.close()
    swept = sweep_alerts(series, as_of, config, settings)
    rows = score_sweep(world, swept, load_truth(world_dir), as_of, config.lookback_days)
    exported = read_export(run_dir, "alerts")
    configured = next(
        (alerts for s, alerts in swept if s.method == config.method and s.configured), None
    )
    matches = None
    if exported is not None and configured is not None:
        matches = same_alerts(configured, exported)
    at_configured = [(s, alerts) for s, alerts in swept if s.configured]
    early = early_signals(
        world,
        series,
        load_truth(world_dir),
        as_of,
        config.lookback_days,
        at_configured,
        config.scan.calibration.recurrence_days if config.scan.calibration else 365.0,
    )
    return WorldSweep(rows, matches, early)


# --- Markdown -----------------------------------------------------------------------------

_HEADER = [
    "surges",
    "detected",
    f"within {TARGET_DELAY_DAYS} days of start",
    f"within {TARGET_DELAY_DAYS} days of evident",
    f"within {EVIDENT_TARGET_DAYS} days of evident",
    f"steps within {TARGET_DELAY_DAYS} days of start",
    f"ramps within {TARGET_DELAY_DAYS} days of start",
    f"ramps within {TARGET_DELAY_DAYS} days of evident",
    "mean delay from start (days)",
    "mean delay from evident (days)",
    "false alert-weeks",
    "seasonal false alert-weeks",
]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], labels: int = 1) -> str:
    """A Markdown table, the columns after the first `labels` right-aligned; cells written as
    `radar evaluate` writes them."""
    align = ["---"] * labels + ["---:"] * (len(header) - labels)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cells(r: SweepRow) -> list[Any]:
    mean, evident = r.mean_delay, r.mean_evident_delay
    return [
        r.surges,
        r.detected,
        r.within_start,
        r.within_evident,
        r.within_two_of_evident,
        f"{r.steps_within_start}/{r.steps}",
        f"{r.ramps_within_start}/{r.ramps}",
        f"{r.ramps_within_evident}/{r.ramps}",
        None if mean is None else f"{mean:.1f}",
        None if evident is None else f"{evident:.1f}",
        r.false_alert_weeks,
        r.seasonal_false_alert_weeks,
    ]


def totals_table(totals: Sequence[SweepRow]) -> str:
    """One row per setting, over all worlds."""
    rows = [[r.setting.name, r.setting.value, *_cells(r)] for r in totals]
    return markdown_table(["method", "parameter", *_HEADER], rows, labels=2)


def worlds_table(rows: Sequence[SweepRow]) -> str:
    """One row per world and method, at the configured settings only."""
    picked = [r for r in rows if r.setting.configured]
    picked.sort(key=lambda r: METHODS.index(r.setting.method))  # stable: worlds keep their order
    table = [[r.world, r.setting.name, r.setting.value, *_cells(r)] for r in picked]
    return markdown_table(["world", "method", "parameter", *_HEADER], table, labels=3)


def _oracle_within(e: EarlySignal) -> bool:
    """Whether the oracle alarms within EVIDENT_TARGET_DAYS of the evident day."""
    return (
        e.oracle is not None
        and e.evident_day is not None
        and e.oracle - e.evident_day <= EVIDENT_TARGET_DAYS
    )


def early_table(early: Sequence[EarlySignal], min_count: float) -> str:
    """The surges by shape and first-days voices, with a summary line of those too quiet
    (fewer than `min_count` voices) for any county alert within the target, and of those
    that even the oracle (`oracle_delay`) cannot raise within EVIDENT_TARGET_DAYS of evident."""
    days = TARGET_DELAY_DAYS + 1
    ordered = sorted(early, key=lambda e: (e.shape, e.voices, e.world, e.surge_id))
    rows = [
        [
            e.world,
            e.surge_id,
            e.region_code,
            e.product_category,
            e.shape,
            f"{e.extra_per_day:.2f}",
            f"{e.voices:g}",
            f"{e.usual:.2f}",
            _cell(e.evident_day),
            _cell(e.oracle),
            *(e.delays.get(method) for method in METHODS),
        ]
        for e in ordered
    ]
    header = ["world", "surge", "county", "category", "shape", "planted extra a day"]
    header += [f"voices on days 0-{days - 1}", f"usual for {days} days"]
    header += ["evident day", "oracle delay", "scan delay", "negbin delay", "EARS C2 delay"]
    quiet = [e for e in early if e.voices < min_count]
    by_shape = {
        shape: (
            sum(1 for e in quiet if e.shape == shape),
            sum(1 for e in early if e.shape == shape),
        )
        for shape in sorted({e.shape for e in early})
    }
    shapes = ", ".join(f"{q} of {n} {shape}s" for shape, (q, n) in by_shape.items())
    summary = (
        f"{len(quiet)} of {len(early)} surges ({shapes}) have fewer than {min_count:g} complaint "
        f"voices in their county on their first {days} days: no window of the detector can "
        f"alarm there (it needs at least `min_count` = {min_count:g} events), whatever the "
        "threshold."
    )
    beyond = [f"{e.world} {e.surge_id}" for e in ordered if not _oracle_within(e)]
    summary += (
        f" {len(early) - len(beyond)} of {len(early)} are within {EVIDENT_TARGET_DAYS} days of "
        "evident for the *oracle*: a test that knows the surge's counties and start and spends "
        "the prefecture x category's whole false-alarm budget on them (the voices since the "
        "start against the counties' usual rate, alarming at a Poisson tail of 1 / the "
        "recurrence interval a day; days from the start)"
        + (f"; not: {', '.join(beyond)}." if beyond else ".")
    )
    return summary + "\n\n" + markdown_table(header, rows, labels=5)


def sweep_report(
    rows: Sequence[SweepRow],
    heading: str,
    notes: Sequence[str] = (),
    early: Sequence[EarlySignal] = (),
    min_count: float = 3.0,
) -> str:
    """The measured part of SURGES.md: `heading`, the totals per setting, then each world at
    the configured settings, then what each surge showed in its first days (`early`), then
    `notes` (failed worlds, checks)."""
    totals = sweep_totals(rows)
    parts = [
        heading,
        "",
        "### All worlds, per setting",
        "",
        totals_table(totals) if totals else "No world was evaluated.",
        "",
        "### Each world, at the configured settings",
        "",
        worlds_table(rows) if rows else "No world was evaluated.",
    ]
    if early:
        parts += ["", "### Each surge's first days", "", early_table(early, min_count)]
    if notes:
        parts += ["", *[f"- {n}" for n in notes]]
    return "\n".join(parts) + "\n"


def calibrate_warehouse(
    warehouse: Path,
    as_of: date,
    config: SurveillanceConfig,
    recurrence_days: float,
    replicates: int,
    seed: int,
) -> Calibration:
    """The scan's thresholds (all cells, and each band of expected count) calibrated by
    Monte Carlo under the null of one world's warehouse (read-only)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        series = daily_series(con, as_of, config.history_days, config)
    finally:
        con.close()
    fitted = fit_scan(series, as_of, config, None)
    if fitted is None:
        raise ValueError(f"no category with events in reach in {warehouse}")
    return calibrate(fitted[0], config, recurrence_days, replicates, np.random.default_rng(seed))
