"""What a report shows: the run's exports read back, cut to one team's area, and summed up.

The exports on disk are the contract with the teams, so reports read them rather than the
frames of the run. The warehouse is optional: it adds each alert's daily series (for the
trend charts, stored by the surge stage in scores.alert_trends) and the feeds' freshness
(ops.feed_freshness: which feed has gone quiet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.geography import prefecture_of_column
from data_contracts.personal import redact_personal
from models.surges import TREND_WINDOW
from reports.labels import PROVINCE
from transforms.warehouse import has_table

# Free text that reaches a report is redacted once more: a phone or ID number typed into a
# shop name or a file-level issue must not travel further.
FREE_TEXT = {
    "entity_leads": ("entity_name", "names", "reasons"),
    "hotspots": ("reasons",),
    "data_quality": ("issues", "file"),
}


@dataclass(frozen=True)
class Exports:
    """The four exports of one run, with typed columns."""

    leads: pl.DataFrame
    hotspots: pl.DataFrame
    alerts: pl.DataFrame
    data_quality: pl.DataFrame


def redact_free_text(frame: pl.DataFrame, export: str) -> pl.DataFrame:
    """The export with phone and ID numbers blanked out of its free-text columns."""
    for column in FREE_TEXT.get(export, ()):
        if column in frame.columns:
            frame = frame.with_columns(
                pl.col(column).cast(pl.String).map_elements(redact_personal, return_dtype=pl.String)
            )
    return frame


def _read_csv(run_dir: Path, name: str) -> pl.DataFrame:
    frame = pl.read_csv(run_dir / f"{name}.csv", infer_schema=False, encoding="utf8")
    return redact_free_text(frame, name)


def _as_flag(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    if frame.schema[column] == pl.Boolean:
        return frame.with_columns(pl.col(column).fill_null(False))
    text = pl.col(column).cast(pl.String).str.to_lowercase()
    return frame.with_columns(text.is_in(["true", "1"]).fill_null(False).alias(column))


def typed_leads(leads: pl.DataFrame) -> pl.DataFrame:
    """entity_leads with rank, score and flags typed (from the CSV's text or the run's frame)."""
    leads = leads.with_columns(
        pl.col("rank").cast(pl.Float64).cast(pl.Int64), pl.col("score").cast(pl.Float64)
    )
    leads = _as_flag(leads, "referral_review").with_columns(
        pl.when(pl.col(c).cast(pl.String) != "").then(pl.col(c).cast(pl.String)).alias(c)
        for c in ("uscc", "region_code", "handoff_region_code")
    )
    if "is_new" in leads.columns:
        leads = _as_flag(leads, "is_new")
    if "estimated_turnover_cny" in leads.columns:
        leads = leads.with_columns(pl.col("estimated_turnover_cny").cast(pl.Float64))
    return leads.sort("rank")


def typed_hotspots(hotspots: pl.DataFrame) -> pl.DataFrame:
    """The hotspots export typed; `observed`, `expected` and `relative_risk` (after the
    contract's columns, models/hotspots.py) are null when an export lacks them."""
    extra = [
        (pl.col(c) if c in hotspots.columns else pl.lit(None)).cast(pl.Float64).alias(c)
        for c in ("observed", "expected", "relative_risk")
    ]
    return hotspots.with_columns(
        pl.col("rank").cast(pl.Float64).cast(pl.Int64), pl.col("score").cast(pl.Float64), *extra
    ).sort("rank")


def typed_alerts(alerts: pl.DataFrame) -> pl.DataFrame:
    """The alerts export typed. The scan's (models/scan.py) has `counties` and
    `signals_moved` after the contract's columns; a per-series detector's gets
    `window_days` = 7, the unit of its observed and expected."""
    day = pl.col("alert_date")
    if alerts.schema["alert_date"] != pl.Date:
        day = day.cast(pl.String).str.to_date("%Y-%m-%d")
    window = pl.col("window_days") if "window_days" in alerts.columns else pl.lit(TREND_WINDOW)
    scan = [pl.col(c).cast(pl.String) for c in ("counties", "signals_moved") if c in alerts.columns]
    return alerts.with_columns(
        day.alias("alert_date"),
        pl.col("observed").cast(pl.Float64),
        pl.col("expected").cast(pl.Float64),
        window.cast(pl.Int64).alias("window_days"),
        *scan,
    )


def typed_quality(data_quality: pl.DataFrame) -> pl.DataFrame:
    counts = ["rows_read", "rows_accepted", "rows_quarantined"]
    return data_quality.with_columns(
        pl.col(counts).cast(pl.Float64).fill_null(0).cast(pl.Int64),
        pl.col("issues").cast(pl.String).fill_null(""),
    )


def read_exports(run_dir: Path) -> Exports:
    """The exports of OUT/<as-of>/ (the CSV files: text exactly as the teams receive it)."""
    return Exports(
        leads=typed_leads(_read_csv(run_dir, "entity_leads")),
        hotspots=typed_hotspots(_read_csv(run_dir, "hotspots")),
        alerts=typed_alerts(_read_csv(run_dir, "alerts")),
        data_quality=typed_quality(_read_csv(run_dir, "data_quality")),
    )


def scoped(exports: Exports, scope: str) -> Exports:
    """What one team may see: a prefecture's own leads, hotspots and alerts; all for the province.

    Leads without an in-province region only reach the province report. Data quality is about
    delivered files, not places, and is the same for everyone.
    """
    if scope == PROVINCE:
        return exports
    mine = prefecture_of_column("region_code") == scope
    return Exports(
        leads=exports.leads.filter(mine.fill_null(False)),
        hotspots=exports.hotspots.filter(mine.fill_null(False)),
        alerts=exports.alerts.filter(mine.fill_null(False)),
        data_quality=exports.data_quality,
    )


@dataclass(frozen=True)
class Summary:
    """The night in numbers for one report's area."""

    leads: int
    high_leads: int
    new_high_leads: int | None  # None when the exports do not say which leads are new
    medium_leads: int
    referrals: int
    handoffs: int
    alerts: int
    active_alerts: int
    high_alerts: int
    rising_hotspots: int
    rejected_files: int
    duplicate_files: int
    quarantined_rows: int
    files_with_findings: int
    stale_feeds: int


def summarize(
    part: Exports, as_of: dt.date, active_days: int, freshness: pl.DataFrame | None
) -> Summary:
    """Counts for the summary cards; an alert is active when raised in the last `active_days`."""
    leads, alerts, dq = part.leads, part.alerts, part.data_quality
    high = leads.filter(pl.col("risk_level") == "high")
    active_from = as_of - dt.timedelta(days=active_days - 1)
    return Summary(
        leads=leads.height,
        high_leads=high.height,
        new_high_leads=int(high["is_new"].sum()) if "is_new" in leads.columns else None,
        medium_leads=leads.filter(pl.col("risk_level") == "medium").height,
        referrals=int(leads["referral_review"].sum()),
        handoffs=leads.filter(pl.col("handoff_region_code").is_not_null()).height,
        alerts=alerts.height,
        active_alerts=alerts.filter(pl.col("alert_date") >= active_from).height,
        high_alerts=alerts.filter(pl.col("severity") == "high").height,
        rising_hotspots=part.hotspots.filter(pl.col("trend") == "rising").height,
        rejected_files=dq.filter(pl.col("status") == "rejected").height,
        duplicate_files=dq.filter(pl.col("status") == "duplicate").height,
        quarantined_rows=int(dq["rows_quarantined"].sum()),
        files_with_findings=dq.filter(
            (pl.col("status") == "loaded") & (pl.col("issues") != "")
        ).height,
        stale_feeds=0 if freshness is None else int(freshness["stale"].fill_null(False).sum()),
    )


def feed_freshness(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """The run's ops.feed_freshness (feed, last_delivery, usual_gap_days, days_since_delivery,
    deliveries, stale), written by the pipeline's freshness check; None when absent."""
    if not has_table(con, "ops", "feed_freshness"):
        return None
    return con.sql("select * from ops.feed_freshness order by feed").pl()
