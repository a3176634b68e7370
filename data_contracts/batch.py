"""One delivered file → one batch: the pure step that scale-out distributes.

`build_batch` reads, checks and types one file with no database at hand; the
single writer in `transforms.load` puts batches into the warehouse.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_contracts.contract import contracts, limits
from data_contracts.readers import FileRejected, RawTable, cell_names, file_format, read_bytes
from data_contracts.validate import ValidatedRows, finding_text, reason_text, validate_rows


@dataclass(frozen=True)
class DeliveredFile:
    """A file seen in the landing directory, in delivery order (mtime, then path)."""

    feed: str
    path: Path  # absolute
    rel: str  # relative to the landing directory, '/'-separated
    mtime: float
    size: int
    # Why the entry cannot be read at all (a link leading outside the landing directory, a
    # FIFO, a directory named like a file): it is rejected unread. None for a regular file.
    problem: str | None = None


@dataclass
class FileBatch:
    """Everything one file contributes to the warehouse, and its data-quality record."""

    file: DeliveredFile
    sha256: str
    # loaded | rejected | duplicate (decided with the writer's history: see `duplicate_batch`)
    status: str
    rows_read: int = 0
    raw: pl.DataFrame | None = None  # _row_number, record (JSON of the delivered cells)
    rows: ValidatedRows | None = None
    issues: list[str] = field(default_factory=list)

    @property
    def rows_accepted(self) -> int:
        return self.rows.accepted.height if self.rows else 0

    @property
    def rows_quarantined(self) -> int:
        return self.rows.quarantined.height if self.rows else 0

    def gx_rows(self) -> pl.DataFrame:
        """The rows read of a loaded file as its feed's Great Expectations suite validates them:
        the accepted typed rows, and each quarantined row by its `_row_number` alone (its values
        are in quarantine), with `_file` and `_quarantined` (the suite's rules hold on accepted
        rows; its `mostly` bounds the share quarantined)."""
        assert self.rows is not None
        file = pl.lit(self.file.rel).alias(FILE)
        return pl.concat(
            [
                self.rows.accepted.with_columns(file, pl.lit(False).alias(QUARANTINED)),
                self.rows.quarantined.select("_row_number", file, pl.lit(True).alias(QUARANTINED)),
            ],
            how="diagonal_relaxed",
        )


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unique_headers(headers: list[str]) -> list[str]:
    """Headers as JSON keys: a blank one named by its position, and a repeated one (or one that
    repeats such a name) numbered by its position until it is unique: `note, note, note_2`
    gives `note, note_2, note_2_3`."""
    taken: set[str] = set()
    out: list[str] = []
    for i, header in enumerate(headers, start=1):
        name = header if header.strip() else f"_column_{i}"
        while name in taken:
            name = f"{name}_{i}"
        taken.add(name)
        out.append(name)
    return out


def raw_records(table: RawTable) -> pl.DataFrame:
    """Every delivered record as JSON under its original headers, unknown columns included."""
    unique = unique_headers(table.headers)
    names = cell_names(len(unique))
    parsed = table.cells.select("_row_number")
    if names:
        fields = [pl.col(n).alias(h) for n, h in zip(names, unique, strict=True)]
        parsed = table.cells.select(
            "_row_number", pl.struct(fields).struct.json_encode().alias("record")
        )
    else:
        parsed = parsed.with_columns(pl.lit("{}").alias("record"))
    if not table.malformed:
        return parsed
    broken = pl.DataFrame(
        {
            "_row_number": list(table.malformed),
            "record": [
                json.dumps({"_unparsed": t}, ensure_ascii=False) for t in table.malformed.values()
            ],
        },
        schema={"_row_number": pl.Int64, "record": pl.String},
    )
    return pl.concat([parsed, broken]).sort("_row_number")


def summarise_issues(rows: ValidatedRows) -> list[str]:
    """The main row-level findings of a file, counted by reason, in words."""
    counts: Counter[str] = Counter()
    for codes in rows.quarantined["reasons"].to_list():
        counts.update(codes.split(";"))
    out = [f"隔离 quarantined {n}× {reason_text(code)}" for code, n in sorted(counts.items())]
    found: Counter[str] = Counter()
    for codes in rows.findings["finding"].to_list():
        found.update(codes.split(";"))
    out += [f"{finding_text(code)} ({n}×)" for code, n in sorted(found.items())]
    return out


# The columns a file's rows carry into Great Expectations (`FileBatch.gx_rows`).
FILE = "_file"
QUARANTINED = "_quarantined"

DUPLICATE_ISSUE = "与已载入文件内容相同 same content as a file already loaded"


def duplicate_batch(file: DeliveredFile, sha256: str, rows_read: int) -> FileBatch:
    """The batch of a file whose bytes equal a file of its feed already loaded, in the same
    format: nothing of it is loaded, and its rows were counted when that file was read."""
    return FileBatch(
        file=file, sha256=sha256, status="duplicate", rows_read=rows_read, issues=[DUPLICATE_ISSUE]
    )


def rejected_batch(file: DeliveredFile, sha256: str, reason: str) -> FileBatch:
    """The batch of a file of which nothing is loaded; rows_read is 0."""
    return FileBatch(file=file, sha256=sha256, status="rejected", issues=[reason])


def failure_reason(stage: str, exc: BaseException) -> str:
    """Why a file was rejected when something unexpected failed while handling it: the stage
    and the kind of error only, since a library's message may quote a cell."""
    return (
        f"处理失败 failed while {stage} this file ({type(exc).__name__}): "
        "nothing of it is loaded; tell the developers, the file is kept as delivered"
    )


