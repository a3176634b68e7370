"""The project's reference tables, as the demo world draws from them."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache

from data_contracts.contract import REFERENCE_DIR

# "民和回族土族自治县" -> "民和", "格尔木市" -> "格尔木": the short form people write.
_COUNTY_SUFFIX = re.compile(r"((回族|土族|撒拉族|蒙古族|藏族)+自治县|行政委员会|[区县市])$")


@dataclass(frozen=True)
class Region:
    """An in-province county (regions.csv)."""

    code: str
    name: str
    prefecture_code: str
    prefecture_name: str

    @property
    def short(self) -> str:
        return _COUNTY_SUFFIX.sub("", self.name) or self.name

    @property
    def prefecture_short(self) -> str:
        return self.prefecture_name[:2]

    @property
    def is_autonomous_prefecture(self) -> bool:
        return self.prefecture_name.endswith("州")


@dataclass(frozen=True)
class Reference:
    """Regions, categories, platforms and the Chinese header and label aliases."""

    regions: tuple[Region, ...]
    category_zh: dict[str, str]  # code -> name_zh
    platform_zh: dict[str, str]  # code -> name_zh
    platform_aliases: dict[str, tuple[str, ...]]
    column_aliases: dict[tuple[str, str], tuple[str, ...]]  # (feed, column) -> Chinese headers
    enum_labels: dict[tuple[str, str], dict[str, str]]  # (feed, column) -> code -> first label
    retired_for: dict[str, str]  # current code -> its retired code

    def region(self, code: str) -> Region:
        return next(r for r in self.regions if r.code == code)


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def load_reference() -> Reference:
    """The reference tables in data_contracts/reference, loaded once."""
    regions = tuple(
        Region(r["region_code"], r["name"], r["prefecture_code"], r["prefecture_name"])
        for r in _rows("regions.csv")
    )
    column_aliases: dict[tuple[str, str], tuple[str, ...]] = {}
    for r in _rows("column_aliases.csv"):
        key = (r["feed"], r["column"])
        column_aliases[key] = (*column_aliases.get(key, ()), r["alias"])
    enum_labels: dict[tuple[str, str], dict[str, str]] = {}
    for r in _rows("enum_aliases.csv"):
        enum_labels.setdefault((r["feed"], r["column"]), {}).setdefault(r["value"], r["alias"])
    platforms = _rows("platforms.csv")
    return Reference(
        regions=regions,
        category_zh={r["product_category"]: r["name_zh"] for r in _rows("categories.csv")},
        platform_zh={r["platform"]: r["name_zh"] for r in platforms},
        platform_aliases={
            r["platform"]: tuple(a for a in r["aliases"].split(";") if a) for r in platforms
        },
        column_aliases=column_aliases,
        enum_labels=enum_labels,
        retired_for={
            r["current_code"]: r["retired_code"] for r in _rows("retired_region_codes.csv")
        },
    )
