"""Personal data over time: the retention purge and erasure on request, both audited.

The complainant's phone lives in `restricted.complaint_phones_history` and, as delivered,
inside `raw.complaints` records; the complaint text lives in staging, raw and quarantine.
Purging a complaint removes its phone and replaces its text everywhere; rows, keys and
counts stay.

Erasing a phone number goes further: the number is a value, not a column, so it is looked
for in every text column of every table (a phone typed into a description, a subject name
and every core, features or scores table that copies the name, a malformed record), in any
way it is written (186-0971-0000, +86 186 0971 0000; a landline also by its local number),
and blanked. A tombstone keeps it erased when a file brings it again (`transforms/tombstones.py`).
Afterwards the warehouse file must be rewritten (`transforms.warehouse.rewrite_file`): DuckDB
keeps overwritten values in free blocks of the file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from data_contracts.contract import contracts
from data_contracts.personal import (
    PHONE_REMOVED,
    PURGED_TEXT,
    normalize_phone,
    phone_digits,
    phone_matcher,
    phone_pattern,
    redact_personal,
    rewrite_record,
)
from transforms.load import ensure_warehouse
from transforms.tombstones import COMPLAINT, PHONE, add_tombstones, purge_record

__all__ = ["PURGED_TEXT", "Erasure", "apply_retention", "erase_person"]

AUDIT_DDL = """
create table if not exists ops.privacy_audit (
  action VARCHAR, subject VARCHAR, complaints BIGINT, acted_by VARCHAR, acted_at TIMESTAMP,
  note VARCHAR
);
alter table ops.privacy_audit add column if not exists changes VARCHAR;
"""
# Tables an erasure never rewrites: the audit and the tombstones hold no value by design.
NOT_SEARCHED = {("ops", "privacy_audit"), ("ops", "erased_values")}
# Caches whose rows holding the value are deleted, not blanked: the next run computes them
# again from the blanked names (a blanked name's cached key name would not be its own).
CACHES = {("core", "key_name_cache")}


Changed = defaultdict[str, set[int]]  # table -> rowids of the rows changed or deleted


@dataclass
class Erasure:
    """What an erasure changed, or in a dry run would change."""

    complaints: int = 0  # complaints whose phone and texts were purged
    changed: Changed = field(default_factory=lambda: defaultdict(set))
    # How the value was written where it was found: kept in memory for the byte check of the
    # rewritten file, never printed, logged or stored.
    written_as: set[str] = field(default_factory=set, repr=False)

    @property
    def rows(self) -> dict[str, int]:
        """Rows changed or deleted per table."""
        return {table: len(ids) for table, ids in sorted(self.changed.items()) if ids}


def _rewrite_cells(
    con: duckdb.DuckDBPyConnection, table: str, column: str, changes: dict[int, str]
) -> None:
    """Set `column` of the rows with these rowids to their new values."""
    if not changes:
        return
    frame = pl.DataFrame(
        {"_rowid": list(changes), "_value": list(changes.values())},
        schema={"_rowid": pl.Int64, "_value": pl.String},
    )
    con.register("_changes", frame.to_arrow())
    try:
        con.execute(
            f"update {table} t set {column} = c._value from _changes c where t.rowid = c._rowid"
        )
    finally:
        con.unregister("_changes")


def _delete_rows(con: duckdb.DuckDBPyConnection, table: str, rowids: set[int]) -> None:
    if not rowids:
        return
    con.register("_gone", pl.DataFrame({"_rowid": sorted(rowids)}).to_arrow())
    try:
        con.execute(f"delete from {table} where rowid in (select _rowid from _gone)")
    finally:
        con.unregister("_gone")


def _purge(
    con: duckdb.DuckDBPyConnection,
    targets: pl.DataFrame,
    text: Callable[[str], str],
    changed: Changed,
) -> None:
    """Purge the complaints in `targets` everywhere: their phone, their text, and a malformed
    record's whole text; other values of their records pass through `text`.

    `targets` holds `_sha256`, `_row_number` (a delivered record) and `complaint_id` (null for
    a malformed record): every version of each complaint id is purged too. The rows changed
    are added to `changed`."""
    contract = contracts()["complaints"]
    if targets.is_empty():
        return
    con.register("_targets", targets.to_arrow())
    try:
        ids = "(select complaint_id from _targets where complaint_id is not null)"
        records = f"""
            select _sha256, _row_number from _targets
            union select _sha256, _row_number from staging.complaints_history
            where complaint_id in {ids}"""
        phones = con.execute(
            "select rowid from restricted.complaint_phones_history "
            f"where complaint_id in {ids} or (_sha256, _row_number) in ({records})"
        ).fetchall()
        texts = con.execute(
            "select rowid from staging.complaints_history "
            f"where complaint_id in {ids} and description is distinct from ?",
            [PURGED_TEXT],
        ).fetchall()
        raw = con.execute(
            f"select rowid, record from raw.complaints where (_sha256, _row_number) in ({records})"
        ).fetchall()
        quarantined = con.execute(
            "select rowid, record from quarantine.rows where feed = 'complaints' and "
            f"((sha256, _row_number) in ({records}) or record->>'complaint_id' in {ids})"
        ).fetchall()
    finally:
        con.unregister("_targets")
    _delete_rows(con, "restricted.complaint_phones_history", {r for (r,) in phones})
    changed["restricted.complaint_phones_history"] |= {r for (r,) in phones}
    _rewrite_cells(
        con, "staging.complaints_history", "description", {r: PURGED_TEXT for (r,) in texts}
    )
    changed["staging.complaints_history"] |= {r for (r,) in texts}
    for table, rows in (("raw.complaints", raw), ("quarantine.rows", quarantined)):
        purged = {rowid: (record, purge_record(record, contract, text)) for rowid, record in rows}
        new = {rowid: after for rowid, (before, after) in purged.items() if after != before}
        _rewrite_cells(con, table, "record", new)
        changed[table] |= set(new)


def _complaint_count(targets: pl.DataFrame) -> int:
    """Complaints among the targets: each id once, each malformed record once."""
    ids = targets["complaint_id"]
    return int(ids.drop_nulls().n_unique() + ids.null_count())


def _audit(
    con: duckdb.DuckDBPyConnection,
    action: str,
    subject: str,
    count: int,
    by: str,
    note: str,
    rows: dict[str, int] | None = None,
) -> None:
    con.execute(AUDIT_DDL)
    con.execute(
        "insert into ops.privacy_audit "
        "(action, subject, complaints, acted_by, acted_at, note, changes) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [
            action,
            subject,
            count,
            by,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            note,
            json.dumps(rows or {}, ensure_ascii=False),  # rows changed per table
        ],
    )


def apply_retention(
    con: duckdb.DuckDBPyConnection, today: dt.date, retention_days: int, by: str = "nightly"
) -> int:
    """Purge phones and texts of complaints received more than `retention_days` ago, the
    accepted and the quarantined ones (by their received_at, else the day they were
    quarantined); audited. Returns the number of complaints purged."""
    ensure_warehouse(con)
    cutoff = today - dt.timedelta(days=retention_days)
    accepted = con.sql(
        "select _sha256, _row_number, complaint_id from staging.complaints_history "
        "where cast(received_at as date) < ? and description is distinct from ?",
        params=[cutoff, PURGED_TEXT],
    ).pl()
    # A quarantined row is purged by itself (complaint_id null): its id may name a later,
    # accepted version that is still within the period.
    quarantined = con.sql(
        """
        select sha256 as _sha256, _row_number, cast(null as VARCHAR) as complaint_id
        from quarantine.rows
        where feed = 'complaints'
          and coalesce(
            cast(try_cast(record->>'received_at' as timestamp) as date),
            try_cast(record->>'received_at' as date),
            cast(quarantined_at as date)
          ) < ?
          and coalesce(record->>'description', record->>'_unparsed', '') <> ?
        """,
        params=[cutoff, PURGED_TEXT],
    ).pl()
    targets = pl.concat([accepted, quarantined])
    con.execute("begin transaction")
    try:
        erasure = Erasure(_complaint_count(targets))
        _purge(con, targets, redact_personal, erasure.changed)
        count = erasure.complaints
        if count:
            note = f"{retention_days} days"
            _audit(con, "retention", f"received before {cutoff}", count, by, note, erasure.rows)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return count


# ---------------------------------------------------------------------------------------
# erasure on request
# ---------------------------------------------------------------------------------------


def text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every text column of every table of the warehouse."""
    rows = con.execute(
        """
        select c.schema_name, c.table_name, c.column_name
        from duckdb_columns() c
        join duckdb_tables() t using (database_name, schema_name, table_name)
        where c.database_name = current_database() and not t.temporary
          and c.data_type = 'VARCHAR'
        order by all
        """
    ).fetchall()
    return [(s, t, c) for s, t, c in rows if (s, t) not in NOT_SEARCHED]


