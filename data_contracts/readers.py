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
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from data_contracts.contract import limits

if TYPE_CHECKING:
    import pyarrow as pa

HeaderKey = Callable[[str], str]  # a header as spelled -> the column it names
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet", ".xlsx": "xlsx", ".xls": "xls"}


class FileRejected(Exception):
    """The whole file cannot be loaded (unreadable, empty, a required column missing)."""


class RawTable:
    """A file's header and its records as text cells (null = empty cell).

    `cells` holds the records column-wise: `_row_number` (the 1-based row number of each
    parsed record), then one String column per header position, named "0", "1", ...;
    `malformed` maps the row number of a record that could not be parsed at all to its text, and
    `malformed_reasons` to its reason code when it is not `malformed:record` (an unclosed quote,
    a nested JSON value); `notes` are file-level findings in words (where a quote opened);
    `unreadable` maps a header position to the row numbers of its cells that could not be read
    as text (binary values that are not UTF-8, kept with U+FFFD in place of the bad bytes).
    Small tables can be given as `rows` (one list of cells per record) and their `numbers`.
    """

    def __init__(
        self,
        headers: list[str],
        rows: Sequence[Sequence[str | None]] = (),
        numbers: Sequence[int] = (),
        malformed: dict[int, str] | None = None,
        encoding: str | None = None,
        *,
        cells: pl.DataFrame | None = None,
        unreadable: dict[int, list[int]] | None = None,
        malformed_reasons: dict[int, str] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.headers = headers
        self.cells = cells if cells is not None else cells_frame(len(headers), rows, numbers)
        self.malformed = malformed or {}
        self.encoding = encoding
        self.unreadable = unreadable or {}
        self.malformed_reasons = malformed_reasons or {}
        self.notes = notes or []

    def reason_of(self, number: int) -> str:
        """The reason code of a malformed record."""
        return self.malformed_reasons.get(number, "malformed:record")

    @property
    def row_count(self) -> int:
        return self.cells.height + len(self.malformed)


def cell_names(width: int) -> list[str]:
    """The names of the cell columns of a table `width` headers wide."""
    return [str(i) for i in range(width)]


def cells_frame(
    width: int, rows: Sequence[Sequence[str | None]], numbers: Sequence[int]
) -> pl.DataFrame:
    """Records given row-wise as a cells frame (short records padded, long ones cut)."""
    columns = list(zip_longest(*rows, fillvalue=None))[:width]
    columns += [(None,) * len(rows)] * (width - len(columns))
    return pl.DataFrame(
        [pl.Series("_row_number", list(numbers), dtype=pl.Int64)]
        + [
            pl.Series(name, col, dtype=pl.String)
            for name, col in zip(cell_names(width), columns, strict=True)
        ]
    )


def is_ignored(name: str) -> bool:
    """Excel lock files and hidden files are never read."""
    return name.startswith("~$") or name.startswith(".")


def file_format(path: Path) -> str | None:
    """The format known from the extension (case-insensitive), or None."""
    return FORMATS.get(path.suffix.lower())


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode by the spec's rule: BOM → UTF-8; valid UTF-8 → UTF-8; else GB18030.

    Raises FileRejected, saying which byte is wrong and where, when the bytes do not decode.
    """
    bom = b"\xef\xbb\xbf"
    if data.startswith(bom):
        try:
            return data[len(bom) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            where = _bad_byte(data, len(bom) + exc.start)
        raise FileRejected(
            f"unreadable: starts with a UTF-8 BOM but {where} is not UTF-8: "
            "save it again as UTF-8, or without the BOM as GB18030"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        where = _bad_byte(data, exc.start)
    raise FileRejected(
        f"unreadable: neither UTF-8 nor GB18030 text, {where} is neither: save it again as UTF-8"
    )


def _bad_byte(data: bytes, offset: int) -> str:
    """Where a file stops decoding, in words, without any of its content: the decode error
    itself is never passed on, since it holds the whole file's bytes (its repr prints them)."""
    line = data.count(b"\n", 0, offset) + 1
    return f"byte 0x{data[offset]:02X} at offset {offset} (line {line})"


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
    table = _read_plain_csv(text)
    if table is None:
        table = _read_csv_records(text)
    table.encoding = encoding
    return table


def _read_plain_csv(text: str) -> RawTable | None:
    """The records the csv module would read, split by Polars; None when the text has a quote,
    a lone CR, a NUL or an over-long line, where only the csv module's own rules will do.

    Without those, a CSV record is exactly one non-empty line and its fields are the line
    split on commas, so the file is split in bulk rather than record by record.
    """
    if '"' in text or "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    lines = pl.Series([text]).str.split("\n").explode().str.strip_suffix("\r")
    longest = lines.str.len_chars().max()
    if not isinstance(longest, int) or longest > csv.field_size_limit():
        return None
    _check_width(str(lines[0]).count(",") + 1)
    headers = str(lines[0]).split(",")
    if not any(h.strip() for h in headers):
        raise FileRejected("empty: no header row")
    names = cell_names(len(headers))
    body = lines.slice(1)
    body = body.filter(body != "")  # a blank line is no record
    records = pl.DataFrame(
        {"_row_number": pl.int_range(1, body.len() + 1, eager=True, dtype=pl.Int64), "line": body}
    ).with_columns(width=pl.col("line").str.count_matches(",", literal=True) + 1)
    wrong = records.filter(pl.col("width") != len(headers))
    cells = records.filter(pl.col("width") == len(headers)).select(
        "_row_number",
        pl.col("line").str.split_exact(",", len(headers) - 1).struct.rename_fields(names),
    )
    cells = _empty_as_null(cells.unnest("line"))
    malformed = dict(zip(wrong["_row_number"].to_list(), wrong["line"].to_list(), strict=True))
    return RawTable(headers, malformed=malformed, cells=cells)


class _Lines:
    """The physical lines of a text as the csv module splits them (\n, \r\n, \r), with the
    index of the next one to read, so that reading can start again from any line."""

    def __init__(self, text: str) -> None:
        self.lines = list(io.StringIO(text, newline=""))
        self.next = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.next >= len(self.lines):
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def _runs_away(record: list[str]) -> bool:
    """A field that runs across line breaks past the longest value the contract allows: a
    quote opened and never closed, which swallowed the records after it."""
    longest = limits().free_text_chars
    return any(len(f) > longest and ("\n" in f or "\r" in f) for f in record)


def _read_csv_records(text: str) -> RawTable:
    """Record by record with the csv module: quoted fields, embedded newlines, broken quoting.

    A quote left open swallows the rest of the file into one field (the csv module reads to
    the end of the text looking for its close). When a field runs across line breaks past the
    contract's longest value, the record is an unclosed quote on the line where it opened: it
    is quarantined, and reading starts again on the next line.
    """
    source = _Lines(text)
    reader = csv.reader(source)
    try:
        headers = next(reader)
    except StopIteration as exc:
        raise FileRejected("empty: no header row") from exc
    except csv.Error as exc:
        raise FileRejected(f"unreadable header: {_csv_error(exc)}") from exc
    if source.next > 1 and _runs_away(headers):
        raise FileRejected("unreadable header: a quote opens on line 1 and is never closed")
    _check_width(len(headers))
    if not any(h.strip() for h in headers):
        raise FileRejected("empty: no header row")
    width = len(headers)
    rows: list[list[str]] = []
    numbers: list[int] = []
    malformed: dict[int, str] = {}
    reasons: dict[int, str] = {}
    notes: list[str] = []
    number = 0
    while True:
        first = source.next  # index of the record's first line
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            malformed[number] = f"unparseable CSV: {_csv_error(exc)}"
            if source.next - first > 1:  # a field past the csv module's limit, across lines
                reasons[number] = "unclosed_quote:record"
                malformed[number] = source.lines[first].rstrip("\r\n")
                notes.append(_unclosed_note(first + 1))
                source.next = first + 1
                reader = csv.reader(source)
            continue
        if not record:  # a blank line is no record
            continue
        number += 1
        if source.next - first > 1 and _runs_away(record):
            reasons[number] = "unclosed_quote:record"
            malformed[number] = source.lines[first].rstrip("\r\n")
            notes.append(_unclosed_note(first + 1))
            source.next = first + 1
            reader = csv.reader(source)
        elif len(record) != width:
            malformed[number] = ",".join(record)
        else:
            rows.append(record)
            numbers.append(number)
    cells = _empty_as_null(cells_frame(width, rows, numbers))
    return RawTable(
        headers, malformed=malformed, cells=cells, malformed_reasons=reasons, notes=notes
    )


def _unclosed_note(line: int) -> str:
    return (
        f"第 {line} 行引号未闭合 line {line}: a quote opens here and is never closed; "
        f"the record is quarantined and reading goes on from line {line + 1}"
    )


def _csv_error(exc: csv.Error) -> str:
    """The csv module's message without the text it may quote."""
    message = str(exc)
    return message if len(message) <= 80 and "'" not in message else type(exc).__name__


def _check_width(width: int) -> None:
    """A file may have at most the contract's number of columns."""
    most = limits().columns
    if width > most:
        raise FileRejected(f"超出限制 limit broken: {width} columns, at most {most}")


def _empty_as_null(cells: pl.DataFrame) -> pl.DataFrame:
    """An empty CSV field is an empty cell."""
    text = [c for c in cells.columns if c != "_row_number"]
    return cells.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in text)


