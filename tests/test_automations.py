"""The Automations, notification block and concurrency limits `radar serve` sets up, as built
(no server; `tests/test_serve.py` creates them on a real one and sees a notification arrive)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from flows.automations import (
    AUTOMATION_NAMES,
    BODY,
    FAILED,
    LATE,
    NOT_DONE,
    automations,
    deadline_window,
    webhook_block,
)
from flows.limits import WAREHOUSE_LIMIT, warehouse_slot
from flows.settings import Settings, SettingsError, load_settings


def test_no_webhook_no_block() -> None:
    assert webhook_block(Settings(alert_webhook_url=None)) is None


def test_the_block_posts_json_to_the_configured_webhook() -> None:
    block = webhook_block(Settings(alert_webhook_url="http://127.0.0.1:9/hook"))
    assert block is not None
    assert block.url == "http://127.0.0.1:9/hook" and block.method == "POST"
    assert block.json_data == {
        "text": "{{subject}}\n{{body}}",
        "subject": "{{subject}}",
        "body": "{{body}}",
    }


@pytest.mark.parametrize(
    ("cron", "deadline", "hours"),
    [
        ("0 2 * * *", "06:00", 4.0),
        ("30 1 * * *", "06:00", 4.5),
        ("0 23 * * *", "06:00", 7.0),
        ("*/5 * * * *", "06:00", 4.0),  # no single time of day
        ("0 6 * * *", "06:00", 24.0),
    ],
)
def test_the_deadline_window_runs_from_the_cron_to_the_deadline(
    cron: str, deadline: str, hours: float
) -> None:
    assert deadline_window(cron, deadline) == dt.timedelta(hours=hours)


def test_a_deadline_that_is_not_a_time_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADAR_NIGHTLY_DEADLINE", "6am")
    with pytest.raises(SettingsError, match="RADAR_NIGHTLY_DEADLINE"):
        load_settings()


def test_three_automations_on_the_nightly_deployment_notify_through_the_block() -> None:
    block_id, deployment_id = uuid.uuid4(), uuid.uuid4()
    built = automations(Settings(), block_id, deployment_id)
    assert [a.name for a in built] == list(AUTOMATION_NAMES) == [FAILED, LATE, NOT_DONE]
    for a in built:
        assert a.enabled
        related = a.trigger.match_related  # type: ignore[union-attr]
        assert related.model_dump() == {  # type: ignore[union-attr]
            "prefect.resource.id": f"prefect.deployment.{deployment_id}",
            "prefect.resource.role": "deployment",
        }
        match = a.trigger.match.model_dump()  # type: ignore[union-attr]
        assert match == {"prefect.resource.id": "prefect.flow-run.*"}
        [action] = a.actions
        assert action.type == "send-notification"
        assert action.block_document_id == block_id  # type: ignore[union-attr]
        assert action.body == BODY  # type: ignore[union-attr]

    failed, late, not_done = (a.trigger for a in built)
    assert failed.posture == "Reactive" and failed.expect == {  # type: ignore[union-attr]
        "prefect.flow-run.Failed",
        "prefect.flow-run.Crashed",
        "prefect.flow-run.TimedOut",
    }
    assert late.posture == "Reactive" and late.expect == {"prefect.flow-run.Late"}  # type: ignore[union-attr]
    # Proactive: a run that started (02:00) and has no Completed event 4 h later (06:00).
    assert not_done.posture == "Proactive"  # type: ignore[union-attr]
    assert not_done.after == {"prefect.flow-run.Running"}  # type: ignore[union-attr]
    assert not_done.expect == {"prefect.flow-run.Completed"}  # type: ignore[union-attr]
    assert not_done.for_each == {"prefect.resource.id"}  # type: ignore[union-attr]
    assert not_done.within == dt.timedelta(hours=4)  # type: ignore[union-attr]
    assert "06:00" in built[2].actions[0].subject  # type: ignore[union-attr]


def test_a_notification_carries_no_message_and_no_parameter_but_names() -> None:
    """A state message may quote an exception (a file's cells, a phone); parameters are not
    needed. The body names the flow, run, state, deployment and a link only."""
    assert "message" not in BODY and "parameters" not in BODY and "event.payload" not in BODY
    for field in ("flow.name", "flow_run.name", "flow_run.state.name", "deployment.name"):
        assert field in BODY


def test_both_deployments_wait_their_turn_rather_than_start() -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    from flows.serve import deployments

    for d in deployments(Settings()):
        limit = d.concurrency_options, d.concurrency_limit
        assert d.concurrency_limit == 1, limit
        assert d.concurrency_options is not None, limit
        assert d.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE


def test_a_run_not_started_by_a_deployment_takes_no_global_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import prefect.concurrency.sync

    taken: list[str] = []
    monkeypatch.setattr(
        prefect.concurrency.sync, "concurrency", lambda name, **_: taken.append(name)
    )
    with warehouse_slot():
        pass
    assert taken == [] and WAREHOUSE_LIMIT == "radar-warehouse"


def test_the_failure_hook_leaves_a_deployment_runs_webhook_to_the_automation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flows.notify as notify

    sent: list[bool] = []
    monkeypatch.setattr(
        notify, "send_notification", lambda message, settings, webhook=True: sent.append(webhook)
    )

    class Run:
        name = "brave-fox"
        parameters: dict[str, str] = {}

        def __init__(self, deployment_id: uuid.UUID | None) -> None:
            self.deployment_id = deployment_id

    class State:
        message = "boom"

        def result(self, raise_on_failure: bool) -> None:
            raise RuntimeError("boom")

    class Flow:
        name = "radar-nightly"

    notify.notify_failure(Flow(), Run(None), State())
    notify.notify_failure(Flow(), Run(uuid.uuid4()), State())
    assert sent == [True, False]
