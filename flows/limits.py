"""The warehouse's global concurrency limit: one deployment run holds the warehouse at a time.

`radar serve` creates the limit (`ensure_warehouse_limit`); the nightly run and the retrain take
its slot when started by a deployment (`warehouse_slot`). Besides, each deployment has a
concurrency limit of 1 with the ENQUEUE strategy (`flows.serve`): a second run of the same
deployment waits as Scheduled (AwaitingConcurrencySlot) rather than starting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

WAREHOUSE_LIMIT = "radar-warehouse"


def ensure_warehouse_limit() -> None:
    """The global concurrency limit that lets one deployment run hold the warehouse at a time."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(WAREHOUSE_LIMIT, 1)


@contextmanager
def warehouse_slot() -> Iterator[None]:
    """Hold the warehouse's global concurrency slot during a deployment run (one that another
    deployment's run waits for, logged by Prefect); other runs only take the file lock."""
    from prefect.runtime import deployment

    if not deployment.id:
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(WAREHOUSE_LIMIT, occupy=1, strict=False):
        yield
