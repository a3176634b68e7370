"""Lists made from the nightly leads for other offices.

- 两法衔接 criminal-referral review list: the leads flagged `referral_review`, each with a
  summary of its evidence (credible complaints, failed inspections, seized value, estimated
  turnover) next to the scorer's reasons.
- 线索通报 cross-province hand-off list: the leads registered outside Qinghai
  (`handoff_region_code`), grouped by the province of registration.

Both read `scores.entity_leads` (the last nightly run) with `features.entity_features` and
`features.entity_profile` of the same run.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from data_contracts.contract import categories, platforms, regions
from data_contracts.geography import province_of

EVIDENCE_COLUMNS = [
    "lead_id",
    "entity_name",
    "uscc",
    "usccs",
    "shop_keys",
    "region_code",
    "product_categories",
    "score",
    "risk_level",
    "referral_review",
    "handoff_region_code",
    "estimated_turnover_cny",
    "credible_complaints_180d",
    "complaints_180d",
    "failed_inspections_365d",
    "severe_failures_365d",
    "seized_value_365d",
    "prior_confirmed",
    "penalties_3y",
    "evidence_summary",
    "reasons",
]

HEADERS_ZH = {
    "list_rank": "序号",
    "lead_rank": "线索排名",
    "lead_id": "线索编号",
    "entity_name": "主体名称",
    "uscc": "统一社会信用代码",
    "usccs": "关联信用代码",
    "shop_keys": "关联网店",
    "region_code": "主要违法地（县区代码）",
    "county_name": "主要违法地",
    "product_categories": "商品类别",
    "score": "风险评分",
    "risk_level": "风险等级",
    "referral_review": "建议两法衔接审查",
    "handoff_region_code": "登记地代码",
    "province_code": "登记省份代码",
    "province_name": "登记省份",
    "estimated_turnover_cny": "估算违法经营额（元）",
    "credible_complaints_180d": "近180天可信投诉（起）",
    "complaints_180d": "近180天投诉（起）",
    "failed_inspections_365d": "近一年检查不合格（次）",
    "severe_failures_365d": "其中假冒/质量问题（次）",
    "seized_value_365d": "近一年查扣货值（元）",
    "prior_confirmed": "曾查实案件（起）",
    "penalties_3y": "3年内行政处罚（次）",
    "evidence_summary": "证据摘要",
    "reasons": "评分理由",
}


def lead_evidence_sql(condition: str) -> str:
    """The leads meeting a fixed condition on `l` with their evidence features, by rank."""
    return f"""
select l.rank as lead_rank, l.lead_id, l.entity_name, l.uscc, p.usccs, l.shop_keys,
       l.region_code, l.product_categories, l.score, l.risk_level, l.referral_review,
       l.handoff_region_code, l.estimated_turnover_cny,
       f.counterfeit_voices_180d as credible_complaints_180d, f.complaints_180d,
       f.failed_inspections_365d, f.severe_failures_365d, f.seized_value_365d,
       f.prior_confirmed, f.penalties_3y, l.reasons
from scores.entity_leads l
left join features.entity_features f on f.entity_id = l.lead_id
left join features.entity_profile p on p.entity_id = l.lead_id
where {condition}
order by l.rank, l.lead_id"""


def evidence_summary(r: dict[str, Any]) -> str:
    """The evidence of one lead in one line an enforcement officer reads (Chinese)."""
    parts = [
        f"近180天可信假冒/质量投诉{r['credible_complaints_180d'] or 0:.0f}起"
        f"（投诉共{r['complaints_180d'] or 0}起）",
        f"近一年检查不合格{r['failed_inspections_365d'] or 0}次"
        f"（其中假冒/质量问题{r['severe_failures_365d'] or 0}次）",
        f"近一年查扣货值{r['seized_value_365d'] or 0:,.0f}元",
        f"估算违法经营额{r['estimated_turnover_cny'] or 0:,.0f}元",
    ]
    if r["prior_confirmed"]:
        parts.append(f"曾查实{r['prior_confirmed']}起")
    if r["penalties_3y"]:
        parts.append(f"3年内行政处罚{r['penalties_3y']}次")
    return "；".join(parts)


def _lead_evidence(con: duckdb.DuckDBPyConnection, condition: str) -> pl.DataFrame:
    frame = con.sql(lead_evidence_sql(condition)).pl()
    frame = frame.with_columns(
        pl.col("usccs").cast(pl.String),
        pl.col(pl.Decimal).cast(pl.Float64),
        pl.col(
            "credible_complaints_180d", "seized_value_365d", "estimated_turnover_cny", "score"
        ).cast(pl.Float64),
        pl.col(
            "complaints_180d",
            "failed_inspections_365d",
            "severe_failures_365d",
            "prior_confirmed",
            "penalties_3y",
        ).cast(pl.Int64),
    )
    summaries = [evidence_summary(r) for r in frame.iter_rows(named=True)]
    return frame.with_columns(pl.Series("evidence_summary", summaries, dtype=pl.String))


def _county_name(code: str | None) -> str | None:
    region = regions().get(code or "")
    return region.name if region else None


def referral_review_list(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """两法衔接: the leads flagged for criminal-referral review, best lead first."""
    frame = _lead_evidence(con, "l.referral_review")
    return frame.with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("list_rank"),
        pl.col("region_code")
        .map_elements(_county_name, return_dtype=pl.String)
        .alias("county_name"),
    ).select("list_rank", "lead_rank", *EVIDENCE_COLUMNS[:6], "county_name", *EVIDENCE_COLUMNS[6:])


def handoff_list(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """线索通报: the leads registered outside the province, by province of registration, then
    best lead first."""
    frame = _lead_evidence(
        con, "l.handoff_region_code is not null and trim(l.handoff_region_code) <> ''"
    )
    codes = [province_of(c) for c in frame["handoff_region_code"].to_list()]
    frame = frame.with_columns(
        pl.Series("province_code", [c for c, _ in codes], dtype=pl.String),
        pl.Series("province_name", [n for _, n in codes], dtype=pl.String),
    ).sort(["province_code", "score", "lead_id"], descending=[False, True, False])
    return frame.select(
        "province_code",
        "province_name",
        "handoff_region_code",
        "lead_rank",
        *[c for c in EVIDENCE_COLUMNS if c != "handoff_region_code"],
    )


RISK_LEVELS_ZH = {"high": "高", "medium": "中", "low": "低"}


def _shops_zh(keys: str) -> str:
    """`淘宝 TB00123；快手 KS9` for `taobao:TB00123;kuaishou:KS9`."""
    out = []
    for key in keys.split(";"):
        platform, _, shop_id = key.partition(":")
        row = platforms().get(platform)
        out.append(f"{row['name_zh'] if row else platform} {shop_id}".strip())
    return "；".join(k for k in out if k)


def _categories_zh(codes: str) -> str:
    return "、".join(
        categories()[c]["name_zh"] if c in categories() else c for c in codes.split(";") if c
    )


# The workbook shows words where the CSV keeps codes (issue 23 part 5).
VALUE_LABELS = {
    "risk_level": lambda v: RISK_LEVELS_ZH.get(v, v),
    "shop_keys": _shops_zh,
    "product_categories": _categories_zh,
    "usccs": lambda v: v.replace(";", "；"),
}
