"""`radar dispositions`: import the workbooks that enforcement teams return with what they found.

    radar dispositions import FILE… --by NAME [--warehouse FILE] [--as-of YYYY-MM-DD]

Each file is one audited import (transforms/dispositions.py): every row with a disposition is
accepted or quarantined with its reasons; the next run applies what was accepted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from flows.settings import Settings, today_in_china

dispositions_app = typer.Typer(
    no_args_is_help=True,
    help="处置结果 Dispositions: import the team workbooks returned with what officers found.",
)


@dispositions_app.command("import")
def import_files(
    files: Annotated[list[Path], typer.Argument(help="returned report.xlsx files")],
    by: Annotated[str, typer.Option(help="who imports them (kept in the audit)")],
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB warehouse file")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="the day of import, YYYY-MM-DD; default: today in China")
    ] = None,
) -> None:
    """Import returned team workbooks; a row that fails is quarantined with its reasons."""
    from transforms.dispositions import import_dispositions
    from transforms.warehouse import connect, warehouse_lock

    s = Settings()
    path = warehouse or s.warehouse
    if not path.is_file():
        typer.echo(f"error: warehouse not found: {path}", err=True)
        raise typer.Exit(2)
    missing = [f for f in files if not f.is_file()]
    if missing:
        typer.echo(f"error: not a file: {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(2)
    try:
        today = dt.date.fromisoformat(as_of) if as_of else today_in_china()
    except ValueError as exc:
        raise typer.BadParameter(f"not a YYYY-MM-DD date: {as_of!r}") from exc
    failed = False
    with warehouse_lock(path, s.lock_wait_seconds):
        con = connect(path)
        try:
            for f in files:
                result = import_dispositions(
                    con, f, file=str(f.resolve()), source="cli", imported_by=by, today=today
                )
                typer.echo(
                    f"{f}: {result.status}, team {result.team or '—'}: {result.rows_read} rows, "
                    f"{result.rows_accepted} accepted, {result.rows_quarantined} quarantined"
                    + (f" ({result.issues})" if result.issues else "")
                )
                failed |= result.status == "rejected"
        finally:
            con.close()
    if failed:
        raise typer.Exit(1)