def plain_header_key(header: str) -> str:
    """What a header means when no contract is at hand: its trimmed, lower-cased text."""
    return header.strip().lower()


def read_jsonl_bytes(data: bytes, header_key: HeaderKey = plain_header_key) -> RawTable:
    """JSON Lines: one object per line (ending in \\n); a line that is not a JSON object is
    malformed, and a record with an object or array as a value is nested: both are quarantined.

    Each record spells its keys its own way: keys are matched to columns by `header_key` (the
    contract's header rule: case, spaces, Chinese aliases), a column named by the first
    spelling seen. A second key of one record for the same column is a doubled column, as in a
    CSV header.
    """
    text, encoding = decode_text(data)
    records: list[dict[int, object] | None] = []
    malformed: dict[int, str] = {}
    reasons: dict[int, str] = {}
    headers: list[str] = []
    positions: dict[tuple[str, int], int] = {}  # (column, its nth key in a record) -> position
    meaning: dict[str, str] = {}  # key as spelled -> header_key of it
    # A record is one line ending in \n: str.splitlines would also split at U+2028, U+0085 and
    # other separators that JSON writers leave raw inside strings.
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line.strip(" \t\r"):  # JSON's own whitespace: a blank line is no record
            continue
        try:
            obj = json.loads(line)
        except RecursionError:  # nested too deep for the parser: nested all the same
            reasons[len(records) + 1] = "nested:record"
            obj = None
        except ValueError:  # not JSON, an over-long number
            obj = None
        if not isinstance(obj, dict):
            malformed[len(records) + 1] = line
            records.append(None)
            continue
        nested = next((k for k, v in obj.items() if isinstance(v, dict | list)), None)
        if nested is not None:  # an object or array as a value: deeper than its flat fields
            number = len(records) + 1
            malformed[number] = line
            reasons[number] = f"nested:{header_key(nested)}"
            records.append(None)
            continue
        cells: dict[int, object] = {}
        keys_of: Counter[str] = Counter()
        for key, value in obj.items():
            column = meaning.get(key)
            if column is None:
                column = meaning[key] = header_key(key)
            slot = (column, keys_of[column])
            keys_of[column] += 1
            if slot not in positions:
                positions[slot] = len(headers)
                headers.append(key)
            cells[positions[slot]] = value
        records.append(cells)
    if not records:
        raise FileRejected("empty: no JSON records")
    width = len(headers)
    _check_width(width)
    rows = [[cell_text(r.get(i)) for i in range(width)] for r in records if r is not None]
    numbers = [i for i, r in enumerate(records, start=1) if r is not None]
    return RawTable(headers, rows, numbers, malformed, encoding, malformed_reasons=reasons)


