"""What an officer's disposition does to a lead, and dispositions as training labels.

The disposition in force for a lead on a day is the latest one imported by that day
(`staging.dispositions_history`, transforms/dispositions.py). On the lead list it sets:

- 已核查未发现问题 (checked, nothing found): `status` = `held` until `held_until` (checked_on
  + `hold_days`), out of the to-do list and never `is_new`, unless new evidence arrives (a
  complaint, a failed inspection or a suspicious listing first seen after the check): then
  the lead is listed as usual with `new_since_checked` = the day it was checked;
- 已立案 / 已移送公安: `status` = `in_progress`: out of the to-do list, never `is_new` again;
- 核查中: `under_investigation`; 非本辖区: `not_our_area` (out of the team's to-do list);
- 待核查: nothing (the lead is listed as if no disposition had been recorded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.config import ConfigFile, read_config
from models.scoring import CONFIG_DIR
from transforms.dispositions import ensure_disposition_tables
from transforms.warehouse import has_table, sql_file

HELD_OUT = ("held", "in_progress", "not_our_area")  # statuses kept out of the to-do list
DISPOSITION_COLUMNS = ["disposition", "disposition_on", "held_until", "new_since_checked"]


@dataclass(frozen=True)
class DispositionConfig:
    hold_days: int
    labels: dict[str, tuple[int, float]]


class DispositionsFile(ConfigFile):
    """models/config/dispositions.yaml: days a checked lead is held out; each disposition
    that trains the model with its (label, weight)."""

    hold_days: int
    labels: dict[str, tuple[int, float]] | None = None


def load_disposition_config(path: Path | None = None) -> DispositionConfig:
    raw = read_config(path or CONFIG_DIR / "dispositions.yaml", DispositionsFile)
    return DispositionConfig(
        hold_days=int(raw["hold_days"]),
        labels={k: (int(v[0]), float(v[1])) for k, v in (raw.get("labels") or {}).items()},
    )


def in_force_sql() -> str:
    """Per lead: the disposition in force on $as_of (the latest imported by then)."""
    return sql_file("dispositions/in_force.sql")


def last_evidence_sql() -> str:
    """Per lead of _leads: the day of its newest evidence up to $as_of (a complaint, a failed
    inspection, or the first snapshot of a suspicious listing)."""
    return sql_file("dispositions/last_evidence.sql")


def apply_dispositions(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    leads: pl.DataFrame,
    config: DispositionConfig | None = None,
) -> pl.DataFrame:
    """The leads (with their follow-up columns) with the disposition columns added and
    `status` / `is_new` as the dispositions in force on `as_of` say."""
    config = config or load_disposition_config()
    ensure_disposition_tables(con)
    in_force = con.sql(in_force_sql(), params={"as_of": as_of}).pl()
    con.register("_leads", leads.select("lead_id").to_arrow())
    try:
        evidence = con.sql(last_evidence_sql(), params={"as_of": as_of}).pl()
    finally:
        con.unregister("_leads")
    marked = (
        leads.join(in_force.rename({"status": "disposition"}), on="lead_id", how="left")
        .join(evidence, on="lead_id", how="left")
        .with_columns(pl.col("checked_on").alias("disposition_on"))
    )
    checked = pl.col("disposition") == "checked_nothing_found"
    new_evidence = pl.col("last_evidence_on") > pl.col("checked_on")
    until = pl.col("checked_on") + pl.duration(days=config.hold_days)
    held = checked & ~new_evidence.fill_null(False) & (pl.lit(as_of) < until)
    status = (
        pl.when(held)
        .then(pl.lit("held"))
        .when(pl.col("disposition").is_in(["case_opened", "referred_to_police"]))
        .then(pl.lit("in_progress"))
        .when(pl.col("disposition") == "checking")
        .then(pl.lit("under_investigation"))
        .when(pl.col("disposition") == "not_our_area")
        .then(pl.lit("not_our_area"))
        .otherwise(pl.col("status"))
    )
    return marked.with_columns(
        status.alias("status"),
        (pl.col("is_new") & ~status.is_in(HELD_OUT)).alias("is_new"),
        pl.when(held).then(until).alias("held_until"),
        pl.when(checked & new_evidence.fill_null(False))
        .then(pl.col("checked_on"))
        .alias("new_since_checked"),
        pl.col("disposition").replace({"pending": None}),
    ).select([*leads.columns, *DISPOSITION_COLUMNS])


def disposition_labels_sql() -> str:
    """The dispositions known on $as_of (imported by then, checked on or before it) with the
    first day their lead was listed before the check."""
    return f"""
        with

        in_force as ({in_force_sql()}),
        history as (
            select lead_id, as_of from scores.lead_history where as_of <= cast($as_of as date)
        ),

        final as (
            select d.lead_id, d.status, d.checked_on, d.imported_on,
                   min(h.as_of) as first_flagged
            from in_force d
            left join history h on h.lead_id = d.lead_id and h.as_of <= d.checked_on
            where d.checked_on <= cast($as_of as date)
            group by all
        )

        select * from final order by lead_id
    """


def known_dispositions(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[tuple[object, ...]]:
    """The dispositions the lead model may learn from on `as_of` (none without the tables;
    read-only connections welcome)."""
    if not (
        has_table(con, "staging", "dispositions_history")
        and has_table(con, "scores", "lead_history")
    ):
        return []
    return con.execute(disposition_labels_sql(), {"as_of": as_of}).fetchall()


def disposition_cases(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    open_lag_days: int,
    features_day: Callable[[dt.date], dt.date],
    config: DispositionConfig | None = None,
) -> list[tuple[object, ...]]:
    """Training cases from dispositions, in the lead model's case form (models/train.py
    CASE_SCHEMA): id `disposition:<lead_id>`, closed on the day it was checked, opened on the
    lead's first-flagged day; only dispositions imported by `as_of` count (no leak)."""
    config = config or load_disposition_config()
    rows: list[tuple[object, ...]] = []
    for lead_id, status, checked_on, _imported_on, first_flagged in known_dispositions(con, as_of):
        if status not in config.labels:
            continue
        label, weight = config.labels[str(status)]
        assert isinstance(checked_on, dt.date)  # a labelled status always has its date
        opened = first_flagged or checked_on - dt.timedelta(days=open_lag_days)
        assert isinstance(opened, dt.date)
        rows.append(
            (
                f"disposition:{lead_id}",
                checked_on,
                f"disposition:{status}",
                lead_id,
                None,
                None,
                first_flagged,
                label,
                weight,
                opened,
                features_day(opened),
            )
        )
    return rows


def disposition_outcomes_sql() -> str:
    """Each lead of each past run in _history with the dispositions checked in the $horizon
    days after that run (the version in force now), in `models.explore.lead_outcomes` form."""
    return sql_file("dispositions/disposition_outcomes.sql")


def disposition_outcomes(
    con: duckdb.DuckDBPyConnection, horizon_days: int, config: DispositionConfig | None = None
) -> pl.DataFrame:
    """The dispositions that answer the leads of `_history` (registered by the caller), with
    their label (1 case opened or referred, 0 checked and nothing found, null otherwise)."""
    config = config or load_disposition_config()
    if not has_table(con, "staging", "dispositions_history"):
        return pl.DataFrame()
    found = con.sql(disposition_outcomes_sql(), params={"horizon": horizon_days}).pl()
    labels = {k: v[0] for k, v in config.labels.items()}
    label = pl.col("outcome").replace_strict(labels, default=None, return_dtype=pl.Int64)
    return found.with_columns(label.alias("label"))
