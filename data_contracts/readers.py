"""Read one delivered file into a table of text cells, whatever its format.

The spec's file rules live here: formats by extension, the encoding rule for text
files, one record per CSV record / JSON line / sheet row, and Excel's native date
and number cells. Nothing is typed yet: `validate.py` does that from the contract.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet", ".xlsx": "xlsx", ".xls": "xls"}


class FileRejected(Exception):
    """The whole file cannot be loaded (unreadable, empty, a required column missing)."""


@dataclass
class RawTable:
    """A file's header and its records as text cells (None = empty cell).

    `numbers` holds the 1-based row number of each parsed record; `malformed` maps
    the row number of a record that could not be parsed at all to its text.
    """

    headers: list[str]
    rows: list[list[str | None]]
    numbers: list[int]
    malformed: dict[int, str] = field(default_factory=dict)
    encoding: str | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows) + len(self.malformed)


def is_ignored(name: str) -> bool:
    """Excel lock files and hidden files are never read."""
    return name.startswith("~$") or name.startswith(".")


def file_format(path: Path) -> str | None:
    """The format known from the extension (case-insensitive), or None."""
    return FORMATS.get(path.suffix.lower())


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode by the spec's rule: BOM → UTF-8; valid UTF-8 → UTF-8; else GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileRejected(f"unreadable: not UTF-8 nor GB18030 text ({exc.reason})") from exc


def cell_text(value: object) -> str | None:
    """A cell of any native type as the text the contract parses."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def read_csv_bytes(data: bytes) -> RawTable:
    """CSV: records may span lines inside quotes; a record with the wrong field count is malformed."""
    text, encoding = decode_text(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration as exc:
        raise FileRejected("empty: no header row") from exc
    except csv.Error as exc:
        raise FileRejected(f"unreadable header: {exc}") from exc
    if not any(h.strip() for h in headers):
        raise FileRejected("empty: no header row")
    width = len(headers)
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    malformed: dict[int, str] = {}
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            malformed[number] = f"unparseable CSV: {exc}"
            continue
        if not record:  # a blank line is no record
            continue
        number += 1
        if len(record) != width:
            malformed[number] = ",".join(record)
        else:
            rows.append([v if v != "" else None for v in record])
            numbers.append(number)
    return RawTable(headers, rows, numbers, malformed, encoding)


def read_jsonl_bytes(data: bytes) -> RawTable:
    """JSON Lines: one object per line; a line that is not a JSON object is malformed."""
    text, encoding = decode_text(data)
    records: list[dict[str, object] | None] = []
    malformed: dict[int, str] = {}
    headers: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            malformed[len(records) + 1] = line
            records.append(None)
            continue
        for key in obj:
            if key not in seen:
                seen.add(key)
                headers.append(key)
        records.append(obj)
    if not records:
        raise FileRejected("empty: no JSON records")
    rows = [[cell_text(r.get(h)) for h in headers] for r in records if r is not None]
    numbers = [i for i, r in enumerate(records, start=1) if r is not None]
    return RawTable(headers, rows, numbers, malformed, encoding)


def read_parquet_bytes(data: bytes) -> RawTable:
    """Parquet: native dates, timestamps and numbers become their text form."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise FileRejected(f"unreadable Parquet: {exc}") from exc
    headers = list(table.column_names)
    columns = [[cell_text(v) for v in table.column(h).to_pylist()] for h in headers]
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    return RawTable(headers, rows, list(range(1, len(rows) + 1)))


def _sheet_rows(rows: list[list[object]]) -> RawTable:
    if not rows or not any(v is not None and str(v).strip() for v in rows[0]):
        raise FileRejected("empty: no header row on the first sheet")
    headers = [cell_text(v) or "" for v in rows[0]]
    while headers and not headers[-1].strip():
        headers.pop()
    width = len(headers)
    body = []
    for row in rows[1:]:
        cells = [cell_text(v) for v in list(row)[:width]]
        cells += [None] * (width - len(cells))
        if any(c is not None and c.strip() for c in cells):
            body.append(cells)
    return RawTable(headers, body, list(range(1, len(body) + 1)))


def read_xlsx_bytes(data: bytes) -> RawTable:
    """Excel 2007+: first sheet, header on row 1."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise FileRejected(f"unreadable Excel workbook: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        return _sheet_rows([list(r) for r in sheet.iter_rows(values_only=True)])
    finally:
        book.close()


def read_xls_bytes(data: bytes) -> RawTable:
    """Legacy Excel 97-2003: first sheet, date cells converted with the book's date mode."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception as exc:
        raise FileRejected(f"unreadable legacy Excel workbook: {exc}") from exc
    sheet = book.sheet_by_index(0)
    rows: list[list[object]] = []
    for r in range(sheet.nrows):
        row: list[object] = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                row.append(None)
            else:
                row.append(cell.value)
        rows.append(row)
    return _sheet_rows(rows)


READERS = {
    "csv": read_csv_bytes,
    "jsonl": read_jsonl_bytes,
    "parquet": read_parquet_bytes,
    "xlsx": read_xlsx_bytes,
    "xls": read_xls_bytes,
}


def read_bytes(data: bytes, fmt: str) -> RawTable:
    """Read a delivered file's bytes; raises FileRejected when the file cannot be loaded at all."""
    if not data:
        raise FileRejected("empty: 0-byte file")
    return READERS[fmt](data)
