"""What `radar serve` sets up on the Prefect server besides the deployments: the Automations
that announce a nightly run that fails, crashes, starts late or has not completed by the
deadline (06:00 China time), the notification block they send through, and the global
concurrency limit on the warehouse.

Everything is created by name and updated in place, so serving twice creates nothing twice.
The notifications name the flow, the run, its state and the deployment, never a state message
or a parameter other than the as-of date: nothing a complainant wrote or their phone can reach
them. (The in-process `on_failure` hook, `flows.notify`, announces only runs no Automation
sees: those not started by a deployment, e.g. `radar run` on Prefect's temporary server.)
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from prefect.automations import (
    Automation,
    EventTrigger,
    Posture,
    ResourceSpecification,
    SendNotification,
)
from prefect.blocks.notifications import CustomWebhookNotificationBlock

from flows.settings import Settings

ALERT_BLOCK = "radar-alert-webhook"
FAILED = "radar-nightly-failed-or-crashed"
LATE = "radar-nightly-late"
NOT_DONE = "radar-nightly-not-completed-by-deadline"
AUTOMATION_NAMES = (FAILED, LATE, NOT_DONE)

# Jinja templates the server fills in (flow_run, flow, deployment are the event's resources).
# Deliberately no state message: an exception's text may quote a file's cells.
BODY = (
    "{{ flow.name }} / {{ flow_run.name }}: {{ flow_run.state.name }} "
    "(deployment {{ deployment.name }}, expected {{ flow_run.expected_start_time }}) "
    "{{ flow_run|ui_url }}"
)


def deadline_window(cron: str, deadline: str) -> dt.timedelta:
    """How long after a run starts it must have completed: from the cron's time of day to the
    deadline (HH:MM, same time zone), e.g. 0 2 * * * and 06:00 give 4 hours. A cron whose
    minute or hour is not a single number gives 4 hours."""
    fields = cron.split()
    hours, minutes = (int(x) for x in deadline.split(":"))
    try:
        start = dt.timedelta(hours=int(fields[1]), minutes=int(fields[0]))
    except (IndexError, ValueError):
        return dt.timedelta(hours=4)
    window = (dt.timedelta(hours=hours, minutes=minutes) - start) % dt.timedelta(days=1)
    return window or dt.timedelta(days=1)


def webhook_block(settings: Settings) -> CustomWebhookNotificationBlock | None:
    """The notification block for RADAR_ALERT_WEBHOOK_URL (a JSON POST), None without one."""
    if not settings.alert_webhook_url:
        return None
    return CustomWebhookNotificationBlock(
        name="counterfeit-radar",
        url=settings.alert_webhook_url,
        method="POST",
        json_data={"text": "{{subject}}\n{{body}}", "subject": "{{subject}}", "body": "{{body}}"},
        timeout=10,
        headers=None,
        cookies=None,
    )


def automations(settings: Settings, block_id: UUID, deployment_id: UUID) -> list[Automation]:
    """The three Automations on the nightly deployment's flow runs."""
    related = ResourceSpecification(
        {
            "prefect.resource.id": f"prefect.deployment.{deployment_id}",
            "prefect.resource.role": "deployment",
        }
    )
    flow_runs = ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"})
    window = deadline_window(settings.nightly_cron, settings.nightly_deadline)

    def notify(subject: str) -> SendNotification:
        return SendNotification(block_document_id=block_id, subject=subject, body=BODY)

    return [
        Automation(
            name=FAILED,
            description="A nightly run failed, crashed or timed out.",
            trigger=EventTrigger(
                match=flow_runs,
                match_related=related,
                expect={
                    "prefect.flow-run.Failed",
                    "prefect.flow-run.Crashed",
                    "prefect.flow-run.TimedOut",
                },
                posture=Posture.Reactive,
                threshold=1,
                within=dt.timedelta(0),
            ),
            actions=[notify("Counterfeit Radar 夜间运行失败 nightly run failed or crashed")],
        ),
        Automation(
            name=LATE,
            description="A scheduled nightly run did not start on time (is `radar serve` up?).",
            trigger=EventTrigger(
                match=flow_runs,
                match_related=related,
                expect={"prefect.flow-run.Late"},
                posture=Posture.Reactive,
                threshold=1,
                within=dt.timedelta(0),
            ),
            actions=[notify("Counterfeit Radar 夜间运行未启动 nightly run did not start")],
        ),
        Automation(
            name=NOT_DONE,
            description=(
                f"A nightly run has not completed {window} after it started "
                f"({settings.nightly_deadline} {settings.timezone} for a run on time)."
            ),
            trigger=EventTrigger(
                match=flow_runs,
                match_related=related,
                after={"prefect.flow-run.Running"},
                expect={"prefect.flow-run.Completed"},
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=window,
            ),
            actions=[
                notify(
                    f"Counterfeit Radar 夜间运行未按时完成 nightly run not completed by "
                    f"{settings.nightly_deadline}"
                )
            ],
        ),
    ]


def ensure_automations(settings: Settings, deployment_id: UUID) -> list[Automation]:
    """Save the notification block and create or update the Automations by name (idempotent).
    Without RADAR_ALERT_WEBHOOK_URL there is nothing to notify: none is created."""
    block = webhook_block(settings)
    if block is None:
        return []
    block_id: UUID = block.save(ALERT_BLOCK, overwrite=True)  # type: ignore[assignment]  # sync
    wanted = automations(settings, block_id, deployment_id)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for automation in wanted:
            existing = client.read_automations_by_name(automation.name)
            if existing:
                automation.id = existing[0].id
                automation.update()
                for extra in existing[1:]:  # left by an earlier version: keep one
                    client.delete_automation(extra.id)
            else:
                automation.create()
    return wanted