def _blank_everywhere(con: duckdb.DuckDBPyConnection, phone: str, erasure: Erasure) -> None:
    """Blank the phone number wherever it is written, in every text column of every table; a
    cell that is the phone alone (the restricted table) goes with its row."""
    pattern, matcher = phone_pattern(phone), phone_matcher(phone)
    records = {("quarantine", "rows", "record")} | {("raw", f, "record") for f in contracts()}

    def blank(value: str) -> str:
        erasure.written_as.update(m.group() for m in matcher.finditer(value))
        return matcher.sub(PHONE_REMOVED, value)

    for schema, table, column in text_columns(con):
        name = f'{schema}."{table}"'
        found = con.execute(
            f'select rowid, "{column}" from {name} where regexp_matches("{column}", ?)',
            [pattern],
        ).fetchall()
        if (schema, table) in CACHES:
            gone = {rowid for rowid, _ in found}
        elif (schema, table) == ("restricted", "complaint_phones_history"):
            gone = {rowid for rowid, value in found if phone_digits(value) == phone}
        else:
            gone = set()
        if gone:
            erasure.written_as.update(
                m.group() for r, v in found if r in gone for m in matcher.finditer(v)
            )
            _delete_rows(con, name, gone)
            found = [(r, v) for r, v in found if r not in gone]
            erasure.changed[f"{schema}.{table}"] |= gone
        # A delivered record is JSON: rewritten value by value, so it stays JSON.
        rewrite = (
            (lambda v: rewrite_record(v, blank)) if (schema, table, column) in records else blank
        )
        new = {rowid: after for rowid, before in found if (after := rewrite(before)) != before}
        _rewrite_cells(con, name, f'"{column}"', new)
        erasure.changed[f"{schema}.{table}"] |= set(new)


