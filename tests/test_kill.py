"""A run killed mid-way leaves the warehouse consistent; the next run gives the same exports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from demo_world.config import DEFAULT_AS_OF
from flows.nightly import nightly

pytestmark = pytest.mark.slow
EXPORTS = ("entity_leads", "hotspots", "alerts", "data_quality")


def written_bytes(warehouse: Path) -> int:
    files = (warehouse, Path(f"{warehouse}.wal"))
    return sum(f.stat().st_size for f in files if f.exists())


def _lines_of(proc: subprocess.Popen[str]) -> list[str]:
    """The lines the process writes, collected as they come by a thread of their own."""
    lines: list[str] = []
    assert proc.stdout is not None
    stream = proc.stdout
    threading.Thread(target=lambda: lines.extend(stream), daemon=True).start()
    return lines


def test_killed_run_then_rerun_equals_uninterrupted(
    prefect_harness: None, small_world: Path, tmp_path: Path
) -> None:
    landing = small_world / "landing"
    clean = nightly(
        landing=landing,
        warehouse=tmp_path / "clean.duckdb",
        as_of=DEFAULT_AS_OF,
        out=tmp_path / "clean",
    )

    warehouse = tmp_path / "killed.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect_home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    command = [
        sys.executable,
        "-m",
        "flows.cli",
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--as-of",
        DEFAULT_AS_OF.isoformat(),
        "--out",
        str(tmp_path / "killed"),
    ]
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    output = _lines_of(proc)
    deadline = time.monotonic() + 120
    try:
        while not any("Beginning flow run" in line for line in output):
            # The run's own temporary server holds its output open: a run that ended before
            # its flow began would otherwise leave the loop waiting for a line forever.
            if proc.poll() is not None:
                pytest.fail("the run ended before its flow began:\n" + "".join(output[-20:]))
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        while written_bytes(warehouse) < 2_000_000 and time.monotonic() < deadline:
            time.sleep(0.02)  # kill once the first files' rows are being written
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its server
        proc.wait(timeout=30)

    con = duckdb.connect(str(warehouse))
    loaded = con.execute("select count(*) from ops.manifest").fetchall()[0][0]
    statuses = [r[0] for r in con.execute("select status from ops.runs").fetchall()]
    con.close()
    assert statuses == ["running"], "the killed run never finished"
    assert 0 < loaded <= clean.ingest.new_files

    again = nightly(
        landing=landing, warehouse=warehouse, as_of=DEFAULT_AS_OF, out=tmp_path / "killed"
    )
    for name in EXPORTS:
        assert (again.out_dir / f"{name}.csv").read_bytes() == (
            clean.out_dir / f"{name}.csv"
        ).read_bytes(), name
    con = duckdb.connect(str(warehouse), read_only=True)
    statuses = [
        r[0] for r in con.execute("select status from ops.runs order by started_at").fetchall()
    ]
    con.close()
    assert statuses == ["interrupted", "succeeded"]
