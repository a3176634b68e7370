"""The version in force of each key (`transforms.load.in_force_sql`: the window only over the keys
delivered more than once) gives the rows of the window over every row (the definition)."""

from __future__ import annotations

import duckdb
import pytest

from data_contracts.contract import contracts
from transforms.load import in_force_sql, staging_history_ddl_sql


def window_sql(feed: str, delivered_before: bool) -> str:
    """The definition: the latest delivery wins, then the last file, then the last row."""
    contract = contracts()[feed]
    cols = ", ".join(c.name for c in contract.staging_columns)
    where = "where _delivered < $delivered_before" if delivered_before else ""
    return f"""
        select {cols}, _file, _row_number from staging.{feed}_history {where}
        qualify row_number() over (
            partition by {", ".join(contract.key)}
            order by _delivered desc, _file desc, _row_number desc
        ) = 1"""


# (platform, listing_id, snapshot_date, title, _file, _row_number, _delivered): keys delivered
# once, twice in two deliveries, twice in one file, three times with a tie on the delivery
# moment broken by the file, and a key with a missing part (never accepted, kept as the
# window keeps it)
ROWS = [
    ("taobao", "a", "2026-06-01", "once", "f1", 1, 10.0),
    ("taobao", "b", "2026-06-01", "old", "f1", 2, 10.0),
    ("taobao", "b", "2026-06-01", "new", "f2", 1, 20.0),
    ("taobao", "c", "2026-06-01", "first row", "f1", 3, 10.0),
    ("taobao", "c", "2026-06-01", "last row", "f1", 7, 10.0),
    ("jd", "c", "2026-06-01", "other platform", "f1", 4, 10.0),
    ("jd", "d", "2026-06-02", "first file", "f3", 1, 30.0),
    ("jd", "d", "2026-06-02", "second file", "f4", 1, 30.0),
    ("jd", "d", "2026-06-02", "earlier", "f5", 1, 5.0),
    ("jd", None, "2026-06-02", "no id", "f3", 2, 30.0),
    ("jd", None, "2026-06-02", "no id later", "f4", 2, 31.0),
]


@pytest.mark.parametrize("delivered_before", [None, 25.0, 30.5])
def test_the_version_in_force_is_the_windows(delivered_before: float | None) -> None:
    con = duckdb.connect(":memory:")
    con.execute("create schema staging")
    con.execute(staging_history_ddl_sql(contracts()["listings"]))
    con.executemany(
        "insert into staging.listings_history by name select ? as platform, ? as listing_id,"
        " cast(? as date) as snapshot_date, ? as title, ? as _file, ? as _row_number,"
        " ? as _delivered",
        ROWS,
    )
    before = delivered_before is not None
    params = {"delivered_before": delivered_before} if before else None
    fast = con.sql(in_force_sql(contracts()["listings"], before), params=params).pl()
    expected = con.sql(window_sql("listings", before), params=params).pl()
    assert fast.sort(fast.columns).equals(expected.sort(expected.columns))
    titles = set(fast["title"])
    assert {"once", "other platform"} <= titles and "old" not in titles
    assert ("new" in titles) == (delivered_before is None or delivered_before > 20.0)
    assert "first row" not in titles and ("second file" in titles) == (delivered_before != 25.0)
