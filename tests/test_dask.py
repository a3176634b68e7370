"""Scale-out: files read and validated on a real dask.distributed cluster give the same exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_world.config import DEFAULT_AS_OF
from flows.nightly import nightly, with_task_runner

pytestmark = pytest.mark.slow


def test_dask_run_equals_local_run(
    prefect_harness: None, small_world: Path, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    landing = small_world / "landing"
    local = nightly(
        landing=landing,
        warehouse=tmp_path / "local.duckdb",
        as_of=DEFAULT_AS_OF,
        out=tmp_path / "local",
    )
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        flow = with_task_runner("dask", cluster.scheduler_address)
        remote = flow(
            landing=landing,
            warehouse=tmp_path / "dask.duckdb",
            as_of=DEFAULT_AS_OF,
            out=tmp_path / "dask",
            distributed=True,
        )
    assert remote.ingest.new_files == local.ingest.new_files > 0
    for name in ("entity_leads", "hotspots", "alerts", "data_quality"):
        assert (remote.out_dir / f"{name}.csv").read_bytes() == (
            local.out_dir / f"{name}.csv"
        ).read_bytes(), name
    assert not (tmp_path / "dask.duckdb.spool").exists() or not any(
        (tmp_path / "dask.duckdb.spool").iterdir()
    )
