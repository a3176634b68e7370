"""How well a run found what the demo world planted: leads, a naive baseline, and surges.

`evaluate` reads the world's truth.json and the exports of one run (OUT/<as-of>/) and returns
plain metrics; `format_report` prints them as the text tables of `radar evaluate`. The
pipeline itself never reads truth.json.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from data_contracts.contract import regions
from demo_world.actors import SURGE_EVIDENT_EVENTS
from models.surges import daily_series, detect_alerts, load_config

PRECISION_AT = (20, 50)
HOTSPOT_PRECISION_AT = (10, 20)
HOTSPOT_DAYS = 90  # the hotspots' window: a surge that ran in it makes a problem cell
CAUGHT = ("confirmed", "referred_to_police")  # outcomes that tell the office whom it caught
RECALL_AT = 50
NAIVE_DAYS = 180
TARGET_DELAY_DAYS = 3  # the goal: every surge detected within 3 days of its start


# --- truth --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """A planted operator or decoy with the keys that identify it (prefixed, see `_keys`);
    `caught_on`: the day an operator's first confirmed or referred case was closed, if any."""

    actor_id: str
    kind: str
    keys: frozenset[str]
    shop_keys: frozenset[str]
    caught_on: date | None = None


@dataclass(frozen=True)
class Truth:
    operators: tuple[Actor, ...]
    decoys: tuple[Actor, ...]
    surges: tuple[dict[str, Any], ...]
    seasonal: tuple[dict[str, Any], ...]
    operator_cells: frozenset[tuple[str, str]] = frozenset()

    def problem_cells(self, as_of: date) -> frozenset[tuple[str, str]]:
        """(county, category) cells with a planted problem as of `as_of`: where an operator
        sells (its home county) or ships from, in each of its categories, and where a surge
        ran in the hotspots' window (the HOTSPOT_DAYS days ending on `as_of`)."""
        since = as_of - timedelta(days=HOTSPOT_DAYS - 1)
        surged = {
            (county, s["product_category"])
            for s in self.surges
            if date.fromisoformat(s["start"]) <= as_of and date.fromisoformat(s["end"]) >= since
            for county in s.get("counties") or [s["region_code"]]
        }
        return self.operator_cells | surged


def _keys(shop_keys: Iterable[str], usccs: Iterable[str], names: Iterable[str] = ()) -> set[str]:
    """Comparable identity keys: 'shop:<platform>:<id>', 'uscc:<code>', 'name:<name>'."""
    keys = {f"shop:{k.strip()}" for k in shop_keys if k and k.strip()}
    keys |= {f"uscc:{u.strip().upper()}" for u in usccs if u and u.strip()}
    keys |= {f"name:{n.strip()}" for n in names if n and n.strip()}
    return keys


def _actor(raw: dict[str, Any], id_field: str) -> Actor:
    shops = raw.get("shop_keys") or []
    keys = _keys(shops, raw.get("usccs") or [], raw.get("names") or [])
    caught = [
        date.fromisoformat(c["closed_on"])
        for c in raw.get("outcomes", [])
        if c["outcome"] in CAUGHT
    ]
    return Actor(
        raw[id_field],
        raw.get("kind", ""),
        frozenset(keys),
        frozenset(_keys(shops, [])),
        min(caught, default=None),
    )


def load_truth(world_dir: Path) -> Truth:
    """The planted operators, decoys, surges and seasonal rises of a demo world."""
    raw = json.loads((world_dir / "truth.json").read_text(encoding="utf-8"))
    operator_cells = {
        (county, category)
        for o in raw.get("operators", [])
        for county in {o.get("region_code"), *o.get("ship_from", [])}
        if county in regions()
        for category in o.get("product_categories", [])
    }
    return Truth(
        operators=tuple(_actor(o, "operator_id") for o in raw.get("operators", [])),
        decoys=tuple(_actor(d, "decoy_id") for d in raw.get("decoys", [])),
        surges=tuple(raw.get("surges", [])),
        seasonal=tuple(raw.get("seasonal", [])),
        operator_cells=frozenset(operator_cells),
    )


