"""`make surge-eval`: the surge detectors' thresholds swept over several demo worlds.

For each world (default: seeds 31-33 and 77-79 at scales 1 and 0.5, held out: seeds 7-15 tuned
the negbin detector, seed 7 calibrated the scan, seeds 34-36 were issue 20's development
worlds, 37-39 and 74-76 its fresh worlds of the sessions before; `--worlds 7:1,...,13:2,15:0.5`
gives those) it

- generates the world (`radar generate`) and runs the nightly pipeline once on it
  (`radar run`, as of 2026-06-30), each a process of its own, under WORK/seed<S>-scale<X>/;
  a world whose warehouse and alerts export are already there is reused (`--fresh` redoes it);
- reads its daily series from the warehouse once and runs the detector for each scan
  threshold, negbin alpha and EARS C2 threshold of the sweep on them, scoring each against the
  planted surges (`demo_world/evaluate_surges.py`; surveillance.yaml is not changed).

The tables are printed and written between the markers of SURGES.md.

    python -m tools.surge_eval                            # the twelve default worlds
    python -m tools.surge_eval --worlds 7:1,15:0.5        # seed:scale pairs
    python -m tools.surge_eval --seeds 7,8 --scales 1     # one scale for all, or one per seed
    python -m tools.surge_eval --alphas 3e-4,1e-3 --thresholds 3 --scan-thresholds 8,10
    python -m tools.surge_eval --calibrate 7:1 --recurrence-days 730  # the scan's thresholds
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from demo_world.config import DEFAULT_AS_OF
from demo_world.evaluate_surges import (
    DEFAULT_ALPHAS,
    DEFAULT_SCAN_THRESHOLDS,
    DEFAULT_THRESHOLDS,
    EarlySignal,
    Setting,
    SweepRow,
    calibrate_warehouse,
    sweep_report,
    sweep_settings,
    sweep_warehouse,
)
from flows.settings import PROJECT_ROOT
from models.surges import SurveillanceConfig, load_config
from tools.bench import write_between_markers

SURGES_MD = PROJECT_ROOT / "SURGES.md"
START, END = "<!-- surge-eval:start -->", "<!-- surge-eval:end -->"
DEFAULT_WORLDS = "31:1,32:1,33:1,77:1,78:1,79:1,31:0.5,32:0.5,33:0.5,77:0.5,78:0.5,79:0.5"


@dataclass(frozen=True)
class World:
    """A demo world of the sweep, by its seed and scale."""

    seed: int
    scale: float

    @property
    def name(self) -> str:
        """Its directory under the work dir."""
        return f"seed{self.seed}-scale{self.scale:g}"

    @property
    def label(self) -> str:
        """Its name in the tables."""
        return f"seed {self.seed}" + ("" if self.scale == 1 else f", scale {self.scale:g}")


def parse_worlds(spec: str) -> list[World]:
    """Worlds from 'seed:scale,seed:scale,...' (a seed alone has scale 1)."""
    worlds = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        seed, _, scale = item.partition(":")
        worlds.append(World(int(seed), float(scale or 1)))
    return worlds


def worlds_of(seeds: str, scales: str) -> list[World]:
    """Worlds from a list of seeds and either one scale for all or one scale per seed."""
    seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    scale_list = [float(x) for x in scales.split(",") if x.strip()] or [1.0]
    if len(scale_list) == 1:
        scale_list *= len(seed_list)
    if len(scale_list) != len(seed_list):
        raise ValueError(f"{len(seed_list)} seeds but {len(scale_list)} scales")
    return [World(s, x) for s, x in zip(seed_list, scale_list, strict=True)]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


# --- preparing the worlds -----------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A world's paths; `problem` says why it could not be generated or run, if so."""

    world: World
    world_dir: Path
    warehouse: Path
    run_dir: Path
    problem: str = ""


