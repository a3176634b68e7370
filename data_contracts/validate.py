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

from data_contracts.contract import (
    Column,
    FeedContract,
    limits,
    provinces,
    regions,
    retired_regions,
)
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
    "length": "文本过长 text longer than the contract allows",
    "malformed": "记录无法解析 record cannot be parsed",
    "unclosed_quote": "引号未闭合 a quote opens and is never closed (the data_quality issues give the line)",
    "nested": "嵌套的值 an object or array where a flat value belongs",
}
# Findings: the row is kept, the value changed.
FINDING_TEXT = {
    "uscc_nulled": "信用代码无效已置空 invalid USCC nulled, row kept",
    "control_chars": "控制字符已删除 control characters removed, row kept",
}
# Control characters removed from text values (FEEDS.md, Limits): U+0000–U+001F and U+007F;
# a free-text column keeps tab and line breaks.
CONTROL_CHARS = r"[\x00-\x1f\x7f]"
# Issue 22: a column with no control character in a file is only trimmed (`_text_frame`); the
# reference path of tests/test_pipeline.py sets this to False (every column cleaned).
SKIP_CLEAN_COLUMNS = True
# Issue 22: reason and finding codes joined only on the rows a check flagged (`validate_rows`);
# the reference path sets this to False (joined on every row).
JOIN_FLAGGED_ONLY = True
FREE_TEXT_CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def reason_text(code: str) -> str:
    """Readable words for a reason code such as `range:price_cny`."""
    check, _, column = code.partition(":")
    return f"{column}: {REASON_TEXT.get(check, check)}"


def finding_text(code: str) -> str:
    """Readable words for a finding code such as `control_chars:subject_name`."""
    check, _, column = code.partition(":")
    return f"{column}: {FINDING_TEXT.get(check, check)}"


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
            issues.append(f"未知列已忽略 unknown column ignored: {_shown(header)}")
        elif name in positions.values():
            issues.append(f"重复列已忽略 duplicate column ignored: {_shown(header)} ({name})")
        else:
            positions[i] = name
    missing = [c for c in contract.required_columns if c not in positions.values()]
    if missing:
        raise FileRejected("缺少必填列 missing required column(s): " + ", ".join(missing))
    return positions, issues


def _shown(header: str) -> str:
    """A header as the issues show it: trimmed, and cut when it is long."""
    text = header.strip()
    return repr(text if len(text) <= 60 else text[:60] + "…")


def _control_chars(column: Column) -> str:
    return FREE_TEXT_CONTROL_CHARS if column.free_text else CONTROL_CHARS


def _text_frame(contract: FeedContract, table: RawTable, positions: dict[int, str]) -> pl.DataFrame:
    """`_row_number` and every contract column as trimmed text with its control characters
    removed (null when empty or absent); `__control__<column>` is true where some were."""
    by_name = {c.name: c for c in contract.columns}
    trimmed = {name: pl.col(str(i)).str.strip_chars() for i, name in positions.items()}
    control = {
        name: value.str.contains(_control_chars(by_name[name])).fill_null(False)
        for name, value in trimmed.items()
    }
    # Most columns of most files hold no control character: those are only trimmed (removing
    # none and trimming again would give the same text), which halves the frame's cost.
    dirty = _columns_with_control_chars(contract, table, positions)
    present = [
        (
            value.str.replace_all(_control_chars(by_name[name]), "").str.strip_chars()
            if name in dirty
            else value
        )
        .replace("", None)
        .alias(name)
        for name, value in trimmed.items()
    ]
    flags = [
        (control[name] if name in dirty else pl.lit(False)).alias(CONTROL + name)
        for name in trimmed
    ]
    absent = [
        pl.lit(None, pl.String).alias(c.name)
        for c in contract.columns
        if c.name not in positions.values()
    ]
    return table.cells.select("_row_number", *present, *flags, *absent).select(
        "_row_number",
        *[c.name for c in contract.columns],
        *[CONTROL + name for name in positions.values()],
    )


