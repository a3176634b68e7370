"""The dispositions contract: what an enforcement team records against a lead in its workbook.

A team's `report.xlsx` (reports/workbook.py) carries four input columns on its 线索 sheet, with
drop-down validation: 处置状态, 核查日期, 核查人, 备注. A returned workbook is read here into
rows, and each row is checked against the statuses, the date (not after the day of import) and
the lead (known to the system, and in the team's own prefecture): a row that fails is
quarantined with every reason, never dropped. The workbook says which team it belongs to in
its document properties (`subject` = `radar-team:<team>`), written when the report is built.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_contracts.contract import limits
from data_contracts.personal import redact_personal
from data_contracts.readers import FileRejected, check_sheet_size, check_xlsx_parts

LEADS_SHEET = "线索"
TEAM_SUBJECT_PREFIX = "radar-team:"
PROVINCE_TEAM = "province"

# The drop-down's labels (what an officer picks) and their codes (what the warehouse keeps).
STATUSES = {
    "待核查": "pending",
    "核查中": "checking",
    "已核查未发现问题": "checked_nothing_found",
    "已立案": "case_opened",
    "已移送公安": "referred_to_police",
    "非本辖区": "not_our_area",
}
STATUS_LABELS = {code: label for label, code in STATUSES.items()}
# The statuses that say something was done on a day: they need 核查日期.
DATED_STATUSES = {"checked_nothing_found", "case_opened", "referred_to_police"}
IN_PROGRESS = {"case_opened", "referred_to_police"}

LEAD_ID_HEADER = "线索编号"
STATUS_HEADER = "处置状态"
CHECKED_ON_HEADER = "核查日期"
CHECKED_BY_HEADER = "核查人"
NOTE_HEADER = "备注"
INPUT_HEADERS = (STATUS_HEADER, CHECKED_ON_HEADER, CHECKED_BY_HEADER, NOTE_HEADER)
MAX_TEXT = 2000  # 核查人 and 备注: longer text quarantines the row (length:<column>)
MAX_ROWS = 200_000  # a team's sheet holds its leads: tens of thousands at national scale


class DispositionFileError(ValueError):
    """A returned workbook that cannot be read as one (the reason is for the sender)."""


@dataclass(frozen=True)
class DispositionRow:
    """One sheet row with anything in the input columns, as delivered (text only)."""

    row_number: int  # the sheet's row number (the header is row 1)
    lead_id: str
    status: str
    checked_on: str
    checked_by: str
    note: str

    def values(self) -> dict[str, str]:
        """The row's values for the quarantine, with phone and ID numbers blanked."""
        return {
            "lead_id": self.lead_id,
            "status": self.status,
            "checked_on": self.checked_on,
            "checked_by": redact_personal(self.checked_by),
            "note": redact_personal(self.note),
        }


@dataclass(frozen=True)
class ReturnedWorkbook:
    team: str
    rows: list[DispositionRow]
    blank_rows: int  # lead rows with nothing recorded: not dispositions


@dataclass(frozen=True)
class CheckedRow:
    row: DispositionRow
    reasons: list[str] = field(default_factory=list)
    status: str | None = None
    checked_on: dt.date | None = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def team_of(subject: str | None) -> str | None:
    """The team code written into a report workbook's properties, or None."""
    if subject and subject.startswith(TEAM_SUBJECT_PREFIX):
        return subject[len(TEAM_SUBJECT_PREFIX) :].strip() or None
    return None


