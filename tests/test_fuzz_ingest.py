"""Fuzzing the ingest (issue 17): random and mutated files of every format in one landing.

Each example starts from valid records of the feeds (built from the contract), spells them
in a random format (CSV in UTF-8, UTF-8 with BOM or GB18030, JSON Lines, Parquet, .xlsx,
legacy .xls) with random header spellings (any case, Chinese aliases, doubled, unknown,
missing), puts hostile values in some cells (huge and non-finite numbers, dates far out of
range, control characters, unclosed quotes, very long text, nested JSON) and sometimes
breaks the bytes (truncated, a byte changed, BOM + GBK, UTF-16, empty, random, an .xlsx
declaring a huge sheet). Whatever the files hold, the contract says:

- the ingest does not raise, and a second ingest handles nothing again;
- every file is in data_quality once, `loaded`, `duplicate` or `rejected`; a loaded file's
  rows_read = rows_accepted + rows_quarantined, and the warehouse agrees (raw rows =
  rows_read, staging + quarantine rows = rows_read); others load nothing;
- a rejected file has a reason, and the reason quotes no cell;
- files with the same bytes, feed and format are loaded once;
- a file written as it was generated loses no row: rows_read = the rows written;
- accepted values keep the contract's limits (finite numbers within their bounds, dates
  2000-01-01 to 2099-12-31, text without control characters and within its length).

`RADAR_FUZZ_EXAMPLES` sets the number of examples (default 100: 25-50 s on two busy cores);
the examples are derandomized, so every run tries the same ones. A failure is reported as
generated; `RADAR_FUZZ_SHRINK=1` shrinks it to a minimal example first (minutes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from data_contracts.batch import DeliveredFile, FileBatch, build_batch
from data_contracts.contract import Column, contracts, regions, retired_regions
from data_contracts.readers import file_format
from tests.conftest import ingest_reference_paths, make_uscc, write
from tests.delivery import EXTENSIONS, TEXT_ENCODINGS, csv_text, file_bytes, with_sheet_dimension
from transforms.exports import data_quality
from transforms.ingest import ingest_landing

EXAMPLES = int(os.environ.get("RADAR_FUZZ_EXAMPLES", "100"))
# Shrinking a failure to its smallest example takes minutes; `make test` reports the failing
# example as generated (its recipe says how it was made) unless RADAR_FUZZ_SHRINK=1.
SHRINK = os.environ.get("RADAR_FUZZ_SHRINK", "0") == "1"
# every fuzz test: derandomised (the same examples in every run), no example database
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else []),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MARKER = "MARK7Qz"  # in every generated text cell: no rejection reason may quote it
FEEDS = list(contracts())
USCCS = [make_uscc("92630102MA0000001"), make_uscc("91110108MA01ABCD2"), "91630100000000000X"]

# What a careless or hostile sender puts in a cell, as text, by the contract type it hits.
HOSTILE_NUMBERS = [
    "1e20",
    "1e308",
    "-1e308",
    "1e400",
    "inf",
    "-inf",
    "nan",
    "-0",
    "10000000001",
    "1000000001",
    "9" * 40,
    "9223372036854775808",
    "1_000",
    "１２",
]
HOSTILE_DATES = [
    "0001-01-01T00:00:00+09:00",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59-09:00",
    "1999-12-31",
    "2100-01-01",
    "2026-02-30",
    "0000-00-00",
    "2026-05-03T25:61:00",
]
HOSTILE_TEXT = [
    f"{MARKER}\x00",
    f"a\x00{MARKER}",
    f"a\v{MARKER}",
    f"\x7f{MARKER}",
    f"{MARKER}\tb",
    f"{MARKER}\r\nb",
    "\r",
    " ",
    "",
    f'"open{MARKER}',
    f'{MARKER}"',
    f"\u2028{MARKER}\x85",
    f"\ufeff{MARKER}",
    f"𠀀{MARKER}",
    f"={MARKER}",
    "假" * 10_001 + MARKER,
    MARKER * 3_000,  # 21,000 characters: over a description's limit too
]
# Native values of the formats that have them (JSON, Parquet, Excel cells).
DEEP = [[[[[[[[[[[[[[[[[[[[MARKER]]]]]]]]]]]]]]]]]]]]
HOSTILE_NATIVE_NUMBERS = [
    1e20,
    1e308,
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    -0.0,
    2**63 - 1,
    10**30,
    True,
]
HOSTILE_NATIVE_DATES = [
    dt.date(1, 1, 1),
    dt.date(9999, 12, 31),
    dt.datetime(1, 1, 1, 0, 0),
    dt.datetime(9999, 12, 31, 23, 59, 59),
    dt.datetime(1999, 12, 31, 23, 0, tzinfo=dt.UTC),
]
HOSTILE_NATIVE_OTHER = [{"a": MARKER}, [MARKER, 1], DEEP, {}, []]
HOSTILE_BY_TYPE = {
    "decimal": (HOSTILE_NUMBERS, HOSTILE_NATIVE_NUMBERS),
    "integer": (HOSTILE_NUMBERS, HOSTILE_NATIVE_NUMBERS),
    "date": (HOSTILE_DATES, HOSTILE_NATIVE_DATES),
    "timestamp": (HOSTILE_DATES, HOSTILE_NATIVE_DATES),
}
HOSTILE_ANY = (
    HOSTILE_NUMBERS + HOSTILE_DATES + HOSTILE_TEXT,
    HOSTILE_NATIVE_NUMBERS + HOSTILE_NATIVE_DATES + HOSTILE_NATIVE_OTHER,
)
# Whole JSON lines in place of a record.
HOSTILE_JSON_LINES = [
    "null",
    "42",
    f'"{MARKER}"',
    f'["{MARKER}"]',
    "[" * 990 + "]" * 990,
    '{"a": ' * 990 + "1" + "}" * 990,
    "[" * 5000,
    "{",
    f'{{"x": "{MARKER}"',
    '{"complaint_id": 1e999}',
    "NaN",
    f'{{"a": "{MARKER}"}} trailing',
]
XLSX_DIMENSIONS = ["A1:ZZ2000000", "A1:E1048577", "A1:GS2"]
SPELLINGS = ["name", "upper", "padded", "alias", "title"]


def short(value: Any) -> str:
    """A value for the example's description: long text cut."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}…({len(text)} chars)"


