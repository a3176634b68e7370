"""Time the surges stage on a copy of a run's warehouse (BENCHMARKS.md, Issue 20).

The stage of `flows/stages.py` `detect_surges` in its parts: reading the daily series
(`daily_series`, SQL), the configured detector on them (`detect`), and the alerts' trends
(`alert_trends`); each `--repeat` times, wall clock and this process's CPU time, best of the
repeats (the machine is shared: the best is the least disturbed). The warehouse is opened
read-only and nothing is written.

    python -m tools.surge_timing --warehouse W.duckdb --as-of 2026-06-30 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from models.scan import detect
from models.surges import alert_trends, daily_series, load_config


def _timed(run: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """The result of `run`, and the best wall and CPU seconds over `repeat` calls."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, min(walls), min(cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.surge_timing", description=__doc__)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    config = load_config()
    con = duckdb.connect(str(args.warehouse), read_only=True)
    try:
        series, s_wall, s_cpu = _timed(
            lambda: daily_series(con, args.as_of, config.history_days, config), args.repeat
        )
        alerts, d_wall, d_cpu = _timed(lambda: detect(series, args.as_of, config), args.repeat)
        _, t_wall, t_cpu = _timed(
            lambda: alert_trends(con, alerts, args.as_of, series, config.history_days), args.repeat
        )
    finally:
        con.close()
    load = os.getloadavg()[0]
    print(f"{series.height} series rows, {alerts.height} alerts ({config.method}); load {load:.1f}")
    print("part            wall s   cpu s")
    for name, wall, cpu in (
        ("daily_series", s_wall, s_cpu),
        ("detect", d_wall, d_cpu),
        ("alert_trends", t_wall, t_cpu),
        ("total", s_wall + d_wall + t_wall, s_cpu + d_cpu + t_cpu),
    ):
        print(f"{name:<14} {wall:7.2f} {cpu:7.2f}")


if __name__ == "__main__":
    main()
