"""The weekly retrain Prefect flow: train the lead model again on everything delivered so far.

The nightly run already trains when new outcomes arrive; the weekly retrain also picks up
late or corrected records of earlier days that change the features the cases were seen with.
Serve it on its schedule with `python -m flows.retrain` (Mondays 04:00 in Settings.timezone).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import stages
from flows.limits import warehouse_slot
from flows.logs import send_pipeline_logs_to_prefect
from flows.settings import Settings, today_in_china
from transforms.warehouse import connect, warehouse_lock

RETRAIN_CRON = "0 4 * * 1"  # Mondays 04:00, after the nightly run


@task(cache_policy=NO_CACHE)
def retrain_task(warehouse: Path, as_of: dt.date, artifacts_dir: Path | None) -> dict[str, object]:
    """Train the lead model on the outcomes closed by `as_of`, even if one exists."""
    con = connect(warehouse)
    try:
        summary = stages.train_model(con, as_of, force=True, artifacts_dir=artifacts_dir)
    finally:
        con.close()
    get_run_logger().info("lead model %s: %s", summary.get("version"), summary)
    return summary


@flow(name="radar-weekly-retrain", log_prints=True)
def weekly_retrain(
    warehouse: Path,
    as_of: dt.date | None = None,
    artifacts_dir: Path | None = None,
    lock_wait_seconds: float = 600.0,
) -> dict[str, object]:
    """Retrain the lead model once, holding the warehouse lock (waits for a nightly run)."""
    send_pipeline_logs_to_prefect()
    with warehouse_slot(), warehouse_lock(warehouse, lock_wait_seconds, "the lead model's retrain"):
        return retrain_task(warehouse, as_of or today_in_china(), artifacts_dir)


def serve() -> None:
    """Run the weekly retrain on its schedule (a long-running Prefect serve process)."""
    from prefect.schedules import Cron

    settings = Settings()
    weekly_retrain.serve(
        name="weekly-retrain",
        schedule=Cron(RETRAIN_CRON, timezone=settings.timezone),
        parameters={"warehouse": str(settings.warehouse)},
    )


if __name__ == "__main__":
    serve()
