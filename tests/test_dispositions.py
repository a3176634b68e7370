"""Issue 23, done when: a team returns its filled workbook, the import checks it row by row,
and the next run holds the checked lead out, keeps the lead with a case opened from being
flagged again, quarantines the bad rows with their reasons, and trains on the dispositions
from the day they were imported."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from data_contracts.contract import regions
from flows.cli import app
from flows.nightly import nightly
from models.dispositions import last_evidence_sql
from models.train import load_model_config, training_cases
from reports.data import read_exports, scoped
from reports.html import actions
from tests.report_world import ReportedRun, reported_run
from transforms.landing import scan_landing


@pytest.fixture(scope="module")
def reported(
    prefect_harness: None, small_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> ReportedRun:
    return reported_run(small_world, tmp_path_factory)


def _prefecture(code: str | None) -> str | None:
    region = regions().get(code or "")
    return region.prefecture_code if region else None


def _fill(workbook: Path, out: Path, rows: dict[str, tuple[str, object, str, str]]) -> Path:
    """The team's workbook with the input columns of `rows` (lead id → status, date, who,
    note) filled as an officer would, and extra rows appended for lead ids not in it."""
    wb = openpyxl.load_workbook(workbook)
    ws = wb["线索"]
    headers = [str(c.value) for c in ws[1]]
    col = {h.split(" ")[0]: i + 1 for i, h in enumerate(headers)}
    by_id = {ws.cell(r, col["线索编号"]).value: r for r in range(2, ws.max_row + 1)}
    for lead_id, (status, checked_on, who, note) in rows.items():
        r = by_id.get(lead_id)
        if r is None:
            r = ws.max_row + 1
            ws.cell(r, col["线索编号"]).value = lead_id
        ws.cell(r, col["处置状态"]).value = status
        ws.cell(r, col["核查日期"]).value = checked_on
        ws.cell(r, col["核查人"]).value = who
        ws.cell(r, col["备注"]).value = note
    wb.save(out)
    return out


def test_workbook_has_input_columns_with_drop_downs(reported: ReportedRun) -> None:
    path = reported.run.out_dir / "reports" / "630100" / "report.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.properties.subject == "radar-team:630100"
    ws = wb["线索"]
    headers = [str(c.value) for c in ws[1]]
    assert [h.split(" ")[0] for h in headers[4:8]] == ["处置状态", "核查日期", "核查人", "备注"]
    lists = [v for v in ws.data_validations.dataValidation if v.type == "list"]
    assert len(lists) == 1 and str(lists[0].sqref).startswith("E2:E")
    assert lists[0].formula1 == '"待核查,核查中,已核查未发现问题,已立案,已移送公安,非本辖区"'
    dates = [v for v in ws.data_validations.dataValidation if v.type == "date"]
    assert str(dates[0].sqref).startswith("F2:F")


def test_returned_workbook_changes_the_next_run(reported: ReportedRun, tmp_path: Path) -> None:
    as_of = reported.run.as_of
    run_dir = reported.run.out_dir
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(reported.warehouse, warehouse)  # the shared run stays as it was
    leads = read_exports(run_dir).leads
    team = (
        leads.with_columns(
            pl.col("region_code").map_elements(_prefecture, return_dtype=pl.String).alias("p")
        )
        .filter(pl.col("p").is_not_null())
        .group_by("p")
        .len()
        .sort(["len", "p"], descending=[True, False])["p"][0]
    )
    team_leads = scoped(read_exports(run_dir), team).leads
    mine = team_leads.filter(pl.col("risk_level") == "high")
    assert mine.height >= 3, "the team needs three high leads for this test"
    checked, opened, evidence_lead = mine["lead_id"][:3].to_list()
    late, unlisted = team_leads.filter(~pl.col("lead_id").is_in(mine["lead_id"][:3].implode()))[
        "lead_id"
    ][:2]
    other = leads.filter(
        pl.col("region_code").map_elements(_prefecture, return_dtype=pl.String) != team
    ).filter(pl.col("region_code").is_not_null())["lead_id"][0]
    con = duckdb.connect(str(warehouse), read_only=True)
    con.register("_leads", pl.DataFrame({"lead_id": [evidence_lead]}).to_arrow())
    last = con.execute(last_evidence_sql(), {"as_of": as_of}).fetchone()
    con.close()
    assert last is not None and last[1] is not None
    before_evidence = last[1] - dt.timedelta(days=1)

    returned = _fill(
        run_dir / "reports" / team / "report.xlsx",
        tmp_path / "returned.xlsx",
        {
            checked: ("已核查未发现问题", dt.datetime.combine(as_of, dt.time()), "王警官", ""),
            opened: ("已立案", as_of.isoformat(), "李科长", "立案号 2026-001，电话 13912345678"),
            evidence_lead: ("已核查未发现问题", before_evidence.isoformat(), "王警官", ""),
            "CR-NOSUCHLEAD": ("已立案", as_of.isoformat(), "王警官", ""),
            other: ("核查中", as_of.isoformat(), "王警官", ""),
            late: ("已立案", (as_of + dt.timedelta(days=5)).isoformat(), "", ""),
            unlisted: ("查过了", as_of.isoformat(), "", ""),
        },
    )
    result = CliRunner().invoke(
        app,
        [
            "dispositions",
            "import",
            str(returned),
            "--by",
            "赵管理员",
            "--warehouse",
            str(warehouse),
            "--as-of",
            as_of.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "7 rows, 3 accepted, 4 quarantined" in result.output

    con = duckdb.connect(str(warehouse))
    audit = con.sql("select * from ops.disposition_imports").pl().row(0, named=True)
    assert (audit["imported_by"], audit["team"], audit["status"]) == ("赵管理员", team, "loaded")
    assert audit["rows_read"] == audit["rows_accepted"] + audit["rows_quarantined"] == 7
    assert audit["imported_on"] == as_of and audit["sha256"]
    quarantined = dict(
        con.execute("select lead_id, reasons from quarantine.disposition_rows").fetchall()
    )
    assert quarantined["CR-NOSUCHLEAD"].startswith("unknown:线索编号")
    assert quarantined[other].startswith("scope:线索编号")
    assert quarantined[late].startswith("range:核查日期 after today")
    assert quarantined[unlisted].startswith("enum:处置状态")
    stored = con.execute(
        "select note from staging.dispositions_history where lead_id = ?", [opened]
    ).fetchone()
    assert stored is not None and "13912345678" not in stored[0]  # no phone kept
    con.close()

    # The same workbook again: a duplicate, nothing loaded twice.
    again = CliRunner().invoke(
        app,
        [
            "dispositions",
            "import",
            str(returned),
            "--by",
            "赵管理员",
            "--warehouse",
            str(warehouse),
            "--as-of",
            as_of.isoformat(),
        ],
    )
    assert "duplicate" in again.output

    # The next night reads another team's workbook from the landing's dispositions/ folder
    # (with a file that is no workbook): both in data_quality, counts adding up.
    used = {checked, opened, evidence_lead, late, unlisted}
    xining = leads.filter(
        pl.col("region_code").str.starts_with("6301") & ~pl.col("lead_id").is_in(list(used))
    )["lead_id"][0]
    landing = tmp_path / "landing"
    folder = landing / "dispositions" / "630100"
    folder.mkdir(parents=True)
    _fill(
        run_dir / "reports" / "630100" / "report.xlsx",
        folder / "returned.xlsx",
        {
            xining: ("已移送公安", as_of.isoformat(), "王警官", ""),
            "CR-NOSUCHLEAD": ("已立案", "", "", ""),
        },
    )
    (folder / "notes.xlsx").write_bytes(b"not a workbook")
    scan = scan_landing(landing)
    assert scan.outside_feeds == [] and len(scan.dispositions) == 2
    next_day = as_of + dt.timedelta(days=1)
    nxt = nightly(landing=landing, warehouse=warehouse, as_of=next_day, out=tmp_path / "out")
    dq = pl.read_csv(nxt.out_dir / "data_quality.csv", infer_schema=False)
    files = {
        r["file"]: r for r in dq.filter(pl.col("feed") == "dispositions").iter_rows(named=True)
    }
    good = files["dispositions/630100/returned.xlsx"]
    counts = (good["status"], good["rows_read"], good["rows_accepted"], good["rows_quarantined"])
    assert counts == ("loaded", "2", "1", "1")
    assert "unknown:线索编号" in good["issues"] and "required:核查日期" in good["issues"]
    bad = files["dispositions/630100/notes.xlsx"]
    assert bad["status"] == "rejected" and "xlsx" in bad["issues"]
    assert nxt.leads.filter(pl.col("lead_id") == xining)["status"][0] == "in_progress"

    after = nxt.leads.filter(pl.col("lead_id").is_in([checked, opened, evidence_lead]))
    status = dict(zip(after["lead_id"], after["status"], strict=True))
    assert status[checked] == "held" and status[opened] == "in_progress"
    row = after.filter(pl.col("lead_id") == checked).row(0, named=True)
    assert row["held_until"] == as_of + dt.timedelta(days=90) and not row["is_new"]
    assert not after.filter(pl.col("lead_id") == opened)["is_new"][0]
    returned_lead = after.filter(pl.col("lead_id") == evidence_lead).row(0, named=True)
    assert returned_lead["status"] != "held"
    assert returned_lead["new_since_checked"] == before_evidence

    part = scoped(read_exports(nxt.out_dir), team)
    todo = " ".join(a.en for a in actions(part, team, next_day, 30))
    assert checked not in todo and opened not in todo

    con = duckdb.connect(str(warehouse))
    try:
        config = load_model_config()
        cases = training_cases(con, next_day, config).filter(
            pl.col("outcome_id").str.starts_with("disposition:")
        )
        labels = {
            r["lead_id"]: (r["label"], r["weight"], r["closed_on"])
            for r in cases.iter_rows(named=True)
        }
        assert labels[opened] == (1, 1.0, as_of)
        assert labels[checked] == (0, 0.5, as_of)
        assert labels[evidence_lead] == (0, 0.5, before_evidence)
        # No leak: the day before the import, the model cannot learn from them.
        earlier = training_cases(con, as_of - dt.timedelta(days=1), config)
        assert not earlier["outcome_id"].str.starts_with("disposition:").any()
    finally:
        con.close()


def test_a_row_is_checked_against_status_date_lead_and_team() -> None:
    from data_contracts.dispositions import DispositionRow, check_row

    today = dt.date(2026, 6, 30)
    known = {"CR-A": "630100", "CR-B": "632800", "CR-OUT": None}

    def reasons(lead: str, status: str, day: str, team: str = "630100") -> list[str]:
        row = DispositionRow(2, lead, status, day, "王", "")
        return [r.split(" ")[0] for r in check_row(row, team, today, known).reasons]

    assert reasons("CR-A", "已核查未发现问题", "2026-06-30") == []
    assert reasons("CR-A", "核查中", "") == []  # an undated status needs no date
    assert reasons("CR-A", "已立案", "") == ["required:核查日期"]
    assert reasons("CR-A", "已立案", "2026/06/29") == []
    assert reasons("CR-A", "已立案", "昨天") == ["type:核查日期"]
    assert reasons("CR-A", "已立案", "2026-07-01") == ["range:核查日期"]
    assert reasons("CR-B", "已立案", "2026-06-01") == ["scope:线索编号"]
    assert reasons("CR-OUT", "已立案", "2026-06-01") == ["scope:线索编号"]
    assert reasons("CR-B", "已立案", "2026-06-01", team="province") == []  # the province: all
    assert reasons("", "", "") == ["required:处置状态", "required:线索编号"]


def test_dispositions_count_in_the_precision_of_past_lead_lists(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A lead list's precision by week counts the dispositions checked within the horizon
    after it (已立案 a hit, checked-nothing-found a miss), next to the outcomes."""
    from models.explore import lead_outcomes, precision_at_k
    from transforms.dispositions import ensure_disposition_tables

    ensure_disposition_tables(con)
    con.execute("create schema core")
    con.execute(
        "create table staging.outcomes (outcome_id VARCHAR, closed_on DATE, "
        "outcome VARCHAR, lead_id VARCHAR)"
    )
    con.execute(
        "create table core.record_entities (feed VARCHAR, record_id VARCHAR, entity_id VARCHAR)"
    )
    con.execute("insert into staging.outcomes values ('O1', '2026-06-10', 'confirmed', 'CR-3')")
    rows = [
        ("CR-1", "case_opened", "2026-06-05"),
        ("CR-2", "checked_nothing_found", "2026-06-06"),
        ("CR-4", "case_opened", "2026-05-20"),  # checked before the list: not an answer
    ]
    for lead, status, day in rows:
        con.execute(
            "insert into staging.dispositions_history values ('i', 'f.xlsx', 2, '630100', ?, ?, "
            "?, '王', null, timestamp '2026-06-20 08:00', date '2026-06-20')",
            [lead, status, day],
        )
    history = pl.DataFrame(
        {
            "as_of": [dt.date(2026, 6, 1)] * 4,
            "lead_id": ["CR-1", "CR-2", "CR-3", "CR-4"],
            "rank": [1, 2, 3, 4],
        }
    )
    outcomes = lead_outcomes(con, history, horizon_days=30)
    labels = dict(zip(outcomes["lead_id"], outcomes["label"], strict=True))
    assert labels == {"CR-1": 1, "CR-2": 0, "CR-3": 1, "CR-4": None}
    table = precision_at_k(outcomes, [2, 4]).rows_by_key("k", named=True, unique=True)
    assert (table[2]["positives"], table[2]["decided"]) == (1, 2)
    assert (table[4]["positives"], table[4]["decided"], table[4]["precision"]) == (2, 3, 0.5)


