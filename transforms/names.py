"""Normalise Chinese business names so that loose spellings of one business compare equal.

`湟中区 绿丰种业经营部`, `（西宁）绿丰种业有限公司` and `绿丰种业` all become `绿丰种业`:
full-width characters folded, spaces and brackets dropped, region prefixes and
legal-form suffixes stripped. The original name is always kept beside it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from data_contracts.contract import regions

# Longest first, so that 有限责任公司 is stripped before 公司.
LEGAL_FORMS = sorted(
    [
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "分公司",
        "公司",
        "农民专业合作社",
        "专业合作社",
        "合作社",
        "经营部",
        "经销部",
        "门市部",
        "销售部",
        "营业部",
        "商行",
        "商店",
        "超市",
        "旗舰店",
        "专营店",
        "专卖店",
        "官方店",
        "小店",
        "个体工商户",
        "店",
        "厂",
    ],
    key=len,
    reverse=True,
)
_BRACKETS = re.compile(r"[()\[\]{}<>（）【】〔〕《》「」『』]")
_SPACES = re.compile(r"[\s\u3000·._\-—]+")


@cache
def region_prefixes() -> tuple[str, ...]:
    """Province, prefecture and county names in full and short form (an autonomous county
    or prefecture also as its short form with 县 / 州: 化隆, 互助县, 海北州), longest first."""
    names = {"青海省", "青海"}
    for r in regions().values():
        for full in (r.name, r.prefecture_name):
            names.add(full)
            for suffix in (
                "藏族自治州",
                "蒙古族藏族自治州",
                "回族土族自治县",
                "土族自治县",
                "回族自治县",
                "撒拉族自治县",
                "蒙古族自治县",
                "自治县",
                "自治州",
                "行政委员会",
                "市",
                "县",
                "区",
                "州",
            ):
                if full.endswith(suffix) and len(full) - len(suffix) >= 2:
                    names.add(full[: -len(suffix)])
                    if suffix.endswith(("自治县", "自治州")):
                        names.add(full[: -len(suffix)] + suffix[-1])  # 大通县, 海北州
    return tuple(sorted(names, key=len, reverse=True))


def normalize_name(name: str | None) -> str | None:
    """The comparable core of a business name, or None when nothing distinctive is left."""
    if not name:
        return None
    text = unicodedata.normalize("NFKC", name).lower()
    text = _SPACES.sub("", _BRACKETS.sub("", text))
    changed = True
    while changed:
        changed = False
        for prefix in region_prefixes():
            if text.startswith(prefix) and len(text) > len(prefix):
                text, changed = text[len(prefix) :], True
                break
    changed = True
    while changed:
        changed = False
        for form in LEGAL_FORMS:
            if text.endswith(form) and len(text) > len(form):
                text, changed = text[: -len(form)], True
                break
    return text if len(text) >= 2 else None
