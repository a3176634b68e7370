"""The nightly Prefect flow: ingest, resolve, score, detect surges, export.

The flow only composes tasks; each task opens the warehouse, runs one stage of
`flows/stages.py` and closes it again (the flow holds the database open meanwhile, so
these are cheap: see `transforms.warehouse.held_open`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from prefect import Flow, flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from data_contracts.batch import DeliveredFile, build_batch, spool_batch
from flows import stages
from flows.artifacts import publish_run_artifacts
from flows.limits import warehouse_slot
from flows.logs import send_pipeline_logs_to_prefect
from flows.notify import notify_failure
from flows.settings import Settings, today_in_china
from reports.build import build_reports
from reports.delivery import send_reports
from transforms.ingest import IngestReport, new_files
from transforms.privacy import apply_retention
from transforms.runs import finish_run, start_run
from transforms.warehouse import connect, held_open, warehouse_lock

if TYPE_CHECKING:
    from data_contracts.expectations import FeedValidation


@dataclass
class RunResult:
    """What a nightly run produced."""

    as_of: dt.date
    out_dir: Path
    exports: list[Path]
    leads: pl.DataFrame
    ingest: IngestReport


@task(cache_policy=NO_CACHE)
def new_files_task(warehouse: Path, landing: Path) -> list[DeliveredFile]:
    """The landing files not seen by an earlier run, in delivery order."""
    with connect(warehouse) as con:
        return new_files(con, landing)


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def build_batches_task(files: list[DeliveredFile], spool: Path) -> list[Path]:
    """Read, check and type a chunk of files on a worker; spool each as Parquet for the writer."""
    return [spool_batch(build_batch(f), spool) for f in files]


def chunks(files: list[DeliveredFile], size: int) -> list[list[DeliveredFile]]:
    """Consecutive chunks of at most `size` files (a task per chunk keeps Prefect's overhead low)."""
    return [files[i : i + size] for i in range(0, len(files), size)]


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def ingest_task(
    warehouse: Path, landing: Path, run_id: str, spooled: dict[str, Path] | None = None
) -> IngestReport:
    """Load new landing files into the warehouse (the single writer)."""
    with connect(warehouse) as con:
        report = stages.ingest(con, landing, run_id, spooled)
    # Each rejected file and each file outside the feed folders is a WARNING of its own,
    # logged by transforms.ingest (flows/logs.py brings it to this run's log).
    get_run_logger().info("ingested %d new files: %s", report.new_files, report.statuses)
    return report


@task(cache_policy=NO_CACHE)
def validate_task(warehouse: Path, report: IngestReport, run_id: str) -> list[FeedValidation]:
    """Great Expectations suites on the rows loaded in this run."""
    with connect(warehouse) as con:
        results = stages.validate_with_gx(con, report, run_id)
    failed = [f"{r.feed}: {len(r.failed)} expectations failed" for r in results if not r.success]
    get_run_logger().info("validated %d feeds; %s", len(results), "; ".join(failed) or "all passed")
    return results


@task(cache_policy=NO_CACHE)
def dispositions_task(warehouse: Path, report: IngestReport, as_of: dt.date) -> int:
    """Import the returned team workbooks new in the landing's dispositions/ folder."""
    with connect(warehouse) as con:
        imports = stages.import_dispositions(con, report.scan, as_of)
    logger = get_run_logger()
    for i in imports:
        logger.info(
            "dispositions %s: %s, %d rows accepted, %d quarantined %s",
            i.file,
            i.status,
            i.rows_accepted,
            i.rows_quarantined,
            i.issues,
        )
    return len(imports)


@task(cache_policy=NO_CACHE)
def retention_task(warehouse: Path, retention_days: int) -> int:
    """Purge complainant phones and complaint texts older than the retention period."""
    with connect(warehouse) as con:
        purged = apply_retention(con, today_in_china(), retention_days)
    if purged:
        get_run_logger().info("retention: purged phones and texts of %d complaints", purged)
    return purged


@task(cache_policy=NO_CACHE)
def freshness_task(warehouse: Path, as_of: dt.date) -> list[str]:
    """Warn about feeds that have gone quiet for longer than usual."""
    with connect(warehouse) as con:
        warnings = stages.check_freshness(con, as_of)
    for message in warnings:
        get_run_logger().warning("stale feed: %s", message)
    return warnings


@task(cache_policy=NO_CACHE)
def resolve_task(warehouse: Path, as_of: dt.date) -> int:
    """Resolve entities as of the run date."""
    with connect(warehouse) as con:
        return stages.resolve(con, as_of)


@task(cache_policy=NO_CACHE)
def features_task(warehouse: Path, as_of: dt.date) -> int:
    """Compute entity features as of the run date."""
    with connect(warehouse) as con:
        return stages.build_features(con, as_of)


@task(cache_policy=NO_CACHE)
def train_task(warehouse: Path, as_of: dt.date) -> dict[str, object]:
    """Train the lead model when no model exists for the outcomes closed by the run date."""
    with connect(warehouse) as con:
        summary = stages.train_model(con, as_of)
    get_run_logger().info(
        "lead model %s (%s)", summary.get("version"), summary.get("reason", "trained now")
    )
    return summary


@task(cache_policy=NO_CACHE)
def leads_task(warehouse: Path, as_of: dt.date) -> pl.DataFrame:
    """Score and rank the leads; record them in the lead history."""
    with connect(warehouse) as con:
        return stages.score_leads(con, as_of)


@task(cache_policy=NO_CACHE)
def hotspots_task(warehouse: Path, as_of: dt.date) -> pl.DataFrame:
    """Score region × category hotspots."""
    with connect(warehouse) as con:
        return stages.score_hotspots(con, as_of)


@task(cache_policy=NO_CACHE)
def alerts_task(warehouse: Path, as_of: dt.date, lookback_days: int) -> pl.DataFrame:
    """Detect surge episodes in the look-back window."""
    with connect(warehouse) as con:
        return stages.detect_surges(con, as_of, lookback_days)


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def export_task(
    warehouse: Path,
    report: IngestReport,
    out_dir: Path,
    leads: pl.DataFrame,
    hotspots: pl.DataFrame,
    alerts: pl.DataFrame,
    validations: list[FeedValidation],
) -> list[Path]:
    """Write the exports for the as-of date."""
    with connect(warehouse) as con:
        return stages.export_all(con, report.scan, out_dir, leads, hotspots, alerts, validations)


@task(cache_policy=NO_CACHE)
def record_run_task(
    warehouse: Path, run_id: str, as_of: dt.date, status: str, counts: dict[str, int]
) -> None:
    """Record the run's start (status running) or end in ops.runs."""
    with connect(warehouse) as con:
        if status == "running":
            start_run(con, run_id, as_of)
        else:
            finish_run(con, run_id, status, counts)


@task(cache_policy=NO_CACHE)
def reports_task(
    warehouse: Path, out_dir: Path, as_of: dt.date, leads: pl.DataFrame, alerts: pl.DataFrame
) -> list[Path]:
    """Each prefecture's and the province's HTML and Excel reports, and the Prefect artifacts."""
    with connect(warehouse) as con:
        paths = build_reports(out_dir, con, as_of)
    data_quality = pl.read_csv(out_dir / "data_quality.csv", infer_schema=False)
    publish_run_artifacts(leads, data_quality, alerts, as_of)
    return paths


@task(retries=2, retry_delay_seconds=[5, 30], cache_policy=NO_CACHE)
def mail_reports_task(out_dir: Path) -> int:
    """Mail each team its own report when a mail server and recipients are configured (read
    from Settings here, not passed in: a password never becomes a flow-run parameter)."""
    settings = Settings()
    folders = [p for p in (out_dir / "reports").iterdir() if p.is_dir()]
    sent = send_reports(folders, settings.smtp_recipients, settings.smtp_server())
    if sent:
        print(f"mailed {sent} team reports")  # the flow logs prints
    return sent


@flow(name="radar-nightly", log_prints=True, on_failure=[notify_failure])
def nightly(
    landing: Path,
    warehouse: Path,
    as_of: dt.date | None,
    out: Path,
    lookback_days: int = 90,
    lock_wait_seconds: float = 0.0,
    distributed: bool = False,
    retention_days: int = 3 * 365,
) -> RunResult:
    """Run the whole nightly pipeline once for `as_of` and write OUT/<as-of>/.

    The whole run holds the warehouse lock: a second run on the same warehouse waits
    `lock_wait_seconds`, then stops with a clear message, and never interleaves.
    With `distributed`, files are read and validated as tasks of the flow's task runner
    (e.g. Dask workers, see `with_task_runner`), which spool Parquet for the single writer.
    """
    send_pipeline_logs_to_prefect()
    if not landing.is_dir():  # fail at once: retrying cannot make it appear
        raise FileNotFoundError(f"landing directory not found: {landing}")
    run_id = uuid.uuid4().hex
    as_of = as_of or today_in_china()
    holder = f"the nightly run {flow_run.get_name()} as of {as_of}"
    with (
        warehouse_slot(),  # a deployment run: the warehouse's global concurrency limit
        warehouse_lock(warehouse, lock_wait_seconds, holder),
        held_open(warehouse),
    ):
        record_run_task(warehouse, run_id, as_of, "running", {})
        stages.import_in_background()
        try:
            result = _run_stages(
                landing, warehouse, as_of, out, lookback_days, run_id, distributed, retention_days
            )
        except BaseException:
            record_run_task(warehouse, run_id, as_of, "failed", {})
            raise
        counts = {
            "new_files": result.ingest.new_files,
            "leads": result.leads.height,
            **{f"files_{k}": v for k, v in result.ingest.statuses.items()},
        }
        record_run_task(warehouse, run_id, as_of, "succeeded", counts)
    return result


def _run_stages(
    landing: Path,
    warehouse: Path,
    as_of: dt.date,
    out: Path,
    lookback_days: int,
    run_id: str,
    distributed: bool,
    retention_days: int,
) -> RunResult:
    spooled = None
    if distributed:
        spool = Path(f"{warehouse}.spool") / run_id
        files = new_files_task(warehouse, landing)
        parts = build_batches_task.map(chunks(files, 16), unmapped(spool)).result()
        paths = [p for part in parts for p in part]
        spooled = {f.rel: p for f, p in zip(files, paths, strict=True)}
    report = ingest_task(warehouse, landing, run_id, spooled)
    if distributed:
        shutil.rmtree(Path(f"{warehouse}.spool") / run_id, ignore_errors=True)
    validations = validate_task(warehouse, report, run_id)
    retention_task(warehouse, retention_days)  # also what this run loaded, before it is used
    freshness_task(warehouse, as_of)
    dispositions_task(warehouse, report, as_of)
    train_task(warehouse, as_of)
    resolve_task(warehouse, as_of)
    features_task(warehouse, as_of)
    leads = leads_task(warehouse, as_of)
    hotspots = hotspots_task(warehouse, as_of)
    alerts = alerts_task(warehouse, as_of, lookback_days)
    out_dir = out / as_of.isoformat()
    exports = export_task(warehouse, report, out_dir, leads, hotspots, alerts, validations)
    exports += reports_task(warehouse, out_dir, as_of, leads, alerts)
    mail_reports_task(out_dir)
    return RunResult(as_of, out_dir, exports, leads, report)


def with_task_runner(runner: str, dask_address: str | None = None) -> Flow[..., RunResult]:
    """The nightly flow on the chosen task runner: `local` (threads) or `dask` (a
    dask.distributed cluster at `dask_address`, or a temporary local one)."""
    if runner == "local":
        return nightly
    if runner != "dask":
        raise ValueError(f"unknown task runner {runner!r}: use local or dask")
    from prefect_dask import DaskTaskRunner

    # prefect-dask's runner yields its own future type, which Flow's annotation does not name.
    runner_ = DaskTaskRunner(address=dask_address)
    return nightly.with_options(task_runner=runner_)  # type: ignore[arg-type]
