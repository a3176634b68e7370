"""The Excel workbook of a report: 线索, 热点, 预警 and 数据质量 sheets with Chinese headers.

Headers are frozen and filtered; codes stay text (a USCC or a region code must not become a
number), and every text is a string cell, never a formula (transforms/exports.py `string_cell`:
a leading `'` on text starting with = + - @ tab or CR, the control characters Excel cannot hold
removed). The bytes are reproducible: the document times are the as-of date and every zip
entry carries the same date.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from data_contracts.dispositions import (
    CHECKED_BY_HEADER,
    CHECKED_ON_HEADER,
    NOTE_HEADER,
    STATUS_HEADER,
    STATUS_LABELS,
    STATUSES,
    TEAM_SUBJECT_PREFIX,
)
from data_contracts.geography import prefecture_of
from reports.data import Exports
from reports.labels import (
    FILE_STATUSES,
    RISK_LEVELS,
    SEVERITIES,
    SIGNALS,
    TRENDS,
    category_label,
    category_list_label,
    feed_label,
    handoff_label,
    region_name,
    shop_label,
)
from transforms.exports import string_cell

Row = dict[str, Any]
HEADER_FILL = PatternFill("solid", fgColor="102A43")
HEADER_FONT = Font(bold=True, color="FFFFFF")
LEVEL_FILLS = {
    "high": PatternFill("solid", fgColor="FDE8E8"),
    "medium": PatternFill("solid", fgColor="FFEDD5"),
}


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Row], Any]
    width: float
    number_format: str | None = None
    wrap: bool = False
    fill: Callable[[Row], PatternFill | None] | None = None


def _yes(flag: Any) -> str:
    return "是 yes" if flag else "否 no"


def _prefecture(code: str | None) -> str:
    prefecture = prefecture_of(code)
    return region_name(prefecture).replace("（全市州）", "") if prefecture else ""


def _disposition(r: Row) -> str:
    """The disposition in force, in words, with what it does to the lead."""
    label = STATUS_LABELS.get(r["disposition"] or "", "")
    if not label:
        return ""
    text = f"{label} {r['disposition_on'] or ''}".strip()
    if r.get("held_until"):
        text += f"（暂缓至 held until {r['held_until']}）"
    if r.get("new_since_checked"):
        text += f"（核查后有新证据 new since checked on {r['new_since_checked']}）"
    return text


LEAD_COLUMNS = [
    Column("排名 rank", lambda r: r["rank"], 8, "0"),
    Column("线索编号 lead_id", lambda r: r["lead_id"], 18),
    Column("主体名称 entity_name", lambda r: r["entity_name"] or "", 30, wrap=True),
    Column("统一社会信用代码 uscc", lambda r: r["uscc"] or "", 22),
    Column(
        "店铺 shops",
        lambda r: "\n".join(shop_label(k) for k in (r["shop_keys"] or "").split(";") if k),
        24,
        wrap=True,
    ),
    Column("区划代码 region_code", lambda r: r["region_code"] or "", 12),
    Column("区县 county", lambda r: region_name(r["region_code"]) or "省外/未定", 16),
    Column("市州 prefecture", lambda r: _prefecture(r["region_code"]), 16),
    Column("商品类别 categories", lambda r: category_list_label(r["product_categories"]), 16),
    Column("风险分 score", lambda r: r["score"], 10, "0.000"),
    Column(
        "风险等级 risk_level",
        lambda r: RISK_LEVELS.get(r["risk_level"], r["risk_level"]),
        12,
        fill=lambda r: LEVEL_FILLS.get(r["risk_level"]),
    ),
    Column("理由 reasons", lambda r: (r["reasons"] or "").replace("；", "\n"), 80, wrap=True),
    Column("建议移送审查 referral_review（两法衔接）", lambda r: _yes(r["referral_review"]), 14),
    Column(
        "移交地区 handoff_region_code（线索通报）",
        lambda r: handoff_label(r["handoff_region_code"]),
        20,
    ),
]
OPTIONAL_LEAD_COLUMNS = {
    "is_new": Column("新增 new", lambda r: _yes(r["is_new"]), 8),
    "estimated_turnover_cny": Column(
        "估计经营额（元）estimated turnover CNY", lambda r: r["estimated_turnover_cny"], 16, "#,##0"
    ),
    "names": Column(
        "关联名称 names", lambda r: (r["names"] or "").replace(";", "；"), 40, wrap=True
    ),
    "disposition": Column("当前处置 disposition in force", _disposition, 30, wrap=True),
}
# The team's input columns (data_contracts/dispositions.py): an officer records what was done,
# and the returned workbook is imported (`radar dispositions import`, or the landing's
# dispositions/ folder). Drop-downs keep the status a known label and the date a date.
INPUT_FILL = PatternFill("solid", fgColor="FFF7D6")
INPUT_HEADER_FILL = PatternFill("solid", fgColor="B7791F")
INPUT_COLUMNS = [
    Column(f"{STATUS_HEADER} status（请选择 choose）", lambda r: "", 18, fill=lambda r: INPUT_FILL),
    Column(
        f"{CHECKED_ON_HEADER} checked on（YYYY-MM-DD）",
        lambda r: None,
        14,
        "yyyy-mm-dd",
        fill=lambda r: INPUT_FILL,
    ),
    Column(f"{CHECKED_BY_HEADER} checked by", lambda r: "", 12, fill=lambda r: INPUT_FILL),
    Column(f"{NOTE_HEADER} note", lambda r: "", 30, wrap=True, fill=lambda r: INPUT_FILL),
]
IDENTITY_COLUMNS = 4  # rank, lead id, name, USCC: the input columns follow them


HOTSPOT_COLUMNS = [
    Column("排名 rank", lambda r: r["rank"], 8, "0"),
    Column("区划代码 region_code", lambda r: r["region_code"], 12),
    Column("地区 region", lambda r: region_name(r["region_code"]), 22),
    Column("商品类别 product_category", lambda r: category_label(r["product_category"]), 24),
    Column("热点分 score", lambda r: r["score"], 10, "0.000"),
    Column("观察 observed", lambda r: r.get("observed"), 10, "0.0"),
    Column("预期 expected", lambda r: r.get("expected"), 10, "0.0"),
    Column("相对风险 relative risk", lambda r: r.get("relative_risk"), 12, "0.0"),
    Column("趋势 trend", lambda r: TRENDS.get(r["trend"], r["trend"]), 14),
    Column("理由 reasons", lambda r: (r["reasons"] or "").replace("；", "\n"), 80, wrap=True),
]
ALERT_COLUMNS = [
    Column("预警编号 alert_id", lambda r: r["alert_id"], 18),
    Column("预警日期 alert_date", lambda r: r["alert_date"], 12, "yyyy-mm-dd"),
    Column("区划代码 region_code", lambda r: r["region_code"], 12),
    Column("地区 region", lambda r: region_name(r["region_code"]), 22),
    Column("商品类别 product_category", lambda r: category_label(r["product_category"]), 24),
    Column("信号 signal", lambda r: SIGNALS.get(r["signal"], r["signal"]), 24),
    Column(
        "涉及区县 counties",
        lambda r: "、".join(
            region_name(c) for c in (r.get("counties") or r["region_code"]).split(";") if c
        ),
        30,
        wrap=True,
    ),
    Column(
        "上升信号 signals moved",
        lambda r: " + ".join(
            SIGNALS.get(s, s) for s in (r.get("signals_moved") or r["signal"]).split(";")
        ),
        30,
        wrap=True,
    ),
    Column("窗口天数 window_days", lambda r: r["window_days"], 10),
    Column("观测值（窗口内）observed", lambda r: r["observed"], 12, "0.0##"),
    Column("预期值（窗口内）expected", lambda r: r["expected"], 12, "0.0##"),
    Column(
        "等级 severity",
        lambda r: SEVERITIES.get(r["severity"], r["severity"]),
        10,
        fill=lambda r: LEVEL_FILLS.get(r["severity"]),
    ),
]
QUALITY_COLUMNS = [
    Column("数据源 feed", lambda r: feed_label(r["feed"]), 22),
    Column("文件 file", lambda r: r["file"], 50),
    Column("状态 status", lambda r: FILE_STATUSES.get(r["status"], r["status"]), 14),
    Column("读入行数 rows_read", lambda r: r["rows_read"], 12, "0"),
    Column("接收行数 rows_accepted", lambda r: r["rows_accepted"], 12, "0"),
    Column("隔离行数 rows_quarantined", lambda r: r["rows_quarantined"], 12, "0"),
    Column("问题 issues", lambda r: (r["issues"] or "").replace("; ", "\n"), 80, wrap=True),
]


WRAPPED = Alignment(wrap_text=True, vertical="top")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")


def _header_cell(ws: WriteOnlyWorksheet, text: str, fill: PatternFill = HEADER_FILL) -> Cell:
    cell = string_cell(ws, text)
    cell.font = HEADER_FONT
    cell.fill = fill
    cell.alignment = HEADER_ALIGNMENT
    return cell


def _cell(ws: WriteOnlyWorksheet, column: Column, row: Row) -> Any:
    """The column's value in `row`, in a cell carrying the column's style if it has one; text
    always in a string cell (a plain str appended could become a formula or an error value)."""
    value = column.value(row)
    fill = column.fill(row) if column.fill else None
    if isinstance(value, str) and value == "" and column in INPUT_COLUMNS:
        cell = WriteOnlyCell(ws, value=None)  # left for the officer to fill
    elif isinstance(value, str):
        cell = string_cell(ws, value)
    elif fill is None and column.number_format is None and not column.wrap:
        return value
    else:
        cell = WriteOnlyCell(ws, value=value)
    if column.header == "档案 dossier" and value:
        cell.hyperlink = value  # relative to the workbook: the team folder's leads/ pages
    if fill is not None:
        cell.fill = fill
    if column.number_format is not None:
        cell.number_format = column.number_format
    if column.wrap:
        cell.alignment = WRAPPED
    return cell


def _sheet(ws: WriteOnlyWorksheet, columns: list[Column], frame: pl.DataFrame) -> None:
    """One sheet: a header row, then a row per row of `frame`. The sheet is write-only: its
    rows stream to the file and no cell objects are kept (the national world's 43 000 leads
    take ~50 MB instead of ~300 MB, and less time), so its layout is set first."""
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, frame.height + 1)}"
    ws.append(
        [
            _header_cell(ws, c.header, INPUT_HEADER_FILL if c in INPUT_COLUMNS else HEADER_FILL)
            for c in columns
        ]
    )
    for r in frame.iter_rows(named=True):
        ws.append([_cell(ws, c, r) for c in columns])


def _reproducible_zip(data: bytes, when: dt.datetime) -> bytes:
    """The same archive with every entry dated `when` (zip stores local times without a zone)."""
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def _input_validations(ws: WriteOnlyWorksheet, rows: int) -> None:
    """Drop-down validation of the input columns on the lead rows: the status one of the
    contract's labels, the date a date from 2000 on, the texts at most 2000 characters."""
    last = max(2, rows + 1)
    first_col = IDENTITY_COLUMNS + 1

    def span(offset: int) -> str:
        letter = get_column_letter(first_col + offset)
        return f"{letter}2:{letter}{last}"

    status = DataValidation(
        type="list",
        formula1='"' + ",".join(STATUSES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="处置状态",
        error="请从下拉列表中选择 choose a status from the list",
        promptTitle="处置状态",
        prompt="选择处置状态 choose the status",
        showInputMessage=True,
    )
    status.add(span(0))
    date = DataValidation(
        type="date",
        operator="greaterThanOrEqual",
        formula1="DATE(2000,1,1)",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="核查日期",
        error="请输入日期 YYYY-MM-DD enter a date",
    )
    date.add(span(1))
    text = DataValidation(
        type="textLength", operator="lessThanOrEqual", formula1="2000", allow_blank=True
    )
    text.add(span(2))
    text.add(span(3))
    for validation in (status, date, text):
        ws.data_validations.append(validation)


def write_workbook(
    path: Path,
    part: Exports,
    as_of: dt.date,
    title: str,
    team: str = "province",
    dossiers: dict[str, str] | None = None,
) -> Path:
    """Write the report's workbook to `path`; same exports and as-of date, same bytes. Its
    properties name the `team`, so that a returned copy's dispositions are checked against it."""
    wb = Workbook(write_only=True)
    lead_columns = (
        LEAD_COLUMNS[:IDENTITY_COLUMNS]
        + INPUT_COLUMNS
        + LEAD_COLUMNS[IDENTITY_COLUMNS:]
        + [c for k, c in OPTIONAL_LEAD_COLUMNS.items() if k in part.leads.columns]
    )
    if dossiers:
        lead_columns.append(
            Column(
                "档案 dossier",
                lambda r: dossiers.get(r["lead_id"], ""),
                22,
            )
        )
    leads_sheet = wb.create_sheet("线索")
    _input_validations(leads_sheet, part.leads.height)
    _sheet(leads_sheet, lead_columns, part.leads)
    _sheet(wb.create_sheet("热点"), HOTSPOT_COLUMNS, part.hotspots)
    alerts = part.alerts.sort(["alert_date", "region_code", "product_category", "signal"])
    _sheet(wb.create_sheet("预警"), ALERT_COLUMNS, alerts)
    if team == "province":  # file-level detail is the steward's, not a prefecture team's
        _sheet(wb.create_sheet("数据质量"), QUALITY_COLUMNS, part.data_quality)

    when = dt.datetime.combine(as_of, dt.time())
    wb.properties.title = f"假冒侵权预警 {title} {as_of.isoformat()}"
    wb.properties.creator = "Counterfeit Radar 假冒侵权预警"
    wb.properties.subject = f"{TEAM_SUBJECT_PREFIX}{team}"
    wb.properties.created = when
    wb.properties.modified = when
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()  # not wb.save(): that stamps the modified time with now
    path.write_bytes(_reproducible_zip(buffer.getvalue(), when))
    return path
