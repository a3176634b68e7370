"""Opening the warehouse and running the SQL files that build its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl

SQL_DIR = Path(__file__).resolve().parent / "sql"


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the DuckDB warehouse file."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path))


def sql_file(relative: str) -> str:
    """The text of a SQL file under transforms/sql (one output table per file)."""
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def materialize(
    con: duckdb.DuckDBPyConnection, table: str, relative: str, params: dict[str, Any] | None = None
) -> None:
    """Create or replace `table` from the select in a SQL file, binding only the parameters it uses."""
    query = sql_file(relative)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in query}
    con.execute(f"create or replace table {table} as {query}", used or None)


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None) -> Any:
    """The single value a query returns (None when it returns no row)."""
    rows = con.execute(query, params or []).fetchall()
    return rows[0][0] if rows else None


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create or replace `table` with the rows of a Polars frame."""
    con.register("_frame", frame.to_arrow())
    try:
        con.execute(f"create or replace table {table} as select * from _frame")
    finally:
        con.unregister("_frame")
