"""The lead list's follow-up columns and the lead history.

scores.lead_history keeps (as_of, lead_id, rank, score, risk_level) of the first run of every
as-of date: the list officers were told that day; running a day again keeps it. A run reads
only history dated before its own as-of date (replaying an earlier day never sees later runs),
and only of the dates first run before its own date was (scores.lead_history_basis numbers the
dates in the order they were first run): each date's basis is frozen at its first run, so
back-filling or replaying an earlier date later changes nothing in a later date's list.

- `is_new`: the lead was not in the previous run's list (every lead is new in the first run);
- `rank_change`: previous rank − rank (positive: moved up), empty for a new lead;
- `first_flagged`: the first run that listed the lead;
- `status`: what enforcement has done since, from outcomes and inspections that carry the
  lead's id, or that match its entity within `status_lookback_days` (inspections then only
  when targeted or a complaint follow-up, the kinds that follow a lead): `closed` when the
  latest such action is an outcome, `under_investigation` when it is an inspection, else
  `new` (first flagged today) or `open`; `status_on` is the day of that latest action;
- evidence ids: the few complaints, failed inspections and suspicious listings behind the score.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from data_contracts.violations import violation_params
from transforms.lead_history import register_first_run
from transforms.warehouse import sql_file

FOLLOW_UP_COLUMNS = [
    "status",
    "status_on",
    "is_new",
    "first_flagged",
    "rank_change",
    "complaint_ids",
    "inspection_ids",
    "listing_ids",
]


def history_basis_sql() -> str:
    """The lead history a run as of $as_of reads: the lists of earlier dates that were first
    run before $as_of was (all earlier dates when $as_of has not been run)."""
    return sql_file("lead_history/history_basis.sql")


def previous_runs_sql() -> str:
    """Per lead: its rank in the last run before $as_of, and the first run that listed it."""
    return f"""
        with

        history as ({history_basis_sql()}),

        previous as (
            select lead_id, rank as previous_rank
            from history
            where as_of = (select max(as_of) from history)
        ),
        first_flagged as (
            select lead_id, min(as_of) as first_flagged from history group by lead_id
        ),

        final as (
            select f.lead_id, f.first_flagged, p.previous_rank
            from first_flagged f
            left join previous p using (lead_id)
        )

        select * from final
    """


def lead_actions_sql() -> str:
    """Per lead: the day and kind of the latest enforcement action on it up to $as_of."""
    return sql_file("lead_history/lead_actions.sql")


def evidence_ids_sql() -> str:
    """Per entity: the ids of its top complaints, failed inspections and suspicious listings."""
    return sql_file("lead_history/evidence_ids.sql")


def _query(
    con: duckdb.DuckDBPyConnection, sql: str, leads: pl.DataFrame, params: dict[str, object]
) -> pl.DataFrame:
    con.register("_leads", leads.select("lead_id").to_arrow())
    try:
        return con.sql(sql, params=params).pl()
    finally:
        con.unregister("_leads")


def follow_up_columns(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    leads: pl.DataFrame,
    evidence_ids: int = 5,
    status_lookback_days: int = 180,
) -> pl.DataFrame:
    """The leads with status, is_new, first_flagged, rank_change and evidence ids added.

    Needs the warehouse's core and features tables built as of `as_of`.
    """
    register_first_run(con, as_of)
    previous = con.sql(previous_runs_sql(), params={"as_of": as_of}).pl()
    has_previous_run = previous.height > 0
    actions = _query(
        con, lead_actions_sql(), leads, {"as_of": as_of, "lookback": status_lookback_days}
    )
    counterfeit = violation_params()["counterfeit_types"]
    params = {"as_of": as_of, "top": evidence_ids, "counterfeit_types": counterfeit}
    evidence = _query(con, evidence_ids_sql(), leads, params)
    annotated = (
        leads.join(previous, on="lead_id", how="left")
        .join(actions, on="lead_id", how="left")
        .join(evidence, on="lead_id", how="left")
    )
    is_new = pl.col("previous_rank").is_null() if has_previous_run else pl.lit(True)
    first_flagged = pl.col("first_flagged").fill_null(pl.lit(as_of))
    status = (
        pl.when(pl.col("status").is_not_null())
        .then(pl.col("status"))
        .when(first_flagged < pl.lit(as_of))
        .then(pl.lit("open"))
        .otherwise(pl.lit("new"))
    )
    return annotated.with_columns(
        status.alias("status"),
        is_new.alias("is_new"),
        first_flagged.alias("first_flagged"),
        (pl.col("previous_rank") - pl.col("rank")).alias("rank_change"),
    ).select(_with_follow_up(leads.columns))


def _with_follow_up(columns: list[str]) -> list[str]:
    """The lead columns with the follow-up ones after estimated_turnover_cny (else at the end)."""
    at = (
        columns.index("estimated_turnover_cny") + 1
        if "estimated_turnover_cny" in columns
        else len(columns)
    )
    return [*columns[:at], *FOLLOW_UP_COLUMNS, *columns[at:]]