def _phone_targets(con: duckdb.DuckDBPyConnection, phone: str) -> pl.DataFrame:
    """The delivered records of the person's complaints: where the phone column holds the
    number (restricted table or raw record, so quarantined complaints too), and malformed
    records that contain it."""
    contract = contracts()["complaints"]
    pattern, matcher = phone_pattern(phone), phone_matcher(phone)
    restricted = con.execute(
        "select _sha256, _row_number, complaint_id, complainant_phone "
        "from restricted.complaint_phones_history where regexp_matches(complainant_phone, ?)",
        [pattern],
    ).fetchall()
    rows = [(s, n, c) for s, n, c, p in restricted if phone_digits(p) == phone]
    raw = con.execute(
        "select _sha256, _row_number, record from raw.complaints where regexp_matches(record, ?)",
        [pattern],
    ).fetchall()
    for sha, number, record in raw:
        data = json.loads(record)
        if "_unparsed" in data:
            if matcher.search(str(data["_unparsed"])):
                rows.append((sha, number, None))
            continue
        fields = {contract.column_of(k): v for k, v in data.items()}
        value = fields.get("complainant_phone")
        if isinstance(value, str) and phone_digits(value) == phone:
            cid = fields.get("complaint_id")
            rows.append((sha, number, cid.strip() if isinstance(cid, str) else None))
    return pl.DataFrame(
        rows,
        schema={"_sha256": pl.String, "_row_number": pl.Int64, "complaint_id": pl.String},
        orient="row",
    ).unique()