class _KeyIndex:
    """Which operators and decoys own each identity key."""

    def __init__(self, truth: Truth) -> None:
        self.operators: dict[str, set[str]] = {}
        self.decoys: dict[str, set[str]] = {}
        for index, actors in ((self.operators, truth.operators), (self.decoys, truth.decoys)):
            for actor in actors:
                for key in actor.keys:
                    index.setdefault(key, set()).add(actor.actor_id)

    def operators_of(self, keys: Iterable[str]) -> dict[str, int]:
        """Operator id -> number of the keys it shares."""
        found: dict[str, int] = {}
        for key in keys:
            for op in self.operators.get(key, ()):
                found[op] = found.get(op, 0) + 1
        return found

    def decoys_of(self, keys: Iterable[str]) -> set[str]:
        return {d for key in keys for d in self.decoys.get(key, ())}


# --- ranked lists -------------------------------------------------------------------------


def _split(cell: str | None) -> list[str]:
    return [part for part in (cell or "").split(";") if part.strip()]


def lead_keys(row: dict[str, str | None]) -> set[str]:
    """Identity keys of one entity_leads row: its shop keys, uscc and usccs (names not used)."""
    return _keys(_split(row.get("shop_keys")), [row.get("uscc") or "", *_split(row.get("usccs"))])


def ranking_metrics(ranked: Sequence[set[str]], truth: Truth) -> dict[str, Any]:
    """Precision of distinct operators at 20 / 50, average precision, recall@50, decoys and
    duplicates.

    A list entry hits when it shares a key with an operator not credited to an earlier
    entry; it is credited with the operator it shares most keys with, so a second entry of
    the same operator counts as a miss (and as a duplicate). precision@k divides by
    min(k, list length); average precision is relative to the number of planted operators.
    """
    index = _KeyIndex(truth)
    credited: set[str] = set()
    hits: list[bool] = []
    decoy_flags: list[bool] = []
    duplicate_flags: list[bool] = []
    for keys in ranked:
        owners = index.operators_of(keys)
        new = {op: n for op, n in owners.items() if op not in credited}
        if new:
            credited.add(min(new, key=lambda op: (-new[op], op)))
        hits.append(bool(new))
        duplicate_flags.append(bool(owners) and not new)
        decoy_flags.append(bool(index.decoys_of(keys)))
    n_operators = len(truth.operators)
    running, precisions = 0, []
    for rank, hit in enumerate(hits, start=1):
        if hit:
            running += 1
            precisions.append(running / rank)
    metrics: dict[str, Any] = {"ranked": len(ranked), "operators": n_operators}
    for k in PRECISION_AT:
        metrics[f"precision@{k}"] = sum(hits[:k]) / min(k, len(hits)) if hits else 0.0
        metrics[f"decoys@{k}"] = sum(decoy_flags[:k])
        metrics[f"duplicates@{k}"] = sum(duplicate_flags[:k])
    metrics["average_precision"] = sum(precisions) / n_operators if n_operators else 0.0
    metrics[f"recall@{RECALL_AT}"] = sum(hits[:RECALL_AT]) / n_operators if n_operators else 0.0
    return metrics


def known_operators(truth: Truth, as_of: date) -> set[str]:
    """Operators with a confirmed or referred case closed on or before `as_of`."""
    return {op.actor_id for op in truth.operators if op.caught_on and op.caught_on <= as_of}


def new_lead_metrics(ranked: Sequence[set[str]], truth: Truth, as_of: date) -> dict[str, Any]:
    """`ranking_metrics` for the operators the office has not caught yet, on the list with the
    leads of the operators it has caught left out (a lead holding any of their keys)."""
    known = known_operators(truth, as_of)
    index = _KeyIndex(truth)
    rest = [keys for keys in ranked if not set(index.operators_of(keys)) & known]
    new_truth = Truth(
        operators=tuple(op for op in truth.operators if op.actor_id not in known),
        decoys=truth.decoys,
        surges=truth.surges,
        seasonal=truth.seasonal,
    )
    return ranking_metrics(rest, new_truth) | {"known_operators": len(known)}


def ring_coverage(ranked: Sequence[set[str]], truth: Truth) -> dict[str, Any]:
    """For each operator with two or more shops, the largest share of them in a single lead."""
    shares = []
    for op in truth.operators:
        if len(op.shop_keys) < 2:
            continue
        best = max((len(op.shop_keys & keys) for keys in ranked), default=0)
        shares.append(best / len(op.shop_keys))
    return {
        "operators": len(shares),
        "mean": statistics.fmean(shares) if shares else None,
        "min": min(shares) if shares else None,
        "complete": sum(1 for s in shares if s == 1.0),
    }


TOP = 100  # issue 19's "Done when" reads ring coverage and false merges over the top 100


