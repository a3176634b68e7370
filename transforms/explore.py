"""Read-only views of the warehouse for analysts' notebooks (`notebooks/`).

- `read_only`: the warehouse opened read-only, closed again at the end of the block (so a
  notebook never blocks the nightly run for longer than a cell);
- `last_run_as_of`, `current_leads`, `current_alerts`: what the last run left in `scores`;
- `lead_records`: the complaints, inspections, listings, shops and keys behind one lead;
- `quarantine_by_delivery`, `deliveries`: quarantined rows by feed, reason and sender, and
  every delivered file's counts, dated by delivery.

SQL is in transforms/sql/explore/. Nothing here reads the `restricted` schema, and free text
that reaches a notebook (titles, names) has phone and ID numbers blanked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb
import polars as pl

from data_contracts.personal import redact_personal
from data_contracts.validate import reason_text
from transforms.warehouse import has_table, sql_file

_DATE_IN_NAME = re.compile(r"(?<!\d)\d{4}(?:-\d{2}){1,2}(?!\d)|(?<!\d)\d{4}Q[1-4](?!\d)")
_SEPARATORS = re.compile(r"([_\-. ])[_\-. ]*")


@contextmanager
def read_only(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse opened read-only for the block; FileNotFoundError when it does not exist."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `make demo` (or `radar run`) first")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _query(
    con: duckdb.DuckDBPyConnection, relative: str, params: dict[str, object]
) -> pl.DataFrame:
    """The rows of a SQL file under transforms/sql/explore, binding the parameters it uses."""
    query = sql_file(f"explore/{relative}")
    used = {k: v for k, v in params.items() if f"${k}" in query}
    return con.sql(query, params=used or None).pl()


def _redacted(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """The frame with phone and ID numbers blanked out of free-text columns."""
    return frame.with_columns(
        pl.col(c).map_elements(redact_personal, return_dtype=pl.String)
        for c in columns
        if c in frame.columns
    )


def _redacted_names(keys: pl.DataFrame) -> pl.DataFrame:
    """Entity keys with personal numbers blanked out of name keys (codes and hashes kept)."""
    blanked = pl.col("key").map_elements(redact_personal, return_dtype=pl.String)
    return keys.with_columns(
        pl.when(pl.col("kind") == "name").then(blanked).otherwise(pl.col("key")).alias("key")
    )


# --- the last run -------------------------------------------------------------------------


def last_run_as_of(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The as-of date of the last run that succeeded: the date the `scores` and `features`
    tables describe. LookupError when no run has succeeded yet."""
    rows = con.execute(
        "select as_of from ops.runs where status = 'succeeded' order by finished_at desc limit 1"
    ).fetchall()
    if not rows:
        raise LookupError("no successful run in this warehouse")
    day: dt.date = rows[0][0]
    return day


def current_leads(
    con: duckdb.DuckDBPyConnection, lead_ids: list[str] | None = None
) -> pl.DataFrame:
    """The last run's lead list (scores.entity_leads), best first, names redacted; only the
    leads `lead_ids` when given (redacting every lead's names for a team's ten dossiers took
    4 s of the province's reports)."""
    leads = con.sql("select * from scores.entity_leads order by rank").pl()
    if lead_ids is not None:
        leads = leads.filter(pl.col("lead_id").is_in(lead_ids))
    return _redacted(leads, "entity_name", "names", "reasons")


def current_alerts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The last run's surge alerts (scores.alerts), by date."""
    return con.sql(
        "select * from scores.alerts order by alert_date, region_code, product_category, signal"
    ).pl()


# --- one lead -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadRecords:
    """What lies behind one lead as of the last run."""

    lead: dict[str, object]  # its row of scores.entity_leads
    complaints: pl.DataFrame  # attributed complaints; weight null when outside the 180 days
    inspections: pl.DataFrame  # attributed inspections, any result
    listings: pl.DataFrame  # its shops' listings as the score saw them (last 8 weeks)
    shop_snapshots: pl.DataFrame  # per shop and snapshot: listings, median price, sales
    keys: pl.DataFrame  # kind, key, records, feeds: what links its records (uscc, shop, …)
    name_matches: pl.DataFrame  # key_a, key_b, match_probability: its matched names


def lead_records(
    con: duckdb.DuckDBPyConnection, lead_id: str, as_of: dt.date | None = None
) -> LeadRecords:
    """The records behind lead `lead_id` of the lead list in scores (the last run's, or the
    run in progress, as of `as_of`, by default the last run's date); LookupError for an
    unknown lead."""
    found = leads_records(con, [lead_id], as_of)
    if lead_id not in found:
        raise LookupError(f"{lead_id} is not in the last run's lead list")
    return found[lead_id]


# The queries behind a lead, each run once for many leads (a column `lead_id` says whose).
LEAD_QUERIES = (
    "lead_complaints",
    "lead_inspections",
    "lead_listings",
    "lead_shop_snapshots",
    "lead_keys",
    "lead_name_matches",
)


