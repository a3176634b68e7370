"""Write the spec's exports: NAME.csv (UTF-8 with BOM, RFC 4180) and NAME.parquet, same columns.

Also the one rule for every CSV and workbook made for people (FEEDS.md, Exports): no text that
came from a feed is ever a formula. A text cell starting with `=`, `+`, `-`, `@`, tab or carriage
return gets a leading `'` (OWASP's CSV injection advice); numbers stay numbers; Parquet keeps
the value.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from transforms.landing import LandingScan

DATA_QUALITY_COLUMNS = [
    "feed",
    "file",
    "status",
    "rows_read",
    "rows_accepted",
    "rows_quarantined",
    "issues",
]


# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage return:
# some import paths trim them and read what follows). One pattern for Python and Polars.
FORMULA_START = r"^[=+\-@\t\r]"
_FORMULA_START = re.compile(FORMULA_START)


def defuse_formula(text: str) -> str:
    """`text`, with a leading `'` when a spreadsheet would read it as a formula."""
    return "'" + text if _FORMULA_START.match(text) else text


def defuse_text_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with `defuse_formula` applied to its text columns; other columns untouched."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(pl.col(text).str.replace(FORMULA_START, "'$0"))


def workbook_text(text: str) -> str:
    """`text` as a workbook cell may hold it: without the control characters openpyxl refuses
    (IllegalCharacterError would fail the whole run: ingest strips them, this is the second
    line), then defused."""
    return defuse_formula(ILLEGAL_CHARACTERS_RE.sub("", text))


def string_cell(ws: Worksheet | WriteOnlyWorksheet, text: str) -> Cell:
    """A cell of `ws` holding `workbook_text(text)` as a string. openpyxl would make text
    starting with `=` a formula and `#N/A` and the like error values; the type is set after
    the value, so a string cell it stays. Both `Worksheet.append` and write-only sheets take it."""
    cell = WriteOnlyCell(ws, value=workbook_text(text))
    cell.data_type = "s"
    return cell


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """A CSV as the spec's exports are written: UTF-8 with BOM, RFC 4180 (CRLF line breaks,
    fields quoted when they hold a comma, quote or line break), null as an empty field,
    dates YYYY-MM-DD, and no text cell a formula (`defuse_text_columns`)."""
    defuse_text_columns(frame).write_csv(
        path, include_bom=True, null_value="", date_format="%Y-%m-%d", line_terminator="\r\n"
    )


def write_export(frame: pl.DataFrame, out_dir: Path, name: str) -> list[Path]:
    """Write one export in both formats; Parquet numbers are DOUBLE as the spec says."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = out_dir / f"{name}.csv", out_dir / f"{name}.parquet"
    write_csv(frame, csv_path)
    numeric = [c for c, t in frame.schema.items() if t.is_integer()]
    frame.with_columns(pl.col(numeric).cast(pl.Float64)).write_parquet(parquet_path)
    return [csv_path, parquet_path]


def data_quality(con: duckdb.DuckDBPyConnection, scan: LandingScan) -> pl.DataFrame:
    """One row per file now in the landing directory, from the manifest entry of its content."""
    seen = pl.DataFrame(
        {
            "feed": [f.feed for f in scan.files],
            "file": [f.rel for f in scan.files],
            "size_bytes": [f.size for f in scan.files],
            "mtime": [f.mtime for f in scan.files],
        },
        schema={"feed": pl.String, "file": pl.String, "size_bytes": pl.Int64, "mtime": pl.Float64},
    )
    con.register("seen", seen.to_arrow())
    try:
        return con.sql(
            """
        select m.feed, m.file, m.status, m.rows_read, m.rows_accepted, m.rows_quarantined,
               m.issues
        from seen s
        join ops.manifest m using (feed, file, size_bytes, mtime)
        qualify row_number() over (partition by m.feed, m.file order by m.loaded_at desc) = 1
        order by m.feed, m.file
        """
        ).pl()
    finally:
        con.unregister("seen")