def ring_coverage_top(ranked: Sequence[set[str]], truth: Truth, top: int = TOP) -> dict[str, Any]:
    """For each operator with two or more shops that has a lead in the top `top`, the share of
    its shops in its best lead there (the one holding most of them); their mean and minimum."""
    head = ranked[:top]
    shares = []
    for op in truth.operators:
        if len(op.shop_keys) < 2:
            continue
        best = max((len(op.shop_keys & keys) for keys in head), default=0)
        if best:
            shares.append(best / len(op.shop_keys))
    return {
        "operators": len(shares),
        "mean": statistics.fmean(shares) if shares else None,
        "min": min(shares) if shares else None,
        "complete": sum(1 for s in shares if s == 1.0),
    }


def false_merges(lead_ids: Sequence[str], ranked: Sequence[set[str]], truth: Truth) -> list[str]:
    """Leads holding keys of two different operators, or of an operator and an innocent: a
    decoy, or a business or shop that no planted actor owns (issue 19's "an operator and an
    innocent"; until the ninth session only decoys were counted)."""
    index = _KeyIndex(truth)
    merged = []
    for lead_id, keys in zip(lead_ids, ranked, strict=True):
        n_ops, n_decoys = len(index.operators_of(keys)), len(index.decoys_of(keys))
        innocent = any(k not in index.operators and k not in index.decoys for k in keys)
        if n_ops >= 2 or (n_ops >= 1 and (n_decoys >= 1 or innocent)):
            merged.append(lead_id)
    return merged


def read_export(run_dir: Path, name: str) -> pl.DataFrame | None:
    """An export's CSV with every column as text (the BOM is dropped), or None if absent."""
    path = run_dir / f"{name}.csv"
    if not path.exists():
        return None
    return pl.read_csv(path, infer_schema=False, encoding="utf8")


def lead_metrics(leads: pl.DataFrame, truth: Truth, as_of: date) -> dict[str, Any]:
    """Ranking metrics (all operators, and new leads: see `new_lead_metrics`), ring coverage
    and false merges of the entity_leads export."""
    if "rank" in leads.columns:
        leads = leads.sort(pl.col("rank").cast(pl.Int64))
    rows = leads.to_dicts()
    ranked = [lead_keys(r) for r in rows]
    lead_ids = [str(r.get("lead_id") or "") for r in rows]
    merges = false_merges(lead_ids, ranked, truth)
    return ranking_metrics(ranked, truth) | {
        "new_leads": new_lead_metrics(ranked, truth, as_of),
        "ring_coverage": ring_coverage(ranked, truth),
        f"ring_coverage@{TOP}": ring_coverage_top(ranked, truth),
        "false_merges": len(merges),
        f"false_merges@{TOP}": len(false_merges(lead_ids[:TOP], ranked[:TOP], truth)),
        "false_merge_leads": merges[:10],
    }


def naive_subjects_sql() -> str:
    """Complaint subjects of the last $since..$as_of days, most complained-about first."""
    return """
        with

        complaints as (
            select platform, shop_id, subject_uscc, subject_name
            from staging.complaints
            where cast(received_at as date) between $since and $as_of
        ),

        subjects as (
            select
                case
                    when nullif(trim(platform), '') is not null
                        and nullif(trim(shop_id), '') is not null
                        then 'shop:' || trim(platform) || ':' || trim(shop_id)
                    when nullif(trim(subject_uscc), '') is not null
                        then 'uscc:' || upper(trim(subject_uscc))
                    when nullif(trim(subject_name), '') is not null
                        then 'name:' || trim(subject_name)
                end as subject
            from complaints
        ),

        final as (
            select subject, count(*) as complaints
            from subjects
            where subject is not null
            group by subject
            order by complaints desc, subject
        )

        select * from final
    """


def naive_baseline(con: duckdb.DuckDBPyConnection, as_of: date, truth: Truth) -> dict[str, Any]:
    """The same ranking metrics for subjects ranked by their complaint count (180 days)."""
    params = {"as_of": as_of, "since": as_of - timedelta(days=NAIVE_DAYS - 1)}
    subjects = con.sql(naive_subjects_sql(), params=params).pl()
    ranked = [{s} for s in subjects["subject"].to_list()]
    return ranking_metrics(ranked, truth) | {"new_leads": new_lead_metrics(ranked, truth, as_of)}


# --- hotspots -----------------------------------------------------------------------------


