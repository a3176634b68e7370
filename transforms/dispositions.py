"""Load returned team workbooks: officers' dispositions of leads, versioned and audited.

Each returned workbook (from `radar dispositions import` or the landing directory's
`dispositions/` folder, read by the nightly run) is one import, in one transaction:

- `ops.disposition_imports`: who imported which file (path, SHA-256, size, mtime), when, for
  which team, with its status (`loaded`, `duplicate`: the same bytes were loaded before,
  `rejected`: not a team workbook) and counts: rows_read = rows_accepted + rows_quarantined;
- `staging.dispositions_history`: every accepted row of every import, never overwritten: the
  disposition in force for a lead is the latest one imported (import time, then file, then
  row), and `imported_on` says from which day the system knew it (no training leak);
- `quarantine.disposition_rows`: every refused row with all its reasons (unknown lead, a
  date after the day of import, another prefecture's lead, a status not in the list …), its
  values with phone and ID numbers blanked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.batch import DeliveredFile
from data_contracts.contract import prefectures, regions
from data_contracts.dispositions import (
    DispositionFileError,
    check_row,
    read_returned_workbook,
)
from data_contracts.personal import redact_personal
from transforms.landing import LandingScan
from transforms.warehouse import sql_file

DISPOSITIONS_DDL = """
create schema if not exists ops;
create schema if not exists staging;
create schema if not exists quarantine;
create schema if not exists scores;
create table if not exists ops.disposition_imports (
  import_id VARCHAR, file VARCHAR, source VARCHAR, sha256 VARCHAR, size_bytes BIGINT,
  mtime DOUBLE, team VARCHAR, imported_by VARCHAR, imported_at TIMESTAMP, imported_on DATE,
  status VARCHAR, rows_read BIGINT, rows_accepted BIGINT, rows_quarantined BIGINT,
  blank_rows BIGINT, issues VARCHAR
);
create table if not exists staging.dispositions_history (
  import_id VARCHAR, file VARCHAR, row_number BIGINT, team VARCHAR, lead_id VARCHAR,
  status VARCHAR, checked_on DATE, checked_by VARCHAR, note VARCHAR,
  imported_at TIMESTAMP, imported_on DATE
);
create table if not exists quarantine.disposition_rows (
  import_id VARCHAR, file VARCHAR, row_number BIGINT, team VARCHAR, lead_id VARCHAR,
  reasons VARCHAR, "values" VARCHAR, imported_on DATE
);
create table if not exists scores.lead_regions (lead_id VARCHAR, region_code VARCHAR);
"""


def ensure_disposition_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the dispositions' tables (idempotent)."""
    con.execute(DISPOSITIONS_DDL)


@dataclass(frozen=True)
class DispositionImport:
    """What one import did (also its row of ops.disposition_imports)."""

    file: str
    team: str | None
    status: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    issues: str


def lead_prefectures_sql() -> str:
    """Every lead id the system has listed, with the region it was last listed in."""
    return sql_file("dispositions_import/lead_prefectures.sql")


