"""Personal data over time: the retention purge (and the nightly run that applies it), and
erasure on request: everywhere, in any written form, kept erased on re-delivery, out of the
warehouse file's bytes and out of the exports already written, audited; a dry run changes
nothing. Redaction of text that leaves the warehouse is tested in test_redaction.py.

No assertion here may print a phone number when it fails: values are checked through
booleans (`leaked = ...; assert not leaked`), never compared in the assertion itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from data_contracts.personal import (
    PHONE_REMOVED,
    NotAPhoneNumber,
    normalize_phone,
    phone_matcher,
)
from tests.conftest import COMPLAINT_HEADER, write
from transforms.ingest import ingest_landing
from transforms.privacy import PURGED_TEXT, apply_retention, erase_person, text_columns
from transforms.warehouse import bytes_found

AS_OF = dt.date(2026, 6, 30)
PHONE = "13911112222"
OTHER = "13933334444"
ROW = "{id},{at},{channel},630102,seeds,other,consumer,{subject},,,,,{text},,{phone}"


def complaint(
    id: str,
    text: str = "假种子",
    phone: str = OTHER,
    subject: str = "某店",
    at: str = "2026-05-03 10:00:00",
    channel: str = "hotline_12315",
) -> str:
    return ROW.format(id=id, at=at, channel=channel, subject=subject, text=text, phone=phone)


OLD = complaint("C1", f"假种子 请回电{PHONE}", PHONE, at="2022-01-03 10:00:00")
NEW = complaint("C2", "假化肥")
BROKEN = f"C3,2022-01-04,{PHONE}"


def deliver(landing: Path, *rows: str, name: str = "a.csv", tail: str = "") -> Path:
    return write(landing / "complaints" / name, "\n".join([COMPLAINT_HEADER, *rows]) + "\n" + tail)


def load(tmp_path: Path, con: duckdb.DuckDBPyConnection, *rows: str) -> None:
    deliver(tmp_path, *rows)
    ingest_landing(con, tmp_path, "r1")


def everything(con: duckdb.DuckDBPyConnection) -> str:
    """Every row of every table of the warehouse, as one text."""
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where not temporary order by all"
    ).fetchall()
    return str([con.execute(f'select * from {s}."{t}"').fetchall() for s, t in tables])


def cases(*values: str) -> list[object]:
    """Test parameters with neutral ids: a phone number never appears in a test's name."""
    return [pytest.param(v, id=f"case{i}") for i, v in enumerate(values)]


def written(text: str, phone: str) -> bool:
    """Whether `phone` is written in `text` in any form (grouped, +86, full-width …)."""
    return phone_matcher(normalize_phone(phone)).search(text) is not None


# ---------------------------------------------------------------------------------------
# retention
# ---------------------------------------------------------------------------------------


