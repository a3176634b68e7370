"""The one Settings object: environment variables with the RADAR_ prefix, local defaults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from pydantic import SecretStr, StringConstraints, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as EnvParseError

from reports.delivery import SmtpServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where the pipeline reads and writes, and how it runs. Secrets come only from the environment."""

    model_config = SettingsConfigDict(env_prefix="RADAR_", env_file=".env", extra="ignore")

    landing: Path = PROJECT_ROOT / "data" / "landing"
    warehouse: Path = PROJECT_ROOT / "data" / "warehouse.duckdb"
    out: Path = PROJECT_ROOT / "data" / "out"
    world: Path = PROJECT_ROOT / "data" / "demo_world"
    as_of: dt.date | None = None  # None: today in China time
    lookback_days: int = 90
    retention_days: int = 3 * 365  # complainant phones and complaint texts are purged after this
    lock_wait_seconds: float = 0.0  # a second run on the same warehouse waits this long, then exits
    task_runner: str = "local"  # local | dask
    dask_address: str | None = None
    nightly_cron: str = "0 2 * * *"
    retrain_cron: str = "0 4 * * 1"  # Mondays, after the nightly run
    timezone: str = "Asia/Shanghai"
    # A served nightly run not completed by this time of day (HH:MM, in `timezone`) is announced.
    nightly_deadline: Annotated[
        str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    ] = "06:00"
    # Where a failed run is announced (both optional; secrets only from the environment).
    alert_webhook_url: str | None = None
    alert_email_to: str | None = None
    # The mail server for failure notices and the teams' reports; nothing is mailed without
    # a host. Recipients per report folder (prefecture code or `province`), as JSON.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "counterfeit-radar@localhost"
    smtp_timeout_seconds: float = 30.0
    smtp_recipients: dict[str, list[str]] = {}

    def smtp_server(self) -> SmtpServer | None:
        """The configured mail server, or None when no host is set."""
        if not self.smtp_host:
            return None
        return SmtpServer(
            host=self.smtp_host,
            port=self.smtp_port,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            starttls=self.smtp_starttls,
            sender=self.smtp_sender,
            timeout_seconds=self.smtp_timeout_seconds,
        )


class SettingsError(ValueError):
    """An environment variable (or .env line) that Settings cannot take; the message is one line."""


def load_settings() -> Settings:
    """Settings from the environment, or SettingsError naming each RADAR_ variable that is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError("; ".join(_problem(error) for error in exc.errors())) from None
    except EnvParseError as exc:  # a JSON value (RADAR_SMTP_RECIPIENTS) that does not parse
        raise SettingsError(f"{exc}: write it as JSON") from None


def _problem(error: Any) -> str:
    field = str(error["loc"][0])
    name = f"RADAR_{field.upper()}"
    secret = Settings.model_fields[field].annotation in (SecretStr, SecretStr | None)
    given = "" if secret else f"={error['input']!r}"
    if Settings.model_fields[field].annotation in (dt.date, dt.date | None):
        return f"{name}{given} is not a date: write it as YYYY-MM-DD, e.g. 2026-06-30"
    return f"{name}{given} is not valid: {error['msg']}"


def today_in_china() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
