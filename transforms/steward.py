"""The data steward's work on quarantined rows (`radar steward` is its command line).

All work is on the DuckDB warehouse the pipeline builds (`quarantine.rows`, `ops.manifest`,
`staging.<feed>_history`). The business logic is in plain functions tests call directly:

- `quarantine_summary`: open quarantined rows counted by feed, file and reason;
- `export_quarantine`: one CSV per delivered file with open rows, for the sending office;
- `accept_row`: a steward accepts a quarantined row (audit trail in `ops.steward_actions`);
- `supersede_corrected`: rows a later delivery corrected are closed as `superseded`.

A row's resolution is only recorded here: whether an accepted row then flows into staging
is decided by the loader (`transforms/`), which reads `quarantine.rows.resolution`.
Personal data never leaves the warehouse: records in `quarantine.rows` exclude personal
columns, exports drop any personal key again and blank out phone and ID-card numbers
written into free text or into unparsable records. No delivered text is a formula in an
export (`transforms.exports.defuse_formula`); a number stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from data_contracts.contract import Column, FeedContract, contracts
from data_contracts.personal import redact_personal
from data_contracts.steward_docs import file_slug
from data_contracts.validate import reason_text
from transforms.exports import defuse_formula
from transforms.warehouse import sql_file

AUTOMATIC = "radar"  # resolved_by of the pipeline's own decisions

STEWARD_DDL = """
create schema if not exists ops;
create table if not exists ops.steward_actions (
  action VARCHAR, feed VARCHAR, file VARCHAR, row_number BIGINT,
  acted_by VARCHAR, acted_at TIMESTAMP, note VARCHAR, sha256 VARCHAR
);
"""


def ensure_steward_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the steward's audit table if it is missing (idempotent)."""
    con.execute(STEWARD_DDL)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _personal_names() -> set[str]:
    """Every personal column's name and Chinese header, lower-cased."""
    names: set[str] = set()
    for contract in contracts().values():
        for c in contract.columns:
            if c.personal:
                names |= {c.name.lower(), *(a.strip().lower() for a in c.aliases)}
    return names


# ---------------------------------------------------------------------------------------
# list
# ---------------------------------------------------------------------------------------


def summary_sql(filters: list[str]) -> str:
    where = "".join(f"\n  and {f}" for f in filters)
    return f"""
with open_rows as (
  select feed, file, unnest(string_split(reasons, ';')) as reason
  from quarantine.rows
  where resolution is null
),
final as (
  select feed, file, reason, count(*) as rows
  from open_rows
  where true{where}
  group by feed, file, reason
)
select * from final order by feed, file, reason"""


def quarantine_summary(
    con: duckdb.DuckDBPyConnection,
    feed: str | None = None,
    file: str | None = None,
    reason: str | None = None,
) -> pl.DataFrame:
    """Open quarantined rows counted by feed, file and reason (a row counts under each reason).

    `reason` is a full code (`range:price_cny`) or just its check (`range`).
    Columns: feed, file, reason, reason_text, rows.
    """
    filters, params = [], []
    if feed:
        filters.append("feed = ?")
        params.append(feed)
    if file:
        filters.append("file = ?")
        params.append(file)
    if reason:
        filters.append("reason = ?" if ":" in reason else "split_part(reason, ':', 1) = ?")
        params.append(reason)
    counts = con.sql(summary_sql(filters), params=params).pl()
    text = pl.Series("reason_text", [reason_text(r) for r in counts["reason"]], dtype=pl.String)
    return counts.with_columns(text).select("feed", "file", "reason", "reason_text", "rows")


# ---------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------


def open_rows_sql() -> str:
    return sql_file("steward/open_rows.sql")


def _record_fields(contract: FeedContract, records: list[dict[str, Any]]) -> list[str]:
    """The record's columns in contract order, then any other key (e.g. `_unparsed`)."""
    personal = _personal_names()
    seen = {k for r in records for k in r}
    ordered = [c.name for c in contract.staging_columns if c.name in seen]
    extra = sorted(k for k in seen if k not in ordered)
    return [k for k in ordered + extra if k.lower() not in personal]