def _columns_with_control_chars(
    contract: FeedContract, table: RawTable, positions: dict[int, str]
) -> set[str]:
    """The contract columns of the file in which some cell may hold a control character that
    `_text_frame` removes: some untrimmed cell holds one (trimming removes characters, never
    adds one); every column when `SKIP_CLEAN_COLUMNS` is off (the reference path)."""
    if not SKIP_CLEAN_COLUMNS:
        return set(positions.values())
    if not positions:
        return set()
    by_name = {c.name: c for c in contract.columns}
    found = table.cells.select(
        pl.col(str(i)).str.contains(_control_chars(by_name[name])).any().alias(name)
        for i, name in positions.items()
    )
    return {name for name, some in found.row(0, named=True).items() if some}


def _parse_timestamp(text: str) -> dt.datetime | None:
    """ISO 8601; without an offset the time is China Standard Time. Returns China local time."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(CHINA).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999: out of the contract's window all the same
            value = value.replace(tzinfo=None)
    return value


@lru_cache(maxsize=1 << 20)
def _uscc_verifies(code: str) -> bool:
    """The check digit verdict, remembered: the same sellers come back in every snapshot."""
    return is_valid_uscc(code)


def _one_of(values: pl.Expr, allowed: Iterable[str]) -> pl.Expr:
    """True where `values` is one of `allowed` (false, not null, where it is null)."""
    return values.is_in(pl.Series(list(allowed), dtype=pl.String).implode()).fill_null(False)


def _typed(
    column: Column, text: pl.DataFrame, uscc_ok: set[str], times: dict[str, pl.Expr]
) -> pl.Expr:
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
    if kind in ("date", "timestamp"):
        parsed = times[column.name]
        return pl.when(~_outside_window(parsed)).then(parsed)
    if kind == "decimal":
        number = value.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    if kind == "integer":
        # Whole numbers too large for a 64-bit integer stay null here and break the range.
        number = value.cast(pl.Float64, strict=False)
        return pl.when(_is_whole(number) & (number.abs() < 2.0**62)).then(number).cast(pl.Int64)
    raise ValueError(f"unknown contract type {kind!r}")


def _is_whole(number: pl.Expr) -> pl.Expr:
    return (number.round(0) == number).fill_null(False)


def _parsed_time(column: Column, text: pl.DataFrame) -> pl.Expr:
    """A date or timestamp column parsed, whatever its year; null where it does not parse."""
    value = pl.col(column.name)
    if column.type == "date":
        return value.str.to_date("%Y-%m-%d", strict=False)
    # Python's ISO parser decides what a timestamp is; run it once per distinct text.
    distinct = text[column.name].drop_nulls().unique().to_list()
    parsed = {v: _parse_timestamp(v) for v in distinct}
    return value.replace_strict(parsed, default=None, return_dtype=pl.Datetime("us"))


def _outside_window(parsed: pl.Expr) -> pl.Expr:
    """True where a parsed date or timestamp lies outside the contract's window of dates."""
    lim = limits()
    day = parsed.dt.date()
    return ((day < lim.earliest_date) | (day > lim.latest_date)).fill_null(False)


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
    """True where the value breaks the column's min/max, or None when it has neither (an
    integer is compared as the number delivered, however large)."""
    if column.type == "integer":
        number = pl.col(column.name).cast(pl.Float64, strict=False)
        typed = pl.when(_is_whole(number)).then(number)
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
CONTROL = "__control__"  # prefix of the columns that say where control characters were removed


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
    reasons: list[Flag] = []
    findings: list[Flag] = []
    # Dates and timestamps parsed once each (a timestamp by Python's parser, per distinct text).
    times = {
        c.name: _parsed_time(c, text) for c in contract.columns if c.type in ("date", "timestamp")
    }
    lim = limits()
    for c in contract.columns:
        raw, typed = pl.col(c.name), pl.col(TYPED + c.name)
        unparsed = raw.is_not_null() & typed.is_null()
        if c.type == "integer":  # too large is out of range, not unparsed
            unparsed = raw.is_not_null() & ~_is_whole(raw.cast(pl.Float64, strict=False))
        if c.type in ("date", "timestamp"):
            unparsed = raw.is_not_null() & times[c.name].is_null()
        if c.name in positions.values():
            findings.append(_flag(pl.col(CONTROL + c.name), f"control_chars:{c.name}"))
        if c.type == "text":
            too_long = (raw.str.len_chars() > lim.chars(c)).fill_null(False)
            reasons.append(_flag(too_long, f"length:{c.name}"))
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
        if c.type in ("date", "timestamp"):
            reasons.append(_flag(_outside_window(times[c.name]), f"range:{c.name}"))
    for c in contract.columns:
        if c.required_when:
            other, equals = c.required_when
            missing = (pl.col(TYPED + other) == equals).fill_null(False) & pl.col(c.name).is_null()
            reasons.append(_flag(missing, f"required_when:{c.name}"))

    checked = (
        text.lazy()
        .with_columns(
            _typed(c, text, uscc_ok, times).alias(TYPED + c.name) for c in contract.columns
        )
        .with_columns(_any(reasons).alias(BAD), _any(findings).alias(FOUND))
        .collect()
    )
    typed_frame = checked.select(
        "_row_number", *[pl.col(TYPED + c.name).alias(c.name) for c in contract.columns]
    )
    # The codes are joined only on the rows some check flagged (a few in a thousand): joining
    # them on every row was 40 % of the query. The reference path joins them on every row, and
    # accepts the rows whose joined reasons are null.
    flagged = checked.filter(pl.col(BAD) | pl.col(FOUND)) if JOIN_FLAGGED_ONLY else checked
    flagged = flagged.with_columns(
        _joined(reasons).alias("__reasons"), _joined(findings).alias("__findings")
    )
    good = pl.col("__reasons").is_null()
    accepted = typed_frame.filter(
        ~checked[BAD] if JOIN_FLAGGED_ONLY else flagged.select(good).to_series()
    )
    record_cols = [c.name for c in contract.columns if not c.personal]
    quarantined = flagged.filter(~good).select(
        "_row_number",
        pl.col("__reasons").alias("reasons"),
        pl.struct(record_cols).struct.json_encode().alias("record"),
    )
    if table.malformed:
        broken = pl.DataFrame(
            {
                "_row_number": list(table.malformed),
                "reasons": [table.reason_of(n) for n in table.malformed],
                "record": [
                    json.dumps({"_unparsed": t}, ensure_ascii=False)
                    for t in table.malformed.values()
                ],
            },
            schema={"_row_number": pl.Int64, "reasons": pl.String, "record": pl.String},
        )
        quarantined = pl.concat([quarantined, broken]).sort("_row_number")
    finding_frame = flagged.filter(good & pl.col("__findings").is_not_null()).select(
        "_row_number", pl.col("__findings").alias("finding")
    )
    return ValidatedRows(accepted, typed_frame, quarantined, finding_frame, issues + table.notes)


Flag = tuple[pl.Expr, str]  # a check's mask (true where it fails) and its code
BAD, FOUND = "__bad", "__found"  # columns: some reason applies; some finding applies


def _flag(mask: pl.Expr, code: str) -> Flag:
    """The reason or finding `code` on the rows where `mask` is true."""
    return mask, code


def _any(flags: list[Flag]) -> pl.Expr:
    """Per row, whether any flag is set (a null mask sets none, as in `_joined`)."""
    if not flags:
        return pl.lit(False)
    return pl.any_horizontal(mask.fill_null(False) for mask, _ in flags)


def _joined(flags: list[Flag]) -> pl.Expr:
    """Per row, the ';'-joined codes of the flags that are set, or null when none is."""
    if not flags:
        return pl.lit(None, pl.String)
    codes = [pl.when(mask).then(pl.lit(code)) for mask, code in flags]
    joined = pl.concat_str(codes, separator=";", ignore_nulls=True)
    return pl.when(joined != "").then(joined)
