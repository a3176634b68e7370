"""Write the spec's exports: NAME.csv (UTF-8 with BOM, RFC 4180) and NAME.parquet, same columns."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from transforms.landing import LandingScan

DATA_QUALITY_COLUMNS = [
    "feed",
    "file",
    "status",
    "rows_read",
    "rows_accepted",
    "rows_quarantined",
    "issues",
]


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """A CSV as the spec's exports are written: UTF-8 with BOM, RFC 4180 (CRLF line breaks,
    fields quoted when they hold a comma, quote or line break), null as an empty field,
    dates YYYY-MM-DD."""
    frame.write_csv(
        path, include_bom=True, null_value="", date_format="%Y-%m-%d", line_terminator="\r\n"
    )


def write_export(frame: pl.DataFrame, out_dir: Path, name: str) -> list[Path]:
    """Write one export in both formats; Parquet numbers are DOUBLE as the spec says."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = out_dir / f"{name}.csv", out_dir / f"{name}.parquet"
    write_csv(frame, csv_path)
    numeric = [c for c, t in frame.schema.items() if t.is_integer()]
    frame.with_columns(pl.col(numeric).cast(pl.Float64)).write_parquet(parquet_path)
    return [csv_path, parquet_path]


def data_quality(con: duckdb.DuckDBPyConnection, scan: LandingScan) -> pl.DataFrame:
    """One row per file now in the landing directory, from the manifest entry of its content."""
    seen = pl.DataFrame(
        {
            "feed": [f.feed for f in scan.files],
            "file": [f.rel for f in scan.files],
            "size_bytes": [f.size for f in scan.files],
            "mtime": [f.mtime for f in scan.files],
        },
        schema={"feed": pl.String, "file": pl.String, "size_bytes": pl.Int64, "mtime": pl.Float64},
    )
    con.register("seen", seen.to_arrow())
    try:
        return con.sql(
            """
        select m.feed, m.file, m.status, m.rows_read, m.rows_accepted, m.rows_quarantined,
               m.issues
        from seen s
        join ops.manifest m using (feed, file, size_bytes, mtime)
        qualify row_number() over (partition by m.feed, m.file order by m.loaded_at desc) = 1
        order by m.feed, m.file
        """
        ).pl()
    finally:
        con.unregister("seen")