def _environment(directory: Path) -> dict[str, str]:
    """The environment of a world's subprocesses: no Prefect server, no telemetry, a Prefect
    home of the world's own (two sweeps at once would race to migrate a shared database)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_HOME": str(directory / ".prefect"),
    }
    return env


def _radar(args: list[str], log: Path, env: dict[str, str]) -> str:
    """Run one `radar` command with its output in `log`; '' when it succeeded, else why not."""
    print(f"  radar {' '.join(args)}", flush=True)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as output:
        code = subprocess.call(
            [sys.executable, "-m", "tools.radar", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=PROJECT_ROOT,
        )
    print(f"    {time.perf_counter() - start:.0f} s, exit code {code}", flush=True)
    shown = log.relative_to(PROJECT_ROOT) if log.is_relative_to(PROJECT_ROOT) else log
    return f"`radar {args[0]}` failed (exit code {code}), see {shown}" if code else ""


def prepare(world: World, work: Path, as_of: dt.date, fresh: bool) -> Prepared:
    """Generate the world and run the pipeline on it, unless both were done before."""
    directory = work / world.name
    world_dir, warehouse, out = directory / "world", directory / "wh.duckdb", directory / "out"
    prepared = Prepared(world, world_dir, warehouse, out / as_of.isoformat())
    if fresh and directory.exists():
        shutil.rmtree(directory)
    if warehouse.exists() and (prepared.run_dir / "alerts.csv").exists():
        print(f"[{world.label}] reusing {directory}", flush=True)
        return prepared
    print(f"[{world.label}] preparing {directory}", flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    env = _environment(directory)
    if not (world_dir / "truth.json").exists():
        shutil.rmtree(world_dir, ignore_errors=True)
        problem = _radar(
            ["generate", "--out", str(world_dir), "--seed", str(world.seed)]
            + ["--scale", f"{world.scale:g}"],
            directory / "generate.log",
            env,
        )
        if problem:
            return replace(prepared, problem=problem)
    for stale in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        stale.unlink(missing_ok=True)  # a run that did not finish starts again from empty
    shutil.rmtree(out, ignore_errors=True)
    problem = _radar(
        ["run", "--landing", str(world_dir / "landing"), "--warehouse", str(warehouse)]
        + ["--as-of", as_of.isoformat(), "--out", str(out)],
        directory / "run.log",
        env,
    )
    return replace(prepared, problem=problem)


# --- the command --------------------------------------------------------------------------


@dataclass
class Sweep:
    """The rows of every evaluated world, their labels, and notes on the others."""

    rows: list[SweepRow] = field(default_factory=list)
    early: list[EarlySignal] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sweep_worlds(
    worlds: list[World],
    work: Path,
    as_of: dt.date,
    fresh: bool,
    config: SurveillanceConfig,
    settings: list[Setting],
) -> Sweep:
    """Prepare each world, then sweep the settings on its warehouse."""
    sweep = Sweep()
    for world in worlds:
        prepared = prepare(world, work, as_of, fresh)
        if prepared.problem:
            print(f"[{world.label}] {prepared.problem}", flush=True)
            sweep.notes.append(f"{world.label}: not evaluated, {prepared.problem}.")
            continue
        print(f"[{world.label}] sweeping {len(settings)} settings", flush=True)
        swept = sweep_warehouse(
            world.label,
            prepared.world_dir,
            prepared.warehouse,
            prepared.run_dir,
            config,
            settings,
        )
        sweep.rows += swept.rows
        sweep.early += swept.early
        sweep.evaluated.append(world.label)
        if swept.matches_run is False:
            sweep.notes.append(
                f"{world.label}: the configured setting did not raise the run's alerts.csv "
                "(the code or configuration changed since the run; `--fresh` reruns it)."
            )
    return sweep


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.surge_eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--worlds", help=f"seed:scale,... (default {DEFAULT_WORLDS})")
    parser.add_argument("--seeds", help="seeds, comma-separated (instead of --worlds)")
    parser.add_argument("--scales", default="1", help="one scale for all seeds, or one per seed")
    parser.add_argument(
        "--work",
        type=Path,
        default=PROJECT_ROOT / "data" / "surge_eval",
        help="where the worlds, warehouses and logs go (default data/surge_eval)",
    )
    parser.add_argument("--fresh", action="store_true", help="regenerate and rerun every world")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF)
    alphas, thresholds = (
        ",".join(f"{v:g}" for v in vs) for vs in (DEFAULT_ALPHAS, DEFAULT_THRESHOLDS)
    )
    parser.add_argument("--alphas", default=alphas, help=f"negbin alphas (default {alphas})")
    parser.add_argument(
        "--thresholds", default=thresholds, help=f"EARS C2 thresholds (default {thresholds})"
    )
    scans = ",".join(f"{v:g}" for v in DEFAULT_SCAN_THRESHOLDS)
    parser.add_argument(
        "--scan-thresholds", default=scans, help=f"scan thresholds (default {scans})"
    )
    parser.add_argument(
        "--calibrate",
        metavar="SEED:SCALE",
        help="instead of the sweep: calibrate the scan threshold by Monte Carlo on this "
        "world's fitted baseline (one false episode per --recurrence-days per prefecture x "
        "category) and print it",
    )
    parser.add_argument("--recurrence-days", type=float, default=365.0)
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--output", type=Path, default=SURGES_MD, help="default SURGES.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.seeds:
        worlds = worlds_of(args.seeds, args.scales)
    else:
        worlds = parse_worlds(args.worlds or DEFAULT_WORLDS)
    config = load_config()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.calibrate:
        (world,) = parse_worlds(args.calibrate)
        prepared = prepare(world, args.work, args.as_of, args.fresh)
        if prepared.problem:
            raise SystemExit(prepared.problem)
        found = calibrate_warehouse(
            prepared.warehouse, args.as_of, config, args.recurrence_days, args.replicates, 0
        )
        bands = ", ".join(
            f"{t:g} ({r:.2f} a year)"
            for t, r in zip(found.band_thresholds, found.band_rates, strict=True)
        )
        print(
            f"scan threshold {found.threshold:g}, band_factors {list(found.band_factors)} "
            f"(bands {list(config.scan.band_edges)} events a day: {bands}): "
            f"{found.episodes_per_year:.2f} false episodes a year per prefecture x category "
            f"under the null of {world.label} as of {args.as_of} ({args.replicates} "
            f"replicates, {found.cell_years:.0f} prefecture x category x years)"
        )
        return
    settings = sweep_settings(
        config, _floats(args.alphas), _floats(args.thresholds), _floats(args.scan_thresholds)
    )
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    sweep = sweep_worlds(worlds, args.work, args.as_of, args.fresh, config, settings)
    heading = (
        f"Measured {started} by `make surge-eval` on {len(sweep.evaluated)} worlds "
        f"({'; '.join(sweep.evaluated) or 'none'}), as of {args.as_of}, look-back "
        f"{config.lookback_days} days."
    )
    measured = sweep_report(sweep.rows, heading, sweep.notes, sweep.early, config.negbin.min_count)
    print("\n" + measured)
    write_between_markers(args.output, measured, START, END, "Surges")


if __name__ == "__main__":
    main()
