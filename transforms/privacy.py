"""Personal data over time: the retention purge and erasure on request, both audited.

The complainant's phone lives in `restricted.complaint_phones_history` and, as delivered,
inside `raw.complaints` records; the complaint text lives in staging, raw and quarantine.
Purging removes the phone and replaces the text everywhere; rows, keys and counts stay.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import polars as pl

from data_contracts.contract import contracts
from data_contracts.personal import redact_personal
from transforms.load import ensure_warehouse

PURGED_TEXT = "[已删除 purged]"
AUDIT_DDL = """
create table if not exists ops.privacy_audit (
  action VARCHAR, subject VARCHAR, complaints BIGINT, acted_by VARCHAR, acted_at TIMESTAMP,
  note VARCHAR
)"""


def _personal_headers() -> tuple[set[str], set[str]]:
    """Lower-cased headers (English and Chinese) of the phone column and of the free-text column."""
    complaints = contracts()["complaints"]
    phone, text = set(), set()
    for c in complaints.columns:
        names = {c.name.lower(), *(a.strip().lower() for a in c.aliases)}
        if c.personal:
            phone |= names
        elif c.free_text:
            text |= names
    return phone, text


def scrub_record(record: str) -> str:
    """A raw or quarantined record with the phone removed and the free text purged."""
    data = json.loads(record)
    if not isinstance(data, dict):
        return record
    phone, text = _personal_headers()
    out: dict[str, object] = {}
    for key, value in data.items():
        lowered = key.strip().lower()
        if lowered in phone:
            continue
        if lowered in text or key == "_unparsed":
            out[key] = PURGED_TEXT if key != "_unparsed" else redact_personal(str(value))
        else:
            out[key] = value
    return json.dumps(out, ensure_ascii=False)


def _purge(con: duckdb.DuckDBPyConnection, targets: pl.DataFrame) -> int:
    """Purge the complaints in `targets` (_sha256, _row_number, complaint_id) everywhere."""
    if targets.is_empty():
        return 0
    con.register("_targets", targets.to_arrow())
    try:
        con.execute(
            "delete from restricted.complaint_phones_history where complaint_id in "
            "(select complaint_id from _targets)"
        )
        con.execute(
            "update staging.complaints_history set description = ? where complaint_id in "
            "(select complaint_id from _targets)",
            [PURGED_TEXT],
        )
        raw = con.sql(
            "select r._sha256, r._row_number, r.record from raw.complaints r "
            "join _targets t using (_sha256, _row_number)"
        ).pl()
        quarantined = con.sql(
            "select q.sha256, q._row_number, q.record from quarantine.rows q "
            "join _targets t on t._sha256 = q.sha256 and t._row_number = q._row_number"
        ).pl()
    finally:
        con.unregister("_targets")
    _rewrite(con, "raw.complaints", "_sha256", raw)
    _rewrite(con, "quarantine.rows", "sha256", quarantined)
    return int(targets["complaint_id"].n_unique())


def _rewrite(
    con: duckdb.DuckDBPyConnection, table: str, sha_column: str, rows: pl.DataFrame
) -> None:
    if rows.is_empty():
        return
    scrubbed = rows.with_columns(
        pl.col("record").map_elements(scrub_record, return_dtype=pl.String)
    ).rename({sha_column: "_sha"})
    con.register("_scrubbed", scrubbed.to_arrow())
    try:
        con.execute(
            f"update {table} t set record = s.record from _scrubbed s "
            f"where t.{sha_column} = s._sha and t._row_number = s._row_number"
        )
    finally:
        con.unregister("_scrubbed")


def _redact_everywhere(con: duckdb.DuckDBPyConnection, phone: str) -> None:
    """Remove the phone number from any record or text that still quotes it (e.g. a malformed
    record, or another complaint's description)."""
    removed = "[电话已删除 phone removed]"
    for table, column in (
        ("raw.complaints", "record"),
        ("quarantine.rows", "record"),
        ("staging.complaints_history", "description"),
    ):
        con.execute(
            f"update {table} set {column} = replace({column}, ?, ?) where contains({column}, ?)",
            [phone, removed, phone],
        )


def _audit(
    con: duckdb.DuckDBPyConnection, action: str, subject: str, count: int, by: str, note: str
) -> None:
    con.execute(AUDIT_DDL)
    con.execute(
        "insert into ops.privacy_audit values (?, ?, ?, ?, ?, ?)",
        [action, subject, count, by, dt.datetime.now(dt.UTC).replace(tzinfo=None), note],
    )


def apply_retention(
    con: duckdb.DuckDBPyConnection, today: dt.date, retention_days: int, by: str = "nightly"
) -> int:
    """Purge phones and texts of complaints received more than `retention_days` ago; audited."""
    ensure_warehouse(con)
    cutoff = today - dt.timedelta(days=retention_days)
    targets = con.sql(
        "select _sha256, _row_number, complaint_id from staging.complaints_history "
        "where cast(received_at as date) < ? and description is distinct from ?",
        params=[cutoff, PURGED_TEXT],
    ).pl()
    con.execute("begin transaction")
    try:
        count = _purge(con, targets)
        if count:
            _audit(
                con, "retention", f"received before {cutoff}", count, by, f"{retention_days} days"
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return count


def erase_person(
    con: duckdb.DuckDBPyConnection,
    *,
    phone: str | None = None,
    complaint_id: str | None = None,
    by: str,
    note: str = "",
) -> int:
    """Erase one person's data on request (by phone or complaint id); returns complaints erased."""
    if not phone and not complaint_id:
        raise ValueError("give a phone number or a complaint id")
    ensure_warehouse(con)
    if phone:
        ids = con.sql(
            "select distinct complaint_id from restricted.complaint_phones_history "
            "where complainant_phone = ?",
            params=[phone],
        ).pl()
    else:
        ids = pl.DataFrame({"complaint_id": [complaint_id]})
    con.register("_ids", ids.to_arrow())
    try:
        targets = con.sql(
            "select _sha256, _row_number, complaint_id from staging.complaints_history "
            "where complaint_id in (select complaint_id from _ids)"
        ).pl()
    finally:
        con.unregister("_ids")
    con.execute("begin transaction")
    try:
        count = _purge(con, targets)
        if phone:
            _redact_everywhere(con, phone)
        subject = f"complaint {complaint_id}" if complaint_id else "phone (not recorded)"
        _audit(con, "erase", subject, count, by, note)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return count
