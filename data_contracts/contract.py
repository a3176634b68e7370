"""The feed contracts, loaded once from feeds.yaml and the reference tables.

Everything that checks or documents a feed (readers, row validation, quarantine
reasons, Great Expectations suites, the steward's docs) reads these objects;
nothing restates a column, a type or an allowed value elsewhere.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import yaml

CONTRACT_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = CONTRACT_DIR / "reference"
FEEDS = ("complaints", "listings", "inspections", "entities", "credit", "outcomes")

# DuckDB type of each contract type in the staging layer.
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "category": "VARCHAR",
    "platform": "VARCHAR",
    "region": "VARCHAR",
    "uscc": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "decimal": "DOUBLE",
    "integer": "BIGINT",
}


@dataclass(frozen=True)
class Column:
    """One column of a feed as the contract defines it."""

    name: str
    type: str
    required: bool = False
    doc: str = ""
    values: dict[str, str] = field(default_factory=dict)  # code -> meaning
    labels: dict[str, str] = field(default_factory=dict)  # lower-cased label or code -> code
    aliases: tuple[str, ...] = ()  # Chinese headers
    scope: str | None = None  # region: in_province | any
    min: float | None = None
    max: float | None = None
    min_exclusive: float | None = None
    required_when: tuple[str, str] | None = None  # (column, value)
    personal: bool = False
    free_text: bool = False

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class FeedContract:
    """A feed: its columns in contract order, its key and the column that dates a record."""

    name: str
    title: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    record_date: str | None
    uscc_is_key: bool = False

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @cached_property
    def header_map(self) -> dict[str, str]:
        """Lower-cased English name or Chinese alias -> contract column name."""
        mapping: dict[str, str] = {}
        for c in self.columns:
            mapping[c.name.lower()] = c.name
            for alias in c.aliases:
                mapping[alias.strip().lower()] = c.name
        return mapping

    def column_of(self, header: str) -> str | None:
        """The contract column a delivered header names (any case, trimmed, or a Chinese
        alias), or None for an unknown column."""
        return self.header_map.get(header.strip().lower())

    def header_key(self, header: str) -> str:
        """What a header names: its contract column, else its trimmed, lower-cased text."""
        return self.column_of(header) or header.strip().lower()

    @property
    def staging_columns(self) -> tuple[Column, ...]:
        """Columns that reach staging: personal data stays in the restricted table."""
        return tuple(c for c in self.columns if not c.personal)


def _read_csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    prefecture_code: str
    prefecture_name: str
    longitude: float
    latitude: float


@cache
def regions() -> dict[str, Region]:
    """Qinghai's county-level divisions by code."""
    return {
        r["region_code"]: Region(
            r["region_code"],
            r["name"],
            r["prefecture_code"],
            r["prefecture_name"],
            float(r["longitude"]),
            float(r["latitude"]),
        )
        for r in _read_csv("regions.csv")
    }


@cache
def provinces() -> dict[str, str]:
    """Two-digit province-level code (GB/T 2260) -> Chinese name."""
    return {r["province_code"]: r["name"] for r in _read_csv("provinces.csv")}


@cache
def prefectures() -> dict[str, str]:
    """Prefecture code -> Chinese name."""
    return {r.prefecture_code: r.prefecture_name for r in regions().values()}


@cache
def retired_regions() -> dict[str, str]:
    """Retired county code -> current code."""
    return {r["retired_code"]: r["current_code"] for r in _read_csv("retired_region_codes.csv")}


@cache
def categories() -> dict[str, dict[str, str]]:
    """product_category code -> its row in categories.csv."""
    return {r["product_category"]: r for r in _read_csv("categories.csv")}


@cache
def platforms() -> dict[str, dict[str, str]]:
    """platform code -> its row in platforms.csv."""
    return {r["platform"]: r for r in _read_csv("platforms.csv")}


def _category_labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for code, row in categories().items():
        labels[code.lower()] = code
        labels[row["name_zh"].lower()] = code
        labels[row["name_en"].lower()] = code
    return labels


def _platform_labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for code, row in platforms().items():
        labels[code.lower()] = code
        labels[row["name_zh"].lower()] = code
        for alias in filter(None, row["aliases"].split(";")):
            labels[alias.strip().lower()] = code
    return labels


def _column(feed: str, name: str, spec: dict, aliases: dict, enum_labels: dict) -> Column:
    ctype = spec["type"]
    values: dict[str, str] = {str(k): str(v) for k, v in (spec.get("values") or {}).items()}
    labels: dict[str, str] = {}
    if ctype == "enum":
        labels = {code.lower(): code for code in values}
        labels.update(enum_labels.get((feed, name), {}))
    elif ctype == "category":
        labels = _category_labels()
        values = {code: f"{r['name_zh']} {r['name_en']}" for code, r in categories().items()}
    elif ctype == "platform":
        labels = _platform_labels()
        values = {code: r["name_zh"] for code, r in platforms().items()}
    when = spec.get("required_when")
    return Column(
        name=name,
        type=ctype,
        required=bool(spec.get("required", False)),
        doc=str(spec.get("doc", "")),
        values=values,
        labels=labels,
        aliases=tuple(aliases.get((feed, name), ())),
        scope=spec.get("scope"),
        min=spec.get("min"),
        max=spec.get("max"),
        min_exclusive=spec.get("min_exclusive"),
        required_when=(when["column"], str(when["equals"])) if when else None,
        personal=bool(spec.get("personal", False)),
        free_text=bool(spec.get("free_text", False)),
    )


@dataclass(frozen=True)
class Limits:
    """The contract's limits for hostile or careless input (feeds.yaml, `limits`)."""

    file_bytes: int
    xlsx_unpacked_bytes: int
    sheet_rows: int
    columns: int
    text_chars: int
    free_text_chars: int
    earliest_date: dt.date
    latest_date: dt.date
    quarantined_share: float  # of a feed's rows read in a run; more fails its validation

    def chars(self, column: Column) -> int:
        """The longest text a column may hold."""
        return self.free_text_chars if column.free_text else self.text_chars


@cache
def _feeds_yaml() -> dict:
    return yaml.safe_load((CONTRACT_DIR / "feeds.yaml").read_text(encoding="utf-8"))


@cache
def limits() -> Limits:
    """The limits every reader and the row validation apply."""
    return Limits(**_feeds_yaml()["limits"])


@cache
def contracts() -> dict[str, FeedContract]:
    """Every feed's contract, by feed name, in the spec's order."""
    raw = _feeds_yaml()
    aliases: dict[tuple[str, str], list[str]] = {}
    for r in _read_csv("column_aliases.csv"):
        aliases.setdefault((r["feed"], r["column"]), []).append(r["alias"])
    enum_labels: dict[tuple[str, str], dict[str, str]] = {}
    for r in _read_csv("enum_aliases.csv"):
        enum_labels.setdefault((r["feed"], r["column"]), {})[r["alias"].strip().lower()] = r[
            "value"
        ]
    out: dict[str, FeedContract] = {}
    for feed in FEEDS:
        spec = raw[feed]
        cols = tuple(
            _column(feed, name, cspec, aliases, enum_labels)
            for name, cspec in spec["columns"].items()
        )
        out[feed] = FeedContract(
            name=feed,
            title=spec["title"],
            columns=cols,
            key=tuple(spec["key"]),
            record_date=spec.get("record_date"),
            uscc_is_key=bool(spec.get("uscc_is_key", False)),
        )
    return out
