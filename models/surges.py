"""Early warning of surges: daily signal series per region and category, and the alerts export.

Two steps, both vectorised over all series and all days:

1. `daily_series` reads the warehouse (SQL in transforms/sql/surveillance/) and returns one
   daily value per county and prefecture x product category x signal.
2. `detect_alerts` tests every day of the look-back window against an expectation built only
   from earlier days, groups alarm days into episodes and returns one alert row per episode.

The default method (`method: scan` in models/config/surveillance.yaml) is the space-time scan
of models/scan.py over these series. The per-series methods, kept in the same harness for
comparison, are here. "negbin" is a scan over short and long moving sums against one
negative-binomial expectation. The expectation comes from a lagged baseline of earlier 7-day
sums (a guard band keeps the surge out of its own baseline; sums far above their median are
capped, Farrington style), times a year-over-year seasonal factor when a year of history
exists, floored for near-empty series (the floor rising with the province-wide season). A
w-day sum (1, 2, 3 and 7 days for complaints) expects its days' share of the week from the
province-wide day-of-week profile; each window gets a negative-binomial p-value and the day
alarms when any window is extreme after a Bonferroni correction over the windows. Short sums
catch a sparse county's surge in its first days; the 7-day sum catches slower ones. "ears_c2"
is the CDC's EARS C2 on daily counts, kept in the same harness for comparison.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import ClassVar, Literal

import duckdb
import numpy as np
import polars as pl
from pydantic import ConfigDict

from data_contracts.config import STRICT_KEYS, ConfigFile, read_config
from data_contracts.contract import prefectures
from data_contracts.geography import prefecture_of_column
from transforms.warehouse import sql_file
from transforms.wording import wording_params

CONFIG_PATH = Path(__file__).resolve().parent / "config" / "surveillance.yaml"
SIGNALS = ("complaints", "failed_inspections", "suspicious_listings", "combined")  # of the export
SERIES_KEYS = ["region_code", "product_category", "signal"]
TREND_DAYS = 90  # days of each alert's series shown in its chart
TREND_WINDOW = 7  # the per-series detectors' window; the scan's alerts carry their own
PER_SERIES_METHODS = ("negbin", "ears_c2")
SERIES_SCHEMA = {
    "region_code": pl.String,
    "product_category": pl.String,
    "signal": pl.String,
    "day": pl.Date,
    "value": pl.Float64,
}
ALERT_SCHEMA = {
    "alert_id": pl.String,
    "alert_date": pl.Date,
    "region_code": pl.String,
    "product_category": pl.String,
    "signal": pl.String,
    "observed": pl.Float64,
    "expected": pl.Float64,
    "severity": pl.String,
}


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class SeasonalConfig:
    __pydantic_config__: ClassVar[ConfigDict] = STRICT_KEYS
    enabled: bool
    period_days: int
    half_width_blocks: int
    prior_weight: float
    min_factor: float
    max_factor: float


@dataclass(frozen=True)
class NegBinConfig:
    __pydantic_config__: ClassVar[ConfigDict] = STRICT_KEYS
    block_days: int  # length of the baseline windows, and of the reported observed / expected
    windows: dict[str, tuple[int, ...]]  # moving-sum lengths tested per signal (a scan)
    day_of_week: bool
    dow_prior_events: float
    guard_days: int
    baseline_days: int
    min_baseline_share: float
    outlier_k: float
    max_dispersion: float
    min_dispersion: dict[str, float]
    alpha: float
    min_count: float
    min_ratio: float
    min_expected: float
    seasonal: SeasonalConfig

    def windows_of(self, signal: str) -> tuple[int, ...]:
        """The moving sums tested for `signal` (default: the block length only)."""
        return self.windows.get(signal, (self.block_days,))

    @property
    def longest_window(self) -> int:
        return max([self.block_days, *(w for ws in self.windows.values() for w in ws)])

    @property
    def history_days(self) -> int:
        """Days before a tested day that its baseline (and last year's) can reach."""
        span = self.guard_days + self.baseline_days + self.longest_window
        if self.seasonal.enabled:
            span = max(span, self.seasonal.period_days + span)
        return span


@dataclass(frozen=True)
class EarsC2Config:
    __pydantic_config__: ClassVar[ConfigDict] = STRICT_KEYS
    baseline_days: int
    guard_days: int
    threshold: float
    min_sigma: float
    min_count: float


@dataclass(frozen=True)
class SeverityLevel:
    __pydantic_config__: ClassVar[ConfigDict] = STRICT_KEYS
    max_p: float
    min_ratio: float
    min_persistence_days: int


@dataclass(frozen=True)
class SeverityConfig:
    persistence_alpha: float
    high: SeverityLevel
    medium: SeverityLevel


@dataclass(frozen=True)
class SignalConfig:
    combined_weights: dict[str, float]
    complaint_dedup_days: int
    complaint_min_description_chars: int
    listing_memory_days: int


@dataclass(frozen=True)
class ScanCalibration:
    """How the scan's threshold was chosen: documentation, not read by the pipeline."""

    __pydantic_config__: ClassVar[ConfigDict] = STRICT_KEYS
    recurrence_days: int
    replicates: int
    world: str


@dataclass(frozen=True)
class ScanConfig:
    """The space-time scan (models/scan.py)."""

    __pydantic_config__: ClassVar[ConfigDict] = STRICT_KEYS
    signals: tuple[str, ...]
    max_cluster_counties: int
    max_window_days: int
    min_events: float
    min_ratio: float
    threshold: float
    elevated_share: float
    moved_llr: float
    medium_share: float
    high_share: float
    sparse_max_events: float = 0.0  # 0: the negbin floor; else sparse_expectation below this
    sparse_min_variance: float = 0.05
    # bands of a prefecture x category's expected events a day (all signals): the threshold
    # of band i is threshold x band_factors[i] (none: one threshold)
    band_edges: tuple[float, ...] = ()
    band_factors: tuple[float, ...] = ()
    calibration: ScanCalibration | None = None


@dataclass(frozen=True)
class SurveillanceConfig:
    method: str
    lookback_days: int
    episode_gap_days: int
    episode_alpha: float
    episode_memory_days: int
    signals: SignalConfig
    negbin: NegBinConfig
    ears_c2: EarsC2Config
    severity: SeverityConfig
    scan: ScanConfig

    def with_lookback(self, lookback_days: int) -> SurveillanceConfig:
        """The same settings with another look-back window."""
        return replace(self, lookback_days=lookback_days)

    @property
    def history_days(self) -> int:
        """Days of series (ending on the as-of date) that `detect_alerts` needs."""
        tested = self.lookback_days + self.episode_memory_days + 1
        ears = self.ears_c2.guard_days + self.ears_c2.baseline_days
        return tested + max(self.negbin.history_days, ears, self.scan.max_window_days)


class ComplaintSignalFile(ConfigFile):
    dedup_days: int
    min_description_chars: int


class ListingSignalFile(ConfigFile):
    memory_days: int


class SignalsFile(ConfigFile):
    combined_weights: dict[str, float]
    complaints: ComplaintSignalFile
    listings: ListingSignalFile


class SeverityFile(ConfigFile):
    persistence_alpha: float
    high: SeverityLevel
    medium: SeverityLevel


class SurveillanceFile(ConfigFile):
    """models/config/surveillance.yaml."""

    method: Literal["scan", "negbin", "ears_c2"]
    lookback_days: int
    episode_gap_days: int
    episode_alpha: float
    episode_memory_days: int
    signals: SignalsFile
    negbin: NegBinConfig
    ears_c2: EarsC2Config
    severity: SeverityFile
    scan: ScanConfig


def load_config(path: Path | None = None) -> SurveillanceConfig:
    """The surveillance settings from models/config/surveillance.yaml (or `path`)."""
    raw = read_config(path or CONFIG_PATH, SurveillanceFile)
    sig, nb, ears, sev = raw["signals"], raw["negbin"], raw["ears_c2"], raw["severity"]
    return SurveillanceConfig(
        method=str(raw["method"]),
        lookback_days=int(raw["lookback_days"]),
        episode_gap_days=int(raw["episode_gap_days"]),
        episode_alpha=float(raw["episode_alpha"]),
        episode_memory_days=int(raw["episode_memory_days"]),
        signals=SignalConfig(
            combined_weights={k: float(v) for k, v in sig["combined_weights"].items()},
            complaint_dedup_days=int(sig["complaints"]["dedup_days"]),
            complaint_min_description_chars=int(sig["complaints"]["min_description_chars"]),
            listing_memory_days=int(sig["listings"]["memory_days"]),
        ),
        negbin=NegBinConfig(
            **{k: v for k, v in nb.items() if k not in ("seasonal", "windows", "min_dispersion")},
            min_dispersion={str(k): float(v) for k, v in nb["min_dispersion"].items()},
            windows={
                str(signal): tuple(sorted(int(w) for w in ws))
                for signal, ws in nb["windows"].items()
            },
            seasonal=SeasonalConfig(**nb["seasonal"]),
        ),
        ears_c2=EarsC2Config(**ears),
        severity=SeverityConfig(
            persistence_alpha=float(sev["persistence_alpha"]),
            high=SeverityLevel(**sev["high"]),
            medium=SeverityLevel(**sev["medium"]),
        ),
        scan=ScanConfig(
            **{
                k: v
                for k, v in raw["scan"].items()
                if k not in ("signals", "calibration", "band_edges", "band_factors")
            },
            signals=tuple(str(s) for s in raw["scan"]["signals"]),
            band_edges=tuple(float(x) for x in raw["scan"].get("band_edges", ())),
            band_factors=tuple(float(x) for x in raw["scan"].get("band_factors", ())),
        ),
    )


# --- daily series from the warehouse ------------------------------------------------------


def _county_series(
    con: duckdb.DuckDBPyConnection, as_of: date, start: date, signals: SignalConfig
) -> pl.DataFrame:
    """Sparse daily values of the three base signals per county, category and day."""
    dates = {"as_of": as_of, "start": start}
    queries = {
        "complaints": (
            "complaint_voices_daily",
            dates
            | {
                "dedup_days": signals.complaint_dedup_days,
                "min_description_chars": signals.complaint_min_description_chars,
            },
        ),
        "failed_inspections": ("failed_inspections_daily", dates),
        "suspicious_listings": (
            "suspicious_listings_daily",
            dates | {"memory_days": signals.listing_memory_days} | wording_params(),
        ),
    }
    frames = [
        con.sql(sql_file(f"surveillance/{name}.sql"), params=params)
        .pl()
        .with_columns(pl.lit(signal).alias("signal"))
        .select([pl.col(c).cast(t) for c, t in SERIES_SCHEMA.items()])
        for signal, (name, params) in queries.items()
    ]
    return pl.concat(frames)


def _with_prefectures(county: pl.DataFrame) -> pl.DataFrame:
    """County rows plus their prefecture roll-up (`data_contracts.geography`)."""
    rollup = (
        county.with_columns(prefecture_of_column("region_code").alias("prefecture_code"))
        .drop_nulls("prefecture_code")
        .group_by("prefecture_code", "product_category", "signal", "day")
        .agg(pl.col("value").sum())
        .rename({"prefecture_code": "region_code"})
        .select(list(SERIES_SCHEMA))
    )
    return pl.concat([county, rollup])


def _with_combined(series: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Adds the `combined` signal: the weighted sum of the base signals per day."""
    combined = (
        series.filter(pl.col("signal").is_in(list(weights)))
        .with_columns(
            (
                pl.col("value") * pl.col("signal").replace_strict(weights, return_dtype=pl.Float64)
            ).alias("value")
        )
        .group_by("region_code", "product_category", "day")
        .agg(pl.col("value").sum())
        .with_columns(pl.lit("combined").alias("signal"))
        .select(list(SERIES_SCHEMA))
    )
    return pl.concat([series, combined])


def daily_series(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    history_days: int,
    config: SurveillanceConfig | None = None,
) -> pl.DataFrame:
    """Daily signal values per county and prefecture x category x signal, for the
    `history_days` days ending on `as_of`, from records dated on or before `as_of` only.

    Sparse: a (series, day) with no event has no row (its value is 0). Values are
    credibility-weighted complaints, failed inspections, newly seen suspicious listings
    (in-province ship-from county) and `combined`, their weighted sum.
    """
    config = config or load_config()
    start = as_of - timedelta(days=history_days - 1)
    county = _county_series(con, as_of, start, config.signals)
    series = _with_combined(_with_prefectures(county), config.signals.combined_weights)
    return series.filter(pl.col("value") != 0).sort(SERIES_KEYS + ["day"])


# --- the detector -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """Dense series x days matrix over one calendar ending on the as-of date; NaN before
    the data start. Row i is the series keys.row(i)."""

    keys: pl.DataFrame
    values: np.ndarray


def _dense_grid(
    series: pl.DataFrame, keys: pl.DataFrame, first_day: date, as_of: date, data_start: date
) -> _Grid:
    """Zero-filled values of `keys` over [first_day, as_of]; NaN before `data_start`."""
    n_days = (as_of - first_day).days + 1
    indexed = keys.with_row_index("row").join(series, on=keys.columns, how="inner")
    values = np.zeros((keys.height, n_days))
    cols = indexed["day"].cast(pl.Int32).to_numpy() - _epoch_day(first_day)
    np.add.at(values, (indexed["row"].to_numpy(), cols), indexed["value"].to_numpy())
    values[:, : max(0, min(n_days, (data_start - first_day).days))] = np.nan
    return _Grid(keys, values)


def _epoch_day(day: date) -> int:
    """Days since 1970-01-01, as polars stores a Date."""
    return (day - date(1970, 1, 1)).days


def moving_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum of the `window` days ending on each day; NaN when any of them is NaN."""
    filled = np.nan_to_num(values)
    csum = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(filled, axis=1)], axis=1)
    out = np.full(values.shape, np.nan)
    out[:, window - 1 :] = csum[:, window:] - csum[:, :-window]
    known = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(np.isnan(values), axis=1)], axis=1
    )
    missing = np.full(values.shape, True)
    missing[:, window - 1 :] = (known[:, window:] - known[:, :-window]) > 0
    out[missing] = np.nan
    return out


