"""Build the per-prefecture and province reports of one run: OUT/<as-of>/reports/<team>/.

    build_reports(run.out_dir, con_or_None, as_of)

Each team folder (the eight prefecture codes of regions.csv, and `province`) gets
`report.html` (self-contained) and `report.xlsx`. Same exports, same warehouse, same bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from data_contracts.contract import prefectures
from reports.charts import county_map
from reports.data import feed_freshness, read_exports, scoped, summarize
from reports.dossier import DOSSIER_LEADS, dossier_href, write_dossiers
from reports.html import render_report
from reports.labels import PROVINCE, scope_title
from reports.task_sheet import write_task_sheets
from reports.workbook import write_workbook
from transforms.alert_trends import stored_alert_trends
from transforms.explore import LeadRecords, leads_records

MAX_HTML_LEADS = 200  # every high and medium lead is shown whatever this says
ACTIVE_DAYS = 30  # an alert raised in the last 30 days counts as an active surge


def teams() -> list[str]:
    """The report folders: every prefecture code, then the province."""
    return [*sorted(prefectures()), PROVINCE]


def _run_dir(out_dir: Path, as_of: dt.date) -> Path:
    """OUT/<as-of>/ whether given OUT/<as-of>/ (the run's out_dir) or OUT/."""
    nested = out_dir / as_of.isoformat()
    if not (out_dir / "entity_leads.csv").exists() and (nested / "entity_leads.csv").exists():
        return nested
    return out_dir


def build_reports(
    out_dir: Path,
    con: duckdb.DuckDBPyConnection | None,
    as_of: dt.date,
    *,
    max_html_leads: int = MAX_HTML_LEADS,
    active_days: int = ACTIVE_DAYS,
    dossier_leads: int = DOSSIER_LEADS,
) -> list[Path]:
    """Write every team's report.html and report.xlsx from the exports; return their paths.

    `con` (the warehouse, read only) adds the alerts' trend charts, the feeds' freshness and
    the evidence dossiers of each team's top `dossier_leads` leads (leads/<lead_id>.html);
    without it the reports are built from the exports alone.
    """
    run_dir = _run_dir(out_dir, as_of)
    exports = read_exports(run_dir)
    trends = stored_alert_trends(con, as_of) if con is not None else None
    freshness = feed_freshness(con) if con is not None else None
    written: list[Path] = []
    cache: dict[str, LeadRecords] = {}
    if con is not None and dossier_leads:
        # The records of every team's dossiers in one round of queries (a round per team
        # was 20 of the province's 28 s of dossiers at a load of 14).
        top = {
            i
            for team in teams()
            for i in scoped(exports, team).leads.head(dossier_leads)["lead_id"]
        }
        cache.update(leads_records(con, sorted(top), as_of))
    for team in teams():
        part = scoped(exports, team)
        folder = run_dir / "reports" / team
        folder.mkdir(parents=True, exist_ok=True)
        dossiers: dict[str, str] = {}
        if con is not None and dossier_leads:
            ids = write_dossiers(con, folder, part.leads, team, as_of, dossier_leads, cache)
            dossiers = {lead_id: dossier_href(lead_id) for lead_id in ids}
            written += [folder / href for href in dossiers.values()]
        sheets: dict[str, str] = {}
        if team != PROVINCE:
            sheets = write_task_sheets(folder, part, team, as_of, active_days, dossiers)
            written += [folder / href for href in sheets.values()]
        html = render_report(
            scope=team,
            part=part,
            summary=summarize(part, as_of, active_days, freshness),
            as_of=as_of,
            panels=county_map(team, part.hotspots, part.leads, part.alerts),
            trends=trends,
            freshness=freshness,
            max_leads=max_html_leads,
            active_days=active_days,
            dossiers=dossiers,
            task_sheets=sheets,
        )
        html_path = folder / "report.html"
        html_path.write_bytes(html.encode("utf-8"))
        written.append(html_path)
        written.append(
            write_workbook(folder / "report.xlsx", part, as_of, scope_title(team), team, dossiers)
        )
    return written