def hotspot_precision(
    cells: Sequence[tuple[str, str]], problems: frozenset[tuple[str, str]]
) -> dict[str, Any]:
    """precision@k of a ranking of (county, category) cells against the problem cells."""
    out: dict[str, Any] = {"ranked": len(cells), "problem_cells": len(problems)}
    for k in HOTSPOT_PRECISION_AT:
        out[f"precision@{k}"] = sum(1 for c in cells[:k] if c in problems) / k
    return out


def hotspot_metrics(hotspots: pl.DataFrame, truth: Truth, as_of: date) -> dict[str, Any]:
    """precision@10 and @20 of the export's county rows (prefecture rows left out)."""
    if "rank" in hotspots.columns:
        hotspots = hotspots.sort(pl.col("rank").cast(pl.Int64))
    county = hotspots.filter(pl.col("region_code").is_in(list(regions())))
    cells = list(zip(county["region_code"], county["product_category"], strict=True))
    return hotspot_precision(cells, truth.problem_cells(as_of))


def complaint_volume_cells_sql() -> str:
    """(county, category) cells by their complaints of the last $days days, most first."""
    return """
        with

        complaints as (
            select region_code, product_category
            from staging.complaints
            where cast(received_at as date) between cast($as_of as date) - ($days - 1)
                and cast($as_of as date)
        ),

        final as (
            select region_code, product_category, count(*) as complaints
            from complaints
            group by all
            order by complaints desc, region_code, product_category
        )

        select * from final
    """


def hotspot_baseline(con: duckdb.DuckDBPyConnection, as_of: date, truth: Truth) -> dict[str, Any]:
    """The same precision for county × category cells ranked by complaint volume (90 days)."""
    params = {"as_of": as_of, "days": HOTSPOT_DAYS}
    frame = con.sql(complaint_volume_cells_sql(), params=params).pl()
    frame = frame.filter(pl.col("region_code").is_in(list(regions())))
    cells = list(zip(frame["region_code"], frame["product_category"], strict=True))
    return hotspot_precision(cells, truth.problem_cells(as_of))


# --- surges -------------------------------------------------------------------------------


def _prefecture(county: str) -> str:
    region = regions().get(county)
    return region.prefecture_code if region else county[:4] + "00"


def _parse_alerts(alerts: pl.DataFrame) -> pl.DataFrame:
    """alert_date as a Date, whether read from the CSV (text) or computed (Date)."""
    if alerts.schema["alert_date"] == pl.String:
        return alerts.with_columns(pl.col("alert_date").str.to_date("%Y-%m-%d"))
    return alerts


