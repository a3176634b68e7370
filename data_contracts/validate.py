"""Row-level validation of one file's records against its feed contract.

Every check is derived from the contract's column definitions; each failing check
adds a reason code `<check>:<column>` to the row (all reasons that apply, not just
the first). Rows with no reason are accepted and typed for staging.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import polars as pl

from data_contracts.contract import Column, FeedContract, regions, retired_regions
from data_contracts.readers import FileRejected, RawTable
from data_contracts.uscc import valid_usccs

CHINA = ZoneInfo("Asia/Shanghai")
REASON_TEXT = {
    "required": "缺少必填值 required value missing",
    "type": "无法解析 value does not parse",
    "enum": "不是允许的取值 value not allowed",
    "range": "超出范围 value out of range",
    "region": "区划代码无效 unknown or out-of-province region code",
    "uscc": "统一社会信用代码校验位错误 USCC check digit fails",
    "required_when": "不合格时须填写 required when result is fail",
    "malformed": "记录无法解析 record cannot be parsed",
}


def reason_text(code: str) -> str:
    """Readable words for a reason code such as `range:price_cny`."""
    check, _, column = code.partition(":")
    return f"{column}: {REASON_TEXT.get(check, check)}"


@dataclass
class ValidatedRows:
    """The outcome of validating one file: typed accepted rows, quarantined rows, findings."""

    accepted: pl.DataFrame  # contract columns typed, plus _row_number
    typed: pl.DataFrame  # every parsed row typed (null where a cell does not parse), for GX
    quarantined: (
        pl.DataFrame
    )  # _row_number, reasons (';'-joined codes), record (JSON, no personal data)
    findings: pl.DataFrame  # _row_number, finding (e.g. uscc_nulled:subject_uscc)
    issues: list[str] = field(default_factory=list)


def map_headers(contract: FeedContract, headers: list[str]) -> tuple[dict[int, str], list[str]]:
    """Header position -> contract column; also the file-level issues (unknown or doubled columns).

    Raises FileRejected when a required column is missing.
    """
    lookup = contract.header_map
    positions: dict[int, str] = {}
    issues: list[str] = []
    for i, header in enumerate(headers):
        name = lookup.get(header.strip().lower())
        if name is None:
            issues.append(f"未知列已忽略 unknown column ignored: {header.strip()!r}")
        elif name in positions.values():
            issues.append(f"重复列已忽略 duplicate column ignored: {header.strip()!r} ({name})")
        else:
            positions[i] = name
    missing = [c for c in contract.required_columns if c not in positions.values()]
    if missing:
        raise FileRejected("缺少必填列 missing required column(s): " + ", ".join(missing))
    return positions, issues


def _text_frame(contract: FeedContract, table: RawTable, positions: dict[int, str]) -> pl.DataFrame:
    data: dict[str, list[str | None]] = {name: [] for name in positions.values()}
    for row in table.rows:
        for i, name in positions.items():
            data[name].append(row[i] if i < len(row) else None)
    frame = pl.DataFrame(
        {"_row_number": table.numbers, **data},
        schema={"_row_number": pl.Int64, **{n: pl.String for n in data}},
    )
    trimmed = [pl.col(n).str.strip_chars().replace("", None).alias(n) for n in data]
    absent = [pl.lit(None, pl.String).alias(c.name) for c in contract.columns if c.name not in data]
    return frame.with_columns(trimmed + absent).select(
        "_row_number", *[c.name for c in contract.columns]
    )


def _parse_timestamp(text: str) -> dt.datetime | None:
    """ISO 8601; without an offset the time is China Standard Time. Returns China local time."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(CHINA).replace(tzinfo=None)
    return value


def _lookup(values: pl.Series, parse: Mapping[str, object], dtype: pl.DataType) -> pl.Series:
    return values.replace_strict(parse, default=None, return_dtype=dtype)


def _typed(column: Column, text: pl.Series, uscc_ok: set[str]) -> pl.Series:
    """The column parsed to its staging type; null where it does not parse."""
    kind = column.type
    if kind == "text":
        return text
    if kind in ("enum", "category", "platform"):
        return text.str.to_lowercase().replace_strict(column.labels, default=None)
    if kind == "uscc":
        upper = text.str.to_uppercase()
        return _where(upper, upper.is_in(list(uscc_ok)))
    if kind == "region":
        return _region(column, text)
    if kind == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if kind == "timestamp":
        distinct = text.drop_nulls().unique().to_list()
        parsed = {v: _parse_timestamp(v) for v in distinct}
        return _lookup(text, parsed, pl.Datetime("us"))
    if kind == "decimal":
        number = text.cast(pl.Float64, strict=False)
        return _where(number, number.is_finite())
    if kind == "integer":
        number = text.cast(pl.Float64, strict=False)
        return _where(number, number.round(0) == number).cast(pl.Int64)
    raise ValueError(f"unknown contract type {kind!r}")


