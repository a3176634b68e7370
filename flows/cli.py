"""`radar`: the command line of Counterfeit Radar.

Every default comes from `Settings` (environment variables with the RADAR_ prefix).

Each command imports the pipeline modules it uses when it runs, not at the top of this file:
importing the nightly flow and what it loads costs about 2 s of CPU (6 s before issue 22;
measured with `python -X importtime`, README Operations, Start-up), which `radar --help`, the
steward's commands and every one-line error would otherwise pay.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from flows.dispositions import dispositions_app
from flows.plan_commands import register as register_plan_commands
from flows.settings import Settings, SettingsError, load_settings, today_in_china
from flows.steward import steward_app

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Counterfeit Radar 假冒侵权预警")
app.add_typer(steward_app, name="steward")
app.add_typer(dispositions_app, name="dispositions")
register_plan_commands(app)


@app.callback()
def check_settings() -> None:
    """Counterfeit Radar 假冒侵权预警"""
    # Before any command: a RADAR_ variable Settings cannot take is one line, not a traceback.
    try:
        load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


AsOf = Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: today in China time")]


def _date(text: str | None, default: dt.date) -> dt.date:
    if text is None:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not a YYYY-MM-DD date: {text!r}") from exc


def _print_leads(result: object, top: int = 10) -> None:
    from flows.nightly import RunResult

    assert isinstance(result, RunResult)
    leads = result.leads.head(top)
    typer.echo(f"\nTop {len(leads)} leads as of {result.as_of} (of {result.leads.height}):")
    typer.echo(f"{'rank':>4}  {'score':>5}  {'risk':6}  {'region':6}  {'lead_id':17}  name")
    for r in leads.iter_rows(named=True):
        typer.echo(
            f"{r['rank']:>4}  {r['score']:.3f}  {r['risk_level']:6}  {r['region_code'] or '':6}  "
            f"{r['lead_id']:17}  {r['entity_name'] or ''}"
        )
        typer.echo(f"{'':>41}{(r['reasons'] or '')[:110]}")
    typer.echo("\nExports:")
    for path in result.exports:
        typer.echo(f"  {path}")


def start_temporary_server() -> threading.Thread | None:
    """With no Prefect server configured, start Prefect's temporary server from a thread,
    so that its process starts while this one loads the pipeline (each takes seconds; on
    two cores they overlap). Join the thread before the flow runs; None when a server is set."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    # Imported here, not in the thread: importing in two threads at once would only share
    # one interpreter lock and delay the server's process.
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the instance the flow's client uses (one per port)

    def start() -> None:
        # Prefect waits 20 s for its server to answer; on a loaded machine it takes longer.
        # When the wait ran out, the server's process was left running, and the flow's client
        # started a second one on the same port (it fails to bind, then takes another port):
        # every such run left an orphaned server behind (seen at a load of 15). Wait longer
        # here, and never leave the process behind if it still does not answer.
        try:
            server.start(timeout=max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), 180))
        except Exception:
            server.stop()

    thread = threading.Thread(target=start, name="prefect-temporary-server", daemon=True)
    thread.start()
    return thread


def _run(landing: Path, warehouse: Path, as_of: dt.date, out: Path, settings: Settings) -> object:
    if not landing.is_dir():
        typer.echo(f"error: landing directory not found: {landing}{_demo_hint(settings)}", err=True)
        raise typer.Exit(2)
    from flows.configs import configuration_problems

    problems = configuration_problems()
    if problems:
        typer.echo("error: bad configuration (models/config, transforms/config):", err=True)
        typer.echo("\n".join(problems), err=True)
        raise typer.Exit(2)
    _wait_for_warehouse(warehouse, settings.lock_wait_seconds)
    server = start_temporary_server()
    from flows import stages
    from flows.nightly import with_task_runner

    stages.import_in_background()  # while the temporary server starts, or the flow loads files
    from transforms.warehouse import WarehouseBusy

    nightly = with_task_runner(settings.task_runner, settings.dask_address)
    if server is not None:
        server.join()  # if it failed, the flow's client starts the server itself
    try:
        return nightly(
            landing=landing,
            warehouse=warehouse,
            as_of=as_of,
            out=out,
            lookback_days=settings.lookback_days,
            lock_wait_seconds=settings.lock_wait_seconds,
            distributed=settings.task_runner != "local",
            retention_days=settings.retention_days,
        )
    except WarehouseBusy as exc:  # taken between the check and the flow
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from exc
    except Exception as exc:  # the flow already logged the traceback
        typer.echo(f"error: the nightly run failed: {exc}", err=True)
        raise typer.Exit(1) from exc


