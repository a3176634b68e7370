"""`radar serve`: the nightly pipeline and the weekly retrain as scheduled Prefect deployments.

Schedules need a real Prefect server (`make server`, then PREFECT_API_URL); the temporary
server that `radar run` starts refuses them.
"""

from __future__ import annotations

from typing import Any

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.automations import ensure_automations
from flows.limits import ensure_warehouse_limit
from flows.nightly import nightly
from flows.settings import Settings

NIGHTLY_DEPLOYMENT = "radar-nightly/nightly"


def nightly_parameters(settings: Settings) -> dict[str, Any]:
    """The nightly flow's parameters from Settings; as_of None means today in China time."""
    return {
        "landing": str(settings.landing),
        "warehouse": str(settings.warehouse),
        "out": str(settings.out),
        "as_of": None,
        "lookback_days": settings.lookback_days,
        "lock_wait_seconds": max(settings.lock_wait_seconds, 1800.0),
        "retention_days": settings.retention_days,
    }


ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The nightly run (default 02:00 Asia/Shanghai) and the weekly retrain, when it exists."""
    out: list[RunnerDeployment] = [
        nightly.to_deployment(  # type: ignore[list-item]  # sync call: never a coroutine
            name="nightly",
            schedule=Cron(settings.nightly_cron, timezone=settings.timezone),
            parameters=nightly_parameters(settings),
            description="假冒侵权预警 nightly run: ingest, validate, resolve, score, surges, exports",
            # A second nightly run waits as Scheduled (AwaitingConcurrencySlot) until the first
            # ends, instead of polling the file lock while shown Running.
            concurrency_limit=ONE_AT_A_TIME,
        )
    ]
    try:
        from flows.retrain import weekly_retrain
    except ImportError:  # the model's retrain flow is optional
        return out
    out.append(
        weekly_retrain.to_deployment(  # type: ignore[arg-type]  # sync call: never a coroutine
            name="weekly-retrain",
            schedule=Cron(settings.retrain_cron, timezone=settings.timezone),
            parameters={"warehouse": str(settings.warehouse)},
            concurrency_limit=ONE_AT_A_TIME,
        )
    )
    return out


class NoPrefectServer(RuntimeError):
    """No Prefect server to serve on; the message says how to start one, in one line."""


START_A_SERVER = (
    "start one with `make server`, then `make serve` "
    "(or set PREFECT_API_URL=http://127.0.0.1:4200/api)"
)


def check_prefect_server() -> None:
    """Raise NoPrefectServer unless PREFECT_API_URL names a server that answers. Without one,
    Prefect would serve on a temporary server, which has no scheduler: no run would start."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise NoPrefectServer(
            "radar serve needs a Prefect server (a temporary one has no scheduler): "
            + START_A_SERVER
        )
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise NoPrefectServer(
            f"no Prefect server answers at {url} ({type(problem).__name__}): {START_A_SERVER}"
        )


def serve_deployments(settings: Settings | None = None) -> None:
    """Register the deployments and run their scheduled (and triggered) runs until stopped."""
    check_prefect_server()
    settings = settings or Settings()
    served = deployments(settings)
    register_alerts(settings, served)
    serve(*served, pause_on_shutdown=False)


def register_alerts(settings: Settings, served: list[RunnerDeployment]) -> list[str]:
    """Apply the deployments (serve applies them again, by name: same ids), then create or
    update the warehouse's global concurrency limit and the nightly run's Automations.
    Returns the Automations' names (none without RADAR_ALERT_WEBHOOK_URL)."""
    ensure_warehouse_limit()
    [nightly_id] = [d.apply() for d in served if d.name == "nightly"]
    return [a.name for a in ensure_automations(settings, nightly_id)]  # type: ignore[arg-type]
