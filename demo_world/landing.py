"""Writing delivered files into WORLD/landing, byte-for-byte repeatable, with planted mistakes.

Each file is written from rows of contract columns in a delivery style (format, encoding,
header language, label language, timestamp style); its modification time is set to the
moment it was delivered. A few rows per file are spoiled with exactly one quarantine
reason each, and a few USCC cells get a wrong check digit; both are logged for truth.json.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from data_contracts.contract import contracts
from demo_world.config import WorldConfig
from demo_world.reference import Reference
from demo_world.uscc import corrupt

Row = dict[str, object]
_CST = dt.timedelta(hours=8)

# The quarantine reasons planted in each feed (see /tmp/interfaces.md), in the order they
# are first used so that even a tiny world shows every one of them.
ROW_REASONS = {
    "complaints": (
        "enum:product_category",
        "required:description",
        "type:received_at",
        "region:region_code",
        "enum:platform",
        "range:amount_cny",
        "malformed:record",
        "enum:channel",
    ),
    "inspections": (
        "required_when:violation_type",
        "type:inspected_on",
        "region:region_code",
        "malformed:record",
        "enum:result",
        "range:seized_value_cny",
        "required:entity_name",
    ),
    "entities": (
        "uscc:uscc",
        "required:name",
        "enum:entity_type",
        "type:registered_on",
        "malformed:record",
        "region:region_code",
    ),
    "credit": (
        "enum:record_type",
        "type:decided_on",
        "malformed:record",
        "range:amount_cny",
        "required:entity_name",
    ),
    "outcomes": (
        "enum:outcome",
        "type:closed_on",
        "malformed:record",
        "range:illegal_turnover_cny",
    ),
    "listings": (
        "range:price_cny",
        "range:rating",
        "enum:product_category",
        "required:title",
        "malformed:record",
        "enum:platform",
        "type:sales_30d",
    ),
}
# A broken JSON line as well as a CSV record with extra fields.
_ALSO_PER_FORMAT: dict[str, list[tuple[str, str | None]]] = {
    "complaints": [("malformed:record", "jsonl")],
    "outcomes": [("malformed:record", "jsonl")],
}
_BAD_LABELS = {
    "product_category": ("服装鞋帽", "shoes", "保健食品", "家用电器"),
    "platform": ("唯品会", "苏宁易购", "当当网"),
    "channel": ("wechat", "微信公众号", "信件"),
    "result": ("基本合格", "待复查"),
    "entity_type": ("外商投资企业", "分支机构"),
    "record_type": ("约谈", "责令整改"),
    "outcome": ("已结案", "撤销"),
}
_BAD_VALUES = {
    "received_at": ("2026-13-05 09:30:00", "2025-02-30 10:00:00", "待补录"),
    "inspected_on": ("2025-02-30", "2025-13-01", "待定"),
    "registered_on": ("2019-02-30", "不详"),
    "decided_on": ("2025-11-31", "2025-00-10"),
    "closed_on": ("2026-04-31", "2025-13-02"),
    "sales_30d": ("1.2万", "10万+", "约300"),
}
_OUT_OF_PROVINCE_CODES = ("440304", "330782", "620102", "510107")
_XLSX_EPOCH = dt.datetime(1980, 1, 1)


def columns(feed: str) -> tuple[str, ...]:
    """The contract's columns of `feed`, in contract order."""
    return tuple(c.name for c in contracts()[feed].columns)


def uscc_columns(feed: str) -> tuple[str, ...]:
    return tuple(c.name for c in contracts()[feed].columns if c.type == "uscc")


@dataclass(frozen=True)
class Style:
    """How one file is delivered."""

    fmt: str  # csv | jsonl | xlsx
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gb18030
    header: str = "en"  # en | zh | caps
    labels: str = "code"  # code | zh
    timestamps: str = "cst"  # cst: naive China time; mixed: also ...Z and +08:00
    newline: str = "\n"


@dataclass
class DataQualityLog:
    """The data-quality part of truth.json, filled while files are written."""

    bad_rows: list[dict[str, object]] = field(default_factory=list)
    uscc_findings: list[dict[str, object]] = field(default_factory=list)
    bad_files: list[dict[str, object]] = field(default_factory=list)
    rows_written: dict[str, int] = field(default_factory=dict)
    files_written: int = 0
    _pending: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    def _todo(self, feed: str) -> list[tuple[str, str | None]]:
        first = [(reason, None) for reason in ROW_REASONS[feed]]
        return self._pending.setdefault(feed, first + _ALSO_PER_FORMAT.get(feed, []))

    def next_reason(self, feed: str, allowed: Sequence[str], fmt: str, rnd: random.Random) -> str:
        """The next reason not yet planted in `feed` (in a file of `fmt`), else a random one."""
        todo = self._todo(feed)
        for reason, want in todo:
            if reason in allowed and want in (None, fmt):
                todo.remove((reason, want))
                return reason
        return rnd.choice(list(allowed))

    def typos_at_least_once(self, feed: str, column: str, n: int, candidates: int) -> int:
        """`n`, raised to 1 until the first USCC typo of `column` in `feed` is planted."""
        if candidates and not any(
            f["feed"] == feed and f["column"] == column for f in self.uscc_findings
        ):
            return max(n, 1)
        return n

    def has_pending(self, feed: str, allowed: Sequence[str], fmt: str) -> bool:
        return any(r in allowed and want in (None, fmt) for r, want in self._todo(feed))


