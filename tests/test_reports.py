"""Reports: access boundary, no personal data, workbook read back, same bytes, SMTP delivery,
Prefect artifacts."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import polars as pl
import pytest

from data_contracts.contract import prefectures, regions
from data_contracts.geography import prefecture_of
from flows.settings import Settings
from reports.build import build_reports, teams
from reports.data import read_exports, scoped
from reports.delivery import send_reports
from reports.html import bilingual
from tests.report_world import TINY_AS_OF, ReportedRun, reported_run, write_tiny_exports
from tests.smtp_inbox import smtp_inbox


@pytest.fixture(scope="module")
def reported(
    prefect_harness: None, small_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> ReportedRun:
    return reported_run(small_world, tmp_path_factory)


def exports(run_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(run_dir / f"{name}.csv", infer_schema=False)


def workbook_text(path: Path) -> str:
    """Every XML part of a workbook as text (shared strings, sheets, properties)."""
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())


def sheet_column(path: Path, sheet: str, header_prefix: str) -> list[str]:
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    index = next(i for i, h in enumerate(rows[0]) if str(h).startswith(header_prefix))
    return [str(r[index]) for r in rows[1:] if r[index] is not None]


# --- on the small demo world ---------------------------------------------------------------


def test_every_team_gets_an_html_page_and_a_workbook(reported: ReportedRun) -> None:
    run_dir = reported.run.out_dir
    expected = {
        run_dir / "reports" / team / name
        for team in teams()
        for name in ("report.html", "report.xlsx")
    }
    reports = {p for p in reported.reports if p.name in ("report.html", "report.xlsx")}
    assert reports == expected
    assert len(teams()) == 9 and teams()[:2] == ["630100", "630200"]
    assert all(p.stat().st_size > 1000 for p in reported.reports)


def test_a_prefecture_sees_nothing_of_another(reported: ReportedRun) -> None:
    run_dir = reported.run.out_dir
    leads = exports(run_dir, "entity_leads")
    alerts = exports(run_dir, "alerts")
    for team in sorted(prefectures()):
        html = (run_dir / "reports" / team / "report.html").read_text(encoding="utf-8")
        xlsx = run_dir / "reports" / team / "report.xlsx"
        text = workbook_text(xlsx)
        foreign_leads = [
            r["lead_id"]
            for r in leads.iter_rows(named=True)
            if prefecture_of(r["region_code"]) != team
        ]
        foreign_alerts = [
            r["alert_id"]
            for r in alerts.iter_rows(named=True)
            if prefecture_of(r["region_code"]) != team
        ]
        assert foreign_leads and not [i for i in foreign_leads if i in html or i in text], team
        assert not [i for i in foreign_alerts if i in html or i in text], team
        # every region the page or the workbook lists a lead, hotspot, alert or map symbol for
        tagged = re.findall(r'data-(?:region|code)="(\d*)"', html)
        assert tagged and {prefecture_of(c) for c in tagged if c} == {team}, team
        for sheet, header in [("线索", "区划代码"), ("热点", "区划代码"), ("预警", "区划代码")]:
            codes = sheet_column(xlsx, sheet, header)
            assert {prefecture_of(c) for c in codes} <= {team}, (team, sheet)
    # the team's own leads are all there, and leads without a region reach only the province
    mine = leads.filter(pl.col("region_code").str.starts_with("6301"))
    assert sorted(
        sheet_column(run_dir / "reports/630100/report.xlsx", "线索", "线索编号")
    ) == sorted(mine["lead_id"])
    province = sheet_column(run_dir / "reports/province/report.xlsx", "线索", "线索编号")
    assert sorted(province) == sorted(leads["lead_id"])
    nowhere = set(leads.filter(pl.col("region_code").is_null())["lead_id"])
    assert nowhere and nowhere <= set(province)


def test_no_complainant_phone_anywhere(reported: ReportedRun, small_world: Path) -> None:
    phones = set(json.loads((small_world / "truth.json").read_text(encoding="utf-8"))["phones"])
    assert phones
    any_phone = re.compile("|".join(sorted(map(re.escape, phones))))
    for path in reported.reports:
        text = path.read_text(encoding="utf-8") if path.suffix == ".html" else workbook_text(path)
        found = any_phone.search(text)
        assert found is None, f"{path} contains a complainant phone"


def test_workbook_reads_back_with_chinese_intact(reported: ReportedRun) -> None:
    run_dir = reported.run.out_dir
    leads = exports(run_dir, "entity_leads")
    wb = openpyxl.load_workbook(run_dir / "reports" / "province" / "report.xlsx")
    assert wb.sheetnames == ["线索", "热点", "预警", "数据质量"]
    ws = wb["线索"]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == [
        "排名 rank",
        "线索编号 lead_id",
        "主体名称 entity_name",
        "统一社会信用代码 uscc",
    ]
    assert {"风险分 score", "理由 reasons", "商品类别 categories"} <= set(headers)
    first = leads.row(0, named=True)
    row = {h: c.value for h, c in zip(headers, ws[2], strict=True)}
    assert row["排名 rank"] == 1 and row["线索编号 lead_id"] == first["lead_id"]
    assert row["主体名称 entity_name"] == first["entity_name"]
    assert row["理由 reasons"].split("\n")[0] == first["reasons"].split("；")[0]
    assert row["风险分 score"] == pytest.approx(float(first["score"]))
    with_code = next(i for i, u in enumerate(leads["uscc"].to_list()) if u)
    uscc_cell = ws.cell(row=with_code + 2, column=4)
    assert uscc_cell.data_type == "s" and uscc_cell.value == leads["uscc"][with_code]  # stays text
    assert ws.max_row == leads.height + 1
    for sheet in wb.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
    quality = wb["数据质量"]
    assert quality.max_row == exports(run_dir, "data_quality").height + 1
    assert any("拒收" in str(c.value) for c in quality["C"])


def test_reports_show_the_night(reported: ReportedRun) -> None:
    run_dir = reported.run.out_dir
    html = (run_dir / "reports" / "province" / "report.html").read_text(encoding="utf-8")
    leads = exports(run_dir, "entity_leads")
    high = leads.filter(pl.col("risk_level") == "high").height
    summary = re.search(r'<div class="card risk">\s*<div class="num">(\d+)</div>', html)
    assert summary and int(summary.group(1)) == high
    assert "数据截至 2026-06-30" in html and "两法衔接" in html and "线索通报" in html
    alerts = exports(run_dir, "alerts")
    assert html.count('<svg class="spark"') == alerts.height  # a trend chart per alert
    main_map = re.search(r'<svg id="county-map-province".*?</svg>', html, re.S)
    assert main_map and main_map.group(0).count('<g class="county') == len(regions())


def test_same_inputs_same_bytes(reported: ReportedRun) -> None:
    before = {p: p.read_bytes() for p in reported.reports}
    time.sleep(2.1)  # zip times have a two-second resolution
    con = duckdb.connect(str(reported.warehouse), read_only=True)
    try:
        again = build_reports(reported.run.out_dir, con, reported.run.as_of)
    finally:
        con.close()
    assert sorted(again) == sorted(before)
    assert [p for p in again if p.read_bytes() != before[p]] == []


# --- on tiny hand-made exports -------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """OUT/<as-of>/ of hand-made exports with their reports (no warehouse)."""
    run_dir = write_tiny_exports(tmp_path / "out")
    build_reports(run_dir, None, TINY_AS_OF)
    return run_dir


def test_text_is_escaped_and_nothing_loads_from_the_network(tiny: Path) -> None:
    html = (tiny / "reports" / "630100" / "report.html").read_text(encoding="utf-8")
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;城东&amp;商行" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "未连接数据仓库" in html  # no warehouse: the alert is listed without a chart


def test_tiny_reports_split_by_prefecture(tiny: Path) -> None:
    exports_ = read_exports(tiny)
    assert scoped(exports_, "630100").leads["lead_id"].to_list() == ["CR-XINING00001"]
    assert scoped(exports_, "632800").alerts["alert_id"].to_list() == ["AL-haixi0000002"]
    assert scoped(exports_, "632800").hotspots["region_code"].to_list() == ["632801"]
    for team in sorted(prefectures()):
        html = (tiny / "reports" / team / "report.html").read_text(encoding="utf-8")
        assert "CR-NOWHERE0003" not in html
    province = (tiny / "reports" / "province" / "report.html").read_text(encoding="utf-8")
    assert "CR-NOWHERE0003" in province and "广东省 440300" in province


def test_new_leads_are_counted_when_the_export_says_so(tmp_path: Path) -> None:
    run_dir = write_tiny_exports(tmp_path / "out")
    leads = pl.read_csv(run_dir / "entity_leads.csv", infer_schema=False)
    leads.with_columns(pl.Series("is_new", ["true", "false", "true"])).write_csv(
        run_dir / "entity_leads.csv", include_bom=True, null_value=""
    )
    build_reports(run_dir, None, TINY_AS_OF)
    html = (run_dir / "reports" / "province" / "report.html").read_text(encoding="utf-8")
    card = re.search(
        r'<div class="card risk">\s*<div class="num">(\d+)</div>\s*(.*?)</div>', html, re.S
    )
    assert card and card.group(1) == "1" and "新增高风险线索" in card.group(2)
    assert html.count('<span class="badge new">') == 2


def test_reasons_split_into_chinese_and_english() -> None:
    assert bilingual("35%的商品标题含“高仿/原单/1:1”等用语 / 35% of titles use slang") == (
        "35%的商品标题含“高仿/原单/1:1”等用语",
        "35% of titles use slang",
    )
    assert bilingual("近180天5起可信的假冒/质量投诉（共6起）/ 5 credible") == (
        "近180天5起可信的假冒/质量投诉（共6起）",
        "5 credible",
    )
    assert bilingual("只有中文") == ("只有中文", "")


# --- delivery ------------------------------------------------------------------------------


RECIPIENTS = {"630100": ["xining@example.cn"], "632800": ["haixi@example.cn", "hx2@example.cn"]}


def test_each_team_gets_only_its_own_report(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_inbox() as inbox:
        monkeypatch.setenv("RADAR_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("RADAR_SMTP_PORT", str(inbox.port))
        monkeypatch.setenv("RADAR_SMTP_RECIPIENTS", json.dumps(RECIPIENTS))
        settings = Settings()
        assert settings.smtp_recipients == RECIPIENTS
        dirs = [tiny / "reports" / team for team in teams()]
        sent = send_reports(dirs, settings.smtp_recipients, settings.smtp_server())
    assert sent == 2 and len(inbox.received) == 2
    by_team = {}
    for rcpt, message in inbox.received:
        files = {
            str(part.get_filename()): part.get_payload(decode=True)
            for part in message.walk()
            if part.get_filename()
        }
        by_team[tuple(rcpt)] = files
    xining = by_team[("xining@example.cn",)]
    haixi = by_team[("haixi@example.cn", "hx2@example.cn")]
    assert sorted(xining) == [
        f"counterfeit-radar_630100_{TINY_AS_OF}.html",
        f"counterfeit-radar_630100_{TINY_AS_OF}.xlsx",
    ]
    assert (
        xining[f"counterfeit-radar_630100_{TINY_AS_OF}.html"]
        == (tiny / "reports" / "630100" / "report.html").read_bytes()
    )
    assert (
        haixi[f"counterfeit-radar_632800_{TINY_AS_OF}.xlsx"]
        == (tiny / "reports" / "632800" / "report.xlsx").read_bytes()
    )
    assert b"CR-HAIXI000002" not in xining[f"counterfeit-radar_630100_{TINY_AS_OF}.html"]
    assert b"CR-XINING00001" not in haixi[f"counterfeit-radar_632800_{TINY_AS_OF}.html"]


def test_no_smtp_host_sends_nothing(tiny: Path) -> None:
    dirs = [tiny / "reports" / "630100"]
    assert (
        send_reports(dirs, {"630100": ["x@example.cn"]}, Settings(smtp_host="").smtp_server()) == 0
    )


# --- Prefect artifacts ---------------------------------------------------------------------


def test_run_artifacts_are_published(reported: ReportedRun, small_world: Path) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.artifacts import SUMMARY_KEY, TOP_LEADS_KEY, VALIDATION_KEY, publish_run_artifacts

    run_dir = reported.run.out_dir
    quality = pl.read_csv(run_dir / "data_quality.csv", infer_schema=False)
    alerts = pl.read_csv(run_dir / "alerts.csv", infer_schema=False)

    @flow(name="publish-artifacts-test")
    def publish() -> None:
        publish_run_artifacts(reported.run.leads, quality, alerts, reported.run.as_of)

    publish()
    keys = [SUMMARY_KEY, TOP_LEADS_KEY, VALIDATION_KEY]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)), limit=50
        )
    latest = {}
    for artifact in sorted(found, key=lambda a: (a.created or dt.datetime.min).isoformat()):
        latest[str(artifact.key)] = artifact
    assert set(latest) == set(keys)
    summary = str(latest[SUMMARY_KEY].data)
    high = reported.run.leads.filter(pl.col("risk_level") == "high").height
    assert f"| 高风险线索 high-risk leads | {high} |" in summary
    top = latest[TOP_LEADS_KEY].data
    top_rows: list[dict[str, Any]] = json.loads(top) if isinstance(top, str) else top  # type: ignore[assignment]
    assert len(top_rows) == min(20, reported.run.leads.height)
    assert top_rows[0]["线索编号 lead_id"] == reported.run.leads["lead_id"][0]
    validation = latest[VALIDATION_KEY].data
    rows: list[dict[str, Any]] = (
        json.loads(validation) if isinstance(validation, str) else validation  # type: ignore[assignment]
    )
    assert len(rows) == quality.height and rows[0]["状态 status"] == "rejected"
    phones = set(json.loads((small_world / "truth.json").read_text(encoding="utf-8"))["phones"])
    everything = (
        summary + json.dumps(top_rows, ensure_ascii=False) + json.dumps(rows, ensure_ascii=False)
    )
    assert not [p for p in phones if p in everything]


def test_the_nightly_run_mails_the_teams_configured_in_settings(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.nightly import mail_reports_task

    with smtp_inbox() as inbox:
        monkeypatch.setenv("RADAR_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("RADAR_SMTP_PORT", str(inbox.port))
        monkeypatch.setenv("RADAR_SMTP_RECIPIENTS", json.dumps({"province": ["qh@example.cn"]}))
        assert mail_reports_task.fn(tiny) == 1
    [(to, message)] = inbox.received
    assert (
        to == ["qh@example.cn"]
        and "province" in str(message["Subject"])
        or "全省" in str(message["Subject"])
    )


def test_without_a_mail_server_the_nightly_run_mails_nothing(tiny: Path) -> None:
    from flows.nightly import mail_reports_task

    assert mail_reports_task.fn(tiny) == 0


def test_officers_see_one_line_about_the_data(reported: ReportedRun) -> None:
    """Issue 23 part 4: file-level data quality is the steward's (the province report, the
    data_quality export); a prefecture's report and workbook say it in one line."""
    run_dir = reported.run.out_dir
    rejected = exports(run_dir, "data_quality").filter(pl.col("status") == "rejected")
    assert rejected.height
    for team in sorted(prefectures()):
        html = (run_dir / "reports" / team / "report.html").read_text(encoding="utf-8")
        assert f"{rejected.height} files rejected — the data steward has been told" in html
        assert not [f for f in rejected["file"] if f in html], team
        assert "files to look at" not in html
        wb = openpyxl.load_workbook(run_dir / "reports" / team / "report.xlsx", read_only=True)
        assert wb.sheetnames == ["线索", "热点", "预警"], team
    province = (run_dir / "reports" / "province" / "report.html").read_text(encoding="utf-8")
    assert "files to look at" in province


