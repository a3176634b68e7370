"""`radar steward`: the data steward's view of quarantined rows, and their decisions.

The command line only: what each command does to the warehouse is in
`transforms/steward.py` (list, export, accept, supersede), which tests call directly.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
import polars as pl
import typer

from transforms.shop_linkage import shop_links_for_review, split_shop_link
from transforms.steward import (
    accept_row,
    export_quarantine,
    now_utc,
    quarantine_summary,
    supersede_corrected,
)

# ---------------------------------------------------------------------------------------
# The command line (mounted as `radar steward`)
# ---------------------------------------------------------------------------------------

steward_app = typer.Typer(
    no_args_is_help=True,
    help="数据管理员 Data steward: review, export and accept quarantined rows.",
)

Warehouse = Annotated[
    Path | None, typer.Option(help="DuckDB warehouse file; default from RADAR_WAREHOUSE")
]


class ExportEncoding(StrEnum):
    utf8 = "utf-8"
    gb18030 = "gb18030"


def _open(warehouse: Path | None) -> duckdb.DuckDBPyConnection:
    from flows.settings import Settings

    path = warehouse or Settings().warehouse
    if not path.is_file():
        typer.echo(f"error: warehouse not found: {path}", err=True)
        raise typer.Exit(2)
    return duckdb.connect(str(path))


def _known_feed(feed: str | None) -> None:
    """Exit 2 with one line listing the feeds when `feed` is not one of them (a typo would
    otherwise read as "no open quarantined rows")."""
    from data_contracts.contract import FEEDS

    if feed is not None and feed not in FEEDS:
        typer.echo(f"error: unknown feed {feed!r}: use one of {', '.join(FEEDS)}", err=True)
        raise typer.Exit(2)


@steward_app.command("list")
def list_quarantine(
    feed: Annotated[str | None, typer.Option(help="only this feed")] = None,
    file: Annotated[
        str | None, typer.Option(help="only this file (path relative to landing)")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="a reason code, or just its check")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Count open quarantined rows by feed, file and reason."""
    _known_feed(feed)
    con = _open(warehouse)
    try:
        counts = quarantine_summary(con, feed, file, reason)
    finally:
        con.close()
    if counts.is_empty():
        typer.echo("没有待处理的隔离行 no open quarantined rows")
        return
    for r in counts.iter_rows(named=True):
        typer.echo(
            f"{r['rows']:>6}  {r['feed']:<12} {r['file']}  {r['reason']}  ({r['reason_text']})"
        )


@steward_app.command()
def export(
    out: Annotated[Path, typer.Option(help="directory for the CSV files")],
    encoding: Annotated[ExportEncoding, typer.Option(help="utf-8 (with BOM) or gb18030")] = (
        ExportEncoding.utf8
    ),
    warehouse: Warehouse = None,
) -> None:
    """Write one CSV per delivered file with open quarantined rows."""
    con = _open(warehouse)
    try:
        paths = export_quarantine(con, out, encoding.value)
    finally:
        con.close()
    for path in paths:
        typer.echo(str(path))
    typer.echo(f"{len(paths)} file(s) written")


@steward_app.command()
def accept(
    feed: Annotated[str, typer.Option(help="the feed")],
    file: Annotated[str, typer.Option(help="the delivered file, path relative to landing")],
    row: Annotated[int, typer.Option(help="row number in the file (1-based, header excluded)")],
    by: Annotated[str, typer.Option(help="your name, for the audit trail")],
    note: Annotated[str, typer.Option(help="why the row is accepted")],
    warehouse: Warehouse = None,
) -> None:
    """Accept a quarantined row (recorded with who, when and why)."""
    _known_feed(feed)
    con = _open(warehouse)
    try:
        accept_row(con, feed, file, row, by, note)
    except (LookupError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        con.close()
    typer.echo(f"accepted: {feed} {file} row {row} by {by}")


@steward_app.command()
def supersede(warehouse: Warehouse = None) -> None:
    """Close quarantined rows that a later delivery corrected."""
    con = _open(warehouse)
    try:
        closed = supersede_corrected(con)
    finally:
        con.close()
    typer.echo(f"{closed} quarantined row(s) superseded by later corrections")


@steward_app.command()
def docs(
    out: Annotated[
        Path | None, typer.Option(help="write the Markdown here instead of printing")
    ] = None,
) -> None:
    """Print (or write) the steward's docs of every feed and reason code, from the contract."""
    from data_contracts.steward_docs import contract_markdown

    text = contract_markdown()
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(str(out))


def _shown(key: str) -> str:
    """A linked key as the steward types it: `platform:shop_id`, or `uscc:<code>` for the
    registered business of a business link."""
    return key.removeprefix("shop:")


@steward_app.command("links")
def list_shop_links(
    all_links: Annotated[
        bool, typer.Option("--all", help="also the links a steward split")
    ] = False,
    warehouse: Warehouse = None,
) -> None:
    """List the last run's shop links (storefronts joined without a shared key, and a
    storefront joined to its registered business, `uscc:<code>`), strongest first: the two
    sides, the match probability, the evidence and the lead."""
    con = _open(warehouse)
    try:
        links = shop_links_for_review(con)
    finally:
        con.close()
    if not all_links:
        links = links.filter(~pl.col("split"))
    if links.is_empty():
        typer.echo("没有店铺关联 no shop links")
        return
    for r in links.iter_rows(named=True):
        mark = "  [已拆分 split]" if r["split"] else ""
        typer.echo(
            f"{r['match_probability']:.4f}  {_shown(r['key_a'])} {r['name_a']}  ~  "
            f"{_shown(r['key_b'])} {r['name_b']}  字号 stem {r['stem'] or '-'}  "
            f"发货地 ship-from {r['ship_from'] or '-'}  {r['category']}  "
            f"标题 titles {r['title_similarity']}  {r['entity_id']}{mark}"
        )


@steward_app.command("split-link")
def split_link(
    shop_a: Annotated[str, typer.Argument(help="platform:shop_id (or uscc:<code>)")],
    shop_b: Annotated[str, typer.Argument(help="platform:shop_id (or uscc:<code>)")],
    by: Annotated[str, typer.Option(help="your name, for the audit trail")],
    note: Annotated[str, typer.Option(help="why they are not one operator")],
    warehouse: Warehouse = None,
) -> None:
    """Split two shops that a shop link joined wrongly: no later run joins them through a
    shop link again (the next run's leads show the split)."""
    con = _open(warehouse)
    try:
        a, b = split_shop_link(con, shop_a, shop_b, by, note, now_utc())
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        con.close()
    typer.echo(f"split: {_shown(a)} / {_shown(b)} by {by}; takes effect on the next run")
