"""Tiny hand-written feeds in the warehouse's own staging tables, for the SQL stages.

`stage` creates the warehouse schemas (`transforms.load.ensure_warehouse`) and writes the
given rows as one delivery per feed (calls add to it) into `staging.<feed>_history`, so `staging.<feed>` (the
version in force) and `restricted.complainant_phones` are the loader's own views. Columns a
row leaves out are null; a complaint's `complainant_phone` goes to the restricted table.
"""

from __future__ import annotations

from typing import Any

import duckdb

from data_contracts.contract import contracts
from transforms.load import ensure_warehouse


def stage(con: duckdb.DuckDBPyConnection, **feeds: list[dict[str, Any]]) -> None:
    """Create the warehouse and load `feed=[row, …]` as delivered rows."""
    ensure_warehouse(con)
    for feed, rows in feeds.items():
        columns = [c.name for c in contracts()[feed].staging_columns]
        unknown = {k for row in rows for k in row} - {*columns, "complainant_phone"}
        assert not unknown, f"{feed} has no column {sorted(unknown)}"
        placeholders = ", ".join("?" for _ in columns)
        first = con.execute(f"select count(*) + 1 from staging.{feed}_history").fetchone()
        assert first is not None
        for number, row in enumerate(rows, start=int(first[0])):
            con.execute(
                f"insert into staging.{feed}_history values ({placeholders}, ?, ?, ?, ?)",
                [*(row.get(c) for c in columns), f"{feed}.csv", feed, number, 0.0],
            )
            if row.get("complainant_phone") is not None:
                con.execute(
                    "insert into restricted.complaint_phones_history values (?, ?, ?, ?)",
                    [row["complaint_id"], row["complainant_phone"], feed, number],
                )