def _wait_for_warehouse(warehouse: Path, wait_seconds: float) -> None:
    """Exit 3 with one line naming the holder when another run holds the warehouse, before
    Prefect starts (the flow takes the lock itself; inside it a refusal is a traceback)."""
    from transforms.warehouse import WarehouseBusy, warehouse_lock

    try:
        with warehouse_lock(warehouse, wait_seconds, "radar run (starting)"):
            pass
    except WarehouseBusy as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None


def _demo_hint(settings: Settings) -> str:
    """How to run the demo's world again, when the landing is missing and a demo world exists."""
    if not (settings.world / "landing").is_dir():
        return ""
    return (
        f" (the demo's landing is {settings.world / 'landing'}: `radar demo --rerun` or "
        "`make rerun` runs it again, or set RADAR_LANDING)"
    )


@app.command()
def run(
    landing: Annotated[Path | None, typer.Option(help="landing directory of the six feeds")] = None,
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB warehouse file")] = None,
    as_of: AsOf = None,
    out: Annotated[Path | None, typer.Option(help="exports go to OUT/<as-of>/")] = None,
    task_runner: Annotated[
        str | None, typer.Option(help="local, or dask to read and validate files on a cluster")
    ] = None,
    dask_address: Annotated[
        str | None, typer.Option(help="tcp://host:port of a dask scheduler (default: a local one)")
    ] = None,
) -> None:
    """Run the nightly pipeline once (a Prefect flow) and write the exports."""
    s = Settings()
    if task_runner:
        s.task_runner = task_runner
    if dask_address:
        s.dask_address = dask_address
    result = _run(
        landing or s.landing,
        warehouse or s.warehouse,
        _date(as_of, s.as_of or today_in_china()),
        out or s.out,
        s,
    )
    _print_leads(result)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--from", help="first as-of date, YYYY-MM-DD")],
    end: Annotated[
        str | None, typer.Option("--to", help="last as-of date (default: today)")
    ] = None,
    landing: Annotated[Path | None, typer.Option(help="landing directory of the six feeds")] = None,
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB warehouse file")] = None,
    out: Annotated[Path | None, typer.Option(help="exports go to OUT/<as-of>/")] = None,
    again: Annotated[
        bool, typer.Option("--again", help="also run the dates that already have a run")
    ] = False,
) -> None:
    """Run the nightly pipeline for each missed as-of date from --from to --to, in date order
    (dates with a succeeded run are skipped). Later dates' exports do not change: each date's
    lead history is the one it had at its first run."""
    from flows.nightly import RunResult

    s = Settings()
    first, last = _date(start, today_in_china()), _date(end, s.as_of or today_in_china())
    if last < first:
        raise typer.BadParameter(f"--to {last} is before --from {first}")
    path = warehouse or s.warehouse
    done = set() if again or not path.exists() else _succeeded_days(path)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    for day in days:
        if day in done:
            typer.echo(f"{day}: already run, skipped")
            continue
        result = _run(landing or s.landing, path, day, out or s.out, s)
        assert isinstance(result, RunResult)
        typer.echo(f"{day}: {result.leads.height} leads, exports in {result.out_dir}")


def _succeeded_days(warehouse: Path) -> set[dt.date]:
    import duckdb

    from transforms.runs import succeeded_days

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return succeeded_days(con)
    finally:
        con.close()


@app.command()
def train(
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB warehouse file")] = None,
    as_of: AsOf = None,
) -> None:
    """Train the lead model now on the outcomes closed by the as-of date (the weekly retrain)."""
    from flows.retrain import weekly_retrain
    from models.registry import ARTIFACTS_DIR

    s = Settings()
    summary = weekly_retrain(
        warehouse=warehouse or s.warehouse,
        as_of=_date(as_of, s.as_of or today_in_china()),
        artifacts_dir=ARTIFACTS_DIR,
        lock_wait_seconds=s.lock_wait_seconds,
    )
    if not summary.get("trained"):
        typer.echo(f"no model trained: {summary.get('reason')}")
        return
    typer.echo(
        f"lead model {summary['version']}: {summary['positives']} positive, "
        f"{summary['negatives']} negative, {summary['soft_negatives']} insufficient-evidence cases "
        f"closed {summary['first_closed_on']}..{summary['last_closed_on']}; "
        f"cross-validated AUC {summary['cv_auc']}, Brier {summary['cv_brier']}"
    )


