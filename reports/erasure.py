"""Erasure in files already written: the exports and reports of earlier runs (OUT/<as-of>/).

An erased phone number must go from what the teams already received too, not only from the
warehouse. Past runs cannot be replayed as they were (the warehouse has moved on), so each
file is rewritten in place with the number blanked: CSV and the other text files (HTML, JSON,
Markdown, SVG) as text in their own encoding, Parquet column by column with its types, and
Excel workbooks cell by cell. Other files (images, fonts) cannot hold a typed number.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from openpyxl import load_workbook

TEXT_SUFFIXES = {".csv", ".html", ".htm", ".json", ".md", ".txt", ".svg", ".xml"}
_BOM = b"\xef\xbb\xbf"


def _blank_text(path: Path, matcher: re.Pattern[str], blank: str, dry_run: bool) -> int:
    data = path.read_bytes()
    bom = data.startswith(_BOM)
    try:
        text, encoding = data[len(_BOM) if bom else 0 :].decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("gb18030"), "gb18030"  # a steward export for Excel
    new, count = matcher.subn(blank, text)
    if count and not dry_run:
        path.write_bytes((_BOM if bom else b"") + new.encode(encoding))
    return count


def _blank_parquet(path: Path, matcher: re.Pattern[str], blank: str, dry_run: bool) -> int:
    frame = pl.read_parquet(path)
    count = 0
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        # Polars' regex has no look-arounds: digits are a cheap first filter.
        at = frame[name].str.contains("[0-9０-９]").fill_null(False).arg_true()
        new = [matcher.subn(blank, v) for v in frame[name].gather(at)]
        changed = sum(n for _, n in new)
        if changed:
            count += changed
            column = frame[name].clone().scatter(at, [v for v, _ in new])
            frame = frame.with_columns(column)
    if count and not dry_run:
        frame.write_parquet(path)
    return count


def _blank_workbook(path: Path, matcher: re.Pattern[str], blank: str, dry_run: bool) -> int:
    workbook = load_workbook(path)
    count = 0
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    new, n = matcher.subn(blank, cell.value)
                    if n:
                        cell.value, count = new, count + n
    if count and not dry_run:
        workbook.save(path)
    return count


def blank_in_written_files(
    root: Path, matcher: re.Pattern[str], blank: str, *, dry_run: bool = False
) -> dict[Path, int]:
    """Every file under `root` where `matcher` was found, with the number of places, each
    place replaced by `blank` (unless `dry_run`)."""
    found: dict[Path, int] = {}
    if not root.is_dir():
        return found
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        suffix = path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            count = _blank_text(path, matcher, blank, dry_run)
        elif suffix == ".parquet":
            count = _blank_parquet(path, matcher, blank, dry_run)
        elif suffix == ".xlsx":
            count = _blank_workbook(path, matcher, blank, dry_run)
        else:
            continue
        if count:
            found[path] = count
    return found