def read_returned_workbook(path: Path) -> ReturnedWorkbook:
    """The rows of a returned team workbook that carry a disposition; raises
    DispositionFileError when the file is not a team workbook with the input columns, or when
    it breaks the feeds' limits for an .xlsx (FEEDS.md, Limits: its size, the size its parts
    decompress to, the rows and columns its sheet declares), checked before any row is read."""
    from openpyxl import load_workbook

    most = limits().file_bytes
    if (size := path.stat().st_size) > most:
        raise DispositionFileError(f"超出限制 limit broken: {size:,} bytes, at most {most:,}")
    data = path.read_bytes()
    try:
        check_xlsx_parts(data)
    except FileRejected as exc:
        raise DispositionFileError(str(exc)) from None
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds; the reason names none of the file
        raise DispositionFileError(
            f"不是可读取的 Excel 工作簿 not a readable .xlsx workbook ({type(exc).__name__})"
        ) from exc
    try:
        team = team_of(wb.properties.subject)
        if team is None:
            raise DispositionFileError(
                "不是本系统生成的工作簿（缺少单位标识）not a team workbook of this system "
                "(its properties do not name the team): return the report.xlsx you received"
            )
        if LEADS_SHEET not in wb.sheetnames:
            raise DispositionFileError(f"缺少“{LEADS_SHEET}”工作表 no {LEADS_SHEET} sheet")
        try:
            check_sheet_size(wb[LEADS_SHEET])
        except FileRejected as exc:
            raise DispositionFileError(str(exc)) from None
        # Bounded as the feeds' reader is: by the limits (a far-away cell would otherwise pad
        # every row up to it), not by the size the sheet declares, which some writers
        # understate.
        rows = wb[LEADS_SHEET].iter_rows(
            max_row=limits().sheet_rows + 1, max_col=limits().columns + 1, values_only=True
        )
        header = [_text(v) for v in next(rows, ())]
        columns = {}
        for name in (LEAD_ID_HEADER, *INPUT_HEADERS):
            found = [i for i, h in enumerate(header) if h.startswith(name)]
            if not found:
                raise DispositionFileError(f"缺少“{name}”列 the {name} column is missing")
            columns[name] = found[0]
        out, blank = [], 0
        for number, values in enumerate(rows, start=2):
            if number > MAX_ROWS + 1:
                raise DispositionFileError(f"超过 {MAX_ROWS} 行 more than {MAX_ROWS} rows")
            cells = {k: _text(values[i]) if i < len(values) else "" for k, i in columns.items()}
            if not any(cells[h] for h in INPUT_HEADERS):
                blank += cells[LEAD_ID_HEADER] != ""
                continue
            out.append(
                DispositionRow(
                    number,
                    cells[LEAD_ID_HEADER],
                    cells[STATUS_HEADER],
                    cells[CHECKED_ON_HEADER],
                    cells[CHECKED_BY_HEADER],
                    cells[NOTE_HEADER],
                )
            )
        return ReturnedWorkbook(team, out, blank)
    finally:
        wb.close()


def _date(text: str) -> dt.date | None:
    for candidate in (text[:10], text.replace("/", "-")[:10], text.replace(".", "-")[:10]):
        try:
            return dt.date.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def check_row(
    row: DispositionRow,
    team: str,
    today: dt.date,
    lead_prefectures: Mapping[str, str | None],
) -> CheckedRow:
    """The row with every reason it fails (empty: accepted). `lead_prefectures` maps every lead
    id the system has listed to its prefecture code (None: outside Qinghai or unknown)."""
    reasons = []
    status = STATUSES.get(row.status)
    if not row.status:
        reasons.append("required:处置状态 status missing")
    elif status is None:
        reasons.append(f"enum:处置状态 not one of {' / '.join(STATUSES)}")
    checked_on = _date(row.checked_on) if row.checked_on else None
    if row.checked_on and checked_on is None:
        reasons.append("type:核查日期 not a date (YYYY-MM-DD)")
    elif checked_on is not None and checked_on > today:
        reasons.append(f"range:核查日期 after today ({today.isoformat()})")
    elif checked_on is not None and checked_on < dt.date(2000, 1, 1):
        reasons.append("range:核查日期 before 2000-01-01")
    elif checked_on is None and status in DATED_STATUSES:
        reasons.append("required:核查日期 a date is needed for this status")
    if not row.lead_id:
        reasons.append("required:线索编号 lead id missing")
    elif row.lead_id not in lead_prefectures:
        reasons.append("unknown:线索编号 no lead with this id was ever listed")
    elif team != PROVINCE_TEAM and lead_prefectures[row.lead_id] != team:
        reasons.append(
            "scope:线索编号 the lead is not in this team's prefecture: "
            "record it in the workbook of the team it belongs to"
        )
    for name, text in (("核查人", row.checked_by), ("备注", row.note)):
        if len(text) > MAX_TEXT:
            reasons.append(f"length:{name} over {MAX_TEXT} characters")
    return CheckedRow(row, reasons, status, checked_on)