def read_parquet_bytes(data: bytes) -> RawTable:
    """Parquet: native dates, timestamps and numbers become their text form."""
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(io.BytesIO(data))
        _check_width(source.metadata.num_columns)
        table = source.read()
    except FileRejected:
        raise
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise _unreadable("Parquet: not a Parquet file, or a damaged one", exc) from None
    headers = list(table.column_names)
    numbers = pl.int_range(1, table.num_rows + 1, eager=True, dtype=pl.Int64)
    texts: list[pl.Series] = []
    unreadable: dict[int, list[int]] = {}
    for i, name in enumerate(cell_names(len(headers))):
        text, bad = _column_text(table.column(i))
        texts.append(text.alias(name))
        if bad is not None and bad.any():
            unreadable[i] = numbers.filter(bad).to_list()
    cells = pl.DataFrame([numbers.alias("_row_number"), *texts])
    return RawTable(headers, cells=cells, unreadable=unreadable)


def _column_text(column: pa.ChunkedArray) -> tuple[pl.Series, pl.Series | None]:
    """A Parquet column as the text `cell_text` gives each of its values, converted in bulk;
    for a binary column also where a value is not UTF-8 (None for other columns)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if column.null_count == len(column):
        return pl.Series([None] * len(column), dtype=pl.String), None
    binary = (
        pa.types.is_binary,
        pa.types.is_large_binary,
        pa.types.is_fixed_size_binary,
        pa.types.is_binary_view,
    )
    if any(test(kind) for test in binary):
        return _binary_text(_series(column.cast(pa.large_binary())))
    return _plain_column_text(column), None


def _binary_text(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Binary values (Parquet BYTE_ARRAY without a string annotation) decoded as UTF-8, once
    per distinct value, and where a value is not UTF-8: that one is kept with U+FFFD."""
    distinct = values.drop_nulls().unique().to_list()
    texts: list[str] = []
    bad: list[bytes] = []
    for value in distinct:
        try:
            texts.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(value.decode("utf-8", errors="replace"))
            bad.append(value)
    text = values.replace_strict(distinct, texts, default=None, return_dtype=pl.String)
    unreadable = values.is_in(pl.Series(bad, dtype=pl.Binary).implode()).fill_null(False)
    return text, unreadable