def _region(column: Column, text: pl.Series) -> pl.Series:
    retired = retired_regions()
    current = text.str.replace(r"\.0$", "").replace(retired)
    known = set(regions())
    six_digits = current.str.contains(r"^\d{6}$").fill_null(False)
    in_qinghai = current.is_in(list(known)).fill_null(False)
    if column.scope == "in_province":
        ok = in_qinghai
    else:
        province = current.str.slice(0, 2).cast(pl.Int64, strict=False)
        ok = six_digits & province.is_between(11, 82).fill_null(False)
        ok = ok & (~current.str.starts_with("63").fill_null(False) | in_qinghai)
    return _where(current, ok)


def _range_ok(column: Column, typed: pl.Series) -> pl.Series:
    ok = pl.Series([True] * len(typed), dtype=pl.Boolean)
    if column.min is not None:
        ok = ok & (typed >= column.min).fill_null(True)
    if column.max is not None:
        ok = ok & (typed <= column.max).fill_null(True)
    if column.min_exclusive is not None:
        ok = ok & (typed > column.min_exclusive).fill_null(True)
    return ok


def validate_rows(contract: FeedContract, table: RawTable) -> ValidatedRows:
    """Validate every record of a file; raises FileRejected for file-level failures."""
    positions, issues = map_headers(contract, table.headers)
    text = _text_frame(contract, table, positions)
    uscc_values: list[str] = []
    for c in contract.columns:
        if c.type == "uscc":
            uscc_values += text[c.name].drop_nulls().str.to_uppercase().to_list()
    uscc_ok = valid_usccs(uscc_values)

    typed: dict[str, pl.Series] = {"_row_number": text["_row_number"]}
    reasons: list[pl.Series] = []
    findings: list[pl.Series] = []
    n = text.height
    for c in contract.columns:
        raw = text[c.name]
        value = _typed(c, raw, uscc_ok)
        present = raw.is_not_null()
        unparsed = present & value.is_null()
        if c.required:
            reasons.append(_flag(~present, f"required:{c.name}"))
        if c.type == "uscc" and not contract.uscc_is_key:
            findings.append(_flag(unparsed, f"uscc_nulled:{c.name}"))
        else:
            check = {"region": "region", "uscc": "uscc", "timestamp": "type", "date": "type"}
            check |= {"decimal": "type", "integer": "type", "enum": "enum"}
            check |= {"category": "enum", "platform": "enum"}
            if c.type in check:
                reasons.append(_flag(unparsed, f"{check[c.type]}:{c.name}"))
        if c.type in ("decimal", "integer") and (
            c.min is not None or c.max is not None or c.min_exclusive is not None
        ):
            reasons.append(_flag(~_range_ok(c, value), f"range:{c.name}"))
        typed[c.name] = value
    for c in contract.columns:
        if c.required_when:
            other, equals = c.required_when
            missing = (typed[other] == equals).fill_null(False) & text[c.name].is_null()
            reasons.append(_flag(missing, f"required_when:{c.name}"))

    codes = _join_flags(reasons, n)
    typed_frame = pl.DataFrame(typed)
    good = codes.is_null()
    accepted = typed_frame.filter(good)
    record_cols = [c.name for c in contract.columns if not c.personal]
    quarantined = text.filter(~good).select(
        "_row_number",
        pl.Series("reasons", codes.filter(~good)),
        pl.struct(record_cols).struct.json_encode().alias("record"),
    )
    if table.malformed:
        broken = pl.DataFrame(
            {
                "_row_number": list(table.malformed),
                "reasons": ["malformed:record"] * len(table.malformed),
                "record": [
                    json.dumps({"_unparsed": t}, ensure_ascii=False)
                    for t in table.malformed.values()
                ],
            },
            schema={"_row_number": pl.Int64, "reasons": pl.String, "record": pl.String},
        )
        quarantined = pl.concat([quarantined, broken]).sort("_row_number")
    finding_codes = _join_flags(findings, n)
    found = finding_codes.is_not_null()
    finding_frame = pl.DataFrame(
        {"_row_number": text["_row_number"].filter(found), "finding": finding_codes.filter(found)}
    ).filter(good.filter(found))
    return ValidatedRows(accepted, typed_frame, quarantined, finding_frame, issues)


def _where(values: pl.Series, keep: pl.Series) -> pl.Series:
    """`values` where `keep` is true, null elsewhere."""
    frame = pl.DataFrame({"v": values, "k": keep.fill_null(False)})
    return frame.select(pl.when(pl.col("k")).then(pl.col("v")).alias(values.name)).to_series()


def _flag(mask: pl.Series, code: str) -> pl.Series:
    """The reason code on rows where `mask` is true, null elsewhere."""
    return _where(pl.Series([code] * len(mask), dtype=pl.String), mask)


def _join_flags(flags: list[pl.Series], n: int) -> pl.Series:
    """Per row, the ';'-joined codes of the flags that are set, or null when none is."""
    if not flags or n == 0:
        return pl.Series([None] * n, dtype=pl.String)
    frame = pl.DataFrame({f"f{i}": f for i, f in enumerate(flags)})
    joined = frame.select(pl.concat_list(pl.all()).list.drop_nulls().list.join(";").alias("codes"))
    return joined["codes"].replace("", None)