def surge_metrics(
    alerts: pl.DataFrame, truth: Truth, as_of: date, lookback_days: int
) -> dict[str, Any]:
    """Detection and delay of planted surges, and false alerts counted as alert-weeks.

    A surge whose days overlap the look-back window is detected when an alert for its county
    or prefecture and category (any signal) is dated within [start, end]; delay = the first
    such alert_date - start (`within_target`: surges with a delay of at most
    TARGET_DELAY_DAYS). A surge is also timed from the day it became evident (its planted
    complaints reached SURGE_EVIDENT_EVENTS, `evident_from` in the truth): a ramp that adds
    one complaint in its first days cannot be told from an ordinary day before then
    (`within_target_of_evident`; a surge without that day counts from its start). Alerts matching no surge are false; they are counted as
    distinct (region, category, ISO week), apart from those falling in a month in which the
    category has a seasonal rise ("seasonal false alerts").
    """
    alerts = _parse_alerts(alerts)
    window_start = as_of - timedelta(days=lookback_days - 1)
    rows = alerts.to_dicts()
    matched: set[int] = set()
    per_surge = []
    for surge in truth.surges:
        start, end = date.fromisoformat(surge["start"]), date.fromisoformat(surge["end"])
        counties = surge.get("counties") or [surge["region_code"]]
        places = {*counties, *(_prefecture(c) for c in counties)}
        hits = [
            i
            for i, a in enumerate(rows)
            if a["region_code"] in places
            and a["product_category"] == surge["product_category"]
            and start <= a["alert_date"] <= end
        ]
        matched.update(hits)
        first = min(
            hits, key=lambda i: (rows[i]["alert_date"], rows[i]["region_code"]), default=None
        )
        evident = date.fromisoformat(surge.get("evident_from") or surge["start"])
        per_surge.append(
            {
                "surge_id": surge.get("surge_id", ""),
                "region_code": "+".join(counties),
                "product_category": surge["product_category"],
                "start": start.isoformat(),
                "end": end.isoformat(),
                "in_window": start <= as_of and end >= window_start,
                "detected": first is not None,
                "alert_date": rows[first]["alert_date"].isoformat() if first is not None else None,
                "alert_region": rows[first]["region_code"] if first is not None else None,
                "alert_signal": rows[first]["signal"] if first is not None else None,
                "delay_days": (rows[first]["alert_date"] - start).days
                if first is not None
                else None,
                "shape": surge.get("shape"),
                "evident_from": evident.isoformat(),
                "delay_from_evident": (rows[first]["alert_date"] - evident).days
                if first is not None
                else None,
            }
        )
    in_window = [s for s in per_surge if s["in_window"]]
    delays = [s["delay_days"] for s in in_window if s["detected"]]
    evident_delays = [s["delay_from_evident"] for s in in_window if s["detected"]]
    false_weeks: set[tuple[str, str, int, int]] = set()
    seasonal_weeks: set[tuple[str, str, int, int]] = set()
    seasonal_rows = 0
    for i, a in enumerate(rows):
        if i in matched:
            continue
        iso = a["alert_date"].isocalendar()
        week = (a["region_code"], a["product_category"], iso.year, iso.week)
        if _in_season(a, truth.seasonal):
            seasonal_weeks.add(week)
            seasonal_rows += 1
        else:
            false_weeks.add(week)
    return {
        "alerts": len(rows),
        "surges": len(in_window),
        "detected": len(delays),
        "detection_rate": len(delays) / len(in_window) if in_window else None,
        "within_target": sum(1 for d in delays if d <= TARGET_DELAY_DAYS),
        "within_target_of_evident": sum(1 for d in evident_delays if d <= TARGET_DELAY_DAYS),
        "mean_delay_days": statistics.fmean(delays) if delays else None,
        "max_delay_days": max(delays) if delays else None,
        "matched_alerts": len(matched),
        "false_alerts": len(rows) - len(matched) - seasonal_rows,
        "false_alert_weeks": len(false_weeks),
        "seasonal_false_alerts": seasonal_rows,
        "seasonal_false_alert_weeks": len(seasonal_weeks),
        "per_surge": per_surge,
    }


def _in_season(alert: dict[str, Any], seasonal: Iterable[dict[str, Any]]) -> bool:
    for rise in seasonal:
        region = rise.get("region_code")
        if (
            rise["product_category"] == alert["product_category"]
            and alert["alert_date"].month in rise["months"]
            and (region is None or alert["region_code"] in {region, _prefecture(region)})
        ):
            return True
    return False


def ears_c2_alerts(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """The alerts EARS C2 would have raised from the same warehouse and configuration."""
    config = load_config()
    series = daily_series(con, as_of, config.history_days, config)
    return detect_alerts(series, as_of, config, method="ears_c2")


# --- the whole evaluation -----------------------------------------------------------------


def evaluate(world_dir: Path, run_dir: Path, warehouse: Path | None) -> dict[str, Any]:
    """Metrics of the run in `run_dir` (OUT/<as-of>, named by its as-of date) against the
    truth of `world_dir`; the naive baseline and EARS C2 need the run's `warehouse` (skipped
    when it is None or missing)."""
    truth = load_truth(world_dir)
    as_of = date.fromisoformat(run_dir.name)
    lookback = load_config().lookback_days
    leads = read_export(run_dir, "entity_leads")
    alerts = read_export(run_dir, "alerts")
    hotspots = read_export(run_dir, "hotspots")
    metrics: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "operators": len(truth.operators),
        "decoys": len(truth.decoys),
        "leads": lead_metrics(leads, truth, as_of) if leads is not None else None,
        "naive_baseline": None,
        "surges": surge_metrics(alerts, truth, as_of, lookback) if alerts is not None else None,
        "surges_ears_c2": None,
        "hotspots": hotspot_metrics(hotspots, truth, as_of) if hotspots is not None else None,
        "hotspots_baseline": None,
    }
    if warehouse is not None and warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            metrics["naive_baseline"] = naive_baseline(con, as_of, truth)
            metrics["hotspots_baseline"] = hotspot_baseline(con, as_of, truth)
            ears = ears_c2_alerts(con, as_of)
            metrics["surges_ears_c2"] = surge_metrics(ears, truth, as_of, lookback)
        finally:
            con.close()
    return metrics