# --- a returned workbook is read under the feeds' .xlsx limits (FEEDS.md, Limits) --------


def _team_workbook(path: Path) -> Path:
    """A small returned team workbook: one lead checked, nothing found."""
    from data_contracts.dispositions import LEADS_SHEET, TEAM_SUBJECT_PREFIX

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = LEADS_SHEET
    ws.append(["排名", "线索编号", "处置状态", "核查日期", "核查人", "备注"])
    ws.append([1, "CR-1", "已核查未发现问题", dt.date(2026, 6, 20), "王", "无"])
    wb.properties.subject = f"{TEAM_SUBJECT_PREFIX}632800"
    wb.save(path)
    return path


def test_a_returned_workbook_within_the_limits_is_read(tmp_path: Path) -> None:
    from data_contracts.dispositions import read_returned_workbook

    returned = read_returned_workbook(_team_workbook(tmp_path / "ok.xlsx"))
    assert returned.team == "632800"
    assert [(r.row_number, r.lead_id, r.checked_by) for r in returned.rows] == [(2, "CR-1", "王")]


def test_a_returned_workbook_that_understates_its_size_is_read_whole(tmp_path: Path) -> None:
    # Some writers declare <dimension ref="A1"/> whatever the sheet holds: the officer's rows
    # are read all the same (bounded by the declared size, none was).
    from data_contracts.dispositions import read_returned_workbook
    from tests.delivery import with_sheet_dimension

    path = _team_workbook(tmp_path / "understated.xlsx")
    path.write_bytes(with_sheet_dimension(path.read_bytes(), "A1"))
    returned = read_returned_workbook(path)
    assert [(r.row_number, r.lead_id, r.checked_by) for r in returned.rows] == [(2, "CR-1", "王")]