def _plain_column_text(column: pa.ChunkedArray) -> pl.Series:
    """A column of text, numbers, dates or anything else as the text `cell_text` gives."""
    import pyarrow as pa

    kind = column.type
    native = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    exact = native + (pa.types.is_integer, pa.types.is_boolean, pa.types.is_date32)
    if any(test(kind) for test in exact):
        return _series(column).cast(pl.String)
    plain_time = pa.types.is_timestamp(kind) and kind.tz is None and kind.unit != "ns"
    if kind in (pa.float32(), pa.float64()) or plain_time:
        # Float and time texts follow Python's own rules: apply them once per distinct value.
        values = _series(column)
        distinct = values.unique()
        texts = pl.Series([cell_text(v) for v in distinct.to_list()], dtype=pl.String)
        return values.replace_strict(distinct, texts, return_dtype=pl.String)
    return pl.Series([cell_text(v) for v in column.to_pylist()], dtype=pl.String)


def _series(column: pa.ChunkedArray) -> pl.Series:
    series = pl.from_arrow(column)
    assert isinstance(series, pl.Series)
    return series


def _sheet_rows(rows: Iterable[Sequence[object]]) -> RawTable:
    """A sheet's rows as a table: the header on the first row, blank rows left out. Rows are
    consumed one at a time, so blank rows (a sheet may declare a million) cost no memory."""
    lim = limits()
    rows = iter(rows)
    first = next(rows, None)
    if first is None or not any(v is not None and str(v).strip() for v in first):
        raise FileRejected("empty: no header row on the first sheet")
    headers = [cell_text(v) or "" for v in first]
    while headers and not headers[-1].strip():
        headers.pop()
    _check_width(len(headers))
    width = len(headers)
    body = []
    for count, row in enumerate(rows, start=2):
        if count > lim.sheet_rows:
            raise FileRejected(f"超出限制 limit broken: more than {lim.sheet_rows:,} rows")
        cells = [cell_text(v) or None for v in list(row)[:width]]  # "" is an empty cell
        cells += [None] * (width - len(cells))
        if any(c is not None and c.strip() for c in cells):
            body.append(cells)
    return RawTable(headers, body, list(range(1, len(body) + 1)))


