"""The self-contained HTML report: view rows for the Jinja template, rendered with autoescape.

Everything the page needs is inline (CSS, JS, SVG); it loads nothing from the network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from data_contracts.contract import prefectures, regions
from data_contracts.geography import prefecture_of
from models.dispositions import HELD_OUT
from models.surges import TREND_DAYS
from reports.charts import SCORE_CLASSES, MapPanel, Sparkline, score_colour, sparkline
from reports.data import Exports, Summary
from reports.labels import (
    FILE_STATUSES,
    PROVINCE,
    RISK_LEVELS,
    SEVERITIES,
    SIGNALS,
    TRENDS,
    category_label,
    category_list_label,
    feed_label,
    handoff_label,
    region_name,
    scope_title,
    shop_label,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
HOTSPOTS_SHOWN = 12
PROBLEM_FILES_SHOWN = 20
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@cache
def _environment() -> Environment:
    """The reports' one Jinja environment, made once per process: it keeps each template
    compiled (a fresh environment compiled the dossier's template for every dossier, 12 of the
    17 s the dossiers took on seed 7 at scale 1 under load; issue 22)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["score_colour"] = score_colour
    return env


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def bilingual(text: str) -> tuple[str, str]:
    """`中文 / English` split at the first slash after which no Chinese follows."""
    for i, ch in enumerate(text):
        if ch == "/" and not any(_is_cjk(c) for c in text[i + 1 :]):
            return text[:i].strip(), text[i + 1 :].strip()
    return text.strip(), ""


def _reasons(text: str | None) -> list[tuple[str, str]]:
    return [bilingual(part) for part in (text or "").split("；") if part.strip()]


def _region(code: str | None) -> str:
    return f"{region_name(code)} {code}" if code else "省外 / 未定 out of province"


