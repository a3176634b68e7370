"""Space-time scan of surges: clusters of neighbouring counties x recent windows, all signals.

A prospective scan in the manner of Kulldorff's space-time scan statistic, with expectations
from the count model of `models.surges` (the negbin baseline: lagged robust level, last year's
season, the province's day-of-week profile), so season and weekday are in the expectation.

For every tested day t, every cluster Z (a county and its k nearest neighbours of the same
prefecture by the coordinates of regions.csv, k = 0 up to the whole prefecture) and every
window of w = 1..14 days ending on t, each signal s (complaint voices, failed inspections,
newly suspicious shops) gives the Poisson log likelihood ratio of its observed sum C against
its expected sum E in Z, C log(C / E) - (C - E) when C > E, divided by the predictive
variance / mean ratio of the sum (a quasi-likelihood: the counts are overdispersed). The
statistic of (Z, w, t) is the sum over the signals with an excess (Kulldorff's multivariate
scan), and the day's statistic of a prefecture x category is the largest over its clusters and
windows. With `sparse_max_events` a series too sparse for its 8-week baseline expects its
own year's rate shrunk towards its prefecture's by empirical Bayes (`sparse_expectation`)
instead of the constant floor (measured, not configured). A day alarms when it reaches
`threshold` (or its band's, `band_edges`), which `calibrate` finds by Monte Carlo for one
false alert episode per `recurrence_days` per prefecture x category: each replicate draws a
whole null history from the data's smoothed rates and fits the baseline anew on it, so the
estimate's errors are in the null as they are in the data. Alarm days group into episodes
as in `models.surges`; one alert per episode, with its cluster's counties and the signals
that moved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts.contract import regions
from models.surges import (
    ALERT_SCHEMA,
    SERIES_KEYS,
    ScanConfig,
    SurveillanceConfig,
    _dense_grid,
    _dow_shares,
    _episode_starts,
    _Grid,
    alert_id,
    detect_alerts,
    negbin_expectation,
    pooled_grid,
    risk_prior,
    sparse_expectation,
    tested_window,
)

SCAN_ALERT_SCHEMA = ALERT_SCHEMA | {
    "counties": pl.String,  # the cluster's counties, ;-separated
    "window_days": pl.Int64,  # days of the window that alarmed, ending on alert_date
    "signals_moved": pl.String,  # base signals with an excess in it, ;-separated
}


# --- clusters -----------------------------------------------------------------------------


def county_clusters(max_counties: int) -> tuple[list[str], list[tuple[int, ...]], list[str]]:
    """Counties (sorted codes), the clusters (tuples of county indices: each county with its
    0..max_counties-1 nearest neighbours of its prefecture, duplicates removed, in order) and
    each cluster's prefecture code."""
    table = regions()
    counties = sorted(table)
    position = {c: i for i, c in enumerate(counties)}
    found: dict[frozenset[int], str] = {}
    for code in counties:
        here = table[code]
        scale = np.cos(np.radians(here.latitude))  # degrees of longitude are shorter
        same = [c for c in counties if table[c].prefecture_code == here.prefecture_code]
        nearest = sorted(
            same,
            key=lambda c: (
                ((table[c].longitude - here.longitude) * scale) ** 2
                + (table[c].latitude - here.latitude) ** 2,
                c,
            ),
        )
        for k in range(1, min(max_counties, len(nearest)) + 1):
            found.setdefault(frozenset(position[c] for c in nearest[:k]), here.prefecture_code)
    clusters = sorted(found, key=lambda z: (len(z), sorted(z)))
    return counties, [tuple(sorted(z)) for z in clusters], [found[z] for z in clusters]


# --- the fitted baseline ------------------------------------------------------------------


@dataclass(frozen=True)
class ScanInputs:
    """What a fit reads: the counties' daily values of the base signals (rows signal x
    category x county, the whole calendar; NaN before the data start), the province-wide
    grid per category and signal with each row's place in it, each row's prefecture x
    category x signal (`group`) and the tested days (columns of the calendar)."""

    keys: pl.DataFrame
    values: np.ndarray
    pooled_keys: pl.DataFrame
    pooled: np.ndarray
    pooled_row: np.ndarray
    group: np.ndarray
    days: np.ndarray


@dataclass(frozen=True)
class ScanModel:
    """The fitted baseline of one run: rows are signal x category x county (in that order),
    columns the tested days from `tested_from`; expected[w] / variance[w] are the expected
    w-day sums ending on each day and their predictive variance (0 where no baseline)."""

    signals: tuple[str, ...]
    categories: list[str]
    counties: list[str]
    clusters: list[tuple[int, ...]]
    cluster_prefecture: list[str]
    tested_from: date
    expected: dict[int, np.ndarray]
    variance: dict[int, np.ndarray]
    daily_dispersion: np.ndarray  # variance / mean of a day's count around its expectation
    inputs: ScanInputs  # what it was fitted on (the calibration refits on null copies)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.signals), len(self.categories), len(self.counties)

    @property
    def prefectures(self) -> list[str]:
        return sorted(set(self.cluster_prefecture))

    @property
    def members(self) -> np.ndarray:
        """Clusters x the largest cluster's size: each cluster's county indices, -1 after them."""
        members = np.full((len(self.clusters), max(map(len, self.clusters))), -1)
        for i, z in enumerate(self.clusters):
            members[i, : len(z)] = z
        return members