def check_xlsx_parts(data: bytes) -> None:
    """An .xlsx is a zip: its parts may decompress to at most the contract's limit (a 10 MB
    file can hold gigabytes of sheet XML). The sizes are the zip's own, checked unread; a part
    that holds more than its stated size fails its read."""
    most = limits().xlsx_unpacked_bytes
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
    except Exception as exc:
        raise _unreadable("Excel workbook: not an .xlsx file, or a damaged one", exc) from None
    if unpacked > most:
        raise FileRejected(
            f"超出限制 limit broken: its parts decompress to {unpacked:,} bytes, at most {most:,}"
        )


def beyond_sheet_limits(rows: int, columns: int) -> bool:
    """Whether a sheet of `rows` × `columns` passes the contract's limits."""
    lim = limits()
    return rows > lim.sheet_rows or columns > lim.columns


def check_sheet_size(sheet: Any) -> None:
    """FileRejected when the rows and columns an openpyxl read-only sheet declares (its
    <dimension>, 0 when it declares none) pass the contract's limits, before any row is read."""
    lim = limits()
    rows, columns = sheet.max_row or 0, sheet.max_column or 0
    if beyond_sheet_limits(rows, columns):
        raise FileRejected(
            f"超出限制 limit broken: the sheet declares {rows:,} rows × {columns:,} "
            f"columns, at most {lim.sheet_rows:,} × {lim.columns}"
        )


# Issue 22: .xlsx sheets by calamine where it reads them as openpyxl does (False: openpyxl
# always, the reference path that tests compare it with).
CALAMINE = True


def read_xlsx_bytes(data: bytes) -> RawTable:
    """Excel 2007+: first sheet, header on row 1, every row the sheet holds, whatever size it
    declares. Read by calamine where the workbook's XML shows nothing that only openpyxl reads
    as the contract wants (`calamine_rows`), else by openpyxl (`openpyxl_rows`): both give
    the same cells, which a test checks on generated workbooks."""
    check_xlsx_parts(data)
    rows = calamine_rows(data) if CALAMINE else None
    return _sheet_rows(rows if rows is not None else openpyxl_rows(data))


def openpyxl_rows(data: bytes) -> Iterator[Sequence[object]]:
    """The first worksheet's rows by openpyxl, read-only. A sheet that declares more rows or
    columns than the contract allows is rejected before it is read; reading is bounded by the
    limits, not by the declared size, which some writers understate (`<dimension ref="A1"/>`
    would otherwise hide every row after the first)."""
    import openpyxl

    lim = limits()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as exc:
        raise _unreadable("Excel workbook: not an .xlsx file, or a damaged one", exc) from None
    try:
        check_sheet_size(sheet)
        # Bounds: a row numbered past the limit, or a cell far to the right, would otherwise
        # be padded with empty cells up to it.
        yield from sheet.iter_rows(
            max_row=lim.sheet_rows + 1, max_col=lim.columns + 1, values_only=True
        )
    finally:
        book.close()


# What calamine reads otherwise than openpyxl (checked on the bytes before it reads any):
# an error cell (#N/A: openpyxl keeps the text), a padded value (<v> 12 </v>: calamine keeps
# it as text); found as plain bytes, which is fast (text that happens to hold them only
# sends the file to openpyxl)
_NOT_PLAIN = (b't="e"', b"t='e'", *(w + b"</v>" for w in (b" ", b"\t", b"\n", b"\r")))
_PADDED_START = re.compile(rb"<v>\s")
_ESCAPED = re.compile(rb"_x[0-9A-Fa-f]{4}_")  # _x000D_: calamine unescapes it, openpyxl not
_BLANK_TEXT = re.compile(rb"<t>\s+</t>")  # " " not marked xml:space: calamine drops it
# an integer of 16 digits or more: openpyxl reads it exactly, calamine as a float
_LONG_INTEGER = re.compile(rb"<v>-?[0-9]{16,}</v>")
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:row|c)\b")  # <x:c>: a namespace prefix
_ROW_NUMBER = re.compile(rb"<row\b[^>]*\sr=[\"'](\d+)[\"']")
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]+)[0-9]')  # as writers put it: r first
_ANY_CELL = re.compile(rb"<c[\s/>]")
_DIMENSION = re.compile(rb"<dimension\s+ref=[\"']([^\"']*)[\"']")
_REF = re.compile(r"\$?([A-Za-z]*)\$?(\d*)")


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - ord("A") + 1
    return number