def lead_prefectures(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """Lead id → prefecture code (None outside Qinghai or not known) of every listed lead."""
    ensure_disposition_tables(con)
    con.execute(
        "create table if not exists scores.lead_history (as_of DATE, lead_id VARCHAR, "
        "rank BIGINT, score DOUBLE, risk_level VARCHAR)"
    )
    prefecture = {code: r.prefecture_code for code, r in regions().items()}
    prefecture |= {code: code for code in prefectures()}
    return {
        lead_id: prefecture.get(region) if region else None
        for lead_id, region in con.execute(lead_prefectures_sql()).fetchall()
    }


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def import_dispositions(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    file: str,
    source: str,
    imported_by: str,
    today: dt.date,
    size: int | None = None,
    mtime: float | None = None,
) -> DispositionImport:
    """Import one returned workbook; `file` is how data_quality and the audit name it, `today`
    the day of import (a disposition dated after it is refused)."""
    ensure_disposition_tables(con)
    with path.open("rb") as f:  # streamed: the workbook's size limit is checked on reading
        sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    stat = path.stat()
    size = stat.st_size if size is None else size
    mtime = stat.st_mtime if mtime is None else mtime
    import_id = uuid.uuid4().hex
    imported_at = _utc_now()
    audit = [import_id, file, source, sha256, size, mtime]
    when = [imported_by, imported_at, today]

    earlier = con.execute(
        "select file from ops.disposition_imports where sha256 = ? and status = 'loaded' "
        "order by imported_at limit 1",
        [sha256],
    ).fetchone()
    if earlier is not None:
        result = DispositionImport(
            file,
            None,
            "duplicate",
            0,
            0,
            0,
            f"与已载入的 {earlier[0]} 内容相同 same bytes as {earlier[0]}",
        )
        _record(con, audit, result, when, 0)
        return result
    try:
        returned = read_returned_workbook(path)
    except DispositionFileError as exc:
        result = DispositionImport(file, None, "rejected", 0, 0, 0, str(exc))
        _record(con, audit, result, when, 0)
        return result
    except Exception as exc:  # one file never stops a night; the reason quotes none of it
        result = DispositionImport(
            file, None, "rejected", 0, 0, 0, f"读取失败 could not be read ({type(exc).__name__})"
        )
        _record(con, audit, result, when, 0)
        return result

    known = lead_prefectures(con)
    checked = [check_row(r, returned.team, today, known) for r in returned.rows]
    accepted = [c for c in checked if not c.reasons]
    refused = [c for c in checked if c.reasons]
    counts: dict[str, int] = {}
    for c in refused:
        for reason in c.reasons:
            key = reason.split(" ", 1)[0]
            counts[key] = counts.get(key, 0) + 1
    issues = "; ".join(f"{n} 行 rows {k}" for k, n in sorted(counts.items()))
    result = DispositionImport(
        file, returned.team, "loaded", len(checked), len(accepted), len(refused), issues
    )
    con.execute("begin transaction")
    try:
        if accepted:
            con.executemany(
                "insert into staging.dispositions_history values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        import_id,
                        file,
                        c.row.row_number,
                        returned.team,
                        c.row.lead_id,
                        c.status,
                        c.checked_on,
                        redact_personal(c.row.checked_by) or None,
                        redact_personal(c.row.note) or None,
                        imported_at,
                        today,
                    ]
                    for c in accepted
                ],
            )
        if refused:
            con.executemany(
                "insert into quarantine.disposition_rows values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        import_id,
                        file,
                        c.row.row_number,
                        returned.team,
                        c.row.lead_id or None,
                        "; ".join(c.reasons),
                        json.dumps(c.row.values(), ensure_ascii=False),
                        today,
                    ]
                    for c in refused
                ],
            )
        _record(con, audit, result, when, returned.blank_rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _record(
    con: duckdb.DuckDBPyConnection,
    audit: list[object],
    result: DispositionImport,
    when: list[object],
    blank_rows: int,
) -> None:
    con.execute(
        "insert into ops.disposition_imports values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            *audit,
            result.team,
            *when,
            result.status,
            result.rows_read,
            result.rows_accepted,
            result.rows_quarantined,
            blank_rows,
            result.issues,
        ],
    )


def new_disposition_files(
    con: duckdb.DuckDBPyConnection, files: list[DeliveredFile]
) -> list[DeliveredFile]:
    """The landing's dispositions/ files not handled by an earlier run (same path, size, mtime)."""
    ensure_disposition_tables(con)
    seen = {
        (f, int(s), float(m))
        for f, s, m in con.execute(
            "select file, size_bytes, mtime from ops.disposition_imports where source = 'landing'"
        ).fetchall()
    }
    return [f for f in files if (f.rel, f.size, f.mtime) not in seen]


def import_landing_dispositions(
    con: duckdb.DuckDBPyConnection, files: list[DeliveredFile], today: dt.date
) -> list[DispositionImport]:
    """Import the new returned workbooks of the landing's dispositions/ folder, in delivery
    order; an entry that is not a regular file is rejected unread."""
    results = []
    for f in new_disposition_files(con, files):
        if f.problem:
            result = DispositionImport(f.rel, None, "rejected", 0, 0, 0, f.problem)
            ensure_disposition_tables(con)
            _record(
                con,
                [uuid.uuid4().hex, f.rel, "landing", None, f.size, f.mtime],
                result,
                ["nightly run", _utc_now(), today],
                0,
            )
            results.append(result)
            continue
        results.append(
            import_dispositions(
                con,
                f.path,
                file=f.rel,
                source="landing",
                imported_by="nightly run",
                today=today,
                size=f.size,
                mtime=f.mtime,
            )
        )
    return results


def disposition_quality_sql() -> str:
    """data_quality rows of the dispositions/ files now in the landing directory."""
    return sql_file("dispositions_import/disposition_quality.sql")


def disposition_quality(con: duckdb.DuckDBPyConnection, scan: LandingScan) -> pl.DataFrame:
    """One data_quality row per file now in the landing's dispositions/ folder."""
    ensure_disposition_tables(con)
    seen = pl.DataFrame(
        {
            "file": [f.rel for f in scan.dispositions],
            "size_bytes": [f.size for f in scan.dispositions],
            "mtime": [f.mtime for f in scan.dispositions],
        },
        schema={"file": pl.String, "size_bytes": pl.Int64, "mtime": pl.Float64},
    )
    con.register("_seen_dispositions", seen.to_arrow())
    try:
        return con.sql(disposition_quality_sql()).pl()
    finally:
        con.unregister("_seen_dispositions")


def record_lead_regions(con: duckdb.DuckDBPyConnection, leads: object) -> None:
    """Keep each listed lead's latest region (a team may record only its own leads)."""
    ensure_disposition_tables(con)
    con.register("_lead_regions", leads)
    try:
        con.execute(
            "delete from scores.lead_regions where lead_id in (select lead_id from _lead_regions)"
        )
        con.execute(
            "insert into scores.lead_regions select lead_id, region_code from _lead_regions"
        )
    finally:
        con.unregister("_lead_regions")
