"""Row-level validation of one file's records against its feed contract.

Every check is derived from the contract's column definitions; each failing check
adds a reason code `<check>:<column>` to the row (all reasons that apply, not just
the first). Rows with no reason are accepted and typed for staging.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import polars as pl

from data_contracts.contract import Column, FeedContract, provinces, regions, retired_regions
from data_contracts.readers import FileRejected, RawTable
from data_contracts.uscc import is_valid_uscc

CHINA = ZoneInfo("Asia/Shanghai")
REASON_TEXT = {
    "required": "缺少必填值 required value missing",
    "type": "无法解析 value does not parse",
    "text": "不是 UTF-8 文本 bytes that are not UTF-8 text",
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
    positions: dict[int, str] = {}
    issues: list[str] = []
    for i, header in enumerate(headers):
        name = contract.column_of(header)
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
    """`_row_number` and every contract column as trimmed text (null when empty or absent)."""
    present = [
        pl.col(str(i)).str.strip_chars().replace("", None).alias(name)
        for i, name in positions.items()
    ]
    absent = [
        pl.lit(None, pl.String).alias(c.name)
        for c in contract.columns
        if c.name not in positions.values()
    ]
    return table.cells.select("_row_number", *present, *absent).select(
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


@lru_cache(maxsize=1 << 20)
def _uscc_verifies(code: str) -> bool:
    """The check digit verdict, remembered: the same sellers come back in every snapshot."""
    return is_valid_uscc(code)


def _one_of(values: pl.Expr, allowed: Iterable[str]) -> pl.Expr:
    """True where `values` is one of `allowed` (false, not null, where it is null)."""
    return values.is_in(pl.Series(list(allowed), dtype=pl.String).implode()).fill_null(False)


def _typed(column: Column, text: pl.DataFrame, uscc_ok: set[str]) -> pl.Expr:
    """The column parsed to its staging type; null where it does not parse."""
    kind = column.type
    value = pl.col(column.name)
    if kind == "text":
        return value
    if kind in ("enum", "category", "platform"):
        return value.str.to_lowercase().replace_strict(
            column.labels, default=None, return_dtype=pl.String
        )
    if kind == "uscc":
        upper = value.str.to_uppercase()
        return pl.when(_one_of(upper, uscc_ok)).then(upper)
    if kind == "region":
        return _region(column, value)
    if kind == "date":
        return value.str.to_date("%Y-%m-%d", strict=False)
    if kind == "timestamp":
        # Python's ISO parser decides what a timestamp is; run it once per distinct text.
        distinct = text[column.name].drop_nulls().unique().to_list()
        parsed = {v: _parse_timestamp(v) for v in distinct}
        return value.replace_strict(parsed, default=None, return_dtype=pl.Datetime("us"))
    if kind == "decimal":
        number = value.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    if kind == "integer":
        number = value.cast(pl.Float64, strict=False)
        return pl.when(number.round(0) == number).then(number).cast(pl.Int64)
    raise ValueError(f"unknown contract type {kind!r}")


def _region(column: Column, value: pl.Expr) -> pl.Expr:
    current = value.str.replace(r"\.0$", "").replace(retired_regions())
    in_qinghai = _one_of(current, regions())
    if column.scope == "in_province":
        ok = in_qinghai
    else:
        six_digits = current.str.contains(r"^\d{6}$").fill_null(False)
        ok = six_digits & _one_of(current.str.slice(0, 2), provinces())
        ok = ok & (~current.str.starts_with("63").fill_null(False) | in_qinghai)
    return pl.when(ok).then(current)


def _out_of_range(column: Column, typed: pl.Expr) -> pl.Expr | None:
    """True where the typed value breaks the column's min/max, or None when it has neither."""
    within = []
    if column.min is not None:
        within.append(typed >= column.min)
    if column.max is not None:
        within.append(typed <= column.max)
    if column.min_exclusive is not None:
        within.append(typed > column.min_exclusive)
    if not within:
        return None
    return ~pl.all_horizontal(w.fill_null(True) for w in within)