def _complaint_targets(con: duckdb.DuckDBPyConnection, complaint_id: str) -> pl.DataFrame:
    """Every delivered record of one complaint: accepted, quarantined or malformed."""
    contract = contracts()["complaints"]
    token = re.compile(rf"(?<![0-9A-Za-z_\-]){re.escape(complaint_id)}(?![0-9A-Za-z_\-])")
    raw = con.execute(
        "select _sha256, _row_number, record from raw.complaints where contains(record, ?)",
        [complaint_id],
    ).fetchall()
    rows: list[tuple[str, int, str | None]] = []
    for sha, number, record in raw:
        data = json.loads(record)
        if "_unparsed" in data:
            if token.search(str(data["_unparsed"])):
                rows.append((sha, number, None))
            continue
        cid = next((v for k, v in data.items() if contract.column_of(k) == "complaint_id"), None)
        if isinstance(cid, str) and cid.strip() == complaint_id:
            rows.append((sha, number, complaint_id))
    rows.append(("", -1, complaint_id))  # its staging versions, even without a raw record
    return pl.DataFrame(
        rows,
        schema={"_sha256": pl.String, "_row_number": pl.Int64, "complaint_id": pl.String},
        orient="row",
    ).unique()


def erase_person(
    con: duckdb.DuckDBPyConnection,
    *,
    phone: str | None = None,
    complaint_id: str | None = None,
    by: str,
    note: str = "",
    dry_run: bool = False,
    files_changed: int = 0,
) -> Erasure:
    """Erase one person's data on request, by phone number or by complaint id; audited.

    By phone: the complaints whose phone it is (accepted, quarantined or malformed) lose their
    phone and texts, the number is blanked wherever it is written in any table, and a
    tombstone keeps it erased on re-delivery. By complaint id: that complaint's phone and
    texts, in every version delivered, and a tombstone for the id. `phone` must be one whole
    phone number (`normalize_phone` raises NotAPhoneNumber otherwise). A dry run counts what
    would go and changes nothing. `files_changed` (written exports purged by the caller) is
    recorded in the audit."""
    if bool(phone) == bool(complaint_id):
        raise ValueError("give a phone number or a complaint id")
    number = normalize_phone(phone) if phone else None
    complaint_id = complaint_id.strip() if complaint_id else None
    con.execute("begin transaction")
    try:
        ensure_warehouse(con)
        if number is not None:
            # Blank first, then purge: the blanking sees every way the number was written,
            # also in the texts the purge replaces.
            targets = _phone_targets(con, number)
            erasure = Erasure(_complaint_count(targets), written_as={number})
            _blank_everywhere(con, number, erasure)
            _purge(con, targets, redact_personal, erasure.changed)
            add_tombstones(con, PHONE, [number])
            subject = "phone (not recorded)"
        else:
            assert complaint_id is not None
            targets = _complaint_targets(con, complaint_id)
            erasure = Erasure()
            _purge(con, targets, redact_personal, erasure.changed)
            erasure.complaints = 1 if erasure.rows else 0
            subject = f"complaint {complaint_id}"
        add_tombstones(con, COMPLAINT, targets["complaint_id"].drop_nulls().to_list())
        audited = erasure.rows | ({"written files": files_changed} if files_changed else {})
        _audit(con, "erase", subject, erasure.complaints, by, note, audited)
    except Exception:
        con.execute("rollback")
        raise
    con.execute("rollback" if dry_run else "commit")
    return erasure
