"""Chinese-first labels for the codes of the exports (regions, categories, enums, platforms)."""

from __future__ import annotations

from data_contracts.contract import categories, contracts, platforms, prefectures, regions

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

# GB/T 2260 province-level codes (first two digits), for leads handed off to another province.
PROVINCES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
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


def prefecture_of(code: str | None) -> str | None:
    """The prefecture code of a Qinghai county or prefecture code; None elsewhere."""
    if not code:
        return None
    if code in prefectures():
        return code
    region = regions().get(code)
    return region.prefecture_code if region else None


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
    return f"{PROVINCES.get(code[:2], '外省')} {code}"


def feed_label(feed: str) -> str:
    """`投诉举报 complaints`."""
    contract = contracts().get(feed)
    return f"{contract.title.split(' ')[0]} {feed}" if contract else feed