def lead_rows(
    leads: pl.DataFrame, limit: int, dossiers: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The leads shown in the page (every high and medium lead, then low ones up to `limit`)
    and how many were left for the workbook."""
    serious = leads.filter(pl.col("risk_level").is_in(["high", "medium"]))
    shown = leads.head(max(limit, serious.height)) if leads.height else leads
    rows = []
    for r in shown.iter_rows(named=True):
        code = r["region_code"]
        prefecture = prefecture_of(code)
        rows.append(
            {
                "rank": r["rank"],
                "lead_id": r["lead_id"],
                "entity_name": r["entity_name"] or "（名称未知 name unknown）",
                "uscc": r["uscc"] or "",
                "region_code": code or "",
                "region": region_name(code) if code else "省外 / 未定",
                "prefecture": prefectures()[prefecture]
                if prefecture and prefecture != code
                else "",
                "categories": category_list_label(r["product_categories"]),
                "shops": [shop_label(k) for k in (r["shop_keys"] or "").split(";") if k],
                "score": r["score"],
                "risk_level": r["risk_level"],
                "risk_label": RISK_LEVELS.get(r["risk_level"], r["risk_level"]),
                "reasons": _reasons(r["reasons"]),
                "referral": bool(r["referral_review"]),
                "handoff": handoff_label(r["handoff_region_code"]),
                "is_new": bool(r.get("is_new", False)),
                "dossier": (dossiers or {}).get(r["lead_id"], ""),
            }
        )
    return rows, leads.height - shown.height


def area_rows(part: Exports, scope: str) -> list[dict[str, Any]]:
    """One row per prefecture (province report) or per county (a prefecture's report): its
    high and medium leads, referrals, alerts and best hotspot, busiest first."""
    if scope == PROVINCE:
        unit_of = {code: r.prefecture_code for code, r in regions().items()}
        unit_of |= {code: code for code in prefectures()}
        units = sorted(prefectures())
    else:
        units = sorted(c for c, r in regions().items() if r.prefecture_code == scope)
        unit_of = {code: code for code in units}
    unit = pl.col("region_code").replace_strict(unit_of, default=None, return_dtype=pl.String)
    leads = part.leads.group_by(unit.alias("code")).agg(
        (pl.col("risk_level") == "high").sum().alias("high"),
        (pl.col("risk_level") == "medium").sum().alias("medium"),
        pl.col("referral_review").sum().alias("referrals"),
    )
    alerts = part.alerts.group_by(unit.alias("code")).agg(pl.len().alias("alerts"))
    best = part.hotspots.group_by(unit.alias("code")).agg(pl.col("score").max().alias("best"))
    names = [region_name(u).replace("（全市州）", "") for u in units]
    table = (
        pl.DataFrame({"code": units, "name": names})
        .join(leads, on="code", how="left")
        .join(alerts, on="code", how="left")
        .join(best, on="code", how="left")
        .with_columns(pl.col("high", "medium", "referrals", "alerts").fill_null(0).cast(pl.Int64))
        .sort(
            ["high", "medium", "best", "code"],
            descending=[True, True, True, False],
            nulls_last=True,
        )
    )
    return table.to_dicts()


def hotspot_rows(hotspots: pl.DataFrame) -> list[dict[str, Any]]:
    """The top hotspots of the area, county and prefecture level in one ranking."""
    return [
        {
            "rank": r["rank"],
            "region_name": region_name(r["region_code"]),
            "region_code": r["region_code"],
            "category": category_label(r["product_category"]),
            "score": r["score"],
            "observed": r.get("observed"),
            "expected": r.get("expected"),
            "relative_risk": r.get("relative_risk"),
            "trend": r["trend"],
            "trend_label": TRENDS.get(r["trend"], r["trend"]),
            "reasons": _reasons(r["reasons"]),
        }
        for r in hotspots.head(HOTSPOTS_SHOWN).iter_rows(named=True)
    ]


def alert_cards(alerts: pl.DataFrame, trends: pl.DataFrame | None) -> list[dict[str, Any]]:
    """The alerts, most severe and most recent first, each with its trend chart when known."""
    ordered = sorted(
        alerts.iter_rows(named=True),
        key=lambda r: (
            SEVERITY_ORDER.get(r["severity"], 3),
            -r["alert_date"].toordinal(),
            r["alert_id"],
        ),
    )
    cards = []
    for r in ordered:
        chart: Sparkline | None = None
        if trends is not None:
            chart = sparkline(
                trends.filter(pl.col("alert_id") == r["alert_id"]), r["alert_date"], r["expected"]
            )
        cards.append(
            {
                "alert_id": r["alert_id"],
                "alert_date": r["alert_date"].isoformat(),
                "region": _region(r["region_code"]),
                "region_code": r["region_code"],
                "category": category_label(r["product_category"]),
                "signal": SIGNALS.get(r["signal"], r["signal"]),
                "observed": f"{r['observed']:g}",
                "window_days": r["window_days"],
                "counties": "、".join(
                    region_name(c)
                    for c in (r.get("counties") or "").split(";")
                    if c and c != r["region_code"]
                ),
                "signals_moved": " + ".join(
                    SIGNALS.get(s, s) for s in (r.get("signals_moved") or r["signal"]).split(";")
                ),
                "expected": f"{r['expected']:g}",
                "ratio": f"{r['observed'] / max(r['expected'], 1e-9):.1f}",
                "severity": r["severity"],
                "severity_label": SEVERITIES.get(r["severity"], r["severity"]),
                "chart": chart,
            }
        )
    return cards


@dataclass(frozen=True)
class Action:
    kind: str
    zh: str
    en: str
    href: str = ""  # the lead's row in the page (and its dossier, see `dossier`)
    dossier: str = ""


def actions(
    part: Exports,
    scope: str,
    as_of: dt.date,
    active_days: int,
    freshness: pl.DataFrame | None = None,
    dossiers: dict[str, str] | None = None,
) -> list[Action]:
    """What to do first: the top high-risk leads, the newest severe surge, the hottest rising
    pair, hand-offs to other provinces, and (province) files to ask for again and feeds gone
    quiet."""
    out: list[Action] = []
    dossiers = dossiers or {}
    to_do = pl.col("risk_level") == "high"
    if "status" in part.leads.columns:  # checked-and-held, in-progress, not-ours: not to do
        to_do &= ~pl.col("status").is_in(HELD_OUT).fill_null(False)
    high = part.leads.filter(to_do).head(3)
    for r in high.iter_rows(named=True):
        referral = "，建议移送审查（两法衔接）" if r["referral_review"] else ""
        where = region_name(r["region_code"]) or "省外"
        since = r.get("new_since_checked")
        out.append(
            Action(
                "lead",
                f"核查 {r['entity_name']}（{where}，风险分 {r['score']:.3f}）{referral}"
                + (f"（{since} 核查后有新证据）" if since else ""),
                f"inspect lead #{r['rank']} {r['lead_id']}"
                + (" and review it for criminal referral" if r["referral_review"] else "")
                + (f" (new since checked on {since})" if since else ""),
                href=f"#lead-{r['lead_id']}",
                dossier=dossiers.get(r["lead_id"], ""),
            )
        )
    active_from = as_of - dt.timedelta(days=active_days - 1)
    recent = alert_cards(part.alerts.filter(pl.col("alert_date") >= active_from), None)
    for card in recent[:2]:
        out.append(
            Action(
                "alert",
                f"排查 {card['region']} {card['category'].split(' ')[0]} 的"
                f"{card['signal'].split(' ')[0]}激增（{card['alert_date']} 起，"
                f"{card['window_days']}天 {card['observed']} vs 预期 {card['expected']}）",
                f"check the {card['severity']} surge of {card['signal'].split(' ', 1)[1]} "
                f"({card['category'].split(' ', 1)[1]}) raised {card['alert_date']}",
            )
        )
    rising = part.hotspots.filter(pl.col("trend") == "rising").head(1)
    for r in rising.iter_rows(named=True):
        out.append(
            Action(
                "hotspot",
                f"加强 {region_name(r['region_code'])} {category_label(r['product_category']).split(' ')[0]}"
                f" 巡查（热点分 {r['score']:.2f}，趋势上升）",
                f"step up patrols: rising hotspot {r['region_code']} {r['product_category']}",
            )
        )
    handoffs = part.leads.filter(pl.col("handoff_region_code").is_not_null())
    if handoffs.height:
        provinces = sorted(
            {handoff_label(c).split(" ")[0] for c in handoffs["handoff_region_code"]}
        )
        out.append(
            Action(
                "handoff",
                f"向{'、'.join(provinces[:4])}{'等' if len(provinces) > 4 else ''}通报 "
                f"{handoffs.height} 条外省注册主体线索（线索通报）",
                f"hand off {handoffs.height} leads registered in other provinces",
            )
        )
    rejected = part.data_quality.filter(pl.col("status") == "rejected").height
    if scope == PROVINCE and rejected:
        out.append(
            Action(
                "data",
                f"联系报送单位重新报送 {rejected} 个被拒收的文件",
                f"ask the sending offices to resend {rejected} rejected files",
            )
        )
    if scope == PROVINCE and freshness is not None:
        stale = freshness.filter(pl.col("stale").fill_null(False))["feed"].to_list()
        if stale:
            out.append(
                Action(
                    "data",
                    f"催报超期未报送的数据源：{'、'.join(feed_label(f).split(' ')[0] for f in stale)}",
                    f"chase the feeds gone quiet: {', '.join(stale)}",
                )
            )
    return out


def quality_rows(data_quality: pl.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-feed totals, and the files with problems (rejected, duplicate, then most quarantined)."""
    totals = (
        data_quality.group_by("feed")
        .agg(
            pl.len().alias("files"),
            (pl.col("status") == "rejected").sum().alias("rejected"),
            (pl.col("status") == "duplicate").sum().alias("duplicate"),
            pl.col("rows_read").sum(),
            pl.col("rows_accepted").sum(),
            pl.col("rows_quarantined").sum(),
        )
        .sort("feed")
    )
    feeds = [r | {"label": feed_label(r["feed"])} for r in totals.iter_rows(named=True)]
    problems = (
        data_quality.filter((pl.col("status") != "loaded") | (pl.col("rows_quarantined") > 0))
        .with_columns(
            pl.col("status").replace_strict({"rejected": 0, "duplicate": 1}, default=2).alias("o")
        )
        .sort(["o", "rows_quarantined", "file"], descending=[False, True, False])
        .head(PROBLEM_FILES_SHOWN)
    )
    files = [
        r | {"status_label": FILE_STATUSES.get(r["status"], r["status"])}
        for r in problems.drop("o").iter_rows(named=True)
    ]
    return feeds, files


def data_line(summary: Summary) -> tuple[str, str]:
    """The one line about the data that an officer needs (the detail is the steward's):
    feeds late and files rejected, and that the data steward has been told."""
    if not summary.stale_feeds and not summary.rejected_files:
        return "今日数据已按时载入", "today's data arrived and loaded"
    return (
        f"{summary.stale_feeds} 个数据源超期未报；{summary.rejected_files} 个文件被拒收 —— "
        "已通知数据管理员",
        f"{summary.stale_feeds} feeds late; {summary.rejected_files} files rejected — "
        "the data steward has been told",
    )


def render_report(
    scope: str,
    part: Exports,
    summary: Summary,
    as_of: dt.date,
    panels: list[MapPanel],
    trends: pl.DataFrame | None,
    freshness: pl.DataFrame | None,
    max_leads: int,
    active_days: int,
    dossiers: dict[str, str] | None = None,
    task_sheets: dict[str, str] | None = None,
) -> str:
    """The report page as text (same inputs, same text); `dossiers` maps lead ids to their
    dossier pages and `task_sheets` county codes to their task sheets (relative links)."""
    leads, leads_not_shown = lead_rows(part.leads, max_leads, dossiers)
    feeds, problem_files = quality_rows(part.data_quality)
    delivery_rows = []
    if freshness is not None:
        delivery_rows = [
            r
            | {
                "label": feed_label(r["feed"]),
                "last_delivery": r["last_delivery"].isoformat() if r["last_delivery"] else "—",
            }
            for r in freshness.iter_rows(named=True)
        ]
    env = _environment()
    return env.get_template("report.html.j2").render(
        css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        js=Markup((TEMPLATES / "report.js").read_text(encoding="utf-8")),
        scope=scope,
        is_province=scope == PROVINCE,
        title=scope_title(scope),
        as_of=as_of.isoformat(),
        summary=summary,
        actions=actions(part, scope, as_of, active_days, freshness, dossiers),
        panels=panels,
        score_classes=SCORE_CLASSES,
        areas=[
            a | {"sheet": (task_sheets or {}).get(a["code"], "")} for a in area_rows(part, scope)
        ],
        hotspots=hotspot_rows(part.hotspots),
        hotspots_total=part.hotspots.height,
        alerts=alert_cards(part.alerts, trends),
        trend_days=TREND_DAYS,
        has_trends=trends is not None,
        active_days=active_days,
        leads=leads,
        leads_total=part.leads.height,
        leads_not_shown=leads_not_shown,
        feeds=feeds,
        problem_files=problem_files,
        deliveries=delivery_rows,
        data_line=data_line(summary),
    )