def leads_records(
    con: duckdb.DuckDBPyConnection, lead_ids: list[str], as_of: dt.date | None = None
) -> dict[str, LeadRecords]:
    """`lead_records` of many leads, each query run once for all of them (a report's dossiers:
    nine teams' top leads); leads not in the list are left out."""
    leads = current_leads(con, lead_ids) if lead_ids else pl.DataFrame()
    if leads.is_empty():
        return {}
    day = as_of or last_run_as_of(con)
    params: dict[str, object] = {"lead_ids": leads["lead_id"].to_list(), "as_of": day}
    frames = {name: _lead_query(con, name, params) for name in LEAD_QUERIES}
    records = {}
    for lead in leads.iter_rows(named=True):
        of = {name: _of_lead(frame, lead["lead_id"]) for name, frame in frames.items()}
        records[lead["lead_id"]] = LeadRecords(
            lead=lead,
            complaints=of["lead_complaints"],
            # an inspection's own lead_id (the lead it followed up), after the lead's column
            inspections=of["lead_inspections"].rename({"inspection_lead_id": "lead_id"}),
            listings=_redacted(of["lead_listings"], "title"),
            shop_snapshots=of["lead_shop_snapshots"],
            keys=_redacted_names(of["lead_keys"]),
            name_matches=of["lead_name_matches"],
        )
    return records


def _lead_query(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, object]
) -> pl.DataFrame:
    if name == "lead_name_matches":
        return _matched_names(con, params)
    return _query(con, f"{name}.sql", params)


def _of_lead(frame: pl.DataFrame, lead_id: str) -> pl.DataFrame:
    """The rows of one lead, in the query's order, without the `lead_id` column."""
    return frame.filter(pl.col("lead_id") == lead_id).drop("lead_id")


def _matched_names(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> pl.DataFrame:
    """The leads' matched name pairs with their probability, personal numbers blanked (none
    when the resolution matched no names: `match_names` off, or a warehouse before it)."""
    if not has_table(con, "core", "name_matches"):
        return pl.DataFrame(
            schema={
                "lead_id": pl.String,
                "key_a": pl.String,
                "key_b": pl.String,
                "match_probability": pl.Float64,
            }
        )
    blanked = [
        pl.col(c).map_elements(redact_personal, return_dtype=pl.String) for c in ("key_a", "key_b")
    ]
    return _query(con, "lead_name_matches.sql", params).with_columns(blanked)


def leads_credit(
    con: duckdb.DuckDBPyConnection, lead_ids: list[str], as_of: dt.date
) -> dict[str, pl.DataFrame]:
    """The penalties and credit-list records attributed to each lead up to `as_of`."""
    frame = _query(con, "lead_credit.sql", {"lead_ids": lead_ids, "as_of": as_of})
    return {lead_id: _of_lead(frame, lead_id) for lead_id in lead_ids}


def lead_credit(con: duckdb.DuckDBPyConnection, lead_id: str, as_of: dt.date) -> pl.DataFrame:
    """The penalties and credit-list records attributed to lead `lead_id` up to `as_of`."""
    return leads_credit(con, [lead_id], as_of)[lead_id]


# --- data quality -------------------------------------------------------------------------


def sender(file: str) -> str:
    """Who sent a delivered file, as its name tells: the file name without dates and extension
    (`complaints/2025-01/12315_2025-01.csv` -> `12315`, `listings/2026-06-01/taobao.parquet` ->
    `taobao`), else its folder's name (`complaints/weekly/2026-05-25_2026-05-31.csv` ->
    `weekly`). The manifest records no sender, so this is the best the delivery itself says."""
    path = PurePosixPath(file)
    name = _SEPARATORS.sub(r"\1", _DATE_IN_NAME.sub("", path.stem)).strip("_-. ")
    return name or path.parent.name


def _with_sender(frame: pl.DataFrame) -> pl.DataFrame:
    column = pl.col("file").map_elements(sender, return_dtype=pl.String).alias("sender")
    first = ["delivered_on", "feed", "sender"]
    return frame.with_columns(column).select(*first, pl.exclude(*first))


def quarantine_by_delivery(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Quarantined rows by delivery day, feed, sender, file and reason (a row counts under each
    of its reasons): delivered_on, feed, sender, file, reason, reason_text, rows, open_rows."""
    counts = _with_sender(_query(con, "quarantine_by_delivery.sql", {}))
    text = pl.col("reason").map_elements(reason_text, return_dtype=pl.String)
    return counts.with_columns(text.alias("reason_text")).select(
        "delivered_on", "feed", "sender", "file", "reason", "reason_text", "rows", "open_rows"
    )


def deliveries(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every file seen, by delivery day: delivered_on, feed, sender, file, status, rows_read,
    rows_accepted, rows_quarantined."""
    return _with_sender(_query(con, "deliveries.sql", {}))