def test_every_link_in_the_reports_resolves(reported: ReportedRun) -> None:
    """Issue 23 part 3: the report, its to-do list and the workbook link each of the team's top
    leads to its dossier; every link of every page leads to an existing file or anchor."""
    run_dir = reported.run.out_dir
    pages = sorted((run_dir / "reports").rglob("*.html"))
    dossiers = [p for p in pages if p.parent.name == "leads"]
    assert len(dossiers) >= 10
    checked = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for href in re.findall(r'href="([^"]*)"', html):
            assert "://" not in href, (page, href)  # self-contained: nothing from the network
            target, _, anchor = href.partition("#")
            file = (page.parent / target).resolve() if target else page
            assert file.is_file(), (page, href)
            if anchor:
                assert f'id="{anchor}"' in file.read_text(encoding="utf-8"), (page, href)
            checked += 1
    assert checked > len(dossiers)
    team = "630100"
    html = (run_dir / "reports" / team / "report.html").read_text(encoding="utf-8")
    todo = html.split('id="actions"', 1)[1].split("</section>", 1)[0]
    assert 'href="#lead-' in todo and 'href="leads/' in todo
    ws = openpyxl.load_workbook(run_dir / "reports" / team / "report.xlsx")["线索"]
    links = [c.hyperlink.target for row in ws.iter_rows(min_row=2) for c in row if c.hyperlink]
    assert links and all((run_dir / "reports" / team / t).is_file() for t in links)
    leads = exports(run_dir, "entity_leads")
    first = leads.filter(pl.col("region_code").str.starts_with("6301"))["lead_id"][0]
    dossier = (run_dir / "reports" / team / "leads" / f"{first}.html").read_text(encoding="utf-8")
    for section in (
        "主体信息",
        "风险理由",
        "在售商品",
        "投诉举报",
        "检查记录",
        "信用记录",
        "关联依据",
        "处置记录",
        "排名历史",
    ):
        assert section in dossier
    assert "@page" in dossier and "counter(page)" in dossier
    sheets = sorted((run_dir / "reports" / team / "counties").glob("*.html"))
    assert sheets and 'href="counties/' in html
    busiest = max(sheets, key=lambda p: p.stat().st_size).read_text(encoding="utf-8")
    assert "优先核查线索" in busiest and "预警" in busiest and "热点" in busiest