@dataclass(frozen=True)
class Delivered:
    """A generated landing file, with how it was made."""

    rel: str
    feed: str
    fmt: str
    data: bytes
    mtime: float
    rows_written: int | None  # the records in it when its bytes are exactly as written
    recipe: str

    def __repr__(self) -> str:
        data = repr(self.data) if len(self.data) <= 400 else f"<{len(self.data)} bytes>"
        return f"Delivered({self.rel!r}, {self.fmt}, mtime={self.mtime}, {self.recipe}, {data})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How Hypothesis prints a failing example: the recipe, and the bytes when short."""
        printer.text(repr(self))


def chance(draw: st.DrawFn, percent: int) -> bool:
    """True with about this chance; shrinks to False."""
    return draw(st.integers(0, 99)) >= 100 - percent


def valid_value(draw: st.DrawFn, column: Column, native: bool) -> Any:
    """A value the contract accepts for the column (native where the format has types)."""
    kind = column.type
    if kind == "text":
        word = draw(st.sampled_from(["绿丰种业", "某某专营店", "假种子", "Green Farm", "x"]))
        return f"{word}{MARKER}{draw(st.integers(0, 9))}"
    if kind in ("enum", "category", "platform"):
        return draw(st.sampled_from(sorted(column.labels)))
    if kind == "region":
        codes = sorted(regions()) + sorted(retired_regions())
        if column.scope != "in_province":
            codes += ["110101", "440300", "820000"]
        return draw(st.sampled_from(codes))
    if kind == "uscc":
        return draw(st.sampled_from(USCCS))
    if kind == "date":
        day = draw(st.dates(dt.date(2000, 1, 2), dt.date(2099, 12, 30)))
        return day if native else day.isoformat()
    if kind == "timestamp":
        moment = draw(st.datetimes(dt.datetime(2000, 1, 2), dt.datetime(2099, 12, 30)))
        moment = moment.replace(microsecond=0)
        if native:
            return moment
        spelling = draw(
            st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S+08:00", "%Y-%m-%dT%H:%M:%SZ"])
        )
        return moment.strftime(spelling)
    if kind == "decimal":
        top = 50 if column.name == "rating" else 10**8
        number = draw(st.integers(1, top)) / (10 if column.name == "rating" else 100)
        return number if native else str(number)
    if kind == "integer":
        count = draw(st.integers(0, 10**6))
        return count if native else str(count)
    raise AssertionError(f"no generator for contract type {kind}")


