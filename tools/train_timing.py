"""Time training's case features (`models.train.case_features`, the feature days of the lead
model) on a warehouse, for BENCHMARKS.md: process CPU (all of DuckDB's threads) and wall time,
the fast path or the reference path (`--reference`: each day on its own, every feature model),
and the case features written to a Parquet file for an equality check.

    python -m tools.train_timing prepare LANDING WAREHOUSE --as-of 2026-06-30
    python -m tools.train_timing time WAREHOUSE --as-of 2026-06-30 [--reference] [--threads 1]
        [--out cases.parquet] [--profile profile.html]
    python -m tools.train_timing compare A.parquet B.parquet

`prepare` ingests and validates the landing into a new warehouse (the train stage's input);
`time` trains nothing and stores nothing: the feature days are built in a transaction that is
rolled back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import uuid
from pathlib import Path

import polars as pl


def prepare(landing: Path, warehouse: Path, as_of: dt.date) -> None:
    from flows import stages
    from transforms.runs import start_run
    from transforms.warehouse import connect

    con = connect(warehouse)
    run_id = uuid.uuid4().hex
    start_run(con, run_id, as_of)
    report = stages.ingest(con, landing, run_id)
    stages.validate_with_gx(con, report, run_id)
    con.close()


def time_cases(
    warehouse: Path,
    as_of: dt.date,
    reference: bool,
    threads: int | None,
    out: Path | None,
    profile: Path | None,
) -> None:
    from models.train import case_features, load_model_config, training_cases
    from transforms.features import TERM_FEATURES, ResolveAndBuildDays
    from transforms.resolve import refresh_normalized_names
    from transforms.warehouse import connect

    con = connect(warehouse)
    if threads:
        con.execute(f"set threads = {int(threads)}")
    refresh_normalized_names(con)  # as the train stage does, outside the measured call
    cases = training_cases(con, as_of, load_model_config())
    builder = ResolveAndBuildDays(one_pass=False) if reference else None
    builder = builder or ResolveAndBuildDays(models=TERM_FEATURES)
    profiler = None
    if profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    cpu, wall = time.process_time(), time.perf_counter()
    features = case_features(con, cases, builder)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None and profile is not None:
        profiler.stop()
        profile.write_text(profiler.output_html())
        print(profiler.output_text(unicode=True, show_all=False), flush=True)
    con.close()
    path = "reference" if reference else "fast"
    print(
        f"{path}: {cases.height} cases, {features['features_as_of'].n_unique()} days"
        f"  cpu {cpu:.2f} s  wall {wall:.2f} s  load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if out is not None:
        features.write_parquet(out)


def compare(a: Path, b: Path) -> None:
    from polars.testing import assert_frame_equal

    left, right = pl.read_parquet(a), pl.read_parquet(b)
    assert_frame_equal(left, right)
    print(f"equal: {left.height} rows, {left.width} columns", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("landing", type=Path)
    p.add_argument("warehouse", type=Path)
    p.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    t = commands.add_parser("time")
    t.add_argument("warehouse", type=Path)
    t.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    t.add_argument("--reference", action="store_true")
    t.add_argument("--threads", type=int)
    t.add_argument("--out", type=Path)
    t.add_argument("--profile", type=Path)
    c = commands.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.landing, args.warehouse, args.as_of)
    elif args.command == "time":
        time_cases(args.warehouse, args.as_of, args.reference, args.threads, args.out, args.profile)
    else:
        compare(args.a, args.b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
