"""`radar serve` refuses to start without a Prefect server, registers the scheduled deployments
on a real local one, and the schedule's run completes. (Prefect's temporary server has no
scheduler, so the test starts `prefect server start` on a free loopback port.)"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


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


def test_serve_refuses_to_start_without_a_prefect_server(tmp_path: Path) -> None:
    """Prefect would serve on a temporary server, which has no scheduler: nothing would run."""
    unset = base_env(tmp_path / "home")
    nobody = unset | {"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    for env, first_words in [
        (unset, "error: radar serve needs a Prefect server"),
        (nobody, f"error: no Prefect server answers at {nobody['PREFECT_API_URL']}"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "serve"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(first_words) and done.stderr.count("\n") == 1, done.stderr
        assert "start one with `make server`" in done.stderr
        assert "serving" not in done.stdout.lower()


def test_the_deployments_run_nightly_at_two_and_weekly_in_china_time() -> None:
    from flows.serve import deployments
    from flows.settings import Settings

    nightly, retrain = deployments(Settings())
    schedules = [(d.name, d.schedules[0].schedule) for d in (nightly, retrain)]
    assert [(name, s.cron, s.timezone) for name, s in schedules] == [  # type: ignore[union-attr]
        ("nightly", "0 2 * * *", "Asia/Shanghai"),
        ("weekly-retrain", "0 4 * * 1", "Asia/Shanghai"),
    ]


def cron_a_minute_away() -> str:
    """A daily cron (China time) for the next minute at least 20 s away: the serving process
    must be polling before it comes."""
    from zoneinfo import ZoneInfo

    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    at = (now + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)
    return f"{at.minute} {at.hour} * * *"


def test_serve_registers_the_schedule_and_the_scheduled_run_completes(
    prefect_server: str, small_world: Path, tmp_path: Path
) -> None:
    cron = cron_a_minute_away()
    env = base_env(tmp_path / "home") | {
        "PREFECT_API_URL": prefect_server,
        "RADAR_LANDING": str(small_world / "landing"),
        "RADAR_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "RADAR_OUT": str(tmp_path / "out"),
        "RADAR_NIGHTLY_CRON": cron,
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
        assert (schedule["cron"], schedule["timezone"]) == (cron, "Asia/Shanghai")
        assert deployment["parameters"]["landing"] == str(small_world / "landing")

        def scheduled_run_finished() -> dict[str, Any] | None:
            # A loaded server may answer 503 (its database busy) for a moment: ask again.
            runs = (
                api.post(
                    "/flow_runs/filter",
                    json={"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}},
                )
                .raise_for_status()
                .json()
            )
            done = [r for r in runs if r["state"]["type"] in FINAL]
            return done[0] if done else None

        run = wait_for(scheduled_run_finished, 120 + 300, "the scheduled run")
        assert run["state"]["type"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
        assert run["auto_scheduled"] and run["expected_start_time"]
        assert list((tmp_path / "out").glob("*/entity_leads.csv"))
    finally:
        stop(serving)


def wait_until_registered(api: httpx.Client, hook: str) -> dict[str, Any]:
    """The nightly deployment once the serving process has registered it and saved the alert
    block with this test's webhook (it applies the deployments first, then the block, then
    the Automations, which point at the block): a run created earlier would get an earlier
    test's parameters."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    slug = CustomWebhookNotificationBlock.get_block_type_slug()
    wait_for(
        lambda: (
            api.get(f"/block_types/slug/{slug}/block_documents/name/radar-alert-webhook")
            .json()
            .get("data", {})
            .get("url")
            == hook
        ),
        180,
        "the alert block with this test's webhook",
    )
    return dict(api.get("/deployments/name/radar-nightly/nightly").raise_for_status().json())


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on loopback: keeps every JSON body POSTed to it."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        Receiver.received.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_serve_creates_the_automations_once_and_a_failed_run_is_announced(
    prefect_server: str, tmp_path: Path
) -> None:
    """Serving twice leaves one of each Automation and the warehouse's concurrency limit; a
    nightly deployment run that fails (its landing directory is missing) reaches a local
    webhook through the Automation's notification block, with no state message in it."""
    Receiver.received = []
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    env = base_env(tmp_path / "home") | {
        "PREFECT_API_URL": prefect_server,
        "RADAR_LANDING": str(tmp_path / "no-landing"),
        "RADAR_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "RADAR_OUT": str(tmp_path / "out"),
        "RADAR_ALERT_WEBHOOK_URL": hook,
    }
    api = httpx.Client(base_url=prefect_server, timeout=10)
    register = (
        "from flows.serve import deployments, register_alerts; from flows.settings import "
        "Settings; s = Settings(); print(register_alerts(s, deployments(s)))"
    )
    # Once as a first serve would, then the serving process does it again.
    subprocess.run([sys.executable, "-c", register], env=env, cwd=ROOT, check=True, timeout=180)
    serving = start([sys.executable, "-m", "flows.cli", "serve"], env, tmp_path / "serve.log")
    try:
        time.sleep(5)  # let the serving process start (the block already has this webhook)
        deployment = wait_until_registered(api, hook)
        time.sleep(5)  # the Automations are updated after the block
        assert deployment["parameters"]["landing"] == str(tmp_path / "no-landing")
        assert deployment["global_concurrency_limit"]["limit"] == 1
        assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE"
        time.sleep(5)  # the serving process registers the Automations before it serves
        automations = api.post("/automations/filter", json={}).raise_for_status().json()
        names = sorted(a["name"] for a in automations)
        assert names == sorted(
            [
                "radar-nightly-failed-or-crashed",
                "radar-nightly-late",
                "radar-nightly-not-completed-by-deadline",
            ]
        ), names
        limit = api.get("/v2/concurrency_limits/radar-warehouse").raise_for_status().json()
        assert limit["limit"] == 1

        api.post(f"/deployments/{deployment['id']}/create_flow_run", json={}).raise_for_status()
        wait_for(lambda: Receiver.received, 240, "the Automation's webhook notification")
        [message] = Receiver.received[:1]
        assert "failed or crashed" in message["subject"], message
        assert "radar-nightly" in message["body"] and "Failed" in message["body"], message
        assert "landing directory not found" not in json.dumps(message)  # no state message
    finally:
        stop(serving)
        receiver.shutdown()