def _at(matrix: np.ndarray, days: np.ndarray, lag: int) -> np.ndarray:
    """matrix[:, day - lag] for each tested day; NaN where that is before the calendar."""
    idx = days - lag
    out = np.full((matrix.shape[0], days.size), np.nan)
    ok = (idx >= 0) & (idx < matrix.shape[1])
    out[:, ok] = matrix[:, idx[ok]]
    return out


def _detrended_variance(blocks: np.ndarray) -> np.ndarray:
    """Residual variance of the known windows (axis 0, in time order) around a straight line."""
    known = ~np.isnan(blocks)
    t = np.arange(blocks.shape[0], dtype=float).reshape((-1,) + (1,) * (blocks.ndim - 1))
    t = np.broadcast_to(t, blocks.shape)
    n = known.sum(axis=0)
    y = np.where(known, blocks, 0.0)
    tk = np.where(known, t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = tk.sum(axis=0) / n
        y_mean = y.sum(axis=0) / n
        dt = np.where(known, t - t_mean, 0.0)
        dy = np.where(known, blocks - y_mean, 0.0)
        slope = (dt * dy).sum(axis=0) / (dt**2).sum(axis=0)
        resid = np.where(known, dy - np.nan_to_num(slope) * dt, 0.0)
        var = (resid**2).sum(axis=0) / (n - 2)
    return np.where(n > 2, np.nan_to_num(var), 0.0)


def _nanmedian0(values: np.ndarray) -> np.ndarray:
    """np.nanmedian along axis 0, without its slow masked-array path (NaN sorts last)."""
    ordered = np.sort(values, axis=0)
    n = (~np.isnan(values)).sum(axis=0)
    lo = np.maximum((n - 1) // 2, 0)[None]
    hi = np.maximum(n // 2, 0)[None]
    median = (np.take_along_axis(ordered, lo, 0)[0] + np.take_along_axis(ordered, hi, 0)[0]) / 2
    return np.where(n > 0, median, np.nan)


def _robust_level(
    blocks: np.ndarray, outlier_k: float, min_blocks: int, with_variance: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of baseline windows (axis 0, in time order), outliers down-weighted.

    A window above median + k * max(sqrt(median), 1.4826 * MAD) is capped there, so an
    earlier surge in the baseline neither raises the expectation much nor widens the noise
    band (Farrington-style down-weighting). The variance is taken around a straight line
    through the windows, so a level shift or a seasonal rise inside the baseline is not
    mistaken for noise. NaN where fewer than `min_blocks` windows are known.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = _nanmedian0(blocks)
        mad = 1.4826 * _nanmedian0(np.abs(blocks - median))
        cap = median + outlier_k * np.maximum(np.sqrt(np.maximum(median, 1.0)), mad)
        capped = np.minimum(blocks, cap)
        mean = np.nanmean(capped, axis=0)
        var = _detrended_variance(capped) if with_variance else np.zeros(mean.shape)
    enough = (~np.isnan(blocks)).sum(axis=0) >= min_blocks
    return np.where(enough, mean, np.nan), np.where(enough, var, np.nan)


def _baseline(
    moving: np.ndarray,
    days: np.ndarray,
    offset: int,
    window: int,
    cfg: NegBinConfig,
    with_variance: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Robust mean and variance of the earlier `window`-day sums that form the baseline of
    each tested day (`offset` days back), leaving `guard_days` between baseline and window."""
    n_blocks = cfg.baseline_days // window
    first_lag = offset + window + cfg.guard_days
    blocks = np.stack([_at(moving, days, first_lag + window * j) for j in range(n_blocks)])
    min_blocks = max(1, int(np.ceil(cfg.min_baseline_share * n_blocks)))
    return _robust_level(blocks, cfg.outlier_k, min_blocks, with_variance)


def _last_year(
    moving: np.ndarray, days: np.ndarray, window: int, cfg: NegBinConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Last year's level around the same date, and last year's baseline level."""
    s = cfg.seasonal
    around = np.stack(
        [
            _at(moving, days, s.period_days + window * i)
            for i in range(-s.half_width_blocks, s.half_width_blocks + 1)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        level = np.where(np.isnan(around).any(axis=0), np.nan, np.nanmean(around, axis=0))
    base, _ = _baseline(moving, days, s.period_days, window, cfg, with_variance=False)
    return level, base


def _trailing_mean(values: np.ndarray, days: np.ndarray, first_lag: int, span: int) -> np.ndarray:
    """Mean daily value over the `span` days ending `first_lag` days before each tested day;
    NaN where fewer than half of them are known."""
    filled = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(np.nan_to_num(values), 1)], 1
    )
    known = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(~np.isnan(values), 1)], 1)
    hi = np.clip(days - first_lag + 1, 0, values.shape[1])
    lo = np.clip(days - first_lag + 1 - span, 0, values.shape[1])
    n = known[:, hi] - known[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= span / 2, (filled[:, hi] - filled[:, lo]) / n, np.nan)


def _seasonal_factor(
    grid: _Grid, pooled: _Grid, pooled_row: np.ndarray, days: np.ndarray, cfg: NegBinConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year-over-year factor (last year's level at this date over last year's baseline), its
    approximate relative variance, and the season index of the floor.

    The province-wide factor of the category and signal (all counties pooled) is the prior
    that a series' own, noisier, factor is shrunk towards. 1 where last year is unknown.
    The season index is the province-wide level of the category last year around this date
    over its mean level in the year before the baseline: it scales the floor of a series too
    sparse to have a baseline of its own, for whom the factor (relative to a baseline that
    may already lie in the season) says nothing.
    """
    s = cfg.seasonal
    shape = (grid.values.shape[0], days.size)
    if not s.enabled:
        return np.ones(shape), np.zeros(shape), np.ones(shape)
    w = cfg.block_days
    pooled_level, pooled_base = _last_year(moving_sum(pooled.values, w), days, w, cfg)
    province = np.clip((pooled_level + 0.5) / (pooled_base + 0.5), s.min_factor, s.max_factor)
    year_mean = w * _trailing_mean(pooled.values, days, w + cfg.guard_days, s.period_days)
    index = np.clip((pooled_level + 0.5) / (year_mean + 0.5), s.min_factor, s.max_factor)
    # the last row (factor 1) stands for series whose category has no county data
    province = np.vstack([np.nan_to_num(province, nan=1.0), np.ones((1, days.size))])
    index = np.vstack([np.nan_to_num(index, nan=1.0), np.ones((1, days.size))])
    prior = province[pooled_row]
    level, base = _last_year(moving_sum(grid.values, w), days, w, cfg)
    numerator = level + s.prior_weight * prior
    denominator = base + s.prior_weight
    # Poisson variance of the block means: the factor is an estimate, not a constant
    n_blocks = cfg.baseline_days // w
    rel_var = level / (2 * s.half_width_blocks + 1) / numerator**2 + (
        base / n_blocks / denominator**2
    )
    known = ~np.isnan(numerator / denominator)
    factor = np.where(known, np.clip(numerator / denominator, s.min_factor, s.max_factor), 1.0)
    return factor, np.where(known, rel_var, 0.0), index[pooled_row]


def _upper_tail(observed: np.ndarray, expected: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """P(X >= observed) for X negative binomial with this mean and variance/mean ratio."""
    from scipy import stats  # imported where used: ~1 s to load, the flow loads it meanwhile

    k = np.ceil(observed - 1e-9) - 1
    p = np.ones(observed.shape)
    poisson = dispersion <= 1 + 1e-6
    p[poisson] = stats.poisson.sf(k[poisson], expected[poisson])
    nb = ~poisson
    phi = dispersion[nb]
    p[nb] = stats.nbinom.sf(k[nb], expected[nb] / (phi - 1), 1 / phi)
    return p


@dataclass(frozen=True)
class DayScores:
    """Per series x tested day: the statistic's observed, expected, p-value and alarm flag."""

    observed: np.ndarray
    expected: np.ndarray
    p_value: np.ndarray
    alarm: np.ndarray


def _dow_shares(
    pooled: _Grid, signals: np.ndarray, days: np.ndarray, cfg: NegBinConfig
) -> dict[int, np.ndarray]:
    """Per tested window length w: the share of a `block_days` expectation that falls in the w
    days ending on each tested day (series x tested days), from the day-of-week profile of
    the signal province-wide (all categories and counties) over the baseline span.

    The profile of a weekday is its events over the baseline span plus `dow_prior_events`,
    over the mean of the seven; 1 everywhere when day_of_week is off or history is missing.
    The share of a `block_days`-day window is w / block_days times the mean profile of its
    days, so it is exactly 1 for a whole week.
    """
    windows = sorted({w for s in np.unique(signals) for w in cfg.windows_of(str(s))})
    shape = (signals.size, days.size)
    flat = {w: np.full(shape, w / cfg.block_days) for w in windows}
    if not cfg.day_of_week or cfg.block_days != 7:
        return flat
    first_lag = cfg.block_days + cfg.guard_days
    lags = np.arange(first_lag, first_lag + cfg.baseline_days)
    pooled_signals = pooled.keys["signal"].to_numpy()
    shares = {w: np.empty(shape) for w in windows}
    for signal in np.unique(signals):
        rows = signals == signal
        own = pooled.values[pooled_signals == signal]
        total = own.sum(axis=0) if own.size else np.zeros(pooled.values.shape[1])
        by_lag = np.stack([_at(total[None, :], days, int(lag))[0] for lag in lags])
        # events on the weekday that lies r days before the tested day (r = lag mod 7)
        per_offset = np.stack([by_lag[lags % 7 == r].sum(axis=0) for r in range(7)])
        prior = cfg.dow_prior_events
        profile = (per_offset + prior) / (per_offset.mean(axis=0) + prior)
        profile = np.where(np.isnan(profile).any(axis=0), 1.0, profile)
        for w in windows:
            share = profile[np.arange(w) % 7].sum(axis=0) / cfg.block_days
            shares[w][rows] = share[None, :]
    return shares


@dataclass(frozen=True)
class Expectation:
    """The negbin baseline of every series x tested day, as known on that day: `level` is the
    expected `block_days` sum (season in), `floored` the baseline behind it, `overdispersion`
    the variance / mean ratio of the baseline windows and `estimate_rel_var` the relative
    variance of the estimate itself; `known` where a baseline exists."""

    level: np.ndarray
    floored: np.ndarray
    overdispersion: np.ndarray
    estimate_rel_var: np.ndarray
    min_dispersion: np.ndarray
    known: np.ndarray

    def dispersion(self, expected: np.ndarray) -> np.ndarray:
        """Predictive variance / mean ratio of a sum with this expectation."""
        # NB2: extra-Poisson variance grows with the square of the mean, so the variance /
        # mean ratio's excess over 1 scales with the expectation
        return np.maximum(
            1
            + (self.overdispersion - 1) * expected / self.floored
            + expected * self.estimate_rel_var,
            self.min_dispersion,
        )


def negbin_expectation(
    grid: _Grid, pooled: _Grid, pooled_row: np.ndarray, days: np.ndarray, cfg: NegBinConfig
) -> Expectation:
    """The baseline of each tested day: the robust mean and variance of earlier `block_days`
    sums (lagged past a guard band), times the year-over-year seasonal factor, floored."""
    block = cfg.block_days
    moving = moving_sum(grid.values, block)
    base, var = _baseline(moving, days, 0, block, cfg)
    factor, factor_rel_var, season_index = _seasonal_factor(grid, pooled, pooled_row, days, cfg)
    floored = np.maximum(base, cfg.min_expected)
    with np.errstate(invalid="ignore", divide="ignore"):
        overdispersion = np.clip(np.nan_to_num(var / floored, nan=1.0), 1.0, cfg.max_dispersion)
    # Predictive variance = overdispersion * E + E^2 * (relative variance of the estimate of
    # E), as in Farrington's prediction interval, written as a variance / mean ratio.
    base_rel_var = 1 / (cfg.baseline_days // block * floored)
    estimate_rel_var = overdispersion * np.nan_to_num(base_rel_var + factor_rel_var)
    # the floor stands for a rate too low to estimate: in season it rises with the province
    level = np.maximum(base * factor, cfg.min_expected * np.maximum(factor, season_index))
    signals = grid.keys["signal"].to_numpy()
    # a weighted sum (combined) varies more than a count of the same mean
    min_dispersion = np.array([cfg.min_dispersion.get(str(s), 1.0) for s in signals])[:, None]
    return Expectation(
        level, floored, overdispersion, estimate_rel_var, min_dispersion, ~np.isnan(base)
    )


def risk_prior(
    observed: np.ndarray, expected: np.ndarray, signals: np.ndarray, min_variance: float
) -> np.ndarray:
    """The shape a of a Gamma(a, a) prior of relative risks O / E, per signal (rows) and
    column: Marshall's method of moments over the signal's rows with an expectation, as
    `models.hotspots.gamma_prior` (the E-weighted variance of O / E less its Poisson part m /
    mean(E), at least `min_variance`), with the mean taken as 1 (E is the group's mean)."""
    alpha = np.empty(observed.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        for signal in np.unique(signals):
            rows = (signals == signal).reshape(-1, *([1] * (observed.ndim - 1)))
            rows = rows & ~np.isnan(observed) & (np.nan_to_num(expected) > 0)
            e = np.where(rows, expected, 0.0)
            o = np.where(rows, observed, 0.0)
            m = o.sum(axis=0) / e.sum(axis=0)
            r = np.divide(o, e, out=np.zeros(e.shape), where=e > 0)
            spread = (e * (r - m) ** 2).sum(axis=0) / e.sum(axis=0)
            poisson = m / (e.sum(axis=0) / np.maximum(rows.sum(axis=0), 1))
            variance = np.maximum(np.nan_to_num(spread - poisson, nan=0.0), min_variance)
            alpha[signals == signal] = 1 / variance
    return alpha


@dataclass(frozen=True)
class SparseRate:
    """Empirical-Bayes expectation of series too sparse for their `baseline_days` baseline:
    `level` the expected `block_days` sum (season in), `rel_var` the relative variance of
    its posterior, `sparse` where it stands in for the baseline (series x tested days)."""

    level: np.ndarray
    rel_var: np.ndarray
    sparse: np.ndarray


def sparse_expectation(
    grid: _Grid,
    pooled: _Grid,
    pooled_row: np.ndarray,
    group: np.ndarray,
    days: np.ndarray,
    cfg: NegBinConfig,
    max_events: float,
    min_variance: float,
) -> SparseRate:
    """An unbiased expectation for series whose baseline holds fewer than `max_events` events
    (issue 20: a constant floor made them several times too high).

    Each series' events S over the year (`period_days`) ending `block_days + guard_days`
    before the tested day are set against E, the mean of its `group` (prefecture x category
    x signal) over the same days; the relative risk S / E is shrunk towards 1 by a gamma
    prior whose variance is estimated from all series of the signal (Marshall's method of
    moments, as the hotspots do, at least `min_variance`): (S + a) / (E + a), a = 1 /
    variance. The weekly rate, risk x E / weeks, is scaled by the category's season (its
    province level around this date last year over its mean of the same year, not clipped
    at 1: the year's mean holds the season) and the posterior's relative variance is
    1 / (S + a). Where the year is unknown the series keeps its baseline."""
    s = cfg.seasonal
    lag, span, block = cfg.block_days + cfg.guard_days, s.period_days, cfg.block_days
    with np.errstate(invalid="ignore"):
        own = _trailing_mean(grid.values, days, lag, span) * span
    known = ~np.isnan(own)
    filled = np.where(known, own, 0.0)
    groups, index = np.unique(group, return_inverse=True)
    one_hot = (index[None, :] == np.arange(groups.size)[:, None]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (one_hot @ filled) / (one_hot @ known)
        expected = np.where(known, mean[index], np.nan)
        alpha = risk_prior(own, expected, grid.keys["signal"].to_numpy(), min_variance)
        risk = (own + alpha) / (expected + alpha)
        weekly = risk * expected / (span / block)
        if s.enabled:
            level, _ = _last_year(moving_sum(pooled.values, block), days, block, cfg)
            year = block * _trailing_mean(pooled.values, days, lag, span)
            season = np.clip((level + 0.5) / (year + 0.5), 1 / s.max_factor, s.max_factor)
            season = np.vstack([np.nan_to_num(season, nan=1.0), np.ones((1, days.size))])
            weekly = weekly * season[pooled_row]
        base, _ = _baseline(moving_sum(grid.values, block), days, 0, block, cfg, False)
        few = base * (cfg.baseline_days // block) < max_events
    sparse = known & (expected > 0) & few
    return SparseRate(
        np.where(sparse, weekly, np.nan),
        np.where(sparse, 1 / (own + alpha), 0.0),
        sparse,
    )


def _negbin_scores(
    grid: _Grid, pooled: _Grid, pooled_row: np.ndarray, days: np.ndarray, cfg: NegBinConfig
) -> DayScores:
    """A scan over short and long moving sums against one negative-binomial expectation.

    The baseline is `negbin_expectation`; the expectation of a w-day sum is its level times
    the day-of-week share of its days. Each window length tested for the series' signal gives
    a p-value (Bonferroni over them); a day alarms when any window is extreme enough, large
    enough and far enough above its expectation. observed and expected are always the
    `block_days` sum and its expectation.
    """
    block = cfg.block_days
    moving = moving_sum(grid.values, block)
    fit = negbin_expectation(grid, pooled, pooled_row, days, cfg)
    level, known_base = fit.level, fit.known
    signals = grid.keys["signal"].to_numpy()
    n_windows = np.array([len(cfg.windows_of(str(s))) for s in signals], dtype=float)[:, None]
    shares = _dow_shares(pooled, signals, days, cfg)
    shares.setdefault(block, np.ones(level.shape))
    p_scan = np.ones(level.shape)
    alarm = np.zeros(level.shape, dtype=bool)
    observed_block = expected_block = np.zeros(level.shape)
    for w, share in sorted(shares.items()):
        tests = np.array([w in cfg.windows_of(str(s)) for s in signals])[:, None]
        observed = _at(moving_sum(grid.values, w) if w != block else moving, days, 0)
        expected = level * share
        dispersion = fit.dispersion(expected)
        testable = ~np.isnan(observed) & known_base
        p_value = np.ones(level.shape)
        p_value[testable] = _upper_tail(
            observed[testable], expected[testable], dispersion[testable]
        )
        p_value = np.minimum(p_value * n_windows, 1.0)  # Bonferroni over the windows tested
        alarm |= (
            tests
            & testable
            & (p_value < cfg.alpha)
            & (observed >= cfg.min_count)
            & (observed >= cfg.min_ratio * expected)
        )
        p_scan = np.where(tests, np.minimum(p_scan, p_value), p_scan)
        if w == block:
            observed_block, expected_block = np.nan_to_num(observed), np.nan_to_num(expected)
    return DayScores(observed_block, expected_block, p_scan, alarm)


def _ears_c2_scores(grid: _Grid, days: np.ndarray, cfg: EarsC2Config) -> DayScores:
    """EARS C2: today's count against the mean and sd of days t-9..t-3 (daily counts)."""
    from scipy import stats

    lags = range(cfg.guard_days + 1, cfg.guard_days + cfg.baseline_days + 1)
    baseline = np.stack([_at(grid.values, days, lag) for lag in lags])
    observed = _at(grid.values, days, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = baseline.mean(axis=0)
        sd = np.maximum(baseline.std(axis=0, ddof=1), cfg.min_sigma)
    c2 = (observed - mean) / sd
    testable = ~np.isnan(c2)
    p_value = np.where(testable, stats.norm.sf(np.nan_to_num(c2)), 1.0)
    alarm = testable & (c2 > cfg.threshold) & (observed >= cfg.min_count)
    return DayScores(np.nan_to_num(observed), np.nan_to_num(mean), p_value, alarm)


def _trailing_run(flags: np.ndarray) -> np.ndarray:
    """Number of consecutive True values ending on each day (0 where False)."""
    idx = np.arange(flags.shape[1])
    last_false = np.maximum.accumulate(np.where(flags, -1, idx), axis=1)
    return np.where(flags, idx - last_false, 0)


def _episode_starts(
    alarm: np.ndarray, elevated: np.ndarray, gap_days: int, memory_days: int
) -> np.ndarray:
    """Alarm days that open a new episode (series x tested days, in time order).

    An alarm day continues the episode of an earlier alarm day when that one lies at most
    `memory_days` days back and the series has stayed active (alarming or elevated) since,
    with no more than `gap_days` inactive days in a row. Each day's answer depends on the
    `memory_days` days before it only, so a nightly run and a backfill agree as long as that
    many days are tested before the first reported one.
    """
    n_rows, n_days = alarm.shape
    active = alarm | elevated
    idx = np.broadcast_to(np.arange(n_days), alarm.shape)
    # start of the current run of active days, runs joined across short gaps
    csum = np.concatenate([np.zeros((n_rows, 1), dtype=int), np.cumsum(active, axis=1)], axis=1)
    before = csum[:, idx[0]] - csum[:, np.maximum(idx[0] - gap_days - 1, 0)]
    run_start = active & ((before == 0) | (idx == 0))
    latest_run_start = np.maximum.accumulate(np.where(run_start, idx, -1), axis=1)
    # latest alarm strictly before each day
    previous_alarm = np.full(alarm.shape, -(10**9))
    previous_alarm[:, 1:] = np.maximum.accumulate(np.where(alarm, idx, -(10**9)), axis=1)[:, :-1]
    continues = (previous_alarm >= latest_run_start) & (idx - previous_alarm <= memory_days)
    return alarm & ~continues


def alert_id(region_code: str, product_category: str, signal: str, alert_date: date) -> str:
    """Stable id of an alert: 'AL-' + the first 12 hex digits of a SHA-1 of its keys."""
    text = f"{region_code}|{product_category}|{signal}|{alert_date.isoformat()}"
    return "AL-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _severity(
    p_value: pl.Expr, ratio: pl.Expr, persistence: pl.Expr, cfg: SeverityConfig
) -> pl.Expr:
    """high / medium / low: the first level whose p-value, ratio and persistence all hold."""

    def meets(level: SeverityLevel) -> pl.Expr:
        return (
            (p_value <= level.max_p)
            & (ratio >= level.min_ratio)
            & (persistence >= level.min_persistence_days)
        )

    return (
        pl.when(meets(cfg.high))
        .then(pl.lit("high"))
        .when(meets(cfg.medium))
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )


def _pooled_series(series: pl.DataFrame) -> pl.DataFrame:
    """Province-wide daily totals per category and signal (counties only, no double count)."""
    return (
        series.filter(~pl.col("region_code").is_in(list(prefectures())))
        .group_by("product_category", "signal", "day")
        .agg(pl.col("value").sum())
    )


def pooled_grid(
    series: pl.DataFrame, keys: pl.DataFrame, first_day: date, as_of: date, data_start: date
) -> tuple[_Grid, np.ndarray]:
    """The province-wide grid per category and signal, and the row of it for each of `keys`
    (one past the last row where the category has no county data)."""
    pooled_frame = _pooled_series(series)
    pooled_keys = (
        pooled_frame.select("product_category", "signal")
        .unique()
        .sort("product_category", "signal")
    )
    pooled = _dense_grid(pooled_frame, pooled_keys, first_day, as_of, data_start)
    pooled_row = (
        keys.join(
            pooled_keys.with_row_index("pooled_row"),
            on=["product_category", "signal"],
            how="left",
            maintain_order="left",
        )["pooled_row"]
        .fill_null(pooled_keys.height)
        .to_numpy()
    )
    return pooled, pooled_row


def tested_window(
    series: pl.DataFrame, as_of: date, config: SurveillanceConfig, history_start: date | None
) -> tuple[pl.DataFrame, date, int, date, date]:
    """The series cut to the history the detectors read, and the calendar they test: its first
    day, the number of days tested (the look-back window and the episode memory before it),
    the first of them, and the first day with data (NaN before it)."""
    first_day = as_of - timedelta(days=config.history_days - 1)
    series = series.filter(pl.col("day").is_between(first_day, as_of)).select(list(SERIES_SCHEMA))
    n_tested = config.lookback_days + config.episode_memory_days + 1
    first_series_day = series["day"].min()
    data_start = history_start or (
        first_series_day if isinstance(first_series_day, date) else as_of
    )
    tested_from = as_of - timedelta(days=n_tested - 1)
    return series, first_day, n_tested, tested_from, data_start


@dataclass(frozen=True)
class ScoredDays:
    """The detector's verdict on every tested day of every series: row i of the matrices is
    keys.row(i), column j is the day tested_from + j; `values` are the daily events of the
    whole calendar (first_day..as_of, NaN before the data start)."""

    keys: pl.DataFrame
    first_day: date
    tested_from: date
    values: np.ndarray
    scores: DayScores


def score_days(
    series: pl.DataFrame,
    as_of: date,
    config: SurveillanceConfig,
    method: str | None = None,
    history_start: date | None = None,
    keys: pl.DataFrame | None = None,
) -> ScoredDays | None:
    """Test every day of the look-back window and the episode memory before it, for every
    series with an event in reach (or only `keys`), each day from values dated <= it.

    `series` is `daily_series` output (sparse or dense; rows after `as_of` are ignored); the
    province-wide profiles and seasons come from all of it. None when no series can alarm.
    """
    # the configured method may be the space-time scan (models/scan.py); per series, negbin
    method = method or (config.method if config.method in PER_SERIES_METHODS else "negbin")
    if method not in PER_SERIES_METHODS:
        raise ValueError(f"unknown surge detection method {method!r}")
    series, first_day, n_tested, tested_from, data_start = tested_window(
        series, as_of, config, history_start
    )
    if keys is None:  # only series with an event in reach of a tested window can alarm
        reach = tested_from - timedelta(days=config.negbin.longest_window)
        keys = (
            series.filter((pl.col("day") >= reach) & (pl.col("value") != 0))
            .select(SERIES_KEYS)
            .unique()
            .sort(SERIES_KEYS)
        )
    if keys.is_empty():
        return None

    grid = _dense_grid(series, keys, first_day, as_of, data_start)
    days = np.arange(grid.values.shape[1] - n_tested, grid.values.shape[1])
    if method == "negbin":
        pooled, pooled_row = pooled_grid(series, keys, first_day, as_of, data_start)
        scores = _negbin_scores(grid, pooled, pooled_row, days, config.negbin)
    else:
        scores = _ears_c2_scores(grid, days, config.ears_c2)
    return ScoredDays(keys, first_day, tested_from, grid.values, scores)


def detect_alerts(
    series: pl.DataFrame,
    as_of: date,
    config: SurveillanceConfig,
    method: str | None = None,
    history_start: date | None = None,
) -> pl.DataFrame:
    """The alerts export: one row per alert episode first raised in the look-back window.

    `series` is `daily_series` output (sparse or dense; rows after `as_of` are ignored). Each
    day D of the window is tested using only values dated <= D (`score_days`). An alarm day
    opens an episode unless the series alarmed within `episode_memory_days` before and has
    stayed alarming or elevated (scan p-value below `episode_alpha`) since, with at most
    `episode_gap_days` quiet days in a row; the episode's row carries alert_date = its first
    alarm day, and observed / expected / severity as known on that day. For "negbin" the unit
    of observed and expected is credibility-weighted events in the 7 days ending on
    alert_date (whichever window alarmed); for "ears_c2" it is events on alert_date
    (expected = the mean of the baseline days). Episodes already running before the window
    are not raised. `history_start` is the first day with data (default: the first day in
    `series`); days before it are unknown, not zero.
    """
    scored = score_days(series, as_of, config, method, history_start)
    if scored is None:
        return pl.DataFrame(schema=ALERT_SCHEMA)
    scores, keys = scored.scores, scored.keys
    window_from = as_of - timedelta(days=config.lookback_days - 1)
    starts = _episode_starts(
        scores.alarm,
        scores.p_value < config.episode_alpha,
        config.episode_gap_days,
        config.episode_memory_days,
    )
    persistence = _trailing_run(scores.p_value < config.severity.persistence_alpha)
    rows, cols = np.nonzero(starts)
    tested_days = [scored.tested_from + timedelta(days=int(c)) for c in range(starts.shape[1])]
    found = (
        keys[rows.tolist()]
        .with_columns(
            pl.Series("alert_date", [tested_days[c] for c in cols], dtype=pl.Date),
            pl.Series("observed", scores.observed[rows, cols], dtype=pl.Float64).round(3),
            pl.Series("expected", scores.expected[rows, cols], dtype=pl.Float64).round(3),
            pl.Series("p_value", scores.p_value[rows, cols], dtype=pl.Float64),
            pl.Series("persistence", persistence[rows, cols], dtype=pl.Int64),
        )
        .filter(pl.col("alert_date") >= window_from)
    )
    ratio = pl.col("observed") / pl.max_horizontal(pl.col("expected"), pl.lit(1e-9))
    ids = [alert_id(*row) for row in found.select(SERIES_KEYS + ["alert_date"]).iter_rows()]
    return (
        found.with_columns(
            pl.Series("alert_id", ids, dtype=pl.String),
            _severity(pl.col("p_value"), ratio, pl.col("persistence"), config.severity).alias(
                "severity"
            ),
        )
        .select(list(ALERT_SCHEMA))
        .sort("alert_date", "region_code", "product_category", "signal")
    )


def alert_trends(
    con: duckdb.DuckDBPyConnection,
    alerts: pl.DataFrame,
    as_of: date,
    series: pl.DataFrame | None = None,
    series_days: int = 0,
) -> pl.DataFrame:
    """Each alert's series over the last TREND_DAYS days: alert_id, day, value, moving_sum.

    The values are the detector's own daily series (`daily_series`), zero-filled:
    for a scan alert the events of every signal in its cluster's counties, for a per-series
    alert its region's signal; moving_sum is the sum over the alert's `window_days`, the unit
    of its `observed` and `expected`. The surge stage stores them (scores.alert_trends) for
    the reports' charts. `series`: the detector's `daily_series` of `series_days` days, used
    when that reaches back far enough (the stage passes it rather than read the warehouse
    twice: 1.4 s of CPU at province scale).
    """
    schema = {"alert_id": pl.String, "day": pl.Date, "value": pl.Float64, "moving_sum": pl.Float64}
    if alerts.is_empty():
        return pl.DataFrame(schema=schema)
    scan = "counties" in alerts.columns  # else a per-series detector's export
    if "window_days" not in alerts.columns:
        alerts = alerts.with_columns(pl.lit(TREND_WINDOW).alias("window_days"))
    alerts = alerts.with_columns(pl.col("window_days").cast(pl.Int64))
    longest = max([TREND_WINDOW, *alerts["window_days"].to_list()])
    history = TREND_DAYS + longest - 1
    first = as_of - timedelta(days=history - 1)
    if series is None or series_days < history:
        series = daily_series(con, as_of, history)
    series = series.filter(pl.col("day").is_between(first, as_of))
    region = pl.col("counties" if scan else "region_code").str.split(";").alias("region_code")
    members = alerts.select("alert_id", "product_category", region, "signal").explode("region_code")
    if scan:  # its observed: the events of every base signal in its cluster's counties
        base = series.select("signal").unique().filter(pl.col("signal") != "combined")
        members = members.drop("signal").join(base, how="cross")
    daily = (
        members.join(series, on=["region_code", "product_category", "signal"])
        .sort("alert_id", "day", "region_code", "signal")  # one order of summing: repeatable
        .group_by("alert_id", "day", maintain_order=True)
        .agg(pl.col("value").sum())
    )
    days = pl.DataFrame(
        {"day": pl.date_range(as_of - timedelta(days=history - 1), as_of, eager=True)}
    )
    dense = (
        alerts.select("alert_id", "window_days")
        .join(days, how="cross")
        .join(daily, on=["alert_id", "day"], how="left")
        .with_columns(pl.col("value").fill_null(0.0))
        .sort("alert_id", "day")
    )
    summed = pl.concat(
        [
            part.with_columns(
                pl.col("value").rolling_sum(int(window)).over("alert_id").alias("moving_sum")
            )
            for (window,), part in dense.group_by("window_days", maintain_order=True)
        ]
    ).sort("alert_id", "day")
    return summed.filter(pl.col("day") > as_of - timedelta(days=TREND_DAYS)).select(list(schema))