def test_retention_purges_old_phones_and_texts(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    old_quarantined = complaint(
        "C4", "旧投诉", "13955556666", at="2022-01-05 10:00:00", channel="bogus"
    )
    load(tmp_path, con, OLD, NEW, old_quarantined)
    assert apply_retention(con, AS_OF, retention_days=3 * 365) == 2
    dump = everything(con)
    leaked = written(dump, PHONE) or written(dump, "13955556666")
    gone = not leaked and "假种子" not in dump and "旧投诉" not in dump
    assert gone
    kept = written(dump, OTHER) and "假化肥" in dump
    assert kept  # recent complaints are kept
    texts = dict(con.execute("select complaint_id, description from staging.complaints").fetchall())
    assert texts == {"C1": PURGED_TEXT, "C2": "假化肥"}
    assert con.execute("select action, complaints from ops.privacy_audit").fetchall() == [
        ("retention", 2)
    ]
    assert apply_retention(con, AS_OF, retention_days=3 * 365) == 0  # idempotent


def test_the_nightly_flow_applies_retention_with_its_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unittest.mock import MagicMock

    from prefect import Task

    import flows.nightly

    calls: dict[str, tuple[object, ...]] = {}

    def stand_in(name: str) -> object:
        def run(*args: object) -> object:
            calls[name] = args
            return MagicMock()

        return run

    for name, task in vars(flows.nightly).copy().items():
        if isinstance(task, Task):  # every task of the flow, not run: only its arguments kept
            monkeypatch.setattr(flows.nightly, name, stand_in(name))
    warehouse = tmp_path / "w.duckdb"
    flows.nightly.nightly.fn(
        landing=tmp_path, warehouse=warehouse, as_of=AS_OF, out=tmp_path, retention_days=400
    )
    assert calls["retention_task"] == (warehouse, 400)


def test_radar_run_passes_radar_retention_days_to_the_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.cli
    import flows.nightly

    calls: list[dict[str, object]] = []

    def flow(**parameters: object) -> flows.nightly.RunResult:
        calls.append(parameters)
        return flows.nightly.RunResult(AS_OF, tmp_path / "out", [], pl.DataFrame(), None)  # type: ignore[arg-type]

    monkeypatch.setattr(flows.nightly, "with_task_runner", lambda *_: flow)
    monkeypatch.setattr(flows.cli, "start_temporary_server", lambda: None)
    monkeypatch.setattr(flows.cli, "_print_leads", lambda result: None)
    monkeypatch.setenv("RADAR_RETENTION_DAYS", "400")
    (tmp_path / "landing").mkdir()
    options = {"landing": "landing", "warehouse": "w.duckdb", "out": "out"}
    args = [f"--{k}={tmp_path / v}" for k, v in options.items()]
    result = CliRunner().invoke(flows.cli.app, ["run", *args, f"--as-of={AS_OF}"])
    assert result.exit_code == 0, result.output
    assert [c["retention_days"] for c in calls] == [400]


# ---------------------------------------------------------------------------------------
# erasure on request
# ---------------------------------------------------------------------------------------


def test_erase_by_phone_and_by_complaint_id(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    load(tmp_path, con, OLD, NEW, BROKEN)
    assert erase_person(con, phone=OTHER, by="steward", note="申请删除").complaints == 1
    leaked = written(everything(con), OTHER)
    assert not leaked
    assert erase_person(con, complaint_id="C1", by="steward").complaints == 1
    dump = everything(con)
    gone = "假种子" not in dump
    assert gone
    kept = written(dump, PHONE)
    assert kept  # erasure by complaint id does not touch another record (C3, malformed)
    erasure = erase_person(con, phone=PHONE, by="steward")
    assert erasure.complaints == 1  # the malformed record that holds it
    assert erasure.rows == {"raw.complaints": 1, "quarantine.rows": 1}
    leaked = written(everything(con), PHONE)
    assert not leaked
    audit = con.execute(
        "select subject, complaints, changes from ops.privacy_audit order by acted_at"
    ).fetchall()
    assert [(a[0], a[1]) for a in audit] == [
        ("phone (not recorded)", 1),
        ("complaint C1", 1),
        ("phone (not recorded)", 1),
    ]
    assert json.loads(audit[2][2]) == {"quarantine.rows": 1, "raw.complaints": 1}
    for (record,) in con.execute("select record from raw.complaints").fetchall():
        json.loads(record)  # still JSON: retention can read it
    apply_retention(con, AS_OF, retention_days=30)


@pytest.mark.parametrize(
    "written_as",
    cases(
        "18609710000",
        "186-0971-0000",
        "+86 186 0971 0000",
        "0086-186-0971-0000",
        "１８６０９７１００００",
    ),
)
def test_a_phone_is_normalised_from_any_written_form(written_as: str) -> None:
    same = normalize_phone(written_as) == "18609710000"
    assert same


@pytest.mark.parametrize("written_as", cases("0971-5555555", "(0971)5555555", "+86 971 5555555"))
def test_a_landline_is_normalised_with_its_area_code(written_as: str) -> None:
    same = normalize_phone(written_as) == "09715555555"
    assert same


@pytest.mark.parametrize(
    "fragment", cases('"', "1", "100", "5555555", "1860971", "+1 212 555 0100")
)
def test_a_fragment_is_not_a_phone_number(fragment: str) -> None:
    with pytest.raises(NotAPhoneNumber):
        normalize_phone(fragment)


@pytest.mark.parametrize("fragment", cases('"', "1"))
def test_radar_erase_refuses_a_fragment_and_changes_nothing(tmp_path: Path, fragment: str) -> None:
    from flows.cli import app

    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    deliver(tmp_path / "landing", complaint("C1", "买了100片，假的"), NEW)
    with duckdb.connect(str(warehouse)) as con:
        ingest_landing(con, tmp_path / "landing", "r1")
        before = everything(con)
    digest = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    result = CliRunner().invoke(
        app,
        ["erase", "--phone", fragment, "--by", "steward", f"--warehouse={warehouse}"]
        + [f"--out={out}"],
    )
    assert result.exit_code == 2
    assert "phone number" in result.output
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == digest
    with duckdb.connect(str(warehouse)) as con:
        same = everything(con) == before
    assert same


def _pipeline(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Resolve, features and leads as a run builds them (the derived tables that copy names)."""
    from flows import stages

    stages.resolve(con, AS_OF)
    stages.build_features(con, AS_OF)
    return stages.score_leads(con, AS_OF)


def test_erase_finds_the_phone_in_any_form_in_every_table(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    load(
        tmp_path,
        con,
        complaint("C1", "假种子 请回电 +86 186 0971 0000", "186-0971-0000"),
        complaint("C2", "商家不理", subject="绿丰种业 186 0971 0000"),
        complaint("C3", "店主电话18609710000"),
    )
    _pipeline(con)
    tables = {
        f"{s}.{t}"
        for s, t, c in text_columns(con)
        if written(everything_of(con, s, t), "18609710000")
    }
    assert {"core.record_keys", "features.entity_profile", "staging.complaints_history"} <= tables
    erasure = erase_person(con, phone="18609710000", by="steward")
    assert erasure.complaints == 1
    assert set(erasure.rows) == tables
    leaked = written(everything(con), "18609710000")
    assert not leaked
    texts = dict(con.execute("select complaint_id, description from staging.complaints").fetchall())
    assert texts == {"C1": PURGED_TEXT, "C2": "商家不理", "C3": f"店主电话{PHONE_REMOVED}"}
    (changes,) = con.execute("select changes from ops.privacy_audit").fetchone()  # type: ignore[misc]
    assert json.loads(changes) == erasure.rows
    _pipeline(con)  # the next run rebuilds the derived tables from what is left
    leaked = written(everything(con), "18609710000")
    assert not leaked


def everything_of(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    return str(con.execute(f'select * from {schema}."{table}"').fetchall())


def test_erase_reaches_quarantined_complaints(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    person = complaint("C5", "假农药 身份证630102198001011234", "13977778888", channel="bogus")
    other = complaint("C6", "另一投诉 过期化肥", "13966667777", channel="bogus")
    load(tmp_path, con, person, other, NEW)
    assert erase_person(con, phone="139 7777 8888", by="steward").complaints == 1
    dump = everything(con)
    leaked = written(dump, "13977778888") or "630102198001011234" in dump
    gone = not leaked and "假农药" not in dump
    assert gone
    assert erase_person(con, complaint_id="C6", by="steward").complaints == 1
    dump = everything(con)
    leaked = written(dump, "13966667777")
    gone, kept = not leaked and "过期化肥" not in dump, "假化肥" in dump
    assert gone
    assert kept  # the accepted complaint of another person stays


def test_dry_run_counts_and_changes_nothing(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    load(tmp_path, con, OLD, NEW, BROKEN, complaint("C4", f"电话{PHONE}"))
    _pipeline(con)
    before = everything(con)
    dry = erase_person(con, phone=PHONE, by="steward", dry_run=True)
    same = everything(con) == before
    assert same
    real = erase_person(con, phone=PHONE, by="steward")
    assert dry.rows == real.rows and dry.complaints == real.complaints == 2
    assert real.rows["raw.complaints"] == 3  # C1, C3 (malformed) and C4's text


def test_a_redelivered_file_does_not_bring_an_erasure_back(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    rows = (
        complaint("C1", "假种子 身份证630102198001011234", "186-0971-0000"),
        complaint("C2", "店主电话 186 0971 0000", subject="某店18609710000"),
        complaint("C7", "被删除的投诉", "13922223333"),
        complaint("C8", "假化肥"),
    )
    deliver(tmp_path, *rows)
    ingest_landing(con, tmp_path, "r1")
    erase_person(con, phone="18609710000", by="steward")
    erase_person(con, complaint_id="C7", by="steward")
    deliver(tmp_path, *rows, tail="\r\n")  # the same rows, two more bytes: not a duplicate
    assert ingest_landing(con, tmp_path, "r2").statuses == {"loaded": 1}
    assert con.execute("select count(*) from staging.complaints_history").fetchone() == (8,)
    dump = everything(con)
    leaked = written(dump, "18609710000") or written(dump, "13922223333")
    gone = not leaked and "630102198001011234" not in dump and "被删除的投诉" not in dump
    assert gone
    texts = dict(con.execute("select complaint_id, description from staging.complaints").fetchall())
    assert texts == {
        "C1": PURGED_TEXT,
        "C2": f"店主电话 {PHONE_REMOVED}",
        "C7": PURGED_TEXT,
        "C8": "假化肥",
    }
    phones = con.execute("select complaint_id from restricted.complainant_phones").fetchall()
    assert sorted(phones) == [("C2",), ("C8",)]
    kept = written(dump, OTHER) and "假化肥" in dump
    assert kept
    stones = con.execute("select kind, sha256 from ops.erased_values order by kind").fetchall()
    assert stones == [
        ("complaint_id", hashlib.sha256(b"C1").hexdigest()),
        ("complaint_id", hashlib.sha256(b"C7").hexdigest()),
        ("phone", hashlib.sha256(b"18609710000").hexdigest()),
    ]


def test_radar_erase_rewrites_the_file_and_the_written_exports(tmp_path: Path) -> None:
    from flows.cli import app
    from transforms.exports import write_export

    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    deliver(
        tmp_path / "landing",
        complaint("C1", "假种子", "186-0971-0000"),
        complaint("C4", "商家不理", subject="某店 186 0971 0000"),
        NEW,
    )
    with duckdb.connect(str(warehouse)) as con:
        ingest_landing(con, tmp_path / "landing", "r1")
    forms = [b"18609710000", b"186-0971-0000", b"186 0971 0000"]
    assert bytes_found(warehouse, forms) > 0  # the check can see them
    run = out / "2026-06-30"
    leads = pl.DataFrame({"rank": [1], "entity_name": ["某店 +86 186 0971 0000"], "score": [0.9]})
    write_export(leads, run, "entity_leads")
    (run / "reports" / "province").mkdir(parents=True)
    (run / "reports" / "province" / "report.html").write_text(
        "<td>某店 186-0971-0000</td>", encoding="utf-8"
    )
    book = Workbook()
    book.active.append(["主体名称", "某店 18609710000"])  # type: ignore[union-attr]
    book.save(run / "reports" / "province" / "report.xlsx")
    args = ["erase", "--phone", "186 0971 0000", "--by", "steward", "--note", "申请 7"]
    args += [f"--warehouse={warehouse}", f"--out={out}"]

    digest = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "would erase the personal data of 1 complaint(s)" in dry.output
    assert "restricted.complaint_phones_history: 1 row(s)" in dry.output
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == digest
    leaked = written((run / "entity_leads.csv").read_text(encoding="utf-8-sig"), "18609710000")
    assert leaked  # a dry run leaves the exports as they are

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert bytes_found(warehouse, forms) == 0
    assert not Path(f"{warehouse}.wal").exists()
    csv_text = (run / "entity_leads.csv").read_bytes()
    assert csv_text.startswith(b"\xef\xbb\xbf")
    parquet = str(pl.read_parquet(run / "entity_leads.parquet").rows())
    html = (run / "reports" / "province" / "report.html").read_text(encoding="utf-8")
    cells = [
        c.value
        for row in load_workbook(run / "reports/province/report.xlsx").active.iter_rows()
        for c in row
    ]  # type: ignore[union-attr]
    outputs = [csv_text.decode("utf-8-sig"), parquet, html, str(cells)]
    leaked = any(written(text, "18609710000") for text in outputs)
    assert not leaked
    blanked = all("某店" in text and PHONE_REMOVED in text for text in outputs)
    assert blanked
    with duckdb.connect(str(warehouse)) as con:
        leaked = written(everything(con), "18609710000")
        assert not leaked
        audit = con.execute("select complaints, note, changes from ops.privacy_audit").fetchall()
    assert audit[0][:2] == (1, "申请 7")
    assert json.loads(audit[0][2])["written files"] == 4
