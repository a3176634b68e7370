"""`radar serve` registers the scheduled deployments on a real local Prefect server, and a
triggered run completes. (Prefect's temporary server refuses schedules, so the test starts one.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"timed out waiting for {what}")


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prefect_server")
    port = free_port()
    prefect = str(Path(sys.executable).parent / "prefect")
    proc = start(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        base_env(home),
        home / "server.log",
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(
            lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200,
            180,
            "the Prefect server",
        )
        yield api
    finally:
        stop(proc)


def test_serve_registers_schedules_and_a_triggered_run_completes(
    prefect_server: str, small_world: Path, tmp_path: Path
) -> None:
    env = base_env(tmp_path / "home") | {
        "PREFECT_API_URL": prefect_server,
        "RADAR_LANDING": str(small_world / "landing"),
        "RADAR_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "RADAR_OUT": str(tmp_path / "out"),
    }
    serving = start([sys.executable, "-m", "flows.cli", "serve"], env, tmp_path / "serve.log")
    try:
        api = httpx.Client(base_url=prefect_server, timeout=10)
        deployment = wait_for(
            lambda: api.get("/deployments/name/radar-nightly/nightly").raise_for_status().json(),
            120,
            "the nightly deployment",
        )
        schedule = deployment["schedules"][0]["schedule"]
        assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Asia/Shanghai")
        assert deployment["parameters"]["landing"] == str(small_world / "landing")
        # A loaded server may answer 503 (its database busy) for a moment: ask again.
        run = wait_for(
            lambda: (
                api.post(
                    f"/deployments/{deployment['id']}/create_flow_run",
                    json={"parameters": {"as_of": "2026-06-30"}},
                )
                .raise_for_status()
                .json()
            ),
            60,
            "the triggered run to be created",
        )

        def finished() -> str | None:
            state = api.get(f"/flow_runs/{run['id']}").raise_for_status().json()["state"]["type"]
            return state if state in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

        assert wait_for(finished, 300, "the triggered run") == "COMPLETED", (
            tmp_path / "serve.log"
        ).read_text()[-3000:]
        assert (tmp_path / "out" / "2026-06-30" / "entity_leads.csv").exists()
    finally:
        stop(serving)
