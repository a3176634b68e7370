"""The county task sheet: one A4 page per county of a prefecture's report.

    OUT/<as-of>/reports/<prefecture>/counties/<county_code>.html

The few things a county's team does this week, to print and take along: its top leads still
to do (held, in-progress and not-ours leads left out, as in the to-do list), the alerts of the
last 30 days and its hotspots. Rows are capped and each lead keeps its first reason, so the
page fits one A4 sheet (tests/test_reports_browser.py checks the PDF when Chromium is there).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from markupsafe import Markup

from data_contracts.contract import regions
from models.dispositions import HELD_OUT
from reports.data import Exports
from reports.html import TEMPLATES, _environment, _reasons, alert_cards, hotspot_rows
from reports.labels import RISK_LEVELS, category_list_label, region_name

TASK_LEADS = 10
TASK_ALERTS = 4
TASK_HOTSPOTS = 4


def task_sheet_href(county: str) -> str:
    """The county's task sheet relative to its prefecture's report folder."""
    return f"counties/{county}.html"


def render_task_sheet(
    part: Exports, county: str, as_of: dt.date, active_days: int, dossiers: dict[str, str]
) -> str:
    """One county's task sheet as text."""
    here = pl.col("region_code") == county
    leads = part.leads.filter(here)
    if "status" in leads.columns:
        leads = leads.filter(~pl.col("status").is_in(HELD_OUT).fill_null(False))
    rows = [
        {
            "rank": r["rank"],
            "lead_id": r["lead_id"],
            "name": r["entity_name"] or "（名称未知）",
            "uscc": r["uscc"] or "",
            "risk": RISK_LEVELS.get(r["risk_level"], r["risk_level"]).split(" ")[0],
            "categories": category_list_label(r["product_categories"]),
            "reason": (_reasons(r["reasons"]) or [("", "")])[0][0],
            "dossier": f"../{dossiers[r['lead_id']]}" if r["lead_id"] in dossiers else "",
        }
        for r in leads.head(TASK_LEADS).iter_rows(named=True)
    ]
    active_from = as_of - dt.timedelta(days=active_days - 1)
    alerts = alert_cards(part.alerts.filter(here & (pl.col("alert_date") >= active_from)), None)
    return (
        _environment()
        .get_template("task_sheet.html.j2")
        .render(
            css=Markup((TEMPLATES / "dossier.css").read_text(encoding="utf-8")),
            county=region_name(county),
            code=county,
            as_of=as_of.isoformat(),
            leads=rows,
            leads_total=leads.height,
            alerts=alerts[:TASK_ALERTS],
            hotspots=hotspot_rows(part.hotspots.filter(here))[:TASK_HOTSPOTS],
        )
    )


def write_task_sheets(
    folder: Path,
    part: Exports,
    prefecture: str,
    as_of: dt.date,
    active_days: int,
    dossiers: dict[str, str],
) -> dict[str, str]:
    """Every county's task sheet of a prefecture; county code → its href."""
    written = {}
    for county in sorted(c for c, r in regions().items() if r.prefecture_code == prefecture):
        path = folder / task_sheet_href(county)
        path.parent.mkdir(parents=True, exist_ok=True)
        page = render_task_sheet(part, county, as_of, active_days, dossiers)
        path.write_bytes(page.encode("utf-8"))
        written[county] = task_sheet_href(county)
    return written