def processes_of_flow_run(run_id: str) -> list[int]:
    """The processes whose environment names this flow run (the runner's child for it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"PREFECT__FLOW_RUN_ID={run_id}".encode() in environ.split(b"\0"):
            found.append(int(proc.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the run by /proc")
def test_a_killed_nightly_run_is_announced_as_crashed(
    prefect_server: str, small_world: Path, tmp_path: Path
) -> None:
    """A nightly run killed while it waits for the warehouse (as an out-of-memory kill would)
    cannot report itself: the server's Automation announces the crash."""
    from transforms.warehouse import warehouse_lock

    Receiver.received = []
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    warehouse = tmp_path / "warehouse.duckdb"
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    env = base_env(tmp_path / "home") | {
        "PREFECT_API_URL": prefect_server,
        "RADAR_LANDING": str(small_world / "landing"),
        "RADAR_WAREHOUSE": str(warehouse),
        "RADAR_OUT": str(tmp_path / "out"),
        "RADAR_ALERT_WEBHOOK_URL": hook,
    }
    api = httpx.Client(base_url=prefect_server, timeout=10)
    serving = start([sys.executable, "-m", "flows.cli", "serve"], env, tmp_path / "serve.log")
    try:
        with warehouse_lock(warehouse, 0, "the crash test"):
            deployment = wait_until_registered(api, hook)
            time.sleep(5)  # the Automations are updated after the block
            assert deployment["parameters"]["landing"] == str(small_world / "landing")
            run = (
                api.post(f"/deployments/{deployment['id']}/create_flow_run", json={})
                .raise_for_status()
                .json()
            )
            pids = wait_for(lambda: processes_of_flow_run(run["id"]), 180, "the run's process")
            wait_for(
                lambda: (
                    api.get(f"/flow_runs/{run['id']}").raise_for_status().json()["state"]["type"]
                    == "RUNNING"
                ),
                120,
                "the run to start",
            )
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            wait_for(lambda: Receiver.received, 240, "the Automation's webhook notification")
        [message] = Receiver.received[:1]
        assert "failed or crashed" in message["subject"], message
        assert "Crashed" in message["body"] and run["name"] in message["body"], message
    finally:
        stop(serving)
        receiver.shutdown()
