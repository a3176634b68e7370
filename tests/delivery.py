"""Landing files of every supported format made from a header and rows of cells, for the
hostile-input tests and the ingest's fuzz test.

A cell is text, None (an empty cell), or a native value where the format has one (a number,
a date, a nested JSON value). Each writer writes what it is given, broken or not: the
tests decide what a file holds, the writers only spell it in their format.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

Cell = Any
TEXT_ENCODINGS = {"csv-utf8": "utf-8", "csv-bom": "utf-8-sig", "csv-gb18030": "gb18030"}
EXTENSIONS = {
    "csv-utf8": ".csv",
    "csv-bom": ".csv",
    "csv-gb18030": ".csv",
    "jsonl": ".jsonl",
    "parquet": ".parquet",
    "xlsx": ".xlsx",
    "xls": ".xls",
}


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """RFC 4180 CSV: CRLF line ends, a field quoted when it holds a comma, quote, CR or LF."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([_text(v) for v in row] for row in rows)
    return out.getvalue()


def csv_bytes(
    headers: Sequence[str], rows: Sequence[Sequence[Cell]], encoding: str = "utf-8"
) -> bytes:
    return csv_text(headers, rows).encode(encoding)


def jsonl_bytes(records: Sequence[dict[str, Cell] | Cell]) -> bytes:
    """One JSON value per line (a record is normally an object; anything else is written too)."""
    lines = [json.dumps(r, ensure_ascii=False, default=_text) for r in records]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def jsonl_lines(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """JSON Lines whose objects carry the headers in order, doubled keys and all."""
    lines = []
    for row in rows:
        fields = [
            f"{json.dumps(h, ensure_ascii=False)}: "
            f"{json.dumps(v, ensure_ascii=False, default=_text)}"
            for h, v in zip(headers, row, strict=False)
        ]
        lines.append("{" + ", ".join(fields) + "}")
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def parquet_bytes(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """One column per header; a column of one native type keeps it, any other is text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = []
    for i, _ in enumerate(headers):
        values = [row[i] if i < len(row) else None for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) != 1 or kinds & {dict, list}:
            values = [None if v is None else _text(v) for v in values]
        try:
            columns.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            columns.append(pa.array([None if v is None else _text(v) for v in values]))
    out = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(columns, names=list(headers)), out)
    return out.getvalue()


def _sheet_cell(value: Cell) -> Cell:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def xlsx_bytes(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """The first sheet holds the header on row 1 and the rows below it. openpyxl refuses
    control characters in a cell: they are dropped."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value: Cell) -> Cell:
        value = _sheet_cell(value)
        if isinstance(value, str):
            return ILLEGAL_CHARACTERS_RE.sub("", value)
        return value

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([clean(h) for h in headers])
    for row in rows:
        sheet.append([clean(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return _stable_zip(out.getvalue())


def _stable_zip(xlsx: bytes) -> bytes:
    """The workbook with a fixed save time and fixed zip entry times: the same cells give
    the same bytes (openpyxl stamps the time of saving)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            part = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                part = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", part)
            entry = zipfile.ZipInfo(item.filename, date_time=(2026, 1, 1, 0, 0, 0))
            target.writestr(entry, part, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xls_bytes(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """Legacy Excel 97-2003 (xlwt): dates as date cells, at most 256 columns and 32,767
    characters a cell (longer text is cut)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate([list(headers), *rows]):
        for c, value in enumerate(list(row)[:256]):
            value = _sheet_cell(value)
            if isinstance(value, dt.date | dt.datetime):
                sheet.write(r, c, value, date_style)
            elif isinstance(value, str):
                sheet.write(r, c, value[:32767])
            elif value is not None:
                sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_bytes(fmt: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """The file of format `fmt` (a key of EXTENSIONS) with these headers and rows."""
    if fmt in TEXT_ENCODINGS:
        return csv_bytes(headers, rows, TEXT_ENCODINGS[fmt])
    writers = {"jsonl": jsonl_lines, "parquet": parquet_bytes, "xlsx": xlsx_bytes, "xls": xls_bytes}
    return writers[fmt](headers, rows)


def with_xlsx_parts(xlsx: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """The workbook with each of its parts passed through `change(name, part)`."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, change(item.filename, source.read(item.filename)))
    return out.getvalue()


def with_sheet_dimension(xlsx: bytes, ref: str) -> bytes:
    """The workbook with its first sheet declaring the dimension `ref` (e.g. "A1:ZZ2000000"),
    whatever cells it really holds."""
    tag = f'<dimension ref="{ref}"/>'.encode()

    def declare(name: str, part: bytes) -> bytes:
        if not re.fullmatch(r"xl/worksheets/sheet\d*\.xml", name):
            return part
        part, found = re.subn(rb"<dimension [^>]*/>", tag, part, count=1)
        if not found:  # write-only workbooks leave it out: it follows sheetPr
            part = re.sub(
                rb"(<worksheet[^>]*>(<sheetPr.*?</sheetPr>)?)", rb"\1" + tag, part, count=1
            )
        return part

    return with_xlsx_parts(xlsx, declare)
