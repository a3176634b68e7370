"""Precision of past lead lists by week (README, Measured): each week's list — recorded by a
run, or replayed from what was known on its day (`flows.replay`, rolled back) — against the
outcomes closed and the officers' dispositions checked within the horizon after it
(`models.explore.lead_outcomes`: 已立案 / 已移送 and confirmed outcomes are hits,
checked-nothing-found and unconfirmed outcomes misses). Prints a Markdown table.

    python -m tools.lead_precision [--warehouse FILE] [--weeks 12] [--horizon 90]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import polars as pl

from flows.replay import replay_lead_history
from flows.settings import Settings
from models.explore import horizon_complete, lead_outcomes, precision_at_k, stored_lead_history
from transforms.explore import last_run_as_of, read_only
from transforms.warehouse import connect, warehouse_lock

KS = (10, 20, 50)


def weekly_days(as_of: dt.date, weeks: int, horizon_days: int) -> list[dt.date]:
    """The `weeks` Mondays, oldest first, whose horizon ends by `as_of` (the latest first)."""
    last = as_of - dt.timedelta(days=horizon_days)
    last -= dt.timedelta(days=last.weekday())
    return [last - dt.timedelta(weeks=w) for w in reversed(range(weeks))]


def weekly_precision(warehouse: Path, weeks: int, horizon_days: int) -> pl.DataFrame:
    """One row per week's list: as_of, leads, recorded or replayed, the number of answers
    (outcomes, dispositions) of its top max(KS), and precision@k and base rate."""
    with read_only(warehouse) as con:
        as_of = last_run_as_of(con)
        stored = stored_lead_history(con)
    assert as_of is not None, "no run recorded in this warehouse"
    days = weekly_days(as_of, weeks, horizon_days)
    recorded = set(stored["as_of"].to_list())
    to_replay = [d for d in days if d not in recorded]
    with warehouse_lock(warehouse), connect(warehouse) as con:
        replayed = replay_lead_history(con, to_replay)
    history = pl.concat([stored.filter(pl.col("as_of").is_in(days)), replayed])
    with read_only(warehouse) as con:
        outcomes = lead_outcomes(con, history, horizon_days)
    table = horizon_complete(precision_at_k(outcomes, KS), horizon_days, as_of)
    wide = table.pivot(on="k", index=["as_of", "base_rate", "complete"], values="precision")
    wide = wide.rename({str(k): f"precision@{k}" for k in KS})
    top = outcomes.filter(pl.col("rank") <= max(KS), pl.col("label").is_not_null())
    answers = top.group_by("as_of").agg(
        pl.col("outcome_id").str.starts_with("disposition:").sum().alias("dispositions"),
        (~pl.col("outcome_id").str.starts_with("disposition:")).sum().alias("outcomes"),
    )
    leads = history.group_by("as_of").agg(pl.len().alias("leads"))
    return (
        wide.join(leads, on="as_of")
        .join(answers, on="as_of", how="left")
        .with_columns(
            pl.col("as_of").is_in(to_replay).alias("replayed"),
            pl.col("outcomes", "dispositions").fill_null(0),
        )
        .sort("as_of")
    )


def markdown(table: pl.DataFrame) -> str:
    head = ["week of", "leads", *(f"precision@{k}" for k in KS), "base rate", "answers in top 50"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table.iter_rows(named=True):
        cells = [
            f"{r['as_of']}{'' if r['complete'] else ' (horizon not over)'}",
            str(r["leads"]),
            *(f"{r[f'precision@{k}']:.2f}" for k in KS),
            f"{r['base_rate']:.3f}",
            f"{r['outcomes']} outcomes, {r['dispositions']} dispositions",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--horizon", type=int, default=90, help="days after each list")
    args = parser.parse_args()
    warehouse = args.warehouse or Settings().warehouse
    print(markdown(weekly_precision(warehouse, args.weeks, args.horizon)))


if __name__ == "__main__":
    main()
