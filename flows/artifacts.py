"""The analyst's Prefect artifacts of a nightly run: a markdown summary, the top leads and the
validation result of every delivered file, visible in the Prefect UI under fixed keys.

Call `publish_run_artifacts` inside a flow or task run (artifacts attach to the current run).
Nothing personal is published: exports carry no complainant data, and free text (file issues,
names) is passed through the same redaction as the reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from reports.data import (
    Exports,
    redact_free_text,
    summarize,
    typed_alerts,
    typed_leads,
    typed_quality,
)
from reports.labels import RISK_LEVELS, category_list_label, handoff_label, region_name

SUMMARY_KEY = "radar-summary"
TOP_LEADS_KEY = "radar-top-leads"
VALIDATION_KEY = "radar-validation"
TOP_LEADS = 20
ACTIVE_DAYS = 30


def _md(text: object) -> str:
    """A table cell: no pipes or line breaks that would break the markdown table."""
    return str(text).replace("|", "／").replace("\n", " ")


def top_leads_table(leads: pl.DataFrame, n: int = TOP_LEADS) -> list[dict[str, Any]]:
    """The first `n` leads as table rows with Chinese-first column names."""
    return [
        {
            "排名 rank": r["rank"],
            "线索编号 lead_id": r["lead_id"],
            "主体名称 entity": r["entity_name"] or "",
            "地区 region": f"{region_name(r['region_code'])} {r['region_code'] or ''}".strip(),
            "商品类别 categories": category_list_label(r["product_categories"]),
            "风险分 score": round(float(r["score"]), 3),
            "风险等级 level": RISK_LEVELS.get(r["risk_level"], r["risk_level"]),
            "两法衔接 referral": "是 yes" if r["referral_review"] else "否 no",
            "线索通报 hand-off": handoff_label(r["handoff_region_code"]),
        }
        for r in leads.head(n).iter_rows(named=True)
    ]


def validation_table(data_quality: pl.DataFrame) -> list[dict[str, Any]]:
    """Every delivered file: rejected and duplicate first, then by quarantined rows."""
    order = pl.col("status").replace_strict({"rejected": 0, "duplicate": 1}, default=2)
    ordered = data_quality.sort(
        [order, pl.col("rows_quarantined"), pl.col("file")], descending=[False, True, False]
    )
    return [
        {
            "数据源 feed": r["feed"],
            "文件 file": r["file"],
            "状态 status": r["status"],
            "读入 rows_read": r["rows_read"],
            "接收 rows_accepted": r["rows_accepted"],
            "隔离 rows_quarantined": r["rows_quarantined"],
            "问题 issues": r["issues"],
        }
        for r in ordered.iter_rows(named=True)
    ]


def summary_markdown(part: Exports, as_of: dt.date) -> str:
    """The run in numbers, the top five leads and the files that need the sender."""
    s = summarize(part, as_of, ACTIVE_DAYS, None)
    lines = [
        f"# 假冒侵权预警 夜间运行 {as_of.isoformat()} · Counterfeit Radar nightly run",
        "",
        "| 指标 metric | 数量 count |",
        "|---|---:|",
        f"| 高风险线索 high-risk leads | {s.high_leads} |",
        f"| 中风险线索 medium-risk leads | {s.medium_leads} |",
        f"| 线索总数 all leads | {s.leads} |",
        f"| 建议移送审查（两法衔接）referral review | {s.referrals} |",
        f"| 线索通报（外省注册）hand-offs | {s.handoffs} |",
        f"| 近90天预警 alerts, 90 days | {s.alerts}（高 high {s.high_alerts}） |",
        f"| 近{ACTIVE_DAYS}天预警 alerts, {ACTIVE_DAYS} days | {s.active_alerts} |",
        f"| 拒收文件 rejected files | {s.rejected_files} |",
        f"| 重复文件 duplicate files | {s.duplicate_files} |",
        f"| 隔离行 quarantined rows | {s.quarantined_rows} |",
        "",
        "## 前五条线索 top five leads",
        "",
        "| # | 线索 lead | 主体 entity | 地区 region | 风险分 score |",
        "|---:|---|---|---|---:|",
    ]
    for r in part.leads.head(5).iter_rows(named=True):
        lines.append(
            f"| {r['rank']} | {r['lead_id']} | {_md(r['entity_name'] or '')} | "
            f"{_md(region_name(r['region_code']) or '省外 out of province')} | {r['score']:.3f} |"
        )
    problems = part.data_quality.filter(pl.col("status") != "loaded").sort("feed", "file")
    if problems.height:
        lines += ["", "## 需重报的文件 files to ask for again", ""]
        lines += [
            f"- `{_md(r['file'])}` — {r['status']}: {_md(r['issues'])}"
            for r in problems.iter_rows(named=True)
        ]
    return "\n".join(lines) + "\n"


def publish_run_artifacts(
    leads: pl.DataFrame, data_quality: pl.DataFrame, alerts: pl.DataFrame, as_of: dt.date
) -> None:
    """Create the run's markdown summary and its top-leads and validation table artifacts."""
    leads = typed_leads(redact_free_text(leads, "entity_leads"))
    data_quality = typed_quality(redact_free_text(data_quality, "data_quality"))
    alerts = typed_alerts(alerts)
    hotspots = pl.DataFrame(
        schema={"region_code": pl.String, "score": pl.Float64, "trend": pl.String}
    )
    part = Exports(leads, hotspots, alerts, data_quality)
    day = as_of.isoformat()
    create_markdown_artifact(
        summary_markdown(part, as_of),
        key=SUMMARY_KEY,
        description=f"夜间运行摘要 nightly summary {day}",
    )
    create_table_artifact(
        top_leads_table(leads),
        key=TOP_LEADS_KEY,
        description=f"前{TOP_LEADS}条线索 top {TOP_LEADS} leads {day}",
    )
    create_table_artifact(
        validation_table(data_quality),
        key=VALIDATION_KEY,
        description=f"文件校验结果 file validation results {day}",
    )
