"""How each feed arrives in the landing directory: which files, in which shapes, and when.

Complaints come monthly (recent weeks weekly) from the 12315/12345 systems in CSV and
JSON Lines; platforms send weekly Parquet or CSV snapshots; county bureaus send monthly
inspection exports (GB18030 with Chinese headers, or UTF-8 with BOM); the register comes
as an Excel extract plus monthly changes; credit quarterly; outcomes monthly. Along the
way a few deliveries go wrong in the ways the contract expects (see truth.json bad_files).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np
import polars as pl

from demo_world.actors import Population
from demo_world.landing import ROW_REASONS, Landing, Row, Style, columns
from demo_world.listings import ListingBook
from demo_world.records import register_row
from demo_world.uscc import corrupt

_COMPLAINT_STYLES = (
    Style("csv"),
    Style("jsonl", timestamps="mixed"),
    Style("csv", encoding="utf-8-sig", header="zh", labels="zh"),
    Style("csv", header="caps", timestamps="mixed"),
    Style("jsonl", header="zh", labels="zh", timestamps="mixed"),
)
_WEEKLY_STYLES = (
    Style("jsonl", timestamps="mixed"),
    Style("csv", header="caps", timestamps="mixed"),
)
_INSPECTION_STYLES = (
    Style("csv", encoding="gb18030", header="zh", labels="zh", newline="\r\n"),
    Style("csv", encoding="utf-8-sig"),
)
# platform -> (format, encoding, header, platform value as written [older weeks, recent weeks])
_LISTING_STYLES = {
    "taobao": ("parquet", "", "en", ("淘宝网", "taobao")),
    "tmall": ("parquet", "", "en", ("tmall", "tmall")),
    "jd": ("parquet", "", "en", ("JD", "JD")),
    "pdd": ("csv", "utf-8", "en", ("拼多多", "拼多多")),
    "douyin": ("csv", "utf-8", "en", ("抖音商城", "douyin")),
    "kuaishou": ("csv", "utf-8-sig", "zh", ("快手小店", "快手小店")),
    "xianyu": ("parquet", "", "en", ("闲鱼", "闲鱼")),
    "weidian": ("csv", "utf-8", "caps", ("weidian", "weidian")),
    "meituan": ("parquet", "", "en", ("meituan", "meituan")),
    "alibaba1688": ("csv", "gb18030", "zh", ("1688", "1688")),
}


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def _month(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _day(row: Row, column: str) -> dt.date:
    """The record date in `column` (a timestamp's date in China time)."""
    value = row[column]
    if isinstance(value, dt.datetime):
        return value.date()
    assert isinstance(value, dt.date)
    return value


def _by_period(
    rows: Iterable[Row], column: str, period: Callable[[dt.date], str]
) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[period(_day(row, column))].append(row)
    return dict(sorted(groups.items()))


def _cap(moment: dt.datetime, as_of: dt.date, hour: int) -> dt.datetime:
    """A delivery falling after the as-of date arrives that evening instead."""
    return min(moment, _at(as_of, hour))


# ---------------------------------------------------------------------------------------------
def deliver_complaints(landing: Landing, pop: Population, rows: list[Row]) -> None:
    cfg = pop.config
    rnd = random.Random(f"{cfg.seed}:complaint-files")
    weekly_from = max(cfg.history_start, (cfg.as_of - dt.timedelta(days=56)).replace(day=1))
    older = [r for r in rows if _day(r, "received_at") < weekly_from]
    recent = [r for r in rows if _day(r, "received_at") >= weekly_from]
    corrections, bad_correction = _plan_corrections(rnd, older, weekly_from, cfg.scale)

    first_csv: tuple[str, bytes, dt.datetime] | None = None
    months = _by_period(older, "received_at", _month)
    for i, (month, group) in enumerate(months.items()):
        style = _COMPLAINT_STYLES[i % len(_COMPLAINT_STYLES)]
        path = f"complaints/{month}/12315_{month}.{style.fmt}"
        first = dt.date.fromisoformat(f"{month}-01")
        moment = _at(_next_month(first) + dt.timedelta(days=2), 9, 7 * (i % 5))
        data = landing.put_rows("complaints", path, group, style, moment)
        if style.fmt == "csv" and i >= len(months) // 2 and first_csv is None:
            first_csv = (path, data, moment)
    start, k = weekly_from, 0
    while start <= cfg.as_of:
        end = min(start + dt.timedelta(days=6), cfg.as_of)
        group = [r for r in recent if start <= _day(r, "received_at") <= end]
        if not group:
            start = end + dt.timedelta(days=1)
            continue
        style = _WEEKLY_STYLES[k % 2]
        path = f"complaints/weekly/{start:%Y-%m-%d}_{end:%Y-%m-%d}.{style.fmt}"
        moment = _at(end, 22) if end == cfg.as_of else _at(end + dt.timedelta(days=1), 8, 30)
        landing.put_rows("complaints", path, group, style, moment)
        start, k = end + dt.timedelta(days=1), k + 1

    if corrections:
        day = cfg.as_of - dt.timedelta(days=18)
        path = f"complaints/corrections/{day:%Y-%m-%d}_更正.csv"
        landing.put_rows("complaints", path, corrections, Style("csv"), _at(day, 10), spoil=False)
        landing.note_file(
            "complaints",
            path,
            "loaded",
            f"correction: re-delivers {len(corrections)} complaint ids with their "
            "product_category (first delivered as other); the latest delivery wins",
        )
    if bad_correction:
        day = cfg.as_of - dt.timedelta(days=8)
        path = f"complaints/corrections/{day:%Y-%m-%d}_更正.csv"
        landing.put_rows(
            "complaints", path, bad_correction, Style("csv"), _at(day, 10), spoil=False
        )
        bad_at = next(i for i, r in enumerate(bad_correction) if r.get("_bad"))
        landing.log.bad_rows.append(
            {
                "feed": "complaints",
                "file": path,
                "row_number": bad_at + 1,
                "reason": "region:region_code",
            }
        )
        landing.note_file(
            "complaints",
            path,
            "loaded",
            "correction whose one bad row is quarantined; the earlier version of "
            "that complaint stays in force",
        )
    if first_csv is not None:
        path, data, moment = first_csv
        copy = path.replace(".csv", "_重发.csv")
        landing.put_bytes(copy, data, moment + dt.timedelta(days=2))
        landing.note_file("complaints", copy, "duplicate", f"the same bytes as {path}, sent again")
        landing.put_bytes("backup/" + path.split("/")[-1], data, moment + dt.timedelta(days=3))
        landing.note_file(
            None, "backup/" + path.split("/")[-1], "ignored", "a file outside the six feed folders"
        )


def _plan_corrections(
    rnd: random.Random, older: list[Row], weekly_from: dt.date, scale: float
) -> tuple[list[Row], list[Row]]:
    """Pick complaints first delivered with a wrong value, and write their corrections."""
    cutoff = weekly_from - dt.timedelta(days=30)
    candidates = [
        r
        for r in older
        if not r.get("_protected")
        and r["product_category"] != "other"
        and _day(r, "received_at") < cutoff
    ]
    n = min(len(candidates) - 3, max(3, round(20 * scale**0.5)))
    if n < 1:
        return [], []
    chosen = rnd.sample(candidates, n + 3)
    corrections = []
    for row in chosen[:n]:
        corrections.append(dict(row))
        row["product_category"], row["brand"] = "other", None  # as first recorded
        row["_protected"] = True
    bad = []
    for j, row in enumerate(chosen[n:]):
        row["_protected"] = True
        fixed = dict(row)
        if j == 1:
            fixed["region_code"], fixed["_bad"] = "440304", True  # out of province: quarantined
        else:
            paid = row["amount_cny"]
            fixed["amount_cny"] = round((paid if isinstance(paid, float) else 100.0) * 1.1, 2)
        bad.append(fixed)
    corrections.sort(key=lambda r: str(r["complaint_id"]))
    return corrections, bad


# ---------------------------------------------------------------------------------------------
def deliver_inspections(landing: Landing, pop: Population, rows: list[Row]) -> None:
    cfg = pop.config
    months = _by_period(rows, "inspected_on", _month)
    empty_at = len(months) // 3
    for i, (month, group) in enumerate(months.items()):
        style = _INSPECTION_STYLES[i % 2]
        name = f"检查结果_{month}.csv" if style.header == "zh" else f"inspections_{month}.csv"
        first = dt.date.fromisoformat(f"{month}-01")
        moment = _cap(
            _at(_next_month(first) + dt.timedelta(days=4), 10, 3 * (i % 7)), cfg.as_of, 20
        )
        landing.put_rows("inspections", f"inspections/{month}/{name}", group, style, moment)
        if i == empty_at:
            path = f"inspections/{month}/检查结果_补报.csv"
            landing.put_bytes(path, b"", moment + dt.timedelta(hours=1))
            landing.note_file("inspections", path, "rejected", "0-byte file")


# ---------------------------------------------------------------------------------------------
def deliver_entities(landing: Landing, pop: Population) -> None:
    cfg = pop.config
    extract_day = cfg.history_start + dt.timedelta(days=2)

    def status_at(e_status: str, changed: dt.date | None, day: dt.date) -> str:
        return e_status if changed is None or changed <= day else "active"

    ents = sorted(pop.entities, key=lambda e: (e.region_code, e.registered_on, e.uscc))
    base = [
        register_row(e, status_at(e.status, e.status_changed_on, extract_day))
        for e in ents
        if e.registered_on <= extract_day
    ]
    path = f"entities/{extract_day:%Y-%m-%d}/市场主体名录_全量.xlsx"
    moment = _at(extract_day, 9)
    landing.put_rows("entities", path, base, Style("xlsx", header="zh", labels="zh"), moment)
    lock = f"entities/{extract_day:%Y-%m-%d}/~$市场主体名录_全量.xlsx"
    landing.put_bytes(lock, b"\x06" + "管理员".encode("utf-16-le").ljust(164, b"\x20"), moment)
    landing.note_file("entities", lock, "ignored", "Excel lock file (~$)")
    landing.put_bytes("entities/.DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(120), moment)
    landing.note_file("entities", "entities/.DS_Store", "ignored", "hidden file")

    lo, k = extract_day, 0
    while lo < cfg.as_of:
        hi = min(_next_month(lo + dt.timedelta(days=1)) - dt.timedelta(days=1), cfg.as_of)
        rows = []
        for e in ents:
            new = lo < e.registered_on <= hi
            changed = e.status_changed_on is not None and lo < e.status_changed_on <= hi
            if new or (changed and e.registered_on <= lo):
                rows.append(register_row(e, status_at(e.status, e.status_changed_on, hi)))
        style = Style("xlsx", header="zh", labels="zh") if k % 2 == 0 else Style("csv")
        name = (
            f"主体变更_{hi:%Y-%m}.xlsx"
            if style.fmt == "xlsx"
            else f"register_changes_{hi:%Y-%m}.csv"
        )
        moment = _cap(_at(hi + dt.timedelta(days=1), 7), cfg.as_of, 7)
        landing.put_rows("entities", f"entities/{hi:%Y-%m}/{name}", rows, style, moment)
        lo, k = hi, k + 1


# ---------------------------------------------------------------------------------------------
def deliver_credit(landing: Landing, pop: Population, rows: list[Row]) -> None:
    cfg = pop.config

    def quarter(day: dt.date) -> str:
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"

    quarters = _by_period(rows, "decided_on", quarter)
    for i, (q, group) in enumerate(quarters.items()):
        year, n = int(q[:4]), int(q[-1])
        end = dt.date(year + (n == 4), 1 if n == 4 else 3 * n + 1, 1)
        moment = _cap(_at(end + dt.timedelta(days=9), 15), cfg.as_of, 21)
        if i % 2 == 0:
            style, path = Style("xlsx", header="zh", labels="zh"), f"credit/{q}/信用信息_{q}.xlsx"
        else:
            style = Style("csv", encoding="gb18030", header="zh", labels="zh", newline="\r\n")
            path = f"credit/{q}/信用信息_{q}.csv"
        landing.put_rows("credit", path, group, style, moment)
        if i == 1:
            # a supplement exported without its decision dates: rejected as a whole
            extra = [dict(r, record_id=f"{r['record_id']}B") for r in group[:5]]
            supplement = f"credit/{q}/信用信息_补充.csv"
            landing.put_rows(
                "credit",
                supplement,
                extra,
                Style("csv"),
                moment + dt.timedelta(hours=2),
                spoil=False,
                drop_columns=("decided_on",),
            )
            landing.log.rows_written["credit"] -= len(extra)
            landing.note_file(
                "credit", supplement, "rejected", "required column decided_on missing"
            )


# ---------------------------------------------------------------------------------------------
def deliver_outcomes(landing: Landing, pop: Population, rows: list[Row]) -> None:
    cfg = pop.config
    months = _by_period(rows, "closed_on", _month)
    for i, (month, group) in enumerate(months.items()):
        first = dt.date.fromisoformat(f"{month}-01")
        moment = _cap(_at(_next_month(first) + dt.timedelta(days=1), 11), cfg.as_of, 21)
        if i % 2 == 0:
            style, name = Style("csv"), f"办结反馈_{month}.csv"
        else:
            style, name = Style("jsonl", header="zh", labels="zh"), f"办结反馈_{month}.jsonl"
        landing.put_rows("outcomes", f"outcomes/{month}/{name}", group, style, moment)
        if i == 2:
            path = f"outcomes/{month}/办结反馈_补充.csv"
            landing.put_rows(
                "outcomes", path, [], Style("csv"), moment + dt.timedelta(hours=3), spoil=False
            )
            landing.note_file("outcomes", path, "loaded", "header only: loaded with 0 rows")


# ---------------------------------------------------------------------------------------------
def deliver_listings(landing: Landing, pop: Population, book: ListingBook) -> None:
    cfg = pop.config
    weeks = len(book.snapshot_dates)
    garbage_week, partial_week = weeks // 2, max(0, weeks - 5)
    for w, day in enumerate(book.snapshot_dates):
        table, platforms, ordinary = book.week(w)
        for j, platform in enumerate(_LISTING_STYLES):
            fmt, encoding, header, labels = _LISTING_STYLES[platform]
            mask = platforms == platform
            if not mask.any():
                continue
            df = pl.from_arrow(table.filter(mask))
            assert isinstance(df, pl.DataFrame)
            label = labels[0] if w < weeks // 2 else labels[1]
            df = df.with_columns(pl.lit(label).alias("platform"))
            open_rows = np.flatnonzero(ordinary[mask])
            path = f"listings/{day:%Y-%m-%d}/{platform}.{fmt}"
            if w == partial_week and platform == "pdd" and len(open_rows) > 10:
                keep = np.ones(len(df), dtype=bool)
                # a quarter of the ordinary rows (the planted actors' rows are all kept, so that
                # the snapshot stays well under half of the usual beside issue 19's extra shops)
                keep[open_rows] = (
                    np.random.default_rng([cfg.seed, 23]).random(len(open_rows)) < 0.25
                )
                df = df.filter(pl.Series(keep))
                open_rows = np.flatnonzero(ordinary[mask][keep])
                landing.note_file(
                    "listings",
                    path,
                    "loaded",
                    "partial snapshot: about half of the platform's usual rows or fewer",
                )
            moment = _at(day, 6) + dt.timedelta(minutes=7 * j)
            data = _listing_file(landing, path, df, open_rows, fmt, encoding, header)
            landing.put_bytes(path, data, moment)
            landing.log.rows_written["listings"] = landing.log.rows_written.get(
                "listings", 0
            ) + len(df)
            if w == garbage_week and platform == "jd":
                broken = f"listings/{day:%Y-%m-%d}/jd_补传.parquet"
                landing.put_bytes(broken, data[: len(data) // 3], moment + dt.timedelta(hours=3))
                landing.note_file("listings", broken, "rejected", "truncated, unreadable Parquet")
    landing.put_bytes(
        "listings/.DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(60), _at(book.snapshot_dates[0], 6)
    )
    landing.note_file("listings", "listings/.DS_Store", "ignored", "hidden file")


def _listing_file(
    landing: Landing,
    path: str,
    df: pl.DataFrame,
    open_rows: np.ndarray,
    fmt: str,
    encoding: str,
    header: str,
) -> bytes:
    """One platform's snapshot as bytes, with a few spoiled rows and USCC typos logged."""
    rnd = landing.rnd(path)
    rng = np.random.default_rng(rnd.getrandbits(32))
    cfg_share = landing.listing_bad_row_share
    allowed = [
        r
        for r in ROW_REASONS["listings"]
        if fmt == "csv" or r.split(":")[0] in ("range", "enum", "required")
    ]
    k = int(rng.binomial(len(open_rows), cfg_share))
    if landing.log.has_pending("listings", allowed, fmt):
        k = max(k, 1)
    k = min(k, len(open_rows))
    chosen = sorted(int(i) for i in rng.choice(open_rows, size=k, replace=False)) if k else []
    if fmt == "csv":
        df = df.with_columns(pl.all().cast(pl.String))
    malformed: list[int] = []
    for i in chosen:
        reason = landing.log.next_reason("listings", allowed, fmt, rnd)
        column = reason.split(":")[1]
        value: object
        if reason == "malformed:record":
            malformed.append(i)
        else:
            if reason == "range:price_cny":
                value = -abs(float(df["price_cny"][i]))
            elif reason == "range:rating":
                value = 7.0
            elif reason == "required:title":
                value = None
            elif reason == "enum:product_category":
                value = rnd.choice(("服装鞋帽", "shoes", "保健食品"))
            elif reason == "enum:platform":
                value = rnd.choice(("唯品会", "苏宁易购"))
            else:  # type:sales_30d
                value = rnd.choice(("1.2万", "10万+"))
            if fmt == "csv" and value is not None:
                value = str(value)
            df = df.with_columns(df[column].scatter(i, value))
        landing.log.bad_rows.append(
            {"feed": "listings", "file": path, "row_number": i + 1, "reason": reason}
        )
    has_code = df["seller_uscc"].is_not_null().to_numpy()
    with_code = sorted(set(open_rows[has_code[open_rows]].tolist()) - set(chosen))
    n = int(rng.binomial(len(with_code), landing.uscc_typo_share / 5))
    n = landing.log.typos_at_least_once("listings", "seller_uscc", n, len(with_code))
    for i in sorted(rnd.sample(with_code, min(n, len(with_code)))):
        df = df.with_columns(df["seller_uscc"].scatter(i, corrupt(str(df["seller_uscc"][i]), rnd)))
        landing.log.uscc_findings.append(
            {"feed": "listings", "file": path, "row_number": i + 1, "column": "seller_uscc"}
        )
    if fmt == "parquet":
        buf = io.BytesIO()
        df.write_parquet(buf, compression="zstd")
        return buf.getvalue()
    if header != "en":
        headers = [
            landing.header("listings", c, Style("csv", header=header), rnd)
            for c in columns("listings")
        ]
        df = df.rename(dict(zip(df.columns, headers, strict=True)))
    text = df.write_csv()
    if malformed:
        lines = text.split("\n")
        for i in malformed:
            lines[i + 1] += ",备注,补录"
        text = "\n".join(lines)
    return text.encode("utf-8-sig" if encoding == "utf-8-sig" else encoding)


# ---------------------------------------------------------------------------------------------
def deliver_readme(landing: Landing, pop: Population) -> None:
    text = "本目录由各数据报送单位上传，请勿修改或删除已上传文件。\n如有疑问请联系省局信息中心。\n"
    landing.put_bytes("说明.txt", text.encode("utf-8"), _at(pop.config.history_start, 8))
    landing.note_file(None, "说明.txt", "ignored", "a file outside the six feed folders")
