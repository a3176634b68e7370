"""What the pipeline's own loggers say during a run is in the Prefect run's log (issue 24,
part 3): a rejected file is a WARNING line there, and no phone number ever is."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler

from flows.logs import send_pipeline_logs_to_prefect
from flows.nightly import nightly
from tests.conftest import COMPLAINT_HEADER, write

pytestmark = pytest.mark.slow
PHONE = "13912345678"


def run_log(flow_run_id: UUID) -> list[tuple[str, int, str]]:
    """(logger, level, message) of every line of a flow run's log on the Prefect server."""
    APILogHandler().flush()  # the handler sends in batches from a thread of its own
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return [(log.name, log.level, log.message) for log in logs]


def test_a_rejected_file_is_a_warning_in_the_run_log_without_the_phone(
    prefect_harness: None, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    row = (
        f"C1,2026-05-03 14:22:10,hotline_12315,630102,seeds,counterfeit_trademark,consumer,"
        f"绿丰种业,,,,,假种子 电话{PHONE},100,{PHONE}"
    )
    write(landing / "complaints" / "a.csv", f"{COMPLAINT_HEADER}\n{row}\n", mtime=1000)
    # A required column missing: the file is rejected, and the row with the phone is not read.
    no_id = COMPLAINT_HEADER.replace("complaint_id,", "")
    write(landing / "complaints" / "b.csv", f"{no_id}\n{row.split(',', 1)[1]}\n", mtime=2000)
    write(landing / "complaints" / "c.csv", b"", mtime=3000)
    state = nightly(
        landing=landing,
        warehouse=tmp_path / "warehouse.duckdb",
        as_of=dt.date(2026, 6, 30),
        out=tmp_path / "out",
        return_state=True,
    )
    assert state.is_completed(), state.message
    log = run_log(state.state_details.flow_run_id)
    warnings = [m for name, level, m in log if name == "transforms.ingest" and level == 30]
    assert [m.split(":")[0] for m in warnings] == [
        "rejected complaints/b.csv",
        "rejected complaints/c.csv",
    ]
    assert all(PHONE not in message for _, _, message in log)


def test_a_phone_in_a_pipeline_log_message_is_blanked_in_the_run_log(
    prefect_harness: None,
) -> None:
    @flow
    def logs_a_phone() -> None:
        send_pipeline_logs_to_prefect()
        logging.getLogger("transforms.anything").warning("called back on %s", f"+86 {PHONE}")

    state = logs_a_phone(return_state=True)
    log = run_log(state.state_details.flow_run_id)
    lines = [m for name, _, m in log if name == "transforms.anything"]
    assert lines == ["called back on [电话已隐去 phone removed]"]
