"""Lists for people: NAME.csv (UTF-8 with BOM, the column codes as header) and NAME.xlsx
(Chinese headers, 是/否 for booleans, optionally one sheet per group and a sheet of notes).
No text is a formula in either (transforms/exports.py): text cells are string cells."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from transforms.exports import string_cell, write_csv

MAX_SHEET_TITLE = 31  # Excel's limit
FORBIDDEN_IN_TITLE = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _cell(ws: Worksheet, value: object) -> object:
    """What `ws.append` gets for `value`: booleans as 是/否, text as a string cell."""
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, str):
        return string_cell(ws, value)
    return value


ValueLabels = dict[str, Callable[[str], str]]


def labelled(frame: pl.DataFrame, value_labels: ValueLabels | None) -> pl.DataFrame:
    """`frame` with the codes of the `value_labels` columns in words (for the workbook: the
    CSV keeps the codes, what other systems read)."""
    for column, label in (value_labels or {}).items():
        if column in frame.columns:
            codes = frame[column].drop_nulls().unique().to_list()  # label each code once
            words = {code: label(code) for code in codes}
            frame = frame.with_columns(
                pl.col(column).replace_strict(words, default=None, return_dtype=pl.String)
            )
    return frame


def _fill_sheet(ws: Worksheet, frame: pl.DataFrame, headers_zh: dict[str, str]) -> None:
    ws.append([_cell(ws, headers_zh.get(c, c)) for c in frame.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in frame.iter_rows():
        ws.append([_cell(ws, v) for v in row])
    for i, column in enumerate(frame.columns, start=1):
        if frame.schema[column] == pl.Date:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = "yyyy-mm-dd"
        texts = [str(headers_zh.get(column, column))] + [
            str(v) for v in frame[column].head(200).to_list() if v is not None
        ]
        # Chinese characters are about twice as wide as Latin ones.
        width = max(len(t) + sum(1 for ch in t if ord(ch) > 0x2E80) for t in texts)
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, width + 2))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(1, frame.width))}{max(1, frame.height + 1)}"


def sheet_title(text: str) -> str:
    """A valid, at most 31-character Excel sheet title."""
    return text.translate(FORBIDDEN_IN_TITLE)[:MAX_SHEET_TITLE] or "Sheet"


def write_list(
    frame: pl.DataFrame,
    out_dir: Path,
    name: str,
    headers_zh: dict[str, str],
    title: str,
    group_sheets: str | None = None,
    notes: list[tuple[str, str]] | None = None,
    value_labels: ValueLabels | None = None,
) -> list[Path]:
    """Write NAME.csv and NAME.xlsx; returns both paths.

    `group_sheets` names a column whose values title one extra sheet each (rows in their
    order of first appearance); `notes` become a last sheet of label/value pairs;
    `value_labels` put the codes of some columns in words in the workbook (not the CSV).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = out_dir / f"{name}.csv", out_dir / f"{name}.xlsx"
    write_csv(frame, csv_path)
    frame = labelled(frame, value_labels)
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet_title(title)
    _fill_sheet(ws, frame, headers_zh)
    if group_sheets is not None:
        for value in frame[group_sheets].unique(maintain_order=True).to_list():
            part = frame.filter(pl.col(group_sheets) == value)
            _fill_sheet(book.create_sheet(sheet_title(str(value))), part, headers_zh)
    if notes:
        ws_notes = book.create_sheet("说明")
        for label, value in notes:
            ws_notes.append([_cell(ws_notes, label), _cell(ws_notes, value)])
        ws_notes.column_dimensions["A"].width = 28
        ws_notes.column_dimensions["B"].width = 90
    book.save(xlsx_path)
    return [csv_path, xlsx_path]
