"""The data steward's workflow: list, export, accept and supersede quarantined rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from data_contracts.batch import build_batch
from data_contracts.contract import contracts
from data_contracts.personal import PHONE_REMOVED, redact_personal
from flows.steward import steward_app
from tests.conftest import COMPLAINT_HEADER, write
from transforms.ingest import ingest_landing
from transforms.landing import scan_landing
from transforms.steward import (
    accept_row,
    export_quarantine,
    quarantine_summary,
    supersede_corrected,
)
from transforms.warehouse import scalar

PHONE = "13912345678"
COMPLAINT = (
    "{id},2026-05-03 14:22:10,{channel},630102,{cat},counterfeit_trademark,consumer,绿丰种业,,,,,"
    "{text},{amount},{phone}"
)
LISTING_HEADER = (
    "snapshot_date,platform,listing_id,shop_id,shop_name,seller_uscc,ship_from_region_code,"
    "product_category,brand,title,price_cny,sales_30d,review_count,rating,contact_hash"
)
LISTING = "2026-06-22,{platform},{id},S1,某店,,440300,mobile_phones,,手机壳,{price},3,,4.5,ab12"


def complaint(
    id: str,
    cat: str = "seeds",
    channel: str = "hotline_12315",
    amount: str = "100",
    text: str = "假种子",
) -> str:
    return COMPLAINT.format(id=id, cat=cat, channel=channel, amount=amount, text=text, phone=PHONE)


def build_landing(landing: Path) -> None:
    """Two complaint files (the second corrects C2) and three listing files."""
    write(
        landing / "complaints/2026-05/a.csv",
        "\n".join(
            [
                COMPLAINT_HEADER,
                complaint("C1", text=f"联系电话{PHONE}"),
                complaint("C2", cat="not_a_category"),
                complaint("C3", channel="bogus", amount="-5", text=f"本人电话：{PHONE}，请回复"),
                complaint("C4") + f",extra field {PHONE}",  # wrong field count: malformed
            ]
        )
        + "\n",
        mtime=1000,
    )
    write(
        landing / "complaints/2026-05/b.csv",
        COMPLAINT_HEADER + "\n" + complaint("C2") + "\n",
        mtime=2000,
    )
    write(
        landing / "listings/2026-06/early.csv",
        LISTING_HEADER + "\n" + LISTING.format(platform="taobao", id="L3", price="5") + "\n",
        mtime=500,
    )
    write(
        landing / "listings/2026-06/淘宝 周报.csv",
        "\n".join(
            [
                LISTING_HEADER,
                LISTING.format(platform="淘宝", id="L1", price="9.9"),
                LISTING.format(platform="淘宝", id="L2", price="0"),
                LISTING.format(platform="淘宝", id="L3", price="-1"),
            ]
        )
        + "\n",
        mtime=1500,
    )
    write(
        landing / "listings/2026-06/fix.csv",
        LISTING_HEADER + "\n" + LISTING.format(platform="Taobao", id="L2", price="8.8") + "\n",
        mtime=2500,
    )


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    build_landing(tmp_path / "landing")
    return tmp_path / "landing"


@pytest.fixture
def loaded(con: duckdb.DuckDBPyConnection, landing: Path) -> duckdb.DuckDBPyConnection:
    ingest_landing(con, landing, "r1")
    return con


def summary(con: duckdb.DuckDBPyConnection, **filters: str) -> dict[tuple[str, str], int]:
    frame = quarantine_summary(con, **filters)
    return {(r["file"], r["reason"]): r["rows"] for r in frame.iter_rows(named=True)}


def read_export(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding))))


def test_summary_counts_a_row_under_each_of_its_reasons(loaded: duckdb.DuckDBPyConnection) -> None:
    assert summary(loaded) == {
        ("complaints/2026-05/a.csv", "enum:channel"): 1,
        ("complaints/2026-05/a.csv", "enum:product_category"): 1,
        ("complaints/2026-05/a.csv", "malformed:record"): 1,
        ("complaints/2026-05/a.csv", "range:amount_cny"): 1,
        ("listings/2026-06/淘宝 周报.csv", "range:price_cny"): 2,
    }
    words = quarantine_summary(loaded, reason="range:price_cny")["reason_text"].to_list()
    assert words == ["price_cny: 超出范围 value out of range"]


def test_summary_filters_by_feed_file_and_check(loaded: duckdb.DuckDBPyConnection) -> None:
    assert set(summary(loaded, feed="listings")) == {
        ("listings/2026-06/淘宝 周报.csv", "range:price_cny")
    }
    assert summary(loaded, reason="range") == {
        ("complaints/2026-05/a.csv", "range:amount_cny"): 1,
        ("listings/2026-06/淘宝 周报.csv", "range:price_cny"): 2,
    }
    assert summary(loaded, file="complaints/2026-05/b.csv") == {}


def test_export_writes_one_csv_per_file_with_reasons_in_words(
    loaded: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    paths = export_quarantine(loaded, tmp_path / "out")
    assert sorted(p.name for p in paths) == [
        "complaints__2026-05__a.csv.quarantine.csv",
        "listings__2026-06__淘宝 周报.csv.quarantine.csv",
    ]
    complaints_csv = tmp_path / "out" / "complaints__2026-05__a.csv.quarantine.csv"
    assert complaints_csv.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = read_export(complaints_csv)
    assert list(rows[0])[:5] == [
        "row_number",
        "reasons",
        "reasons_text",
        "complaint_id",
        "received_at",
    ]
    assert [r["row_number"] for r in rows] == ["2", "3", "4"]
    assert rows[1]["reasons"] == "enum:channel;range:amount_cny"
    assert rows[1]["reasons_text"] == (
        "channel: 不是允许的取值 value not allowed; amount_cny: 超出范围 value out of range"
    )
    assert (
        rows[1]["channel"] == "bogus"
        and rows[1]["description"] == f"本人电话：{PHONE_REMOVED}，请回复"
    )
    assert "complainant_phone" not in rows[0] and rows[2]["reasons"] == "malformed:record"


def test_export_in_gb18030_for_excel_users(
    loaded: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    paths = export_quarantine(loaded, tmp_path, encoding="gb18030")
    listing = next(p for p in paths if p.name.startswith("listings"))
    data = listing.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = read_export(listing, "gb18030")
    assert [(r["listing_id"], r["platform"], r["price_cny"]) for r in rows] == [
        ("L2", "淘宝", "0"),
        ("L3", "淘宝", "-1"),
    ]
    with pytest.raises(ValueError):
        export_quarantine(loaded, tmp_path, encoding="latin-1")


def test_accept_row_records_who_when_and_why(loaded: duckdb.DuckDBPyConnection) -> None:
    accept_row(loaded, "complaints", "complaints/2026-05/a.csv", 3, by="王芳", note="已电话核实")
    resolution = loaded.execute(
        "select resolution, resolved_by, note, resolved_at is not null from quarantine.rows "
        "where file = 'complaints/2026-05/a.csv' and _row_number = 3"
    ).fetchone()
    assert resolution == ("accepted", "王芳", "已电话核实", True)
    audit = loaded.execute(
        "select action, feed, file, row_number, acted_by, note from ops.steward_actions"
    ).fetchall()
    assert audit == [
        ("accepted", "complaints", "complaints/2026-05/a.csv", 3, "王芳", "已电话核实")
    ]
    assert ("complaints/2026-05/a.csv", "enum:channel") not in summary(loaded)
    with pytest.raises(LookupError, match="already resolved"):
        accept_row(loaded, "complaints", "complaints/2026-05/a.csv", 3, by="王芳", note="again")
    with pytest.raises(LookupError):
        accept_row(
            loaded, "complaints", "complaints/2026-05/a.csv", 1, by="王芳", note="accepted row"
        )
    with pytest.raises(ValueError):
        accept_row(loaded, "complaints", "complaints/2026-05/a.csv", 2, by=" ", note="no name")


def test_later_correction_supersedes_but_earlier_version_does_not(
    loaded: duckdb.DuckDBPyConnection,
) -> None:
    assert supersede_corrected(loaded) == 2
    closed = loaded.execute(
        "select feed, file, _row_number, resolved_by, note from quarantine.rows "
        "where resolution = 'superseded' order by feed"
    ).fetchall()
    assert closed == [
        (
            "complaints",
            "complaints/2026-05/a.csv",
            2,
            "radar",
            "corrected by complaints/2026-05/b.csv row 1",
        ),
        (
            "listings",
            "listings/2026-06/淘宝 周报.csv",
            2,
            "radar",
            "corrected by listings/2026-06/fix.csv row 1",
        ),
    ]
    # L3's quarantined row came after its only accepted version (early.csv): still open.
    assert summary(loaded, feed="listings") == {
        ("listings/2026-06/淘宝 周报.csv", "range:price_cny"): 1
    }
    assert (
        scalar(loaded, "select count(*) from ops.steward_actions where action = 'superseded'") == 2
    )
    assert supersede_corrected(loaded) == 0  # idempotent


def test_redaction_blanks_phones_and_id_numbers_but_not_codes() -> None:
    text = f"电话 139-1234-5678 或 {PHONE}，身份证 63010219800101123X，代码 91630100MA7EXAMPL0 金额 100"
    redacted = redact_personal(text)
    assert "5678" not in redacted and PHONE not in redacted and "63010219800101123X" not in redacted
    assert "91630100MA7EXAMPL0" in redacted and "金额 100" in redacted


def test_known_phone_appears_in_no_export_and_no_data_docs_file(
    loaded: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    from data_contracts.expectations import build_data_docs, gx_context, validate_typed

    context = gx_context()
    results = []
    for file in scan_landing(landing).files:
        accepted = build_batch(file).rows.accepted  # type: ignore[union-attr]
        if file.feed == "complaints":
            assert PHONE in accepted["complainant_phone"].to_list()  # the phone is there to leak
        results.append(validate_typed(contracts()[file.feed], accepted, context, file.rel))
    out = tmp_path / "out"
    build_data_docs(results, out / "data_docs")
    export_quarantine(loaded, out / "utf8")
    export_quarantine(loaded, out / "gbk", encoding="gb18030")
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) > 10
    for path in written:
        data = path.read_bytes()
        assert PHONE.encode() not in data, path
        assert b"complainant_phone" not in data, path


def test_cli_list_export_accept(landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ingest_landing(con, landing, "r1")
    con.close()
    runner = CliRunner()
    listed = runner.invoke(
        steward_app, ["list", "--feed", "listings", "--warehouse", str(warehouse)]
    )
    assert listed.exit_code == 0 and "range:price_cny" in listed.output and "2" in listed.output
    exported = runner.invoke(
        steward_app,
        [
            "export",
            "--out",
            str(tmp_path / "x"),
            "--encoding",
            "gb18030",
            "--warehouse",
            str(warehouse),
        ],
    )
    assert exported.exit_code == 0 and "2 file(s) written" in exported.output
    args = [
        "accept",
        "--feed",
        "listings",
        "--file",
        "listings/2026-06/淘宝 周报.csv",
        "--row",
        "3",
        "--by",
        "李明",
        "--note",
        "平台确认价格",
        "--warehouse",
        str(warehouse),
    ]
    assert runner.invoke(steward_app, args).exit_code == 0
    again = runner.invoke(steward_app, args)
    assert again.exit_code == 1 and "already resolved" in again.output
    docs = runner.invoke(steward_app, ["docs"])
    assert docs.exit_code == 0 and "`required_when:violation_type`" in docs.output
    missing = runner.invoke(steward_app, ["list", "--warehouse", str(tmp_path / "nope.duckdb")])
    assert missing.exit_code == 2
