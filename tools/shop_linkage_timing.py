"""Time the shop linkage (`transforms.shop_linkage.shop_link_edges`) on a warehouse, for
BENCHMARKS.md: process CPU (all of DuckDB's threads) and wall time per call.

    python -m tools.shop_linkage_timing WAREHOUSE --as-of 2026-06-30 [--repeat 3]

Run it on a copy of a warehouse after its run's ingestion: each call rewrites
core.shop_candidates, core.business_candidates and core.shop_links.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import duckdb

from transforms.shop_linkage import shop_link_edges


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with duckdb.connect(str(args.warehouse)) as con:
        for _ in range(args.repeat):
            cpu, wall = time.process_time(), time.perf_counter()
            links = shop_link_edges(con, args.as_of)
            business = links.filter(links["key_b"].str.starts_with("uscc:")).height
            print(
                f"links {links.height} (business {business})"
                f"  cpu {time.process_time() - cpu:.2f} s  wall {time.perf_counter() - wall:.2f} s"
                f"  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