def cluster_sums(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """values[..., county, day] summed over each cluster's counties (`ScanModel.members`), one
    county after the other in the cluster's order. Not a matrix product: its order of summing
    depends on the shape (how many days), so a day scanned on its own could differ in its last
    bits from the same day scanned among others, and the stored days of an earlier night
    (`ScanMemo`) must equal a recomputation bit for bit. The clusters of one size are summed
    together, counties first in memory (as fast as the matrix product at province scale)."""
    by_county = np.ascontiguousarray(np.moveaxis(values, -2, 0))
    total = np.empty((members.shape[0], *by_county.shape[1:]))
    size = (members >= 0).sum(axis=1)
    for n in np.unique(size):
        rows = np.nonzero(size == n)[0]
        summed = np.zeros((rows.size, *by_county.shape[1:]))
        for k in range(n):
            summed += by_county[members[rows, k]]
        total[rows] = summed
    return np.ascontiguousarray(np.moveaxis(total, 0, -2))


def _base_series(series: pl.DataFrame, counties: list[str], cfg: ScanConfig) -> pl.DataFrame:
    """The counties' rows of the scanned signals."""
    return series.filter(
        pl.col("region_code").is_in(counties) & pl.col("signal").is_in(list(cfg.signals))
    )


def _categories_in_reach(base: pl.DataFrame, tested_from: date, cfg: ScanConfig) -> list[str]:
    """The categories with an event in reach of a tested window (the others cannot alarm)."""
    reach = tested_from - timedelta(days=cfg.max_window_days)
    return sorted(
        base.filter((pl.col("day") >= reach) & (pl.col("value") != 0))["product_category"]
        .unique()
        .to_list()
    )


def fit_scan(
    series: pl.DataFrame,
    as_of: date,
    config: SurveillanceConfig,
    history_start: date | None,
    scan_from: date | None = None,
) -> tuple[ScanModel, np.ndarray] | None:
    """The fitted baseline of the tested days from `scan_from` (default: all of them) and the
    observed daily values of the counties' base signals for those days and the
    `max_window_days` before them, or None when no category had an event in reach of the
    tested days. A day's fit reads only the days up to it, so a later `scan_from` gives the
    same values for the days it keeps."""
    cfg = config.scan
    series, first_day, n_tested, tested_from, data_start = tested_window(
        series, as_of, config, history_start
    )
    counties, clusters, cluster_prefecture = county_clusters(cfg.max_cluster_counties)
    base = _base_series(series, counties, cfg)
    categories = _categories_in_reach(base, tested_from, cfg)
    if not categories:
        return None
    keys = pl.DataFrame(
        [(s, c, r) for s in cfg.signals for c in categories for r in counties],
        schema=["signal", "product_category", "region_code"],
        orient="row",
    ).select(["region_code", "product_category", "signal"])
    grid = _dense_grid(base, keys, first_day, as_of, data_start)
    pooled, pooled_row = pooled_grid(series, keys, first_day, as_of, data_start)
    table = regions()
    prefecture = {c: table[c].prefecture_code for c in counties}
    group = np.array([f"{prefecture[r]}|{c}|{s}" for r, c, s in keys.iter_rows()], dtype=object)
    if scan_from is not None:
        n_tested = min(n_tested, (as_of - scan_from).days + 1)
        tested_from = as_of - timedelta(days=n_tested - 1)
    days = np.arange(grid.values.shape[1] - n_tested, grid.values.shape[1])
    inputs = ScanInputs(keys, grid.values, pooled.keys, pooled.values, pooled_row, group, days)
    model = _fit(inputs, config, categories, counties, clusters, cluster_prefecture, tested_from)
    observed = np.where(np.isnan(grid.values), 0.0, grid.values)
    return model, observed[:, grid.values.shape[1] - n_tested - cfg.max_window_days :]


def _fit(
    inputs: ScanInputs,
    config: SurveillanceConfig,
    categories: list[str],
    counties: list[str],
    clusters: list[tuple[int, ...]],
    cluster_prefecture: list[str],
    tested_from: date,
) -> ScanModel:
    """The scan's expectations and variances of every window from the inputs."""
    cfg = config.scan
    keys, days = inputs.keys, inputs.days
    grid, pooled = _Grid(keys, inputs.values), _Grid(inputs.pooled_keys, inputs.pooled)
    fit = negbin_expectation(grid, pooled, inputs.pooled_row, days, config.negbin)
    level, daily_extra = fit.level, fit.overdispersion
    sparse = np.zeros(level.shape, dtype=bool)
    rel_var = np.zeros(level.shape)
    if cfg.sparse_max_events > 0:
        rate = sparse_expectation(
            grid,
            pooled,
            inputs.pooled_row,
            inputs.group,
            days,
            config.negbin,
            cfg.sparse_max_events,
            cfg.sparse_min_variance,
        )
        sparse, rel_var = rate.sparse, rate.rel_var
        level = np.where(sparse, rate.level, level)
        daily_extra = np.where(sparse, 1.0, daily_extra)
    windows = range(1, cfg.max_window_days + 1)
    every_window = replace(config.negbin, windows={s: tuple(windows) for s in cfg.signals})
    shares = _dow_shares(pooled, keys["signal"].to_numpy(), days, every_window)
    known = fit.known & ~np.isnan(level)
    expected, variance = {}, {}
    for w in windows:
        e = np.where(known, np.nan_to_num(level) * shares[w], 0.0)
        expected[w] = e
        # a sparse series is Poisson around its posterior mean, plus the posterior's spread
        dispersion = np.where(sparse, 1 + e * rel_var, np.nan_to_num(fit.dispersion(e), nan=1.0))
        variance[w] = np.where(known, e * dispersion, 0.0)
    return ScanModel(
        signals=tuple(cfg.signals),
        categories=categories,
        counties=counties,
        clusters=clusters,
        cluster_prefecture=cluster_prefecture,
        tested_from=tested_from,
        expected=expected,
        variance=variance,
        daily_dispersion=np.where(known, 1 + (daily_extra - 1) * expected[1] / fit.floored, 1.0),
        inputs=inputs,
    )


# --- the statistic ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanDays:
    """Per prefecture x category x tested day: the largest statistic over the prefecture's
    clusters and the windows, that cluster's index and window, and its sums per signal."""

    prefectures: list[str]
    statistic: np.ndarray  # prefectures x categories x days
    cluster: np.ndarray
    window: np.ndarray
    observed: np.ndarray  # signals x prefectures x categories x days
    expected: np.ndarray
    signal_llr: np.ndarray


def _poisson_llr(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """C log(C / E) - (C - E) where C > E > 0, else 0."""
    excess = (observed > expected) & (expected > 0)
    ratio = np.divide(observed, expected, out=np.ones(observed.shape), where=excess)
    return np.where(excess, observed * np.log(ratio) - (observed - expected), 0.0)


def scan_days(model: ScanModel, daily: np.ndarray, cfg: ScanConfig) -> ScanDays:
    """The scan over every cluster and window for each tested day.

    `daily` holds the observed daily values of the rows, for the `max_window_days` days before
    the first tested day and the tested days; a window reaching before that is not tested."""
    n_sig, n_cat, n_cty = model.shape
    pad = cfg.max_window_days
    n_days = daily.shape[1] - pad
    days = np.arange(pad, pad + n_days)
    prefectures = model.prefectures
    in_prefecture = np.array(
        [[p == q for q in model.cluster_prefecture] for p in prefectures], dtype=bool
    )
    n_clu = len(model.clusters)
    members = model.members
    best = np.zeros((n_cat, n_clu, n_days))
    best_w = np.zeros((n_cat, n_clu, n_days), dtype=int)
    best_c = np.zeros((n_sig, n_cat, n_clu, n_days))
    best_e = np.zeros((n_sig, n_cat, n_clu, n_days))
    best_llr = np.zeros((n_sig, n_cat, n_clu, n_days))
    # every w-day sum ending on a tested day is a difference of one cumulative sum
    cumulative = np.concatenate([np.zeros((daily.shape[0], 1)), np.cumsum(daily, axis=1)], 1)
    for w in range(1, pad + 1):
        sums = cumulative[:, days + 1] - cumulative[:, days + 1 - w]
        # observed, expected and variance of every cluster (sums over its counties)
        stacked = np.stack([sums, model.expected[w], model.variance[w]])
        c_z, e_z, v_z = cluster_sums(stacked.reshape(3, n_sig, n_cat, n_cty, n_days), members)
        events, expect = c_z.sum(axis=0), e_z.sum(axis=0)
        # the likelihood ratio only where a cluster-window may alarm (a small share of them)
        where = np.nonzero((events >= cfg.min_events) & (events >= cfg.min_ratio * expect))
        if not where[0].size:
            continue
        c, e, v = c_z[:, *where], e_z[:, *where], v_z[:, *where]
        phi = np.maximum(np.divide(v, e, out=np.ones(e.shape), where=e > 0), 1.0)
        llr = _poisson_llr(c, e) / phi
        total = llr.sum(axis=0)
        better = total > best[where]
        at = tuple(i[better] for i in where)
        best[at] = total[better]
        best_w[at] = w
        for kept, now in ((best_c, c), (best_e, e), (best_llr, llr)):
            kept[:, *at] = now[:, better]
    # the largest over each prefecture's clusters
    masked = np.where(in_prefecture[:, None, :, None], best[None], -1.0)
    top = masked.argmax(axis=2)  # prefectures x categories x days
    statistic = np.take_along_axis(masked, top[:, :, None, :], axis=2)[:, :, 0, :]

    cat_idx = np.arange(n_cat)[None, :, None]
    day_idx = np.arange(n_days)[None, None, :]

    def at_top(values: np.ndarray) -> np.ndarray:
        """values[..., category, cluster, day] at each prefecture's best cluster."""
        return values[..., cat_idx, top, day_idx]

    return ScanDays(
        prefectures=prefectures,
        statistic=np.maximum(statistic, 0.0),
        cluster=top,
        window=at_top(best_w),
        observed=at_top(best_c),
        expected=at_top(best_e),
        signal_llr=at_top(best_llr),
    )


def cell_bands(model: ScanModel, cfg: ScanConfig) -> np.ndarray:
    """The band of each prefecture x category (`band_edges`): by its expected events a day,
    all signals and counties, averaged over the tested days."""
    n_sig, n_cat, n_cty = model.shape
    daily = model.expected[1].reshape(n_sig, n_cat, n_cty, -1).sum(axis=0).mean(axis=-1)
    table = regions()
    located = np.array(
        [[table[c].prefecture_code == p for c in model.counties] for p in model.prefectures],
        dtype=float,
    )
    return np.digitize(located @ daily.T, cfg.band_edges)


def cell_thresholds(model: ScanModel, cfg: ScanConfig) -> np.ndarray:
    """The threshold of each prefecture x category: `threshold` x its band's factor."""
    factors = np.asarray(cfg.band_factors or (1.0,) * (len(cfg.band_edges) + 1))
    return cfg.threshold * factors[cell_bands(model, cfg)]


def _episodes(
    statistic: np.ndarray, config: SurveillanceConfig, thresholds: np.ndarray
) -> np.ndarray:
    """Alarm days (statistic >= the cell's threshold) that open an episode, per prefecture x
    category."""
    cfg = config.scan
    flat = statistic.reshape(-1, statistic.shape[-1])
    threshold = np.broadcast_to(thresholds, statistic.shape[:-1]).reshape(-1, 1)
    starts = _episode_starts(
        flat >= threshold,
        flat >= cfg.elevated_share * threshold,
        config.episode_gap_days,
        config.episode_memory_days,
    )
    return starts.reshape(statistic.shape)


# --- alerts -------------------------------------------------------------------------------


def detect_cluster_alerts(
    series: pl.DataFrame,
    as_of: date,
    config: SurveillanceConfig,
    history_start: date | None = None,
) -> pl.DataFrame:
    """The alerts export by the space-time scan: one row per cluster episode first raised in
    the look-back window, each day from values dated <= it.

    region_code is the county when the cluster is one county, else its prefecture; `counties`
    lists the cluster's counties; signal is the one base signal that moved, or `combined`
    when several did (`signals_moved`). observed / expected are the events of all signals
    in the cluster over the `window_days` days ending on alert_date and their expectation."""
    night = scan_night(series, as_of, config, history_start)
    return cluster_alerts(night, as_of, config)


def cluster_alerts(night: ScanMemo | None, as_of: date, config: SurveillanceConfig) -> pl.DataFrame:
    """The alerts of a night's scanned days (`scan_night`): one row per cluster episode first
    raised in the look-back window (`detect_cluster_alerts`)."""
    if night is None:
        return pl.DataFrame(schema=SCAN_ALERT_SCHEMA)
    cfg = config.scan
    scanned = night.scanned
    counties_of, clusters, _ = county_clusters(cfg.max_cluster_counties)
    signals = tuple(cfg.signals)
    thresholds = night.thresholds(cfg)
    starts = _episodes(scanned.statistic, config, thresholds)
    window_from = as_of - timedelta(days=config.lookback_days - 1)
    rows = []
    for p, c, t in zip(*np.nonzero(starts), strict=True):
        day = night.tested_from + timedelta(days=int(t))
        if day < window_from:
            continue
        cluster = clusters[scanned.cluster[p, c, t]]
        counties = [counties_of[i] for i in cluster]
        moved = [
            s for i, s in enumerate(signals) if scanned.signal_llr[i, p, c, t] >= cfg.moved_llr
        ] or [signals[int(scanned.signal_llr[:, p, c, t].argmax())]]
        region = counties[0] if len(counties) == 1 else scanned.prefectures[p]
        signal = moved[0] if len(moved) == 1 else "combined"
        stat = scanned.statistic[p, c, t] / thresholds[p, c]
        category = night.categories[c]
        rows.append(
            {
                "alert_id": alert_id(region, category, signal, day),
                "alert_date": day,
                "region_code": region,
                "product_category": category,
                "signal": signal,
                "observed": round(float(scanned.observed[:, p, c, t].sum()), 3),
                "expected": round(float(scanned.expected[:, p, c, t].sum()), 3),
                "severity": "high"
                if stat >= cfg.high_share
                else "medium"
                if stat >= cfg.medium_share
                else "low",
                "counties": ";".join(counties),
                "window_days": int(scanned.window[p, c, t]),
                "signals_moved": ";".join(moved),
            }
        )
    return pl.DataFrame(rows, schema=SCAN_ALERT_SCHEMA).sort(
        "alert_date", "region_code", "product_category", "signal"
    )


# --- the scanned days of a night, kept for the next ------------------------------------------

# Issue 22: a night scans only the days an earlier night's stored verdicts (`ScanMemo`) do not
# answer; off in the reference paths (`tests/test_pipeline.py::reference_paths`), where every
# night scans all its tested days.
REUSE_STORED_DAYS = True


@dataclass(frozen=True)
class ScanMemo:
    """The scan's verdict on every tested day of one night (`scanned`, its days from
    `tested_from`, its categories), with all a day's verdict depends on: the settings, the
    clusters and this code (`key`), the calendar's first day and first day with data, and a
    digest of each calendar day's series rows. A day's verdict reads the calendar's days up
    to it only, so another night may take it when those are unchanged."""

    key: str
    first_day: date
    data_start: date
    digests: dict[date, str]
    categories: list[str]
    tested_from: date
    scanned: ScanDays
    taken: int = 0  # first tested days taken from a stored night, not scanned (not stored)
    banded: np.ndarray | None = None  # prefectures x categories: thresholds of `band_edges`

    def thresholds(self, cfg: ScanConfig) -> np.ndarray:
        """Each prefecture x category's threshold: its band's (`cell_thresholds`, when bands
        are configured), else the one threshold."""
        if self.banded is not None:
            return self.banded
        return np.full(self.scanned.statistic.shape[:-1], cfg.threshold)


def _code_digest() -> str:
    """A SHA-256 of the code that computes a day's verdict (this module and its baseline's),
    as loaded."""
    import models.surges

    digest = hashlib.sha256()
    for module in (__file__, models.surges.__file__):
        digest.update(Path(str(module)).read_bytes())
    return digest.hexdigest()


CODE_DIGEST = _code_digest()


def memo_key(config: SurveillanceConfig) -> str:
    """What every scanned day depends on besides the series: the settings, the clusters (from
    regions.csv), the code of the scan and its baseline, and NumPy's version."""
    clusters = county_clusters(config.scan.max_cluster_counties)
    text = repr((config, clusters, np.__version__, CODE_DIGEST))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def day_digests(series: pl.DataFrame) -> dict[date, str]:
    """A SHA-256 of each day's rows of `series`: its keys and the bits of its value."""
    rows = (
        series.select(
            "day",
            pl.concat_str(
                [
                    *(pl.col(k).fill_null("") for k in SERIES_KEYS),
                    pl.col("value").cast(pl.Float64).reinterpret(signed=False).cast(pl.String),
                ],
                separator="\x1f",
            ).alias("row"),
        )
        .sort("day", "row")
        .group_by("day", maintain_order=True)
        .agg(pl.col("row").str.join("\x1e"))
    )
    return {day: hashlib.sha256(text.encode("utf-8")).hexdigest() for day, text in rows.iter_rows()}


def _reusable(stored: ScanMemo | None, night: ScanMemo, n_tested: int) -> tuple[int, list[int]]:
    """How many of the night's first tested days the stored night answers, and the stored
    rows of the night's categories (0 days when the key, the first day with data or the
    categories differ, or a day they read changed: a late delivery, a corrected row)."""
    if (
        stored is None
        or stored.key != night.key
        or stored.tested_from > night.tested_from
        or not set(night.categories) <= set(stored.categories)
        or max(stored.data_start, night.first_day) != max(night.data_start, night.first_day)
    ):
        return 0, []
    stored_last = stored.tested_from + timedelta(days=stored.scanned.statistic.shape[-1] - 1)
    n = max(0, min(n_tested, (stored_last - night.tested_from).days + 1))
    day = night.first_day
    last = night.tested_from + timedelta(days=n - 1)
    while day <= last:  # the first changed calendar day ends what may be taken
        if night.digests.get(day, "") != stored.digests.get(day, ""):
            n = max(0, (day - night.tested_from).days)
            break
        day += timedelta(days=1)
    return n, [stored.categories.index(c) for c in night.categories]


def _days(scanned: ScanDays, rows: list[int], start: int, stop: int) -> ScanDays:
    """The categories `rows` and the days start..stop-1 of `scanned`."""

    def cut(a: np.ndarray) -> np.ndarray:
        return a[..., rows, start:stop]

    return ScanDays(
        scanned.prefectures,
        *(cut(a) for a in (scanned.statistic, scanned.cluster, scanned.window)),
        *(cut(a) for a in (scanned.observed, scanned.expected, scanned.signal_llr)),
    )


def _joined(first: ScanDays, then: ScanDays) -> ScanDays:
    """The days of `first`, then those of `then` (same prefectures and categories)."""
    fields = ("statistic", "cluster", "window", "observed", "expected", "signal_llr")
    return ScanDays(
        first.prefectures,
        *(np.concatenate([getattr(first, f), getattr(then, f)], axis=-1) for f in fields),
    )


def scan_night(
    series: pl.DataFrame,
    as_of: date,
    config: SurveillanceConfig,
    history_start: date | None = None,
    stored: ScanMemo | None = None,
) -> ScanMemo | None:
    """The scan's verdict on every tested day of the night of `as_of` (None when no category
    had an event in reach): the days a `stored` night answers are taken from it
    (`REUSE_STORED_DAYS`), the others scanned."""
    windowed, first_day, n_tested, tested_from, data_start = tested_window(
        series, as_of, config, history_start
    )
    counties = county_clusters(config.scan.max_cluster_counties)[0]
    categories = _categories_in_reach(
        _base_series(windowed, counties, config.scan), tested_from, config.scan
    )
    if not categories:
        return None
    night = ScanMemo(
        key=memo_key(config),
        first_day=first_day,
        data_start=data_start,
        digests=day_digests(windowed),
        categories=categories,
        tested_from=tested_from,
        scanned=ScanDays([], *(np.zeros(0),) * 6),
    )
    # a band's threshold comes from the whole tested window's expectation: no day is taken
    banded = bool(config.scan.band_edges)
    n, rows = _reusable(stored if REUSE_STORED_DAYS and not banded else None, night, n_tested)
    scanned: ScanDays | None = None
    if n:
        assert stored is not None
        offset = (tested_from - stored.tested_from).days
        scanned = _days(stored.scanned, rows, offset, offset + n)
    if n < n_tested:
        scan_from = tested_from + timedelta(days=n)
        fitted = fit_scan(series, as_of, config, history_start, scan_from=scan_from)
        assert fitted is not None
        model, daily = fitted
        fresh = scan_days(model, daily, config.scan)
        scanned = fresh if scanned is None else _joined(scanned, fresh)
        if banded:
            night = replace(night, banded=cell_thresholds(model, config.scan))
    assert scanned is not None
    return replace(night, scanned=scanned, taken=n)


def detect(
    series: pl.DataFrame,
    as_of: date,
    config: SurveillanceConfig,
    method: str | None = None,
    history_start: date | None = None,
) -> pl.DataFrame:
    """The alerts export by `method` (default: the configured one): "scan", or one of the
    per-series detectors of `models.surges` ("negbin", "ears_c2") kept for comparison."""
    method = method or config.method
    if method == "scan":
        return detect_cluster_alerts(series, as_of, config, history_start)
    return detect_alerts(series, as_of, config, method, history_start)


def memo_tables(night: ScanMemo) -> dict[str, pl.DataFrame]:
    """The night's verdicts as the tables `transforms.scan_memo` stores: `scan_memo` (its key
    and calendar), `scan_memo_digests` (day, digest) and `scan_memo_days` (per prefecture,
    category and tested day: the statistic, the cluster and window that gave it, and per
    scanned signal, in the configured order, its observed, expected and log likelihood ratio)."""
    s = night.scanned
    n_sig, n_pre, n_cat, n_days = s.observed.shape
    p, c, d = (
        a.ravel() for a in np.meshgrid(*map(np.arange, (n_pre, n_cat, n_days)), indexing="ij")
    )

    def per_signal(values: np.ndarray) -> pl.Series:
        return pl.Series(np.moveaxis(values, 0, -1).reshape(-1, n_sig), dtype=pl.List(pl.Float64))

    days = pl.DataFrame(
        {
            "prefecture_code": np.array(s.prefectures, dtype=object)[p],
            "product_category": np.array(night.categories, dtype=object)[c],
            "day_index": d,
            "statistic": s.statistic.ravel(),
            "cluster": s.cluster.ravel(),
            "window_days": s.window.ravel(),
        },
        schema_overrides={"prefecture_code": pl.String, "product_category": pl.String},
    ).with_columns(
        day=pl.lit(night.tested_from) + pl.duration(days=pl.col("day_index")),
        observed=per_signal(s.observed),
        expected=per_signal(s.expected),
        signal_llr=per_signal(s.signal_llr),
    )
    meta = pl.DataFrame(
        {
            "key": [night.key],
            "first_day": [night.first_day],
            "data_start": [night.data_start],
            "tested_from": [night.tested_from],
            "tested_days": [n_days],
            "taken_days": [night.taken],  # how many were taken from the night before
            "categories": [night.categories],
        }
    )
    digests = pl.DataFrame(
        {"day": list(night.digests), "digest": list(night.digests.values())},
        schema={"day": pl.Date, "digest": pl.String},
    )
    return {
        "scan_memo": meta,
        "scan_memo_digests": digests,
        "scan_memo_days": days.drop("day_index"),
    }


def memo_from_tables(
    tables: dict[str, pl.DataFrame] | None, config: SurveillanceConfig
) -> ScanMemo | None:
    """The night `memo_tables` stored, or None when there is none or it was of other settings,
    clusters or code (its verdicts are then of no use)."""
    if tables is None or tables["scan_memo"].height != 1:
        return None
    meta = tables["scan_memo"].row(0, named=True)
    if meta["key"] != memo_key(config):
        return None
    prefectures = sorted(set(county_clusters(config.scan.max_cluster_counties)[2]))
    categories = list(meta["categories"])
    shape = (len(prefectures), len(categories), int(meta["tested_days"]))
    days = tables["scan_memo_days"].sort("prefecture_code", "product_category", "day")
    if (
        days.height != shape[0] * shape[1] * shape[2]
        or days["prefecture_code"].unique().sort().to_list() != prefectures
        or days["product_category"].unique().sort().to_list() != sorted(categories)
        or categories != sorted(categories)
    ):
        return None

    def grid(column: str) -> np.ndarray:
        return days[column].to_numpy().reshape(shape)

    def per_signal(column: str) -> np.ndarray:
        values = days[column].explode().to_numpy()
        return np.moveaxis(values.reshape(*shape, -1), -1, 0)

    scanned = ScanDays(
        prefectures,
        grid("statistic"),
        grid("cluster"),
        grid("window_days"),
        per_signal("observed"),
        per_signal("expected"),
        per_signal("signal_llr"),
    )
    digests = tables["scan_memo_digests"]
    return ScanMemo(
        key=meta["key"],
        first_day=meta["first_day"],
        data_start=meta["data_start"],
        digests=dict(zip(digests["day"].to_list(), digests["digest"].to_list(), strict=True)),
        categories=categories,
        tested_from=meta["tested_from"],
        scanned=scanned,
    )


def detect_nightly(
    series: pl.DataFrame,
    as_of: date,
    config: SurveillanceConfig,
    stored: dict[str, pl.DataFrame] | None,
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame] | None]:
    """`detect` for a nightly run: with the scan, the days an earlier night `stored`
    (`memo_tables`) answers are taken from it, not scanned again; returns the alerts and the
    tables of this night to store (None: none to store, as with a per-series method)."""
    if config.method != "scan":
        return detect(series, as_of, config), None
    night = scan_night(series, as_of, config, stored=memo_from_tables(stored, config))
    return cluster_alerts(night, as_of, config), None if night is None else memo_tables(night)


# --- calibration --------------------------------------------------------------------------


def null_rates(inputs: ScanInputs, min_variance: float, prior: float = 20.0) -> np.ndarray:
    """The daily rate of every row over the whole calendar under the null (no surge): the
    row's mean rate over its history, shrunk towards its prefecture x category x signal's by
    an empirical-Bayes gamma prior (`risk_prior`), times its category and signal's season
    (the province's 29-day centred mean over its mean) and its signal's weekday profile.
    NaN where the data is unknown."""
    values = inputs.values
    known = ~np.isnan(values)
    own = np.nansum(values, axis=1)
    n_days = np.maximum(known.sum(axis=1), 1)
    groups, index = np.unique(inputs.group, return_inverse=True)
    mean = np.bincount(index, own, groups.size) / np.bincount(index, None, groups.size)
    expected = mean[index]
    signals = inputs.keys["signal"].to_numpy()
    alpha = risk_prior(own, expected, signals, min_variance)
    rate = np.where(expected > 0, (own + alpha) / (expected + alpha) * expected, 0.0) / n_days
    pooled = inputs.pooled
    span = 29
    filled = np.concatenate([np.zeros((pooled.shape[0], 1)), np.nancumsum(pooled, axis=1)], 1)
    count = np.concatenate([np.zeros((pooled.shape[0], 1)), np.cumsum(~np.isnan(pooled), 1)], 1)
    hi = np.minimum(np.arange(pooled.shape[1]) + span // 2 + 1, pooled.shape[1])
    lo = np.maximum(np.arange(pooled.shape[1]) - span // 2, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # the season of a sparse category is mostly noise: shrunk by `prior` events
        usual = np.nanmean(pooled, axis=1, keepdims=True) * (count[:, hi] - count[:, lo])
        events = filled[:, hi] - filled[:, lo]
        season = np.nan_to_num((events + prior) / (usual + prior), nan=1.0)
    season = np.vstack([season, np.ones((1, pooled.shape[1]))])[inputs.pooled_row]
    weekday = np.arange(values.shape[1]) % 7
    profile = np.ones(values.shape)
    for signal in np.unique(signals):
        rows = signals == signal
        total = np.nansum(values[rows], axis=0)
        by_day = np.bincount(weekday, total, 7) / np.bincount(weekday, None, 7)
        if by_day.mean() > 0:
            profile[rows] = ((by_day + prior / 7) / (by_day.mean() + prior / 7))[weekday]
    return np.where(known, rate[:, None] * season * profile, np.nan)


def null_statistic(
    model: ScanModel, rates: np.ndarray, config: SurveillanceConfig, rng: np.random.Generator
) -> np.ndarray:
    """The scan's daily statistic on one null copy of the data: every row's whole history
    drawn as Poisson counts at `rates` (`null_rates`), the baseline fitted anew on it and the
    tested days scanned, so that the estimate's errors and biases (floors, the seasonal
    factor's clip at 1, overdispersion read from a few events) are in the null as they are
    in the data."""
    inputs = model.inputs
    known = ~np.isnan(rates)
    values = np.where(known, rng.poisson(np.nan_to_num(rates)), np.nan).astype(float)
    pooled = inputs.pooled.copy()
    covered = inputs.pooled_row < pooled.shape[0]
    drawn_rows = np.unique(inputs.pooled_row[covered])
    pooled[drawn_rows] = 0.0
    np.add.at(pooled, inputs.pooled_row[covered], np.nan_to_num(values[covered]))
    pooled[:, ~known.any(axis=0)] = np.nan
    null = replace(inputs, values=values, pooled=pooled)
    refit = _fit(
        null,
        config,
        model.categories,
        model.counties,
        model.clusters,
        model.cluster_prefecture,
        model.tested_from,
    )
    n_tested = inputs.days.size
    first = values.shape[1] - n_tested - config.scan.max_window_days
    return scan_days(refit, np.nan_to_num(values)[:, first:], config.scan).statistic


@dataclass(frozen=True)
class Calibration:
    threshold: float  # of all cells together (the reference of the bands' factors)
    episodes_per_year: float  # per prefecture x category, under the null, at the thresholds
    cell_years: float  # prefecture x category x years simulated
    band_thresholds: tuple[float, ...] = ()  # each band's own (the overall one where empty)
    band_rates: tuple[float, ...] = ()  # its false episodes a year under the null

    @property
    def band_factors(self) -> tuple[float, ...]:
        return tuple(round(t / self.threshold, 3) for t in self.band_thresholds)

    def applied(self, config: SurveillanceConfig) -> SurveillanceConfig:
        """The configuration with these thresholds."""
        scan = replace(config.scan, threshold=self.threshold, band_factors=self.band_factors)
        return replace(config, scan=scan)


def null_episode_rate(
    statistics: list[np.ndarray],
    thresholds: np.ndarray | float,
    config: SurveillanceConfig,
    cells: np.ndarray | None = None,
) -> float:
    """False alert episodes per prefecture x category x year at the cells' `thresholds`, over
    null replicates of the tested days (the first `episode_memory_days` left out, as in a
    run), of the `cells` (a prefecture x category mask; all by default)."""
    shape = statistics[0].shape[:-1]
    mask = np.ones(shape, dtype=bool) if cells is None else cells
    memory = config.episode_memory_days
    thresholds = np.broadcast_to(thresholds, shape)
    count = sum(int(_episodes(s, config, thresholds)[mask][:, memory:].sum()) for s in statistics)
    years = sum(int(mask.sum()) * (s.shape[-1] - memory) for s in statistics) / 365.0
    return count / years if years else 0.0


def _smallest(
    statistics: list[np.ndarray], config: SurveillanceConfig, target: float, cells: np.ndarray
) -> float:
    """The smallest threshold (to 0.05) whose rate over `cells` is at most `target`."""
    lo, hi = 0.5, 60.0
    while hi - lo > 0.05:
        mid = (lo + hi) / 2
        if null_episode_rate(statistics, mid, config, cells) <= target:
            hi = mid
        else:
            lo = mid
    return round(hi, 2)


def calibrate(
    model: ScanModel,
    config: SurveillanceConfig,
    recurrence_days: float,
    replicates: int,
    rng: np.random.Generator,
) -> Calibration:
    """The smallest thresholds (to 0.05) whose false alert episodes under the null come at
    most once per `recurrence_days` per prefecture x category, over all cells and in each
    band of expected count (`band_edges`): `replicates` null copies of the data
    (`null_rates`, `null_statistic`), each refitted as the detector fits the data.

    Before issue 20's eighth session the null drew only the tested days around the fitted
    expectation, taken as known: as that expectation errs upwards (the floor of sparse
    series, the seasonal factor's clip at 1, overdispersion read from a few events), the
    null was noisier than the data and the threshold several times too strict; and one
    threshold for all cells kept its promise only on average (on seed 7 the quietest third
    of prefecture x categories alarmed 0.13 times a year, the busiest 2.1)."""
    rates = null_rates(model.inputs, config.scan.sparse_min_variance)
    statistics = [null_statistic(model, rates, config, rng) for _ in range(replicates)]
    target = 365.0 / recurrence_days
    every = np.ones(statistics[0].shape[:-1], dtype=bool)
    threshold = _smallest(statistics, config, target, every)
    bands = cell_bands(model, config.scan)
    in_band = [bands == b for b in range(len(config.scan.band_edges) + 1)]
    band_thresholds = tuple(
        _smallest(statistics, config, target, cells) if cells.any() else threshold
        for cells in in_band
    )
    found = Calibration(threshold, 0.0, 0.0, band_thresholds)
    thresholds = cell_thresholds(model, found.applied(config).scan)
    memory = config.episode_memory_days
    years = sum(every.size * (s.shape[-1] - memory) for s in statistics) / 365.0
    return replace(
        found,
        episodes_per_year=null_episode_rate(statistics, thresholds, config),
        cell_years=years,
        band_rates=tuple(
            null_episode_rate(statistics, thresholds, config, cells) for cells in in_band
        ),
    )