def header_of(draw: st.DrawFn, column: Column) -> str:
    """The column's name as a sender might spell it."""
    spelling = draw(st.sampled_from(SPELLINGS))
    if spelling == "upper":
        return column.name.upper()
    if spelling == "padded":
        return f" {column.name} "
    if spelling == "alias" and column.aliases:
        return draw(st.sampled_from(column.aliases))
    if spelling == "title":
        return column.name.title()
    return column.name


def hostile_value(draw: st.DrawFn, column: Column | None, native: bool) -> Any:
    """A value aimed at the column's type (text for text, numbers for numbers, …), or any."""
    kind = column.type if column is not None else "text"
    texts, natives = HOSTILE_BY_TYPE.get(kind, (HOSTILE_TEXT, HOSTILE_NATIVE_OTHER))
    if chance(draw, 25):
        texts, natives = HOSTILE_ANY
    if native and chance(draw, 40):
        return draw(st.sampled_from(natives))
    return draw(st.sampled_from(texts))


def raw_csv(headers: list[str], rows: list[list[Any]]) -> str:
    """CSV written by hand without quoting: a comma, quote or line break in a cell breaks it."""
    lines = [",".join(headers)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


@st.composite
def generated_file(draw: st.DrawFn, index: int) -> Delivered:
    """One file of a random feed and format, valid records with hostile changes."""
    feed = draw(st.sampled_from(FEEDS))
    contract = contracts()[feed]
    fmt = draw(st.sampled_from(list(EXTENSIONS)))
    native = fmt in ("jsonl", "parquet", "xlsx", "xls") and draw(st.booleans())
    recipe: list[str] = [feed, f"native={native}"]

    columns = [c for c in contract.columns if c.required or draw(st.booleans())]
    if columns and chance(draw, 10):
        dropped = columns.pop(draw(st.integers(0, len(columns) - 1)))
        recipe.append(f"without {dropped.name}")
    columns = list(draw(st.permutations(columns)))
    headers = [header_of(draw, c) for c in columns]
    makers: list[Column | None] = list(columns)  # None: an unknown column
    if chance(draw, 15):
        unknown = draw(st.sampled_from(["extra", "备注", " Remarks ", "", "_column_3", "suffixed"]))
        if unknown == "suffixed" and headers:  # how a reader might rename a doubled header
            unknown = f"{draw(st.sampled_from(headers))}_{draw(st.integers(1, 20))}"
        headers.append(unknown)
        makers.append(None)
    if columns and chance(draw, 15):
        i = draw(st.integers(0, len(columns) - 1))
        headers.append(headers[i])
        makers.append(columns[i])
        recipe.append(f"doubled {headers[i]!r}")
    recipe.append(f"headers={headers}")

    rows: list[list[Any]] = []
    for _ in range(draw(st.integers(0, 4))):
        row = [valid_value(draw, c, native) if c is not None else f"note{MARKER}" for c in makers]
        for _ in range(draw(st.integers(0, 3))):
            if row:
                i = draw(st.integers(0, len(row) - 1))
                row[i] = hostile_value(draw, makers[i], native)
        if row and chance(draw, 5):
            row = row[:-1] if draw(st.booleans()) else [*row, f"spill{MARKER}"]
        rows.append(row)
    recipe.append(f"rows={[[short(v) for v in r] for r in rows]}")

    exact = True  # the bytes are exactly what the writer wrote
    if fmt in TEXT_ENCODINGS and chance(draw, 15):
        data = raw_csv(headers, rows).encode(TEXT_ENCODINGS[fmt])
        recipe.append("unquoted")
        exact = False
    else:
        try:
            data = file_bytes(fmt, headers, rows)
        except Exception as exc:  # a writer refusing a value (it is the sender's tool)
            note(f"{fmt} writer refused: {type(exc).__name__}")
            assume(False)
    if fmt == "jsonl" and rows and chance(draw, 25):
        lines = data.decode().split("\n")
        i = draw(st.integers(0, len(rows) - 1))
        if draw(st.booleans()):
            lines[i] = draw(st.sampled_from(HOSTILE_JSON_LINES))
        else:  # a deeply nested value in a record
            lines[i] = lines[i][:-1] + ', "deep": ' + "[" * 990 + "]" * 990 + "}"
        data = "\n".join(lines).encode()
        recipe.append(f"json line {i + 1}: {short(lines[i])}")

    mutation = "none"
    if chance(draw, 35):
        mutation = draw(
            st.sampled_from(
                ["truncate", "byte", "insert", "empty", "random", "bom_gbk", "utf16", "dimension"]
            )
        )
    if mutation == "truncate" and data:
        at = draw(st.integers(0, len(data) - 1))
        data, mutation = data[:at], f"truncated at {at}"
    elif mutation == "byte" and data:
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.integers(0, 255))
        data, mutation = data[:at] + bytes([byte]) + data[at + 1 :], f"byte {at} = {byte:#04x}"
    elif mutation == "insert":
        at = draw(st.integers(0, len(data)))
        extra = draw(st.binary(min_size=1, max_size=8))
        data, mutation = data[:at] + extra + data[at:], f"inserted {extra!r} at {at}"
    elif mutation == "empty":
        data = b""
    elif mutation == "random":
        data = draw(st.binary(max_size=300))
    elif mutation == "bom_gbk":
        text = csv_text(headers, rows) if fmt in TEXT_ENCODINGS else data.decode("latin-1")
        data = b"\xef\xbb\xbf" + text.encode("gb18030")
    elif mutation == "utf16":
        data = csv_text(headers, rows).encode("utf-16")
    elif mutation == "dimension" and fmt == "xlsx":
        ref = draw(st.sampled_from(XLSX_DIMENSIONS))
        data, mutation = with_sheet_dimension(data, ref), f"dimension {ref}"
    else:
        mutation = "none"
    recipe.append(f"mutation={mutation}")

    folder = draw(st.sampled_from(["", "2026-05/", "a/b/"]))
    ext = EXTENSIONS[fmt]
    ext = ext.upper() if chance(draw, 10) else ext
    rows_written = len(rows) if exact and mutation == "none" else None
    if rows_written is not None and fmt in ("xlsx", "xls"):  # a blank sheet row is no row
        rows_written = sum(any(str(v).strip() for v in r if v is not None) for r in rows)
    return Delivered(
        rel=f"{feed}/{folder}f{index}{ext}",
        feed=feed,
        fmt=fmt,
        data=data,
        mtime=1_780_000_000 + 60 * draw(st.integers(0, 3)),
        rows_written=rows_written,
        recipe="; ".join(recipe),
    )