def _declared_within_limits(sheet_xml: bytes) -> bool:
    """True unless the sheet declares more rows or columns than the limits (openpyxl rejects
    those unread: `check_sheet_size`)."""
    match = _DIMENSION.search(sheet_xml, 0, 4096)
    if match is None:
        return True
    for ref in match.group(1).decode(errors="replace").split(":"):
        parts = _REF.fullmatch(ref)
        if parts is None:
            return False
        letters, digits = parts.groups()
        if beyond_sheet_limits(int(digits or 0), _column_number(letters)):
            return False
    return True


def _plain_sheet(sheet_xml: bytes) -> bool:
    """True when calamine reads this sheet's cells as openpyxl does and within the limits:
    every row and cell numbered (no prefix), none past the limits, the rectangle calamine
    fills no bigger than a few times the cells the sheet holds (a cell at GR1048576 in a
    small file would cost gigabytes), no error cell, no escaped character, no padded value."""
    if not _declared_within_limits(sheet_xml) or _PREFIXED.search(sheet_xml):
        return False
    if any(b in sheet_xml for b in _NOT_PLAIN):
        return False
    if any(p.search(sheet_xml) for p in (_PADDED_START, _ESCAPED, _BLANK_TEXT, _LONG_INTEGER)):
        return False
    rows = [int(r) for r in _ROW_NUMBER.findall(sheet_xml)]
    if len(rows) != sheet_xml.count(b"<row"):
        return False
    refs = _CELL_COLUMN.findall(sheet_xml)
    cells = len(_ANY_CELL.findall(sheet_xml))
    if len(refs) != cells:
        return False
    width = max((_column_number(c.decode()) for c in set(refs)), default=0)
    height = max(rows, default=0)
    if beyond_sheet_limits(height, width):
        return False
    return height * width <= 4 * cells + 1_000_000


def calamine_rows(data: bytes) -> Sequence[Sequence[object]] | None:
    """The first worksheet's rows by calamine (five to eight times openpyxl's speed), or None
    where only openpyxl's reading is certain (`_plain_sheet`, a first sheet that is no
    worksheet, a cell calamine cannot read)."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        # Every part, wherever the workbook's relationships put it: a worksheet is a part with
        # sheetData (a first sheet outside xl/worksheets/ is checked too), text anywhere else
        # (the shared strings) must hold nothing calamine reads otherwise.
        sheets = 0
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                part = archive.read(name)
                if b"sheetData" in part:
                    sheets += 1
                    if not _plain_sheet(part):
                        return None
                elif _ESCAPED.search(part) or _BLANK_TEXT.search(part):
                    return None
        if not sheets:
            return None
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        first = book.sheets_metadata[0] if book.sheets_metadata else None
        if first is None or first.typ != SheetTypeEnum.WorkSheet:
            return None
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:
        return None  # openpyxl reads it, or says why it cannot
    return rows


def read_xls_bytes(data: bytes) -> RawTable:
    """Legacy Excel 97-2003: first sheet, date cells converted with the book's date mode."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception as exc:
        raise _unreadable(
            "legacy Excel workbook: not an .xls file, or a damaged one", exc
        ) from None
    sheet = book.sheet_by_index(0)
    _check_width(sheet.ncols)
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


def _unreadable(what: str, exc: Exception) -> FileRejected:
    """The rejection of a file a library could not read, naming the kind of error only: the
    error's own message may quote the file (a cell, a line), personal data included."""
    return FileRejected(f"unreadable {what} ({type(exc).__name__})")


def read_bytes(data: bytes, fmt: str, header_key: HeaderKey = plain_header_key) -> RawTable:
    """Read a delivered file's bytes; raises FileRejected when the file cannot be loaded at all.

    `header_key` says which column a header names, for formats whose records name their own
    columns (JSON Lines). Whatever a reader raises rejects that one file, with a reason that
    holds none of its content.
    """
    if not data:
        raise FileRejected("empty: 0-byte file")
    try:
        if fmt == "jsonl":  # the one format whose records name their own columns
            return read_jsonl_bytes(data, header_key)
        return READERS[fmt](data)
    except FileRejected:
        raise
    except Exception as exc:
        raise _unreadable(f"{fmt} file: the reader failed", exc) from None
