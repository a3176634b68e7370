"""Personal data as a file is loaded: quarantined records hold none, and erased values stay
erased when a file brings them again.

An erasure (`transforms/privacy.py`) leaves a tombstone in `ops.erased_values`: the SHA-256
of the normalised phone number or complaint id, never the value. Every later file is checked
against them before it is written (`scrubbed_for_load`, called by the loader): a complaint
whose phone or id was erased loads without its phone and with its text purged, and an
erased phone written anywhere in any feed's text is blanked. A re-delivered file (the same
rows, a few bytes changed, so not a duplicate) cannot bring an erasure back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb
import polars as pl

from data_contracts.batch import FileBatch
from data_contracts.contract import FeedContract, contracts
from data_contracts.personal import (
    PHONE_CANDIDATE,
    PHONE_REMOVED,
    PURGED_TEXT,
    digest,
    phone_digits,
    phones_in,
    redact_personal,
    rewrite_record,
)
from transforms.warehouse import has_table

TOMBSTONE_DDL = """
create table if not exists ops.erased_values (kind VARCHAR, sha256 VARCHAR, erased_at TIMESTAMP)
"""
PHONE, COMPLAINT = "phone", "complaint_id"
_TOKEN = re.compile(r"[0-9A-Za-z_\-]+")


@dataclass(frozen=True)
class Tombstones:
    """Digests of the erased phones and complaint ids."""

    phones: frozenset[str] = frozenset()
    complaints: frozenset[str] = frozenset()

    def erased_phone(self, text: object) -> bool:
        digits = phone_digits(text) if isinstance(text, str) else None
        return digits is not None and digest(digits) in self.phones

    def erased_complaint(self, complaint_id: object) -> bool:
        return isinstance(complaint_id, str) and digest(complaint_id.strip()) in self.complaints

    def blank_phones(self, text: str) -> str:
        """`text` with every erased phone number written in it blanked."""
        found = [(s, e) for s, e, digits in phones_in(text) if digest(digits) in self.phones]
        for start, end in reversed(found):
            text = text[:start] + PHONE_REMOVED + text[end:]
        return text


def add_tombstones(con: duckdb.DuckDBPyConnection, kind: str, values: Iterable[str]) -> None:
    """Record that these normalised values were erased (their digests only)."""
    con.execute(TOMBSTONE_DDL)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for value in sorted(set(values)):
        sha = digest(value)
        con.execute(
            "insert into ops.erased_values select ?, ?, ? where not exists "
            "(select 1 from ops.erased_values where kind = ? and sha256 = ?)",
            [kind, sha, now, kind, sha],
        )


def tombstones(con: duckdb.DuckDBPyConnection) -> Tombstones:
    """Every tombstone of the warehouse (none before the first erasure)."""
    if not has_table(con, "ops", "erased_values"):
        return Tombstones()
    rows = con.execute("select kind, sha256 from ops.erased_values").fetchall()
    return Tombstones(
        phones=frozenset(sha for kind, sha in rows if kind == PHONE),
        complaints=frozenset(sha for kind, sha in rows if kind == COMPLAINT),
    )


def scrubbed_for_load(
    con: duckdb.DuckDBPyConnection, batch: FileBatch, erased: Tombstones | None = None
) -> FileBatch:
    """The batch as it may be written: quarantined records without personal data (personal
    columns dropped, phone and ID numbers in their text blanked), and with the tombstones
    of earlier erasures applied (`erased`, read from the warehouse when not given)."""
    assert batch.rows is not None and batch.raw is not None
    contract = contracts()[batch.file.feed]
    raw, accepted, quarantined = batch.raw, batch.rows.accepted, batch.rows.quarantined
    erased = tombstones(con) if erased is None else erased
    if erased.phones or erased.complaints:
        rows = _erased_rows(contract, raw, erased)
        raw = _with_records(raw, rows, contract, erased)
        quarantined = _with_records(quarantined, rows, contract, erased)
        accepted = _without_erased(accepted, rows, contract, erased)
    quarantined = quarantined.with_columns(
        pl.col("record").map_elements(
            lambda r: quarantine_record(r, contract), return_dtype=pl.String
        )
    )
    rows_ = dataclasses.replace(batch.rows, accepted=accepted, quarantined=quarantined)
    return dataclasses.replace(batch, raw=raw, rows=rows_)


def quarantine_record(record: str, contract: FeedContract) -> str:
    """A quarantined record as it is kept: no personal column, phone and ID numbers blanked in
    its text (keys and codes kept). A malformed record of a feed with a personal column also
    loses every 7-8 digit number, since its phone cannot be told from its other cells."""
    personal = {name for c in contract.columns if c.personal for name in _headers(c.name, contract)}
    keep = {c.name for c in contract.columns if c.name in contract.key or c.type == "uscc"}
    bare = bool(personal) and '"_unparsed"' in record

    def text(value: str) -> str:
        return redact_personal(value, bare_numbers=bare)

    return rewrite_record(record, text, drop=personal, keep=keep)


def _headers(column: str, contract: FeedContract) -> set[str]:
    """The lower-cased headers that name `column` (its name and Chinese aliases)."""
    return {h for h, name in contract.header_map.items() if name == column}


def _field(data: dict[str, object], column: str, contract: FeedContract) -> object:
    """The value of a contract column in a delivered record (under any of its headers)."""
    return next((v for k, v in data.items() if contract.column_of(k) == column), None)


def purge_record(record: str, contract: FeedContract, text: Callable[[str], str]) -> str:
    """An erased complaint's record: phone dropped, free text (and a malformed record's whole
    text) purged, other values passed through `text`."""
    try:
        data = json.loads(record)
    except ValueError:
        return PURGED_TEXT
    if not isinstance(data, dict):
        return PURGED_TEXT
    out: dict[str, object] = {}
    for key, value in data.items():
        column = contract.column_of(key)
        if column is not None and contract.column(column).personal:
            continue
        if key == "_unparsed" or (column is not None and contract.column(column).free_text):
            out[key] = PURGED_TEXT  # also where it was empty: the record is marked purged
        elif isinstance(value, str):
            out[key] = text(value)
        else:
            out[key] = value
    return json.dumps(out, ensure_ascii=False)


def _erased_rows(contract: FeedContract, raw: pl.DataFrame, erased: Tombstones) -> set[int]:
    """Row numbers of the file's records of an erased complaint (its id or its phone)."""
    if not any(c.personal for c in contract.columns):
        return set()
    rows: set[int] = set()
    for row_number, record in raw.select("_row_number", "record").iter_rows():
        data = json.loads(record)
        if "_unparsed" in data:
            text = str(data["_unparsed"])
            if any(digest(d) in erased.phones for _, _, d in phones_in(text)) or any(
                erased.erased_complaint(t) for t in _TOKEN.findall(text)
            ):
                rows.add(row_number)
            continue
        phone = _field(data, "complainant_phone", contract)
        key = _field(data, contract.key[0], contract)
        if erased.erased_phone(phone) or erased.erased_complaint(key):
            rows.add(row_number)
    return rows