# The reason code's check for a value that is present but does not parse, by contract type.
UNPARSED_CHECK = {
    "region": "region",
    "uscc": "uscc",
    "timestamp": "type",
    "date": "type",
    "decimal": "type",
    "integer": "type",
    "enum": "enum",
    "category": "enum",
    "platform": "enum",
}
TYPED = "__typed__"  # prefix of the typed columns while the checks run


def validate_rows(contract: FeedContract, table: RawTable) -> ValidatedRows:
    """Validate every record of a file; raises FileRejected for file-level failures.

    The file is typed and checked in one Polars query: each column's parse is an
    expression, and each row's reasons are the codes of the checks it fails, in
    contract order, joined with ';'.
    """
    positions, issues = map_headers(contract, table.headers)
    text = _text_frame(contract, table, positions)
    usccs = [pl.col(c.name) for c in contract.columns if c.type == "uscc"]
    uscc_ok: set[str] = set()
    if usccs:
        codes = text.select(pl.concat([u.str.to_uppercase() for u in usccs]).drop_nulls().unique())
        uscc_ok = {code for code in codes.to_series().to_list() if _uscc_verifies(code)}

    # Cells the reader could not read as text (binary that is not UTF-8) do not parse either.
    unreadable = {positions[i]: rows for i, rows in table.unreadable.items() if i in positions}
    reasons: list[pl.Expr] = []
    findings: list[pl.Expr] = []
    for c in contract.columns:
        raw, typed = pl.col(c.name), pl.col(TYPED + c.name)
        unparsed = raw.is_not_null() & typed.is_null()
        if c.name in unreadable:
            rows = pl.Series(unreadable[c.name], dtype=pl.Int64).implode()
            unparsed = unparsed | pl.col("_row_number").is_in(rows)
        if c.required:
            reasons.append(_flag(raw.is_null(), f"required:{c.name}"))
        if c.type == "uscc" and not contract.uscc_is_key:
            findings.append(_flag(unparsed, f"uscc_nulled:{c.name}"))
        elif c.type in UNPARSED_CHECK:
            reasons.append(_flag(unparsed, f"{UNPARSED_CHECK[c.type]}:{c.name}"))
        elif c.name in unreadable:
            reasons.append(_flag(unparsed, f"text:{c.name}"))
        out_of_range = _out_of_range(c, typed)
        if c.type in ("decimal", "integer") and out_of_range is not None:
            reasons.append(_flag(out_of_range, f"range:{c.name}"))
    for c in contract.columns:
        if c.required_when:
            other, equals = c.required_when
            missing = (pl.col(TYPED + other) == equals).fill_null(False) & pl.col(c.name).is_null()
            reasons.append(_flag(missing, f"required_when:{c.name}"))

    checked = (
        text.lazy()
        .with_columns(_typed(c, text, uscc_ok).alias(TYPED + c.name) for c in contract.columns)
        .with_columns(_joined(reasons).alias("__reasons"), _joined(findings).alias("__findings"))
        .collect()
    )
    typed_frame = checked.select(
        "_row_number", *[pl.col(TYPED + c.name).alias(c.name) for c in contract.columns]
    )
    good = pl.col("__reasons").is_null()
    accepted = typed_frame.filter(checked.select(good).to_series())
    record_cols = [c.name for c in contract.columns if not c.personal]
    quarantined = checked.filter(~good).select(
        "_row_number",
        pl.col("__reasons").alias("reasons"),
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
    finding_frame = checked.filter(good & pl.col("__findings").is_not_null()).select(
        "_row_number", pl.col("__findings").alias("finding")
    )
    return ValidatedRows(accepted, typed_frame, quarantined, finding_frame, issues)


def _flag(mask: pl.Expr, code: str) -> pl.Expr:
    """The reason code on rows where `mask` is true, null elsewhere."""
    return pl.when(mask).then(pl.lit(code))


def _joined(flags: list[pl.Expr]) -> pl.Expr:
    """Per row, the ';'-joined codes of the flags that are set, or null when none is."""
    if not flags:
        return pl.lit(None, pl.String)
    joined = pl.concat_str(flags, separator=";", ignore_nulls=True)
    return pl.when(joined != "").then(joined)
