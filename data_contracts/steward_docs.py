"""The data steward's documentation of every feed, generated from the contract.

`contract_markdown()` is what a steward reads to understand a delivered file or a
quarantined row: each feed's columns, types, required flags, allowed values with
their meanings and the Chinese labels accepted for them, ranges, keys, the column
that dates a record, and every quarantine reason code in words.
"""

from __future__ import annotations

import re

from data_contracts.contract import (
    Column,
    FeedContract,
    contracts,
    limits,
    regions,
    retired_regions,
)
from data_contracts.validate import FINDING_TEXT, REASON_TEXT, UNPARSED_CHECK, reason_text

TYPE_WORDS = {
    "text": "文本 text",
    "timestamp": "时间 timestamp (ISO 8601; 无时区即北京时间 no offset = China time)",
    "date": "日期 date (YYYY-MM-DD)",
    "decimal": "数值 decimal",
    "integer": "整数 integer",
    "enum": "代码 code (see allowed values)",
    "category": "产品类别代码 product category code",
    "platform": "平台代码 platform code",
    "region": "六位区划代码 six-digit region code",
    "uscc": "统一社会信用代码 USCC (18 characters)",
}
_UNSAFE = re.compile(r'[\x00-\x1f<>:"\\|?*]+')


def file_slug(rel: str) -> str:
    """A delivered file's path as one safe file name: `complaints/2026-05/a.csv` ->
    `complaints__2026-05__a.csv` (Chinese characters kept)."""
    return _UNSAFE.sub("_", rel.strip("/")).replace("/", "__")