def _with_records(
    frame: pl.DataFrame, rows: set[int], contract: FeedContract, erased: Tombstones
) -> pl.DataFrame:
    """Records (`_row_number`, `record`) with erased complaints purged and erased phones
    blanked wherever they are written."""
    if frame.is_empty():
        return frame

    def blank(value: str) -> str:
        return erased.blank_phones(value)

    def rewrite(row_number: int, record: str) -> str:
        if row_number in rows:
            return purge_record(record, contract, blank)
        return rewrite_record(record, blank)

    candidates = frame["_row_number"].is_in(list(rows))
    if erased.phones:
        candidates = candidates | frame["record"].str.contains(PHONE_CANDIDATE).fill_null(False)
    if not candidates.any():
        return frame
    at = candidates.arg_true()
    numbers, records = frame["_row_number"].gather(at), frame["record"].gather(at)
    new = [rewrite(n, r) for n, r in zip(numbers, records, strict=True)]
    return frame.with_columns(frame["record"].clone().scatter(at, new))


def _without_erased(
    accepted: pl.DataFrame, rows: set[int], contract: FeedContract, erased: Tombstones
) -> pl.DataFrame:
    """Accepted rows with erased complaints' phone and free text purged and erased phones
    blanked in every text column."""
    if accepted.is_empty():
        return accepted
    erased_row = pl.col("_row_number").is_in(list(rows))
    purged = [
        pl.when(erased_row)
        .then(pl.lit(None if c.personal else PURGED_TEXT, pl.String))
        .otherwise(pl.col(c.name))
        .alias(c.name)
        for c in contract.columns
        if (c.personal or c.free_text) and c.name in accepted.columns
    ]
    accepted = accepted.with_columns(purged) if rows and purged else accepted
    if not erased.phones:
        return accepted
    for name, dtype in accepted.schema.items():
        if dtype != pl.String:
            continue
        column = accepted[name]
        hits = column.str.contains(PHONE_CANDIDATE).fill_null(False)
        if not hits.any():
            continue
        at = hits.arg_true()
        new = [erased.blank_phones(v) for v in column.gather(at)]
        accepted = accepted.with_columns(column.clone().scatter(at, new))
    return accepted
