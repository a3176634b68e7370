"""Chinese-first labels for the codes of the exports (regions, categories, enums, platforms)."""

from __future__ import annotations

from data_contracts.contract import categories, contracts, platforms, prefectures, regions
from data_contracts.geography import province_name

PROVINCE = "province"  # the report folder of the province office

RISK_LEVELS = {"high": "高 high", "medium": "中 medium", "low": "低 low"}
SEVERITIES = {"high": "高 high", "medium": "中 medium", "low": "低 low"}
TRENDS = {"rising": "↑ 上升 rising", "stable": "→ 平稳 stable", "falling": "↓ 下降 falling"}
SIGNALS = {
    "complaints": "投诉举报 complaints",
    "failed_inspections": "检查不合格 failed inspections",
    "suspicious_listings": "可疑商品 suspicious listings",
    "combined": "综合 combined",
}
FILE_STATUSES = {
    "loaded": "已载入 loaded",
    "duplicate": "重复 duplicate",
    "rejected": "拒收 rejected",
}

PREFECTURE_NAMES_EN = {
    "630100": "Xining",
    "630200": "Haidong",
    "632200": "Haibei",
    "632300": "Huangnan",
    "632500": "Hainan (Qinghai)",
    "632600": "Golog",
    "632700": "Yushu",
    "632800": "Haixi",
}


def scope_title(scope: str) -> str:
    """`青海省 Qinghai province` or the prefecture's Chinese and English names."""
    if scope == PROVINCE:
        return "青海省 Qinghai province"
    return f"{prefectures()[scope]} {PREFECTURE_NAMES_EN.get(scope, scope)}"


def region_name(code: str | None) -> str:
    """The Chinese name of a county or prefecture code of Qinghai, else the code itself."""
    if not code:
        return ""
    if code in regions():
        return regions()[code].name
    if code in prefectures():
        return f"{prefectures()[code]}（全市州）"
    return code


def category_label(code: str) -> str:
    """`籽种 seeds` for `seeds`."""
    row = categories().get(code)
    return f"{row['name_zh']} {row['name_en']}" if row else code


def category_list_label(codes: str | None) -> str:
    """The Chinese names of a `;`-joined category list."""
    return "、".join(
        categories()[c]["name_zh"] if c in categories() else c
        for c in (codes or "").split(";")
        if c
    )


def shop_label(shop_key: str) -> str:
    """`淘宝 TB00123` for `taobao:TB00123`."""
    platform, _, shop_id = shop_key.partition(":")
    row = platforms().get(platform)
    return f"{row['name_zh'] if row else platform} {shop_id}"


def handoff_label(code: str | None) -> str:
    """`广东省 440300` for an out-of-province registered region."""
    if not code:
        return ""
    return f"{province_name(code, '外省')} {code}"


def feed_label(feed: str) -> str:
    """`投诉举报 complaints`."""
    contract = contracts().get(feed)
    return f"{contract.title.split(' ')[0]} {feed}" if contract else feed
