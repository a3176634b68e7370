"""`radar` commands of the 双随机、一公开 plan and the lists made from the leads.

`register(app)` adds plan-inspections, publish-results, referral-list and handoff-list to the
CLI. They only read the warehouse (opened read-only) and write files under OUT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from flows.settings import Settings, today_in_china

Warehouse = Annotated[
    Path | None,
    typer.Option(help="DuckDB warehouse file (read only); default from RADAR_WAREHOUSE"),
]
Out = Annotated[Path | None, typer.Option(help="output directory; default from RADAR_OUT")]
Round = Annotated[str, typer.Option("--round", help="the round: a month, YYYY-MM")]
ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", help="plan configuration (models/config/inspection_plan.yaml)"),
]


@contextmanager
def _read_only(warehouse: Path | None) -> Iterator[duckdb.DuckDBPyConnection]:
    path = warehouse or Settings().warehouse
    if not path.exists():
        typer.echo(f"error: warehouse not found: {path}", err=True)
        raise typer.Exit(2)
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    except duckdb.CatalogException as exc:
        typer.echo(
            f"error: the warehouse lacks a table the lists need ({exc}); run `radar run` first",
            err=True,
        )
        raise typer.Exit(1) from exc
    finally:
        con.close()


def _echo_paths(paths: list[Path]) -> None:
    for path in paths:
        typer.echo(f"  {path}")


def plan_inspections(
    round_: Annotated[
        str | None, typer.Option("--round", help="the round: a month, YYYY-MM")
    ] = None,
    share: Annotated[float, typer.Option(help="expected share of eligible entities drawn")] = 0.05,
    seed: Annotated[
        int | None, typer.Option(help="the draw's seed, non-negative; required for a plan")
    ] = None,
    warehouse: Warehouse = None,
    out: Out = None,
    config: ConfigPath = None,
    evaluate: Annotated[
        bool,
        typer.Option(
            help="compare with a uniform draw on the demo world instead of writing a plan"
        ),
    ] = False,
    truth: Annotated[
        Path | None, typer.Option(help="demo world's truth.json (with --evaluate)")
    ] = None,
    seeds: Annotated[int, typer.Option(help="seeds seed, seed+1, ... (with --evaluate)")] = 10,
) -> None:
    """双随机: draw a round's risk-weighted inspection plan and its inspector teams."""
    from models import inspection_plan as ip
    from reports import plan_files

    cfg = ip.load_plan_config(config)
    with _read_only(warehouse) as con:
        if evaluate:
            truth_path = truth or Settings().world / "truth.json"
            first = seed or 0
            table = ip.compare_plans(con, truth_path, share, list(range(first, first + seeds)), cfg)
            typer.echo(f"violations found per inspection, share {share}:\n")
            typer.echo(ip.format_comparison(table))
            return
        if round_ is None or seed is None:
            raise typer.BadParameter("a plan needs --round YYYY-MM and --seed S")
        try:
            plan = ip.make_plan(con, round_, share, seed, cfg)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    paths = plan_files.write_plan(plan, out or Settings().out)
    m = plan.manifest
    typer.echo(
        f"round {round_}: {m['targets']} targets from {m['eligible']['count']} eligible entities "
        f"(seed {seed}, eligible SHA-256 {m['eligible']['sha256'][:16]}…)"
    )
    for d in m["prefectures"]:
        strata = "  ".join(
            f"{s['tier']} {s['drawn']}/{s['eligible']} @{s['rate']:.1%}" for s in d["strata"]
        )
        drawn = sum(s["drawn"] for s in d["strata"])
        typer.echo(f"  {d['prefecture_code']} {d['prefecture_name']:10} {drawn:>4}   {strata}")
    unassigned = plan.targets["inspector_team"].null_count()
    if unassigned:
        typer.echo(f"warning: {unassigned} targets have no team other than their last one")
    typer.echo("written:")
    _echo_paths(paths)


def publish_results(
    round_: Round,
    warehouse: Warehouse = None,
    out: Out = None,
    config: ConfigPath = None,
) -> None:
    """一公开: write the public results list of a round's double_random inspections."""
    from models import inspection_plan as ip
    from reports import plan_files

    out = out or Settings().out
    try:
        plan = plan_files.read_plan(out, round_)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    with _read_only(warehouse) as con:
        published = ip.public_results(con, plan, round_, ip.load_plan_config(config))
    paths = plan_files.write_public_results(published, out, round_)
    typer.echo(
        f"round {round_}: {published.results.height} results published; "
        f"{published.inspected} of {published.planned} planned entities inspected, "
        f"{published.pending} results pending"
    )
    _echo_paths(paths)


def _list_dir(out: Path | None, as_of: str | None) -> Path:
    s = Settings()
    try:
        day = dt.date.fromisoformat(as_of) if as_of else (s.as_of or today_in_china())
    except ValueError as exc:
        raise typer.BadParameter(f"not a YYYY-MM-DD date: {as_of!r}") from exc
    return (out or s.out) / day.isoformat()


AsOf = Annotated[
    str | None, typer.Option(help="as-of date of the leads' run; lists go to OUT/<as-of>/")
]


def referral_list(warehouse: Warehouse = None, out: Out = None, as_of: AsOf = None) -> None:
    """两法衔接: the criminal-referral review list with each lead's evidence."""
    from models.handoff_lists import referral_review_list
    from reports.handoff_files import write_referral_review_list

    with _read_only(warehouse) as con:
        frame = referral_review_list(con)
    paths = write_referral_review_list(frame, _list_dir(out, as_of))
    typer.echo(f"{frame.height} leads for criminal-referral review")
    _echo_paths(paths)


def handoff_list(warehouse: Warehouse = None, out: Out = None, as_of: AsOf = None) -> None:
    """线索通报: the leads registered in other provinces, grouped by province."""
    from models.handoff_lists import handoff_list as make_handoff_list
    from reports.handoff_files import write_handoff_list

    with _read_only(warehouse) as con:
        frame = make_handoff_list(con)
    paths = write_handoff_list(frame, _list_dir(out, as_of))
    typer.echo(f"{frame.height} leads to hand off to other provinces")
    for code, name, n in (
        frame.group_by("province_code", "province_name", maintain_order=True).len().iter_rows()
    ):
        typer.echo(f"  {code} {name}: {n}")
    _echo_paths(paths)


def register(app: typer.Typer) -> None:
    """Add the plan and list commands to the `radar` app."""
    app.command("plan-inspections")(plan_inspections)
    app.command("publish-results")(publish_results)
    app.command("referral-list")(referral_list)
    app.command("handoff-list")(handoff_list)
