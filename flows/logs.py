"""The pipeline's own loggers (`transforms.ingest` and the rest) in the Prefect run's log.

Prefect sends only its own loggers to the API; the pipeline's layers log with the standard
library, so without this a rejected file is a console line nobody sees in the UI. This is
what PREFECT_LOGGING_EXTRA_LOGGERS does, done in code so that it holds however the process
started (`radar run`, a served deployment's subprocess, a test), and limited to records
logged inside a run.
"""

from __future__ import annotations

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from data_contracts.personal import redact_personal

PIPELINE_LOGGERS = ("data_contracts", "transforms", "models", "reports")


class _InARunWithoutPhones(logging.Filter):
    """Pass records logged inside a flow or task run (outside one, the API handler would only
    warn), with every phone or ID number in the message blanked: nothing logged names a
    complainant today, and this keeps a future message from sending one to the server."""

    def filter(self, record: logging.LogRecord) -> bool:
        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return False
        message = record.getMessage()
        redacted = redact_personal(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class PipelineRunLogHandler(APILogHandler):
    """Prefect's API log handler for the pipeline's loggers (one per logger, added once)."""


def send_pipeline_logs_to_prefect() -> None:
    """Attach the run-log handler to the pipeline's loggers (idempotent), at INFO, so what
    they log during a flow run is in that run's log in the UI, WARNING lines included."""
    for name in PIPELINE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, PipelineRunLogHandler) for h in logger.handlers):
            handler = PipelineRunLogHandler()
            handler.addFilter(_InARunWithoutPhones())
            logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
