"""Optional e-mail of each team's own report (report.html and report.xlsx) over SMTP.

The server and the recipients come from the one `Settings` (`RADAR_SMTP_HOST`, `RADAR_SMTP_PORT`,
`RADAR_SMTP_USERNAME`, `RADAR_SMTP_PASSWORD`, `RADAR_SMTP_STARTTLS`, `RADAR_SMTP_SENDER`,
`RADAR_SMTP_RECIPIENTS` as JSON, e.g. `{"630100": ["xn@example.cn"], "province": [...]}`).
A team receives one message with its own folder's files and nothing of another team's.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from reports.labels import scope_title

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send mail (built by `Settings.smtp_server()`, which holds the defaults)."""

    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    sender: str
    timeout_seconds: float


@contextmanager
def smtp_connection(server: SmtpServer) -> Iterator[smtplib.SMTP]:
    """An open SMTP session: STARTTLS when configured, logged in when credentials are set."""
    with smtplib.SMTP(server.host, server.port, timeout=server.timeout_seconds) as smtp:
        if server.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if server.username and server.password is not None:
            smtp.login(server.username, server.password)
        yield smtp


def report_message(report_dir: Path, to: list[str], sender: str) -> EmailMessage:
    """One team's message: a short note and its report.html and report.xlsx attached."""
    team = report_dir.name
    as_of = report_dir.parent.parent.name  # OUT/<as-of>/reports/<team>
    title = scope_title(team)
    message = EmailMessage()
    message["Subject"] = f"假冒侵权预警 {title} {as_of} · Counterfeit Radar report"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="counterfeit-radar")
    message.set_content(
        f"{title}：{as_of} 夜间研判报告见附件（网页版与 Excel 工作簿）。\n"
        "本邮件仅含本辖区的线索、热点与预警，请勿转发至其他辖区。\n\n"
        f"{title}: the nightly report of {as_of} is attached (HTML page and Excel workbook).\n"
        "It holds only this area's leads, hotspots and alerts; please do not forward it.\n"
    )
    stem = f"counterfeit-radar_{team}_{as_of}"
    html = report_dir / "report.html"
    message.add_attachment(
        html.read_bytes(), maintype="text", subtype="html", filename=f"{stem}.html"
    )
    xlsx = report_dir / "report.xlsx"
    message.add_attachment(
        xlsx.read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=f"{stem}.xlsx"
    )
    return message


def send_reports(
    report_dirs: Iterable[Path], recipients: dict[str, list[str]], smtp: SmtpServer | None
) -> int:
    """Mail each report folder (named by its team) to that team's addresses; return how many
    messages were sent. Folders without recipients are skipped; no server, nothing sent."""
    work = [
        (folder, sorted(set(recipients[folder.name])))
        for folder in sorted(report_dirs)
        if recipients.get(folder.name)
    ]
    if smtp is None or not work:
        return 0
    with smtp_connection(smtp) as server:
        for folder, to in work:
            server.send_message(report_message(folder, to, smtp.sender), to_addrs=to)
    return len(work)
