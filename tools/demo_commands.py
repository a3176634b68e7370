"""The demo world's commands of `radar`: `generate` (write a demo world), `demo` (generate one
and run the nightly pipeline on it) and `evaluate` (score a run against the world's truth).

`tools/radar.py` adds them to the pipeline's command line for the installed `radar`, so the
pipeline itself never imports the demo world. Each command imports the demo world when it runs:
its evaluators load scikit-learn, about 1.6 s that every other `radar` command would pay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import duckdb
import typer

from flows.cli import _print_leads, _run
from flows.settings import Settings

if TYPE_CHECKING:
    from demo_world.generate import WorldConfig


def register(app: typer.Typer) -> None:
    """Add `generate`, `demo` and `evaluate` to the `radar` app."""
    app.command()(generate)
    app.command()(demo)
    app.command()(evaluate)


def generate(
    out: Annotated[
        Path | None, typer.Option(help="world directory (landing/ and truth.json)")
    ] = None,
    seed: int = 7,
    scale: float = 1.0,
    population_seed: Annotated[
        int | None,
        typer.Option(help="seed of the operators, decoys and names (default: from seed and scale)"),
    ] = None,
) -> None:
    """Write a demo world: its landing directory and its ground truth."""
    from demo_world.generate import WorldConfig, generate_world

    world = out or Settings().world
    config = WorldConfig(seed=seed, scale=scale, population_seed=population_seed)
    summary = generate_world(world, config)
    typer.echo(f"demo world written to {world}: {summary}")


def demo(
    seed: int = 7,
    scale: float = 1.0,
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun", help="run again on the demo world already generated, keeping the warehouse"
        ),
    ] = False,
) -> None:
    """Generate a demo world, run the nightly pipeline on it and print the top leads."""
    from demo_world.generate import WorldConfig, generate_world

    s = Settings()
    if rerun:
        config = _demo_world_config(s.world)
    else:
        config = WorldConfig(seed=seed, scale=scale)
        typer.echo(f"generating demo world (seed {seed}, scale {scale}) in {s.world} …")
        generate_world(s.world, config)
        if s.warehouse.exists():
            s.warehouse.unlink()  # the demo always starts from an empty warehouse
    result = _run(s.world / "landing", s.warehouse, config.as_of, s.out, s)
    _print_leads(result)
    typer.echo(
        f"\nScore it against the ground truth: radar evaluate --world {s.world} "
        f"--out {s.out / config.as_of.isoformat()}"
    )


def _demo_world_config(world: Path) -> WorldConfig:
    """The configuration (seed, scale, as-of) of the demo world in `world`, or exit 2 in one
    line when there is none."""
    from demo_world.name_truth import world_config

    truth = world / "truth.json"
    if not truth.is_file() or not (world / "landing").is_dir():
        typer.echo(
            f"error: no demo world in {world} (no truth.json and landing/): "
            "create one with `radar demo` or `radar generate --out DIR`",
            err=True,
        )
        raise typer.Exit(2)
    return world_config(json.loads(truth.read_text(encoding="utf-8")))


def evaluate(
    world: Annotated[Path | None, typer.Option(help="demo world directory")] = None,
    out: Annotated[Path | None, typer.Option(help="the run's export directory OUT/<as-of>")] = None,
    warehouse: Annotated[
        Path | None, typer.Option(help="warehouse, for the naive baseline")
    ] = None,
) -> None:
    """Score a run's exports against the demo world's ground truth, next to naive baselines."""
    from demo_world.evaluate import evaluate as evaluate_run
    from demo_world.evaluate import format_report
    from demo_world.evaluate_model import evaluate_model, format_model_report

    s = Settings()
    world = world or s.world
    _demo_world_config(world)
    if out is None:
        # a run's folder has its exports (OUT also holds the Data Docs site, data_docs/)
        runs = sorted(p for p in s.out.glob("*") if (p / "entity_leads.csv").is_file())
        if not runs:
            typer.echo("error: no run found; give --out OUT/<as-of>", err=True)
            raise typer.Exit(2)
        out = runs[-1]
    if not (out / "entity_leads.csv").is_file():
        typer.echo(f"error: no run's exports in {out}: give --out OUT/<as-of>", err=True)
        raise typer.Exit(2)
    metrics = evaluate_run(world, out, warehouse or s.warehouse)
    typer.echo(format_report(metrics))
    typer.echo(format_model_report(evaluate_model(world, out, warehouse or s.warehouse)))
    _print_linkage(world, warehouse or s.warehouse)


def _print_linkage(world: Path, warehouse: Path) -> None:
    """Linkage quality of the warehouse's entities against the demo world's truth."""
    from demo_world.evaluate_linkage import linkage_quality, record_attribution
    from demo_world.name_truth import record_businesses, world_config

    if not warehouse.exists():
        return
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    businesses = record_businesses(world_config(truth))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        quality = linkage_quality(con, truth)
        records = record_attribution(con, businesses, truth)
    finally:
        con.close()
    typer.echo("\nLinkage (entity resolution against the truth)")
    for name, value in quality["summary"].items():
        typer.echo(f"  {name}: {value}")
    typer.echo(f"  false merges: {len(quality['false_merges'])}")
    for name, value in records.items():
        typer.echo(f"  {name}: {value}")
