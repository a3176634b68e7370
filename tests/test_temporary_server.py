"""`radar run` without a Prefect server starts Prefect's temporary server early, in a thread
(issue 22): it must never leave that server's process behind."""

from __future__ import annotations

import pytest


def test_a_temporary_server_that_does_not_answer_in_time_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Under a load of 15 the server took longer than Prefect's 20 s to answer: the start
    # gave up with the process still running, the flow's client started a second server and
    # the first was orphaned. Now the wait is long and a server that still fails is stopped.
    import prefect.server.api.server as server_module
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        temporary_settings,
    )

    import flows.cli

    calls: list[tuple[str, int | None]] = []

    class NoAnswer:
        def start(self, timeout: int | None = None) -> None:
            calls.append(("start", timeout))
            raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API")

        def stop(self) -> None:
            calls.append(("stop", None))

    monkeypatch.setattr(server_module, "SubprocessASGIServer", NoAnswer)
    with temporary_settings(
        updates={PREFECT_SERVER_EPHEMERAL_ENABLED: True}, restore_defaults={PREFECT_API_URL}
    ):
        thread = flows.cli.start_temporary_server()
    assert thread is not None
    thread.join(10)
    assert [name for name, _ in calls] == ["start", "stop"]
    timeout = calls[0][1]
    assert timeout is not None and timeout >= 180


def test_no_temporary_server_when_a_server_is_set() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.cli

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert flows.cli.start_temporary_server() is None