@st.composite
def landings(draw: st.DrawFn) -> list[Delivered]:
    """One to four files; some with the bytes of an earlier one (in its feed or another)."""
    files: list[Delivered] = []
    for index in range(draw(st.integers(1, 4))):
        if files and chance(draw, 20):
            source = draw(st.sampled_from(files))
            feed = draw(st.sampled_from([source.feed, *FEEDS]))
            files.append(
                Delivered(
                    rel=f"{feed}/copy{index}{EXTENSIONS[source.fmt]}",
                    feed=feed,
                    fmt=source.fmt,
                    data=source.data,
                    mtime=source.mtime + 60 * draw(st.integers(0, 2)),
                    rows_written=source.rows_written,
                    recipe=f"same bytes as {source.rel}",
                )
            )
        else:
            files.append(draw(generated_file(index)))
    return files


def count(con: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> int:
    row = con.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def check_every_file_accounted_for(
    con: duckdb.DuckDBPyConnection, files: list[Delivered], quality: dict[str, dict[str, Any]]
) -> None:
    assert sorted(quality) == sorted(f.rel for f in files), "data_quality is not one row a file"
    assert count(con, "select count(*) from ops.manifest", []) == len(files)
    for f in files:
        row = quality[f.rel]
        status = row["status"]
        assert row["feed"] == f.feed
        assert status in ("loaded", "duplicate", "rejected"), row
        raw = count(con, f"select count(*) from raw.{f.feed} where _file = ?", [f.rel])
        staged = count(
            con, f"select count(*) from staging.{f.feed}_history where _file = ?", [f.rel]
        )
        quarantined = count(con, "select count(*) from quarantine.rows where file = ?", [f.rel])
        if status == "loaded":
            assert row["rows_read"] == row["rows_accepted"] + row["rows_quarantined"], row
            assert (raw, staged, quarantined) == (
                row["rows_read"],
                row["rows_accepted"],
                row["rows_quarantined"],
            ), f"{f.rel}: the warehouse holds other counts than data_quality"
            if f.rows_written is not None:
                assert row["rows_read"] == f.rows_written, f"{f.rel}: rows lost or invented"
        else:
            assert (row["rows_accepted"], row["rows_quarantined"]) == (0, 0), row
            assert (raw, staged, quarantined) == (0, 0, 0), f"{f.rel} {status} but rows loaded"
        if status == "rejected":
            assert row["issues"], f"{f.rel}: rejected without a reason"
            assert MARKER not in row["issues"], f"{f.rel}: the reason quotes a cell"

    loaded = Counter(
        (f.feed, hashlib.sha256(f.data).hexdigest(), file_format(Path(f.rel)))
        for f in files
        if quality[f.rel]["status"] == "loaded"
    )
    assert all(n == 1 for n in loaded.values()), "the same bytes were loaded twice"


def spec_max(column: Column) -> float | None:
    """The spec's upper limit of a number column (FEEDS.md, Limits)."""
    if column.name == "rating":
        return 5
    if column.name == "price_cny":
        return 10_000_000
    if column.type == "decimal":
        return 10_000_000_000  # every other decimal is money
    if column.type == "integer":
        return 1_000_000_000
    return None


def limit_breaks_sql(column: Column) -> dict[str, str]:
    """SQL conditions on a staging column that break the spec's limits, by what they break."""
    name = column.name
    if column.type in ("decimal", "integer"):
        return {
            "not finite": f"not isfinite({name}::double)",
            f"over {spec_max(column):,.0f}": f"{name} > {spec_max(column)}",
        }
    if column.type == "date":
        return {"outside 2000-2099": f"{name} not between '2000-01-01' and '2099-12-31'"}
    if column.type == "timestamp":
        return {"outside 2000-2099": f"{name} < '2000-01-01' or {name} >= '2100-01-01'"}
    if column.type == "text":
        free = "\t\n\r" if name == "description" else ""
        controls = [chr(i) for i in [*range(0x20), 0x7F] if chr(i) not in free]
        pattern = "[" + "".join(f"\\x{ord(ch):02x}" for ch in controls) + "]"
        limit = 20_000 if name == "description" else 10_000
        return {
            "control character": f"regexp_matches({name}, '{pattern}')",
            f"over {limit:,} characters": f"length({name}) > {limit}",
        }
    return {}


def check_accepted_values_keep_the_limits(con: duckdb.DuckDBPyConnection) -> None:
    for feed, contract in contracts().items():
        for column in contract.staging_columns:
            for broken, where in limit_breaks_sql(column).items():
                bad = con.execute(
                    f"select _file, _row_number from staging.{feed}_history where {where} limit 1"
                ).fetchall()
                assert not bad, f"accepted {feed}.{column.name} {broken}, at {bad}"


@FUZZ
@given(landings())
def test_the_ingest_accounts_for_every_file_whatever_it_holds(files: list[Delivered]) -> None:
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(":memory:") as con:
        landing = Path(tmp)
        for f in files:
            write(landing / f.rel, f.data, mtime=f.mtime)
        report = ingest_landing(con, landing, "fuzz-1")
        assert sum(report.statuses.values()) == report.new_files == len(files)
        quality = {r["file"]: r for r in data_quality(con, report.scan).iter_rows(named=True)}
        for f in files:  # shown by --hypothesis-show-statistics
            event(f"{f.fmt} {quality.get(f.rel, {}).get('status')}")
        check_every_file_accounted_for(con, files, quality)
        check_accepted_values_keep_the_limits(con)
        again = ingest_landing(con, landing, "fuzz-2")
        assert again.new_files == 0, "a second ingest handled files again"


def batch_frames(batch: FileBatch) -> dict[str, pl.DataFrame | None]:
    rows = batch.rows
    frames = {"raw": batch.raw}
    if rows is not None:
        frames |= {"accepted": rows.accepted, "typed": rows.typed}
        frames |= {"quarantined": rows.quarantined, "findings": rows.findings}
    return frames


@FUZZ
@given(generated_file(0))
def test_the_fast_paths_build_each_file_as_the_reference_paths_do(file: Delivered) -> None:
    """Issue 22: whatever a file holds, the ingest's speed-ups (`INGEST_SPEED_UPS`) give the
    batch of their slow paths: the same status, issues, raw records and validated rows."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / file.rel
        write(path, file.data, mtime=file.mtime)
        delivered = DeliveredFile(file.feed, path, file.rel, file.mtime, len(file.data))
        fast = build_batch(delivered)
        with pytest.MonkeyPatch.context() as patch:
            ingest_reference_paths(patch)
            slow = build_batch(delivered)
    assert (fast.status, fast.issues, fast.rows_read) == (slow.status, slow.issues, slow.rows_read)
    for (name, got), want in zip(
        batch_frames(fast).items(), batch_frames(slow).values(), strict=True
    ):
        assert (got is None) == (want is None), name
        if got is not None and want is not None:
            assert_frame_equal(got, want)