@pytest.mark.parametrize("dimension", ["A1:F2000000", "A1:GS2"])
def test_a_returned_workbook_declaring_a_huge_sheet_is_rejected_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dimension: str
) -> None:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    from data_contracts.dispositions import DispositionFileError, read_returned_workbook
    from tests.delivery import with_sheet_dimension

    path = _team_workbook(tmp_path / "huge.xlsx")
    path.write_bytes(with_sheet_dimension(path.read_bytes(), dimension))
    read: list[object] = []

    def no_rows(self: object, *args: object, **kwargs: object) -> object:
        read.append(self)
        return iter(())

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", no_rows)
    with pytest.raises(DispositionFileError, match="limit broken: the sheet declares"):
        read_returned_workbook(path)
    assert not read, "the sheet's rows were read"


def test_a_returned_workbook_whose_parts_decompress_past_the_limit_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from data_contracts import readers
    from data_contracts.contract import limits
    from data_contracts.dispositions import DispositionFileError, read_returned_workbook

    # a long note compresses to almost nothing: a small stand-in for a zip bomb
    path = _team_workbook(tmp_path / "bomb.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["线索"]["F3"] = "无" * 100_000
    wb.save(path)
    unpacked = 50_000
    assert path.stat().st_size < unpacked
    monkeypatch.setattr(
        readers, "limits", lambda: dataclasses.replace(limits(), xlsx_unpacked_bytes=unpacked)
    )
    with pytest.raises(DispositionFileError, match="limit broken: its parts decompress"):
        read_returned_workbook(path)


def test_a_hostile_returned_workbook_is_an_audited_rejected_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.delivery import with_sheet_dimension
    from transforms.dispositions import import_dispositions

    path = _team_workbook(tmp_path / "huge.xlsx")
    path.write_bytes(with_sheet_dimension(path.read_bytes(), "A1:ZZ2000000"))
    con = duckdb.connect()
    result = import_dispositions(
        con, path, file="huge.xlsx", source="cli", imported_by="王", today=dt.date(2026, 6, 30)
    )
    assert result.status == "rejected" and "limit broken" in result.issues
    assert con.sql("select status from ops.disposition_imports").fetchall() == [("rejected",)]