def too_large(file: DeliveredFile) -> FileBatch | None:
    """The rejection of a file over the contract's size limit, decided before reading it."""
    most = limits().file_bytes
    if file.size <= most:
        return None
    reason = f"超出限制 limit broken: {file.size:,} bytes, at most {most:,}"
    return rejected_batch(file, "", reason)


def build_batch(file: DeliveredFile, data: bytes | None = None) -> FileBatch:
    """Read, check and type one delivered file; never raises for its content. Whatever goes
    wrong with one file rejects that file alone, with a reason that quotes none of it."""
    if file.problem is not None:
        return rejected_batch(file, "", file.problem)
    big = too_large(file)
    if big is not None:
        return big
    if data is None:
        data = file.path.read_bytes()
    sha256 = sha256_of(data)
    fmt = file_format(file.path)
    if fmt is None:
        return rejected_batch(
            file, sha256, f"不支持的文件类型 unsupported file type {file.path.suffix[:20]!r}"
        )
    contract = contracts()[file.feed]
    stage = "reading"
    try:
        table = read_bytes(data, fmt, contract.header_key)
        stage = "validating"
        rows = validate_rows(contract, table)
        raw = raw_records(table)
    except FileRejected as exc:  # rows_read stays 0 when the file could not be read at all
        return rejected_batch(file, sha256, str(exc))
    except Exception as exc:
        return rejected_batch(file, sha256, failure_reason(stage, exc))
    batch = FileBatch(file=file, sha256=sha256, status="loaded", rows_read=table.row_count)
    batch.raw = raw
    batch.rows = rows
    batch.issues = rows.issues + summarise_issues(rows)
    if table.encoding == "gb18030":
        batch.issues.insert(0, "编码 GB18030 encoding detected")
    return batch


_SPOOLED_FRAMES = ("raw", "accepted", "typed", "quarantined", "findings")


def spool_batch(batch: FileBatch, directory: Path) -> Path:
    """Write a batch as Parquet partitions plus a small JSON header (for distributed workers).

    The single writer reads it back with `read_spooled`; only the path travels between processes.
    """
    target = directory / batch.sha256[:16] / hashlib.sha1(batch.file.rel.encode()).hexdigest()[:12]
    target.mkdir(parents=True, exist_ok=True)
    frames: dict[str, pl.DataFrame | None] = {"raw": batch.raw}
    if batch.rows is not None:
        frames |= {
            "accepted": batch.rows.accepted,
            "typed": batch.rows.typed,
            "quarantined": batch.rows.quarantined,
            "findings": batch.rows.findings,
        }
    for name, frame in frames.items():
        if frame is not None:
            frame.write_parquet(target / f"{name}.parquet")
    f = batch.file
    header = {
        "file": {
            "feed": f.feed,
            "path": str(f.path),
            "rel": f.rel,
            "mtime": f.mtime,
            "size": f.size,
        },
        "sha256": batch.sha256,
        "status": batch.status,
        "rows_read": batch.rows_read,
        "issues": batch.issues,
        "row_issues": batch.rows.issues if batch.rows is not None else None,
    }
    (target / "batch.json").write_text(json.dumps(header, ensure_ascii=False), encoding="utf-8")
    return target


def read_spooled(target: Path) -> FileBatch:
    """The batch written by `spool_batch`."""
    header = json.loads((target / "batch.json").read_text(encoding="utf-8"))
    f = header["file"]
    file = DeliveredFile(f["feed"], Path(f["path"]), f["rel"], f["mtime"], f["size"])

    def frame(name: str) -> pl.DataFrame | None:
        path = target / f"{name}.parquet"
        return pl.read_parquet(path) if path.exists() else None

    rows = None
    if header["row_issues"] is not None:
        accepted, typed = frame("accepted"), frame("typed")
        quarantined, findings = frame("quarantined"), frame("findings")
        assert accepted is not None and typed is not None
        assert quarantined is not None and findings is not None
        rows = ValidatedRows(accepted, typed, quarantined, findings, header["row_issues"])
    return FileBatch(
        file=file,
        sha256=header["sha256"],
        status=header["status"],
        rows_read=header["rows_read"],
        raw=frame("raw"),
        rows=rows,
        issues=header["issues"],
    )