def epoch_seconds(moment: dt.datetime) -> int:
    """A China-time delivery moment as POSIX seconds."""
    return int((moment - _CST - dt.datetime(1970, 1, 1)).total_seconds())


class Landing:
    """The landing directory being written."""

    def __init__(self, root: Path, config: WorldConfig, ref: Reference) -> None:
        self.root = root
        self.seed = config.seed
        self.ref = ref
        self.bad_row_share = config.bad_row_share
        self.listing_bad_row_share = config.listing_bad_row_share
        self.uscc_typo_share = config.uscc_typo_share
        self.log = DataQualityLog()

    def rnd(self, relpath: str) -> random.Random:
        return random.Random(f"{self.seed}:{relpath}")

    # -- raw files --------------------------------------------------------------------------
    def put_bytes(self, relpath: str, data: bytes, delivered_at: dt.datetime) -> Path:
        """Write `data` at `relpath` with the delivery moment as its modification time."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = epoch_seconds(delivered_at)
        os.utime(path, (stamp, stamp))
        self.log.files_written += 1
        return path

    def note_file(self, feed: str | None, relpath: str, status: str, why: str) -> None:
        self.log.bad_files.append(
            {"feed": feed, "file": relpath, "expected_status": status, "why": why}
        )

    # -- row files --------------------------------------------------------------------------
    def put_rows(
        self,
        feed: str,
        relpath: str,
        rows: list[Row],
        style: Style,
        delivered_at: dt.datetime,
        *,
        spoil: bool = True,
        drop_columns: Sequence[str] = (),
    ) -> bytes:
        """Write `rows` (contract columns; `_protected` rows are never spoiled) as one file."""
        rnd = self.rnd(relpath)
        rows = [dict(r) for r in rows]
        if spoil:
            self._spoil(feed, relpath, rows, style, rnd)
        cols = [c for c in columns(feed) if c not in drop_columns]
        headers = [self.header(feed, c, style, rnd) for c in cols]
        if style.fmt == "csv":
            data = self._csv(feed, cols, headers, rows, style, rnd)
        elif style.fmt == "jsonl":
            data = self._jsonl(feed, cols, headers, rows, style, rnd)
        else:
            cells = [[self.label(feed, c, r.get(c), style) for c in cols] for r in rows]
            data = xlsx_bytes(headers, cells, delivered_at)
        self.put_bytes(relpath, data, delivered_at)
        self.log.rows_written[feed] = self.log.rows_written.get(feed, 0) + len(rows)
        return data

    def _spoil(
        self, feed: str, relpath: str, rows: list[Row], style: Style, rnd: random.Random
    ) -> None:
        allowed = [
            r for r in ROW_REASONS[feed] if style.fmt != "xlsx" or not r.startswith("malformed")
        ]
        open_rows = [i for i, r in enumerate(rows) if not r.get("_protected")]
        if not open_rows:
            return
        k = int(
            np.random.default_rng(rnd.getrandbits(32)).binomial(len(open_rows), self.bad_row_share)
        )
        if self.log.has_pending(feed, allowed, style.fmt):
            k = max(k, 1)
        chosen = sorted(rnd.sample(open_rows, min(k, len(open_rows))))
        for i in chosen:
            reason = self.log.next_reason(feed, allowed, style.fmt, rnd)
            spoil_row(rows[i], feed, reason, rnd, style.fmt)
            self.log.bad_rows.append(
                {"feed": feed, "file": relpath, "row_number": i + 1, "reason": reason}
            )
        if feed == "entities":
            return
        taken = set(chosen)
        for column in uscc_columns(feed):
            candidates = [i for i in open_rows if i not in taken and rows[i].get(column)]
            n = int(
                np.random.default_rng(rnd.getrandbits(32)).binomial(
                    len(candidates), self.uscc_typo_share
                )
            )
            n = self.log.typos_at_least_once(feed, column, n, len(candidates))
            for i in sorted(rnd.sample(candidates, min(n, len(candidates)))):
                rows[i][column] = corrupt(str(rows[i][column]), rnd)
                taken.add(i)
                self.log.uscc_findings.append(
                    {"feed": feed, "file": relpath, "row_number": i + 1, "column": column}
                )

    # -- rendering --------------------------------------------------------------------------
    def header(self, feed: str, column: str, style: Style, rnd: random.Random) -> str:
        if style.header == "zh":
            aliases = self.ref.column_aliases.get((feed, column))
            return rnd.choice(aliases) if aliases else column
        if style.header == "caps":
            if rnd.random() < 0.2:
                return column.upper()
            return "_".join("ID" if w == "id" else w.capitalize() for w in column.split("_"))
        return column

    def label(self, feed: str, column: str, value: object, style: Style) -> object:
        """A code as the file writes it: the code, or its Chinese label in a Chinese file."""
        if style.labels != "zh" or not isinstance(value, str):
            return value
        if column == "product_category":
            return self.ref.category_zh.get(value, value)
        if column == "platform":
            return self.ref.platform_zh.get(value, value)
        return self.ref.enum_labels.get((feed, column), {}).get(value, value)

    def _text(self, feed: str, column: str, value: object, style: Style, rnd: random.Random) -> str:
        value = self.label(feed, column, value, style)
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return timestamp_text(value, style, rnd)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    def _csv(
        self,
        feed: str,
        cols: list[str],
        headers: list[str],
        rows: list[Row],
        style: Style,
        rnd: random.Random,
    ) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator=style.newline)
        writer.writerow(headers)
        for row in rows:
            cells = [self._text(feed, c, row.get(c), style, rnd) for c in cols]
            if row.get("_malformed"):
                cells += ["备注", rnd.choice(("重复登记", "已电话回访"))]
            writer.writerow(cells)
        return encode(buf.getvalue(), style.encoding)

    def _jsonl(
        self,
        feed: str,
        cols: list[str],
        headers: list[str],
        rows: list[Row],
        style: Style,
        rnd: random.Random,
    ) -> bytes:
        required = {c.name for c in contracts()[feed].columns if c.required}
        lines = []
        for row in rows:
            record: dict[str, object] = {}
            for col, head in zip(cols, headers, strict=True):
                value = self.label(feed, col, row.get(col), style)
                if isinstance(value, dt.datetime):
                    value = timestamp_text(value, style, rnd)
                elif isinstance(value, dt.date):
                    value = value.isoformat()
                if value is None and col not in required and rnd.random() < 0.5:
                    continue  # exporters often leave out empty keys
                record[head] = value
            line = json.dumps(record, ensure_ascii=False)
            if row.get("_malformed"):
                line = line[: max(10, len(line) // 2)]  # a truncated line
            lines.append(line)
        return encode("".join(line + "\n" for line in lines), style.encoding)


def spoil_row(row: Row, feed: str, reason: str, rnd: random.Random, fmt: str) -> None:
    """Give `row` exactly the one problem named by `reason`."""
    check, column = reason.split(":")
    if check == "malformed":
        row["_malformed"] = True
    elif check == "required":
        row[column] = "" if fmt == "csv" else None
    elif check == "enum":
        row[column] = rnd.choice(_BAD_LABELS[column])
    elif check == "type":
        row[column] = rnd.choice(_BAD_VALUES[column])
    elif check == "range":
        if column == "rating":
            row[column] = 7.0
        else:
            value = row.get(column)
            amount = (
                float(value) if isinstance(value, int | float) and value else rnd.uniform(20, 900)
            )
            row[column] = -round(abs(amount), 2)
    elif check == "region":
        # complaints and inspections must be in-province; elsewhere an unknown 63xxxx code
        row[column] = "630999" if feed == "entities" else rnd.choice(_OUT_OF_PROVINCE_CODES)
    elif check == "uscc":
        row[column] = corrupt(str(row[column]), rnd)
    elif check == "required_when":
        row["result"] = "fail"
        row["violation_type"] = None
    else:  # pragma: no cover - a reason without a spoiler is a programming error
        raise ValueError(reason)


def timestamp_text(moment: dt.datetime, style: Style, rnd: random.Random) -> str:
    """A China-time moment as a source writes it: naive local time, or ISO with an offset."""
    if style.timestamps == "mixed":
        pick = rnd.random()
        if pick < 0.35:
            return (moment - _CST).strftime("%Y-%m-%dT%H:%M:%SZ")
        if pick < 0.5:
            return moment.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def xlsx_bytes(headers: list[str], rows: list[list[object]], moment: dt.datetime) -> bytes:
    """An .xlsx workbook whose bytes depend only on its content and `moment`.

    openpyxl stamps the current time into docProps/core.xml and into every zip entry;
    both are replaced by the delivery moment.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.properties.creator = "市场监管数据交换平台"
    wb.properties.created = moment
    buf = io.BytesIO()
    wb.save(buf)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", content
                )
            info = zipfile.ZipInfo(
                item.filename, date_time=max(moment, _XLSX_EPOCH).timetuple()[:6]
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = item.external_attr
            zout.writestr(info, content)
    return out.getvalue()