@app.command()
def erase(
    by: Annotated[str, typer.Option(help="who carries out the request (audited)")],
    phone: Annotated[
        str | None, typer.Option(help="the complainant's phone number, in any usual form")
    ] = None,
    complaint_id: Annotated[str | None, typer.Option(help="one complaint's id")] = None,
    note: Annotated[str, typer.Option(help="why, e.g. the request's reference")] = "",
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB warehouse file")] = None,
    out: Annotated[
        Path | None, typer.Option(help="where runs wrote their exports and reports")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would go; change nothing")
    ] = False,
) -> None:
    """Erase one person's data on request: by phone number everywhere it is written (the
    warehouse, its file's free space, and the exports and reports already written), or one
    complaint's phone and texts; audited in ops.privacy_audit, kept erased on re-delivery."""
    from data_contracts.personal import (
        PHONE_REMOVED,
        NotAPhoneNumber,
        normalize_phone,
        phone_matcher,
    )
    from reports.erasure import blank_in_written_files
    from transforms.privacy import erase_person
    from transforms.warehouse import bytes_found, connect, rewrite_file, warehouse_lock

    if bool(phone) == bool(complaint_id):
        raise typer.BadParameter("give either --phone or --complaint-id")
    try:
        number = normalize_phone(phone) if phone else None
    except NotAPhoneNumber as exc:  # the message never quotes the value
        raise typer.BadParameter(str(exc), param_hint="--phone") from None
    s = Settings()
    path, out = warehouse or s.warehouse, out or s.out
    if not path.exists():
        typer.echo(f"error: warehouse not found: {path}", err=True)
        raise typer.Exit(2)
    with warehouse_lock(path, s.lock_wait_seconds, "radar erase"):
        files: dict[Path, int] = {}
        if number is not None:
            files = blank_in_written_files(
                out, phone_matcher(number), PHONE_REMOVED, dry_run=dry_run
            )
        con = connect(path)
        try:
            erasure = erase_person(
                con,
                phone=number,
                complaint_id=complaint_id,
                by=by,
                note=note,
                dry_run=dry_run,
                files_changed=len(files),
            )
        finally:
            con.close()
        if not dry_run:
            rewrite_file(path)
            if bytes_found(path, (v.encode("utf-8") for v in erasure.written_as)):
                typer.echo(
                    f"error: the erased value is still in the bytes of {path}; "
                    "stop every process that has it open and run the erasure again",
                    err=True,
                )
                raise typer.Exit(1)
    verb = "would erase" if dry_run else "erased"
    typer.echo(f"{verb} the personal data of {erasure.complaints} complaint(s)")
    for table, rows in erasure.rows.items():
        typer.echo(f"  {table}: {rows} row(s)")
    for file, places in files.items():
        typer.echo(f"  {file}: {places} place(s)")
    if not dry_run:
        typer.echo(f"the warehouse file was rewritten without the erased bytes: {path}")


@app.command()
def retention(
    days: Annotated[int | None, typer.Option(help="retention period in days")] = None,
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB warehouse file")] = None,
) -> None:
    """Purge complainant phones and complaint texts older than the retention period now, and
    rewrite the warehouse file without the purged bytes."""
    from transforms.privacy import apply_retention
    from transforms.warehouse import connect, rewrite_file, warehouse_lock

    s = Settings()
    path = warehouse or s.warehouse
    with warehouse_lock(path, s.lock_wait_seconds, "radar retention"):
        con = connect(path)
        try:
            count = apply_retention(
                con, today_in_china(), days or s.retention_days, by="radar retention"
            )
        finally:
            con.close()
        if count:
            rewrite_file(path)
    typer.echo(f"purged the phones and texts of {count} complaint(s)")


@app.command()
def serve() -> None:
    """Serve the nightly run (02:00 China time) and the weekly retrain on a Prefect server.

    Start a server first (`make server`) and set PREFECT_API_URL=http://127.0.0.1:4200/api.
    """
    from flows.serve import NoPrefectServer, serve_deployments

    try:
        serve_deployments()
    except NoPrefectServer as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()