# --- report -------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(header)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _lead_section(metrics: dict[str, Any]) -> list[str]:
    leads, naive = metrics["leads"], metrics["naive_baseline"]
    if leads is None:
        return ["Leads: no entity_leads.csv in the run directory."]
    names = [f"precision@{k}" for k in PRECISION_AT] + ["average_precision", f"recall@{RECALL_AT}"]
    names += [f"decoys@{k}" for k in PRECISION_AT] + [f"duplicates@{k}" for k in PRECISION_AT]
    names += ["ranked"]
    new, naive_new = leads["new_leads"], naive["new_leads"] if naive else None
    rows = [
        [n, leads[n], naive[n] if naive else None, new[n], naive_new[n] if naive_new else None]
        for n in names
    ]
    cov, top = leads["ring_coverage"], leads[f"ring_coverage@{TOP}"]
    merged = ", ".join(leads["false_merge_leads"])
    header = ["metric", "entity_leads", "naive: complaint count"]
    header += ["new leads: entity_leads", "new leads: naive"]
    return [
        f"Leads ({metrics['operators']} planted operators, {metrics['decoys']} decoys;"
        f" new leads = the {metrics['operators'] - new['known_operators']} operators without a"
        " confirmed or referred case closed by the as-of date, on the list without the"
        f" {new['known_operators']} caught operators' leads)",
        _table(header, rows),
        f"Ring shop coverage ({cov['operators']} operators with 2+ shops):"
        f" mean {_cell(cov['mean'])}, min {_cell(cov['min'])},"
        f" complete in one lead {cov['complete']}",
        f"Ring shop coverage over the top {TOP} ({top['operators']} rings with a lead there):"
        f" mean {_cell(top['mean'])}, min {_cell(top['min'])}, complete {top['complete']}",
        f"False merges: {leads['false_merges']}"
        + (f" ({merged})" if merged else "")
        + f"; in the top {TOP}: {leads[f'false_merges@{TOP}']}",
    ]


def _surge_section(metrics: dict[str, Any]) -> list[str]:
    main, ears = metrics["surges"], metrics["surges_ears_c2"]
    if main is None:
        return ["Surges: no alerts.csv in the run directory."]
    names = [
        "surges",
        "detected",
        "detection_rate",
        "within_target",
        "within_target_of_evident",
        "mean_delay_days",
        "max_delay_days",
        "alerts",
        "false_alerts",
        "false_alert_weeks",
        "seasonal_false_alerts",
        "seasonal_false_alert_weeks",
    ]
    rows = [[n, main[n], ears[n] if ears else None] for n in names]
    per = [
        [
            s["surge_id"],
            s["region_code"],
            s["product_category"],
            f"{s['start']}..{s['end']}",
            s["shape"],
            s["evident_from"],
            "yes" if s["in_window"] else "no",
            s["alert_date"],
            s["delay_days"],
            s["delay_from_evident"],
            f"{s['alert_region']} {s['alert_signal']}" if s["detected"] else None,
        ]
        for s in main["per_surge"]
    ]
    header = ["surge", "county", "category", "days", "shape", "evident", "in window"]
    header += ["first alert", "delay", "from evident", "by"]
    return [
        "Surges (planted surges overlapping the look-back window;"
        f" within_target = detected within {TARGET_DELAY_DAYS} days of the start;"
        f" _of_evident = of the day its planted complaints reached {SURGE_EVIDENT_EVENTS})",
        _table(["metric", "alerts.csv", "EARS C2"], rows),
        _table(header, per),
    ]


def _hotspot_section(metrics: dict[str, Any]) -> list[str]:
    main, base = metrics.get("hotspots"), metrics.get("hotspots_baseline")
    if main is None:
        return ["Hotspots: no hotspots.csv in the run directory."]
    names = [f"precision@{k}" for k in HOTSPOT_PRECISION_AT] + ["ranked"]
    rows = [[n, main[n], base[n] if base else None] for n in names]
    return [
        f"Hotspots (county × category cells; {main['problem_cells']} problem cells: where a"
        " planted operator sells or ships from, in its categories, or a surge ran in the last"
        f" {HOTSPOT_DAYS} days)",
        _table(["metric", "hotspots.csv", f"complaint volume ({HOTSPOT_DAYS} days)"], rows),
    ]


def format_report(metrics: dict[str, Any]) -> str:
    """Plain-text tables of `evaluate`'s metrics."""
    parts = [f"Evaluation of the run for {metrics['as_of']} against the demo world's truth"]
    parts += _lead_section(metrics) + _hotspot_section(metrics) + _surge_section(metrics)
    return "\n\n".join(parts) + "\n"
