"""Which prefecture and which province a region code belongs to: the one home of these rules
(the reference tables themselves are read by `data_contracts.contract`)."""

from __future__ import annotations

import polars as pl

from data_contracts.contract import prefectures, provinces, regions


def prefecture_of(code: str | None) -> str | None:
    """The prefecture code of a Qinghai county or prefecture code; None elsewhere."""
    if not code:
        return None
    if code in prefectures():
        return code
    region = regions().get(code)
    return region.prefecture_code if region else None


def prefecture_of_column(column: str) -> pl.Expr:
    """`prefecture_of` over a column of region codes (null elsewhere)."""
    mapping = {code: r.prefecture_code for code, r in regions().items()}
    mapping |= {code: code for code in prefectures()}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String)


def province_of(region_code: str | None) -> tuple[str, str]:
    """The province (code, name) of a six-digit region code or a USCC's region part."""
    code = (region_code or "")[:2]
    return code, provinces().get(code, f"未知省份（{code or '无代码'}）")


def province_name(region_code: str | None, unknown: str) -> str:
    """The Chinese name of the province of a region code, `unknown` when there is none."""
    return provinces().get((region_code or "")[:2], unknown)
