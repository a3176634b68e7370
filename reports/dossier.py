"""The evidence dossier: one printable HTML page per lead in a team's top N.

    OUT/<as-of>/reports/<team>/leads/<lead_id>.html

What opening a case (立案) needs on one A4-printable page: identity (names, USCCs, shops),
the reasons, the records behind them (listings with their price against the reference,
complaints without personal data, inspections), the keys that link the records into one
operator (with how many records carry each, and the match probability of every pair of names
the name matcher joined), and the lead's rank history and dispositions. Shops are named, not
linked: the contract's platforms.csv gives no shop URL pattern. Read from the warehouse the run
just built (transforms/explore.py `leads_records`: no phone, no complaint text, phone and ID
numbers blanked from titles and names).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from markupsafe import Markup

from data_contracts.dispositions import STATUS_LABELS
from reports.html import TEMPLATES, _environment, _reasons, _region
from reports.labels import (
    RISK_LEVELS,
    category_label,
    category_list_label,
    scope_title,
    shop_label,
)
from transforms.explore import LeadRecords, leads_credit, leads_records
from transforms.splink_match import load_config
from transforms.warehouse import has_table

DOSSIER_LEADS = 10  # per team: the top of its list
DOSSIER_DIR = "leads"
CREDIT_TYPES = {
    "admin_penalty": "行政处罚 penalty",
    "serious_dishonesty_list": "严重违法失信名单 serious dishonesty list",
    "abnormal_operation": "经营异常名录 abnormal operation",
    "red_list": "守信激励 red list",
}


def dossier_href(lead_id: str) -> str:
    """The dossier's path relative to the team's report folder."""
    return f"{DOSSIER_DIR}/{lead_id}.html"


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return list(frame.iter_rows(named=True))


def _histories(
    con: duckdb.DuckDBPyConnection, lead_ids: list[str]
) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per lead: its last 30 ranks (as_of, rank, score, risk level) and its dispositions, newest
    first; one query each for all the leads."""
    ranks = con.execute(
        "select lead_id, as_of, rank, score, risk_level from scores.lead_history "
        "where list_contains(?, lead_id) "
        "qualify row_number() over (partition by lead_id order by as_of desc) <= 30 "
        "order by lead_id, as_of desc",
        [lead_ids],
    ).fetchall()
    dispositions: list[Any] = []
    if has_table(con, "staging", "dispositions_history"):
        dispositions = con.execute(
            "select lead_id, imported_on, status, checked_on, checked_by, note, team "
            "from staging.dispositions_history where list_contains(?, lead_id) "
            "order by lead_id, imported_at desc, file desc, row_number desc",
            [lead_ids],
        ).fetchall()
    found: dict[str, tuple[list[Any], list[Any]]] = {i: ([], []) for i in lead_ids}
    for row in ranks:
        found[row[0]][0].append(tuple(row[1:]))
    for row in dispositions:
        found[row[0]][1].append(tuple(row[1:]))
    return found


def render_dossier(
    records: LeadRecords,
    credit: pl.DataFrame,
    ranks: list[Any],
    dispositions: list[Any],
    scope: str,
    as_of: dt.date,
    name_threshold: float | None = None,
) -> str:
    """The dossier page as text (same records, same text). `name_threshold`: the name
    matcher's (read from its YAML when not given; `write_dossiers` reads it once for all its
    pages: once per page was 2.5 s of the reports stage on seed 7 at scale 1)."""
    lead = records.lead
    listings = records.listings.with_columns(
        (pl.col("price_cny") / pl.col("price_ratio")).alias("reference_price")
    ).sort(["has_slang", "price_ratio"], descending=[True, False], nulls_last=True)
    return (
        _environment()
        .get_template("dossier.html.j2")
        .render(
            css=Markup((TEMPLATES / "dossier.css").read_text(encoding="utf-8")),
            title=scope_title(scope),
            as_of=as_of.isoformat(),
            lead=lead,
            name=lead.get("entity_name") or "（名称未知 name unknown）",
            region=_region(lead.get("region_code")),  # type: ignore[arg-type]
            risk=RISK_LEVELS.get(str(lead.get("risk_level")), lead.get("risk_level")),
            categories=category_list_label(lead.get("product_categories")),  # type: ignore[arg-type]
            shops=[shop_label(k) for k in str(lead.get("shop_keys") or "").split(";") if k],
            reasons=_reasons(lead.get("reasons")),  # type: ignore[arg-type]
            listings=_rows(listings.head(40)),
            listings_total=listings.height,
            complaints=_rows(records.complaints.sort("received_on", descending=True).head(40)),
            complaints_total=records.complaints.height,
            inspections=_rows(records.inspections.sort("inspected_on", descending=True)),
            credit=_rows(credit),
            credit_types=CREDIT_TYPES,
            keys=_rows(records.keys),
            name_matches=_rows(records.name_matches),
            name_threshold=load_config().threshold if name_threshold is None else name_threshold,
            category=category_label,
            ranks=ranks,
            dispositions=[(d[0], STATUS_LABELS.get(d[1], d[1]), *d[2:]) for d in dispositions],
            report_href="../report.html",
        )
    )


def write_dossiers(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    leads: pl.DataFrame,
    scope: str,
    as_of: dt.date,
    top: int = DOSSIER_LEADS,
    cache: dict[str, LeadRecords] | None = None,
) -> list[str]:
    """Write the dossiers of the team's top `top` leads into folder/leads/; their lead ids.
    `cache` keeps each lead's records across teams (the province shares the prefectures')."""
    cache = {} if cache is None else cache
    ids = leads.head(top)["lead_id"].to_list()
    # as of the run's day: a first run has no earlier succeeded run to date it
    missing = [i for i in ids if i not in cache]
    if missing:
        cache.update(leads_records(con, missing, as_of))
    ids = [i for i in ids if i in cache]  # others are not in the warehouse's list
    credits = leads_credit(con, ids, as_of)
    histories = _histories(con, ids)
    threshold = load_config().threshold
    written = []
    for lead_id in ids:
        ranks, dispositions = histories[lead_id]
        page = render_dossier(
            cache[lead_id], credits[lead_id], ranks, dispositions, scope, as_of, threshold
        )
        path = folder / dossier_href(lead_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page.encode("utf-8"))
        written.append(lead_id)
    return written