def reason_codes(contract: FeedContract) -> list[str]:
    """Every row-level quarantine reason code a row of this feed can get."""
    codes: list[str] = []
    for c in contract.staging_columns:
        if c.required:
            codes.append(f"required:{c.name}")
        if c.type == "uscc":  # an invalid USCC quarantines a row only where it is the key
            if contract.uscc_is_key:
                codes.append(f"uscc:{c.name}")
        elif c.type in UNPARSED_CHECK:
            codes.append(f"{UNPARSED_CHECK[c.type]}:{c.name}")
        elif c.type == "text":  # a binary Parquet value that is not UTF-8; a value too long
            codes += [f"text:{c.name}", f"length:{c.name}"]
        ranged = c.min is not None or c.max is not None or c.min_exclusive is not None
        if ranged or c.type in ("date", "timestamp"):
            codes.append(f"range:{c.name}")
        if c.required_when:
            codes.append(f"required_when:{c.name}")
    return codes + ["malformed:record", "unclosed_quote:record", "nested:<column>"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rules(contract: FeedContract, c: Column) -> str:
    rules = []
    if c.min_exclusive is not None:
        rules.append(f"> {c.min_exclusive:g}")
    if c.min is not None:
        rules.append(f"≥ {c.min:g}")
    if c.max is not None:
        rules.append(f"≤ {c.max:g}")
    if c.scope == "in_province":
        rules.append("青海省内 in-province (regions.csv; retired codes mapped)")
    elif c.scope == "any":
        rules.append("任一省份 any province (provinces.csv); 63xxxx must be in regions.csv")
    if c.required_when:
        other, equals = c.required_when
        rules.append(f"required when {other} = {equals}")
    if c.type == "uscc":
        rules.append(
            "check digit must verify; else row quarantined (key)"
            if contract.uscc_is_key
            else "check digit must verify; else nulled, row kept, finding recorded"
        )
    if c.personal:
        rules.append("个人信息 personal data: never leaves the warehouse")
    return "; ".join(rules)


def _labels(c: Column, code: str) -> str:
    """The labels accepted for a code besides the code itself."""
    return ", ".join(
        sorted(
            label for label, value in c.labels.items() if value == code and label != code.lower()
        )
    )


def feed_markdown(contract: FeedContract) -> str:
    """One feed's section of the steward docs."""
    lines = [
        f"## {contract.name} — {contract.title}",
        "",
        f"- 主键 Key: {', '.join(f'`{k}`' for k in contract.key)} "
        "(a later delivery with the same key replaces the earlier version; within a file the "
        "last row wins)",
        "- 记录日期 Record date: "
        + (
            f"`{contract.record_date}`"
            if contract.record_date
            else "none (current register, not filtered)"
        ),
        "",
        "| column | 中文列名 Chinese headers | type | required | rules | notes |",
        "|---|---|---|---|---|---|",
    ]
    for c in contract.columns:
        required = (
            "yes"
            if c.required
            else ("when " + "=".join(c.required_when) if c.required_when else "no")
        )
        lines.append(
            f"| `{c.name}` | {_cell(', '.join(c.aliases))} | {_cell(TYPE_WORDS[c.type])} | {required} "
            f"| {_cell(_rules(contract, c))} | {_cell(c.doc)} |"
        )
    for c in contract.columns:
        if not c.values:
            continue
        lines += [
            "",
            f"### `{contract.name}.{c.name}` 允许的取值 allowed values",
            "",
            "| code | meaning 含义 | also accepted 可接受的写法 |",
            "|---|---|---|",
        ]
        for code, meaning in c.values.items():
            lines.append(f"| `{code}` | {_cell(meaning)} | {_cell(_labels(c, code))} |")
    lines += [
        "",
        f"### `{contract.name}` 隔离原因 quarantine reasons",
        "",
        "| code | words |",
        "|---|---|",
    ]
    lines += [f"| `{code}` | {_cell(reason_text(code))} |" for code in reason_codes(contract)]
    return "\n".join(lines)


def contract_markdown() -> str:
    """The steward's docs of every feed and every quarantine reason code, as Markdown."""
    parts = [
        "# Counterfeit Radar 数据源说明 — feed contracts for data stewards",
        "",
        "Generated from `data_contracts/feeds.yaml` and the reference tables; do not edit by hand.",
        "Headers may be the English names or the Chinese headers listed; codes may be written as "
        "the code or any accepted label (case-insensitive, trimmed).",
        "",
        "## 隔离原因代码 Quarantine reason codes",
        "",
        "A quarantined row carries every reason that applies, as `<check>:<column>` codes "
        "joined by `;`.",
        "",
        "| check | words |",
        "|---|---|",
    ]
    record_level = ("malformed", "unclosed_quote")
    parts += [
        f"| `{check}:{'record' if check in record_level else '<column>'}` | {_cell(words)} |"
        for check, words in REASON_TEXT.items()
    ]
    parts += [
        "",
        "A `uscc` failure quarantines the row only in `entities` (the USCC is its key); in other "
        "feeds the code is nulled, the row kept and the finding `uscc_nulled:<column>` recorded.",
        "",
        "Findings (the row is kept, the value changed): "
        + "; ".join(f"`{check}:<column>` {words}" for check, words in FINDING_TEXT.items())
        + ".",
        "",
        *limits_markdown(),
        "",
        f"Region codes: {len(regions())} in-province counties in `regions.csv`; retired codes "
        + ", ".join(f"`{old}`→`{new}`" for old, new in sorted(retired_regions().items()))
        + " are accepted and mapped.",
        "",
    ]
    parts += [feed_markdown(contract) + "\n" for contract in contracts().values()]
    return "\n".join(parts)


def limits_markdown() -> list[str]:
    """The contract's limits for hostile or careless input, in words."""
    lim = limits()
    return [
        "## 限制 Limits",
        "",
        f"- A file over {lim.file_bytes:,} bytes, with more than {lim.columns} columns, or an "
        f"`.xlsx` whose parts decompress to more than {lim.xlsx_unpacked_bytes:,} bytes or whose "
        f"first sheet declares more than {lim.sheet_rows:,} rows or {lim.columns} columns, is "
        "rejected whole, unread.",
        f"- A text value over {lim.text_chars:,} characters ({lim.free_text_chars:,} in a free-text "
        "column such as `description`) quarantines its row (`length:<column>`); a quoted CSV "
        "field that runs past that across line breaks is an unclosed quote "
        "(`unclosed_quote:record`), reported on the line where it opens; reading goes on from "
        "the next line.",
        "- Control characters (U+0000–U+001F, U+007F; a free-text column keeps tab and line "
        "breaks) are removed and the row gets the finding `control_chars:<column>`.",
        "- Money at most 10,000,000,000 yuan, `price_cny` at most 10,000,000, counts at most "
        "1,000,000,000, `rating` 0–5 (see each column's range); dates and timestamps from "
        f"{lim.earliest_date} to {lim.latest_date} (`range:<column>`).",
        "- A JSON Lines record with an object or array as a value is quarantined "
        "(`nested:<column>`).",
    ]