# A plain number, as a numeric column may deliver it: no formula can hide in one.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _shareable(contract: FeedContract, field: str, value: Any) -> str:
    """A record's cell as exported: text other than keys and codes has personal numbers blanked,
    and no text is a formula (a number in a numeric column, negative too, stays as delivered)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    column = next((c for c in contract.columns if c.name == field), None)
    if column is None or not (column.name in contract.key or column.type == "uscc"):
        # A malformed record of a feed with a phone column: its phone cannot be told apart.
        unparsed = field == "_unparsed" and any(c.personal for c in contract.columns)
        text = redact_personal(text, bare_numbers=unparsed)
    numeric = column is not None and column.type in ("decimal", "integer")
    if isinstance(value, int | float) or (numeric and NUMBER.fullmatch(text)):
        return text
    return defuse_formula(text)


def export_quarantine(
    con: duckdb.DuckDBPyConnection, out_dir: Path, encoding: str = "utf-8"
) -> list[Path]:
    """Write one CSV per delivered file with open quarantined rows; returns the paths.

    File name: the delivered path with `/` as `__`, then `.quarantine.csv`. Columns:
    row_number, reasons (codes), reasons_text (words), then the delivered record's fields.
    `encoding` is `utf-8` (written with a BOM, for Excel) or `gb18030`.
    """
    codec = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}.get(encoding.lower())
    if codec is None:
        raise ValueError(f"encoding must be utf-8 or gb18030, not {encoding!r}")
    rows = con.sql(open_rows_sql()).pl()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for (feed, file), group in rows.group_by(["feed", "file"], maintain_order=True):
        contract = contracts()[str(feed)]
        records = [json.loads(r) if r else {} for r in group["record"]]
        fields = _record_fields(contract, records)
        path = out_dir / f"{file_slug(str(file))}.quarantine.csv"
        with path.open("w", encoding=codec, errors="replace", newline="") as fh:
            writer = csv.writer(fh)
            # an unknown column's name is delivered text too
            header = ["row_number", "reasons", "reasons_text", *fields]
            writer.writerow([defuse_formula(h) for h in header])
            for n, codes, record in zip(
                group["_row_number"], group["reasons"], records, strict=True
            ):
                words = "; ".join(reason_text(code) for code in codes.split(";"))
                cells = [_shareable(contract, f, record.get(f)) for f in fields]
                writer.writerow([n, codes, words, *cells])
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------
# accept
# ---------------------------------------------------------------------------------------


def accept_row(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    file: str,
    row_number: int,
    by: str,
    note: str,
    at: dt.datetime | None = None,
) -> None:
    """Mark an open quarantined row accepted by a steward, with an audit record.

    When the same path was delivered with different content more than once, the most
    recently quarantined version of the row is accepted. Raises LookupError when there
    is no open quarantined row at that place, ValueError when `by` is empty.
    """
    if not by.strip():
        raise ValueError("the steward's name (--by) is required")
    at = at or _now()
    ensure_steward_tables(con)
    found = con.execute(
        "select sha256, resolution from quarantine.rows where feed = ? and file = ? "
        "and _row_number = ? order by resolution nulls first, quarantined_at desc limit 1",
        [feed, file, row_number],
    ).fetchone()
    if found is None:
        raise LookupError(f"no quarantined row {row_number} in {feed} file {file!r}")
    sha256, resolution = found
    if resolution is not None:
        raise LookupError(f"row {row_number} of {file!r} is already resolved: {resolution}")
    con.execute("begin transaction")
    try:
        con.execute(
            "update quarantine.rows set resolution = 'accepted', resolved_by = ?, "
            "resolved_at = ?, note = ? "
            "where feed = ? and file = ? and sha256 = ? and _row_number = ?",
            [by, at, note, feed, file, sha256, row_number],
        )
        con.execute(
            "insert into ops.steward_actions values ('accepted', ?, ?, ?, ?, ?, ?, ?)",
            [feed, file, row_number, by, at, note, sha256],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


# ---------------------------------------------------------------------------------------
# superseded by a corrected delivery
# ---------------------------------------------------------------------------------------


def open_rows_with_delivery_sql() -> str:
    return sql_file("steward/open_rows_with_delivery.sql")


def superseding_sql(contract: FeedContract) -> str:
    """For each open quarantined row (table `quarantined_keys`), the latest later-delivered
    accepted row with the same key in `staging.<feed>_history`."""
    on = " and ".join(f"cast(h.{k} as VARCHAR) = q.{k}" for k in contract.key)
    return f"""
with later as (
  select q.file, q.sha256, q._row_number,
         h._file as by_file, h._row_number as by_row, h._delivered as by_delivered
  from quarantined_keys q
  join staging.{contract.name}_history h on {on}
  where h._delivered > q.delivered
     or (h._delivered = q.delivered and (h._file > q.file
         or (h._file = q.file and h._row_number > q._row_number)))
),
final as (
  select file, sha256, _row_number, by_file, by_row
  from later
  qualify row_number() over (
    partition by file, sha256, _row_number order by by_delivered desc, by_file desc, by_row desc
  ) = 1
)
select * from final"""


def _canonical(column: Column, text: object) -> str | None:
    """A key cell of a quarantined record as staging stores it (as text), or None."""
    if not isinstance(text, str) or not text:
        return None
    if column.type in ("enum", "category", "platform"):
        return column.labels.get(text.lower())
    if column.type == "uscc":
        return text.upper()
    if column.type == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    return text


def _quarantined_keys(con: duckdb.DuckDBPyConnection, contract: FeedContract) -> pl.DataFrame:
    rows = con.sql(open_rows_with_delivery_sql(), params=[contract.name]).pl()
    keys: dict[str, list[str | None]] = {k: [] for k in contract.key}
    for record in rows["record"]:
        parsed = json.loads(record) if record else {}
        for k in contract.key:
            keys[k].append(_canonical(contract.column(k), parsed.get(k)))
    frame = rows.drop("record").with_columns(
        pl.Series(k, v, dtype=pl.String) for k, v in keys.items()
    )
    return frame.drop_nulls(list(contract.key))


def supersede_corrected(con: duckdb.DuckDBPyConnection, at: dt.datetime | None = None) -> int:
    """Close open quarantined rows that a later-delivered accepted row with the same key
    corrected (resolution `superseded`, audited); returns how many were closed."""
    at = at or _now()
    ensure_steward_tables(con)
    closed = 0
    for contract in contracts().values():
        con.register("quarantined_keys", _quarantined_keys(con, contract).to_arrow())
        try:
            found = con.sql(superseding_sql(contract)).pl()
        finally:
            con.unregister("quarantined_keys")
        if found.is_empty():
            continue
        con.execute("begin transaction")
        try:
            for file, sha256, row, by_file, by_row in found.iter_rows():
                note = f"corrected by {by_file} row {by_row}"
                con.execute(
                    "update quarantine.rows set resolution = 'superseded', resolved_by = ?, "
                    "resolved_at = ?, note = ? where feed = ? and file = ? and sha256 = ? "
                    "and _row_number = ? and resolution is null",
                    [AUTOMATIC, at, note, contract.name, file, sha256, row],
                )
                con.execute(
                    "insert into ops.steward_actions values ('superseded', ?, ?, ?, ?, ?, ?, ?)",
                    [contract.name, file, row, AUTOMATIC, at, note, sha256],
                )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        closed += found.height
    return closed
