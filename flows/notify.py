"""Announce a failed run: a JSON POST to a webhook and/or an e-mail, both from Settings."""

from __future__ import annotations

import json
import urllib.request
from email.message import EmailMessage
from typing import Any

from flows.settings import Settings
from reports.delivery import smtp_connection


def failure_message(
    flow_name: str, run_name: str, parameters: dict[str, Any], error: str
) -> dict[str, str]:
    """What a failure notification says (no personal data: parameters are paths and dates)."""
    return {
        "text": f"Counterfeit Radar 运行失败 run failed: {flow_name} / {run_name}",
        "flow": flow_name,
        "run": run_name,
        "as_of": str(parameters.get("as_of") or ""),
        "error": error[:2000],
    }


def send_notification(
    message: dict[str, str], settings: Settings, webhook: bool = True
) -> list[str]:
    """Send to every configured channel (the webhook only if `webhook`); returns those used."""
    used = []
    if webhook and settings.alert_webhook_url:
        request = urllib.request.Request(
            settings.alert_webhook_url,
            data=json.dumps(message, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            used.append("webhook")
    server = settings.smtp_server()
    if settings.alert_email_to and server is not None:
        mail = EmailMessage()
        mail["Subject"] = message["text"]
        mail["From"] = server.sender
        mail["To"] = settings.alert_email_to
        mail.set_content(json.dumps(message, ensure_ascii=False, indent=2))
        with smtp_connection(server) as smtp:
            smtp.send_message(mail)
        used.append("email")
    return used


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect on_failure hook of the nightly flow, for what no Automation sees: a run not
    started by a deployment (`radar run`, `radar backfill`, often on Prefect's temporary
    server) goes to the webhook and e-mail; a deployment run only to e-mail, as the server's
    Automations (`flows.automations`, created by `radar serve`) post its failure, crash or
    lateness to the webhook even when this process died."""
    error = str(state.message or "")
    try:
        state.result(raise_on_failure=True)
    except Exception as exc:  # the exception that failed the run
        error = f"{type(exc).__name__}: {exc}"
    message = failure_message(flow.name, flow_run.name, dict(flow_run.parameters or {}), error)
    send_notification(message, Settings(), webhook=flow_run.deployment_id is None)
