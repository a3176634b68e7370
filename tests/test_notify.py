"""A failed nightly run is announced to the webhook (and e-mail) configured in Settings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from demo_world.config import DEFAULT_AS_OF
from flows.nightly import nightly
from flows.notify import failure_message, send_notification
from flows.settings import Settings
from tests.smtp_inbox import smtp_inbox

received: list[dict[str, str]] = []


class Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers["Content-Length"])
        received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    monkeypatch.setenv("RADAR_ALERT_WEBHOOK_URL", url)
    received.clear()
    yield url
    server.shutdown()


def test_failed_run_posts_to_the_webhook(
    prefect_harness: None, webhook: str, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        nightly(
            landing=tmp_path / "missing",
            warehouse=tmp_path / "w.duckdb",
            as_of=DEFAULT_AS_OF,
            out=tmp_path,
        )
    assert len(received) == 1
    message = received[0]
    assert message["flow"] == "radar-nightly" and message["as_of"] == DEFAULT_AS_OF.isoformat()
    assert "landing directory not found" in message["error"]


def test_a_failure_is_mailed_through_the_same_smtp_settings_as_the_reports() -> None:
    message = failure_message("radar-nightly", "run-1", {"as_of": "2026-06-30"}, "Boom")
    with smtp_inbox() as inbox:
        settings = Settings(
            smtp_host="127.0.0.1", smtp_port=inbox.port, alert_email_to="duty@example.cn"
        )
        assert send_notification(message, settings) == ["email"]
    [(to, mail)] = inbox.received
    assert to == ["duty@example.cn"] and mail["From"] == settings.smtp_sender
    assert json.loads(mail.get_payload())["error"] == "Boom"


def test_nothing_is_mailed_without_a_host() -> None:
    message = failure_message("radar-nightly", "run-1", {}, "Boom")
    assert send_notification(message, Settings(alert_email_to="duty@example.cn")) == []
