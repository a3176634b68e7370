"""The nightly pipeline's stages as plain functions over one warehouse connection.

Each takes the connection and its settings and returns a small summary; the Prefect
flow in `flows/nightly.py` only wraps and orders them, so tests call them directly.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from data_contracts.contract import contracts
from models.dispositions import apply_dispositions
from models.episodes import regional_episodes
from models.hotspots import rank_hotspots
from models.lead_history import follow_up_columns
from models.registry import find_model, model_entry
from models.scan import detect_nightly
from models.scoring import load_baseline_config, rank_leads
from models.surges import alert_trends, daily_series, load_config
from models.train import (
    ModelConfig,
    load_model_config,
    outcome_set,
    train_lead_model,
)
from transforms.alert_trends import record_alert_trends
from transforms.dispositions import (
    DispositionImport,
    disposition_quality,
    import_landing_dispositions,
    record_lead_regions,
)
from transforms.exports import data_quality, write_export
from transforms.features import TERM_FEATURES, ResolveAndBuildDays, build_entity_features
from transforms.ingest import IngestReport, ingest_landing, spooled_builder
from transforms.landing import LandingScan
from transforms.lead_history import record_history
from transforms.model_store import store_model
from transforms.quality import feed_freshness, snapshot_volume_warnings, stale_feed_messages
from transforms.resolve import refresh_normalized_names, resolve_entities
from transforms.runs import record_validations
from transforms.scan_memo import store_scan_memo, stored_scan_memo
from transforms.steward import supersede_corrected
from transforms.warehouse import materialize, replace_table

if TYPE_CHECKING:
    from data_contracts.expectations import FeedValidation


def ingest(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    run_id: str,
    spooled: dict[str, Path] | None = None,
) -> IngestReport:
    """Load what is new in the landing directory; close quarantined rows that were corrected.

    `spooled` maps file paths to batches built elsewhere (distributed workers); without it
    each file is read here.
    """
    build = spooled_builder(spooled) if spooled is not None else None
    report = ingest_landing(con, landing, run_id, build)
    supersede_corrected(con)
    snapshot_volume_warnings(con, run_id)
    return report


def import_dispositions(
    con: duckdb.DuckDBPyConnection, scan: LandingScan, as_of: dt.date
) -> list[DispositionImport]:
    """Import the returned team workbooks new in the landing's dispositions/ folder (a
    disposition dated after `as_of` is quarantined)."""
    return import_landing_dispositions(con, scan.dispositions, as_of)


def check_freshness(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[str]:
    """Warnings for feeds with no delivery for longer than usual (kept in ops.feed_freshness)."""
    return stale_feed_messages(feed_freshness(con, as_of))


# Great Expectations validates pandas frames: about 440 MB on top of every million typed rows,
# so a feed's rows are validated in batches of whole files up to this many rows (a province
# night is one batch per feed; a national cold load of ~10 M listing rows is ten).
MAX_GX_ROWS = 1_000_000


def gx_batches(frames: list[pl.DataFrame], max_rows: int = MAX_GX_ROWS) -> list[list[pl.DataFrame]]:
    """Consecutive files' frames grouped into batches of at most `max_rows` rows (a bigger
    file is a batch of its own)."""
    batches: list[list[pl.DataFrame]] = []
    rows = 0
    for frame in frames:
        if batches and rows + frame.height <= max_rows:
            batches[-1].append(frame)
            rows += frame.height
        else:
            batches.append([frame])
            rows = frame.height
    return batches


def _gx_label(batch: list[pl.DataFrame], batches: int) -> str:
    """What a validation result is of: the file, or how many files (and which, when a feed's
    rows took several batches)."""
    if len(batch) == 1:
        return _file_of(batch[0])
    if batches == 1:
        return f"{len(batch)} files"
    return f"{len(batch)} files, {_file_of(batch[0])} … {_file_of(batch[-1])}"


def _file_of(typed: pl.DataFrame) -> str:
    return str(typed["_file"][0]) if typed.height else ""


# Imported by the stages where used, each a second or more of CPU: Great Expectations (the
# validation and the exports' Data Docs; with SciPy, which the surge detectors use too) and
# Splink with pypinyin (name matching, in training and resolve).
BACKGROUND_IMPORTS = ("data_contracts.expectations", "scipy.stats", "splink", "pypinyin")


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def import_in_background(modules: tuple[str, ...] = BACKGROUND_IMPORTS) -> threading.Thread:
    """Start importing the stages' heavy modules in a thread, so that they load while the new
    files are read and loaded (DuckDB and Polars leave the interpreter free most of that
    time) instead of before the run or when a stage needs them; every run needs them. A
    stage that imports one meanwhile waits for that import. Started once per process."""
    global _importing
    if _importing is None:
        _importing = threading.Thread(
            target=_import_all, args=(modules,), name="imports", daemon=True
        )
        _importing.start()
    return _importing


_importing: threading.Thread | None = None


def validate_with_gx(
    con: duckdb.DuckDBPyConnection, report: IngestReport, run_id: str
) -> list[FeedValidation]:
    """Run each feed's Great Expectations suite on the rows loaded in this run; store the results.

    The rows read keep their file and in-file row number, and are validated in batches of
    whole files (`MAX_GX_ROWS`): the rules on the accepted rows, the contract's limit on the
    share quarantined on all of them (`FileBatch.gx_rows`). Each
    feed's typed rows leave the report once validated: the rest of the run does not need
    them, and at national scale they are gigabytes."""
    if not report.typed_rows:
        return []
    from data_contracts.expectations import gx_context, validate_typed

    context = gx_context()
    results: list[FeedValidation] = []
    for feed in sorted(report.typed_rows):
        batches = gx_batches(report.typed_rows.pop(feed), MAX_GX_ROWS)
        count = len(batches)
        while batches:
            batch = batches.pop(0)  # released once validated
            rows = pl.concat(batch, how="diagonal_relaxed")
            label = _gx_label(batch, count)
            del batch
            results.append(validate_typed(contracts()[feed], rows, context, label))
            del rows
    record_validations(con, run_id, results)
    return results


def resolve(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    """Link records into entities from records dated on or before the as-of date."""
    return resolve_entities(con, as_of)


def build_features(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    """Complaint and listing signals, then per-entity features and profiles."""
    return build_entity_features(con, as_of)


def train_model(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    force: bool = False,
    artifacts_dir: Path | None = None,
    config: ModelConfig | None = None,
) -> dict[str, object]:
    """Train the lead model on the outcomes closed by `as_of`, unless one exists for exactly
    those outcomes (or `force`); returns what happened. Leaves core/features tables as found,
    except core.normalized_names (and its cache), refreshed first as the resolve stage would."""
    outcomes = outcome_set(con, as_of)
    summary: dict[str, object] = {"outcomes": outcomes.count, "trained": False}
    existing = find_model(con, outcomes)
    if existing is not None and not force:
        return summary | {"version": existing.version, "reason": "up to date"}
    # Outside the rolled-back training transaction, so that the key names (the same on
    # every training day) are computed once and kept, not once per training day.
    refresh_normalized_names(con)
    trained = train_lead_model(con, as_of, ResolveAndBuildDays(models=TERM_FEATURES), config)
    if trained is None:
        return summary | {"version": None, "reason": "too few labelled outcomes"}
    store_model(con, model_entry(trained), artifacts_dir)
    return summary | {"trained": True, "version": trained.model.version} | trained.metrics


def score_leads(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """Rank the entities with recent risk signals (blended with the model trained on the
    outcomes known by `as_of`, if any), add the follow-up columns, and record the run in
    scores.lead_history; the list is kept in scores.entity_leads."""
    baseline = load_baseline_config()
    config = load_model_config()
    leads = rank_leads(
        con.sql("select * from features.entity_features").pl(),
        con.sql("select * from features.entity_profile").pl(),
        baseline,
        model=find_model(con, outcome_set(con, as_of), config),
        episodes=regional_episodes(con, as_of, baseline.episodes),
    )
    leads = follow_up_columns(con, as_of, leads, config.evidence_ids, config.status_lookback_days)
    leads = apply_dispositions(con, as_of, leads)
    record_history(con, as_of, leads)
    record_lead_regions(con, leads.select("lead_id", "region_code").to_arrow())
    replace_table(con, "scores.entity_leads", leads)
    return leads


def score_hotspots(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """Rank region × category pairs with activity in the last 90 days."""
    materialize(con, "features.hotspot_activity", "features/hotspot_activity.sql", {"as_of": as_of})
    hotspots = rank_hotspots(con.sql("select * from features.hotspot_activity").pl())
    replace_table(con, "scores.hotspots", hotspots)
    return hotspots


def detect_surges(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, lookback_days: int
) -> pl.DataFrame:
    """Alert episodes of the look-back window, as nightly runs on those days would have raised
    them. The scan's verdict on each tested day is stored (scores.scan_memo*) for the next
    night, which scans only the days it does not answer."""
    config = load_config().with_lookback(lookback_days)
    series = daily_series(con, as_of, config.history_days, config)
    alerts, scanned = detect_nightly(series, as_of, config, stored_scan_memo(con))
    if scanned is not None:
        store_scan_memo(con, scanned)
    replace_table(con, "scores.alerts", alerts)
    record_alert_trends(con, as_of, alert_trends(con, alerts, as_of, series, config.history_days))
    return alerts


def export_all(
    con: duckdb.DuckDBPyConnection,
    scan: LandingScan,
    out_dir: Path,
    leads: pl.DataFrame,
    hotspots: pl.DataFrame,
    alerts: pl.DataFrame,
    validations: list[FeedValidation],
) -> list[Path]:
    """Write the four exports of the spec for the as-of date, and the steward's Data Docs."""
    from data_contracts.expectations import build_data_docs

    # One Data Docs site for every night, beside the nights' folders.
    paths: list[Path] = [build_data_docs(validations, out_dir.parent / "data_docs", out_dir.name)]
    paths += write_export(leads, out_dir, "entity_leads")
    paths += write_export(hotspots, out_dir, "hotspots")
    paths += write_export(alerts, out_dir, "alerts")
    quality = pl.concat(
        [data_quality(con, scan), disposition_quality(con, scan)], how="vertical_relaxed"
    )
    paths += write_export(quality, out_dir, "data_quality")
    return paths
