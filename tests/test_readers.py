"""Each reader: formats, encodings, Chinese headers and labels, empty and broken files."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from data_contracts import readers
from data_contracts.batch import DeliveredFile, build_batch
from data_contracts.readers import FileRejected, decode_text, read_bytes
from tests.conftest import COMPLAINT_HEADER, make_uscc, write

ROW = "C1,2026-05-03 14:22:10,hotline_12315,630102,seeds,counterfeit_trademark,consumer,绿丰种业,,,,,假种子,100,13900000001"
CN_HEADER = (
    "投诉编号,受理时间,来源渠道,行政区划代码,商品类别,问题类型,投诉人类型,被投诉主体,"
    "统一社会信用代码,电商平台,店铺编号,品牌,投诉内容,涉及金额,投诉人电话"
)
PHONE = "13987654321"
CN_ROW = "C2,2026-05-04 09:00:00,web_12315,630102,籽种,counterfeit_trademark,消费者,某店,,淘宝网,S9,,假种子,,"


def batch_of(path: Path, feed: str = "complaints"):
    rel = path.name
    return build_batch(
        DeliveredFile(feed, path, f"{feed}/{rel}", path.stat().st_mtime, path.stat().st_size)
    )


def test_encoding_rule_bom_utf8_gb18030() -> None:
    assert decode_text("\ufeff籽种".encode())[1] == "utf-8-sig"
    assert decode_text("籽种".encode())[1] == "utf-8"
    assert decode_text("籽种".encode("gb18030")) == ("籽种", "gb18030")
    with pytest.raises(FileRejected) as bom_then_gbk:
        decode_text(b"\xef\xbb\xbf" + f"籽种,{PHONE}".encode("gbk"))
    assert str(bom_then_gbk.value) == (
        "unreadable: starts with a UTF-8 BOM but byte 0xD7 at offset 3 (line 1) is not UTF-8: "
        "save it again as UTF-8, or without the BOM as GB18030"
    )
    # Nothing chained to the rejection holds the file's bytes (a decode error's repr prints them).
    assert bom_then_gbk.value.__cause__ is None and bom_then_gbk.value.__context__ is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_encoding_with_chinese_headers_and_labels(
    tmp_path: Path, encoding: str
) -> None:
    path = write(tmp_path / "c.csv", f"{CN_HEADER}\n{CN_ROW}\n", encoding=encoding)
    batch = batch_of(path)
    assert batch.status == "loaded"
    row = batch.rows.accepted.row(0, named=True)
    assert row["product_category"] == "seeds"
    assert row["platform"] == "taobao"
    assert row["complainant_type"] == "consumer"
    assert row["received_at"] == dt.datetime(2026, 5, 4, 9, 0)


def test_csv_record_spanning_lines_and_malformed_record(tmp_path: Path) -> None:
    spanning = ROW.replace("假种子", '"假种子\n第二行"')
    text = f"{COMPLAINT_HEADER}\n{spanning}\nC9,broken\n"
    batch = batch_of(write(tmp_path / "c.csv", text))
    assert batch.rows_read == 2
    assert batch.rows_accepted == 1
    assert batch.rows.accepted["description"][0] == "假种子\n第二行"
    assert batch.rows.quarantined.row(0, named=True)["reasons"] == "malformed:record"


def test_jsonl_with_broken_line_and_mixed_case_keys(tmp_path: Path) -> None:
    good = dict(zip(COMPLAINT_HEADER.split(","), ROW.split(","), strict=True))
    good["Complaint_ID"] = good.pop("complaint_id")
    text = json.dumps(good, ensure_ascii=False) + "\n{not json\n"
    batch = batch_of(write(tmp_path / "c.jsonl", text))
    assert (batch.rows_read, batch.rows_accepted, batch.rows_quarantined) == (2, 1, 1)
    assert batch.rows.accepted["complaint_id"][0] == "C1"


def test_parquet_native_types(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "snapshot_date": [dt.date(2026, 6, 22)],
            "platform": ["京东"],
            "listing_id": ["L1"],
            "shop_id": ["S1"],
            "shop_name": ["某某专营店"],
            "product_category": ["mobile_phones"],
            "title": ["华为手机"],
            "price_cny": [2999.0],
            "sales_30d": [12],
            "ship_from_region_code": [630102],
        }
    )
    path = tmp_path / "l.parquet"
    frame.write_parquet(path)
    batch = batch_of(path, "listings")
    row = batch.rows.accepted.row(0, named=True)
    assert (row["platform"], row["snapshot_date"], row["sales_30d"]) == (
        "jd",
        dt.date(2026, 6, 22),
        12,
    )
    assert row["ship_from_region_code"] == "630102"


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for r in rows:
        book.active.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_native_date_and_number_cells(tmp_path: Path) -> None:
    code = make_uscc("92630102MA0000001")
    data = _xlsx_bytes(
        [
            ["统一社会信用代码", "企业名称", "行政区划代码", "主体类型", "成立日期", "登记状态"],
            [code, "绿丰种业经营部", 630102, "个体工商户", dt.datetime(2019, 3, 1), "存续"],
        ]
    )
    batch = batch_of(write(tmp_path / "e.xlsx", data), "entities")
    row = batch.rows.accepted.row(0, named=True)
    assert row["registered_on"] == dt.date(2019, 3, 1)
    assert (row["region_code"], row["entity_type"], row["status"]) == (
        "630102",
        "individual_business",
        "active",
    )


def test_legacy_xls(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("s")
    header = ["record_id", "entity_name", "record_type", "decided_on"]
    for i, h in enumerate(header):
        sheet.write(0, i, h)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for i, v in enumerate(["R1", "某商行", "行政处罚"]):
        sheet.write(1, i, v)
    sheet.write(1, 3, dt.datetime(2026, 1, 5), date_style)
    path = tmp_path / "c.xls"
    book.save(str(path))
    batch = batch_of(path, "credit")
    row = batch.rows.accepted.row(0, named=True)
    assert (row["record_type"], row["decided_on"]) == ("admin_penalty", dt.date(2026, 1, 5))


def test_empty_and_header_only_and_missing_column(tmp_path: Path) -> None:
    empty = batch_of(write(tmp_path / "empty.csv", ""))
    assert (empty.status, empty.rows_read) == ("rejected", 0)
    header_only = batch_of(write(tmp_path / "h.csv", COMPLAINT_HEADER + "\n"))
    assert (header_only.status, header_only.rows_read, header_only.rows_accepted) == (
        "loaded",
        0,
        0,
    )
    missing = batch_of(write(tmp_path / "m.csv", "complaint_id,channel\nC1,media\n"))
    assert missing.status == "rejected"
    assert "received_at" in missing.issues[0]
    assert missing.rows_accepted == missing.rows_quarantined == 0


def test_garbage_parquet_is_rejected(tmp_path: Path) -> None:
    batch = batch_of(write(tmp_path / "x.parquet", b"not a parquet file"), "listings")
    assert batch.status == "rejected"
    assert "unreadable" in batch.issues[0]


def test_read_bytes_rejects_zero_bytes() -> None:
    with pytest.raises(FileRejected):
        read_bytes(b"", "csv")


def _with_sheet_cell(data: bytes, cell: str) -> bytes:
    """An .xlsx whose first sheet's second row also holds `cell` (raw sheet XML)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                content = content.replace(
                    b"</row></sheetData>", cell.encode() + b"</row></sheetData>"
                )
            target.writestr(name, content)
    return buffer.getvalue()


def test_a_text_file_neither_utf8_nor_gb18030_is_rejected_saying_where(tmp_path: Path) -> None:
    data = f"{COMPLAINT_HEADER}\n{ROW}".replace("13900000001", PHONE).encode("gb18030") + b"\xff\n"
    batch = batch_of(write(tmp_path / "c.csv", data))
    assert batch.status == "rejected"
    assert batch.issues == [
        f"unreadable: neither UTF-8 nor GB18030 text, byte 0xFF at offset {len(data) - 2} "
        "(line 2) is neither: save it again as UTF-8"
    ]


def test_an_excel_cell_that_does_not_parse_rejects_the_file_without_its_content(
    tmp_path: Path,
) -> None:
    data = _xlsx_bytes(
        [
            ["record_id", "entity_name", "record_type", "decided_on"],
            ["R1", "某商行", "行政处罚", "2026-01-05"],
        ]
    )
    # A number cell holding text: openpyxl's error quotes the cell.
    broken = _with_sheet_cell(data, f'<c r="E2" t="n"><v>tel {PHONE}</v></c>')
    batch = batch_of(write(tmp_path / "c.xlsx", broken), "credit")
    assert batch.status == "rejected"
    assert batch.issues == ["unreadable xlsx file: the reader failed (ValueError)"]


def test_any_reader_error_rejects_the_file_with_a_reason_free_of_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(data: bytes) -> None:
        raise RuntimeError(f"cannot handle {data!r}")

    monkeypatch.setitem(readers.READERS, "parquet", failing)
    batch = batch_of(write(tmp_path / "l.parquet", PHONE.encode()), "listings")
    assert (batch.status, batch.rows_read) == ("rejected", 0)
    assert batch.issues == ["unreadable parquet file: the reader failed (RuntimeError)"]


def test_json_lines_a_parser_refuses_are_malformed_records(tmp_path: Path) -> None:
    good = dict(zip(COMPLAINT_HEADER.split(","), ROW.split(","), strict=True))
    huge = '{"complaint_id": "C2", "amount_cny": ' + "9" * 5000 + "}"  # beyond int digits limit
    deep = "[" * 100_000  # beyond the recursion limit
    text = "\n".join([json.dumps(good, ensure_ascii=False), huge, deep]) + "\n"
    batch = batch_of(write(tmp_path / "c.jsonl", text))
    assert (batch.status, batch.rows_read, batch.rows_accepted) == ("loaded", 3, 1)
    assert batch.rows.quarantined["reasons"].to_list() == ["malformed:record", "nested:record"]


def test_a_json_line_ends_only_at_a_newline(tmp_path: Path) -> None:
    # json.dumps(ensure_ascii=False) writes U+2028 and U+0085 raw inside strings.
    record = dict(zip(COMPLAINT_HEADER.split(","), ROW.split(","), strict=True))
    record["description"] = "假种子\u2028第二段\x85第三段"
    second = record | {"complaint_id": "C2"}
    text = json.dumps(record, ensure_ascii=False) + "\r\n" + json.dumps(second, ensure_ascii=False)
    batch = batch_of(write(tmp_path / "c.jsonl", text + "\n"))
    assert (batch.rows_read, batch.rows_accepted, batch.rows_quarantined) == (2, 2, 0)
    assert batch.rows.accepted["description"].to_list() == [record["description"]] * 2


def test_parquet_binary_columns_are_utf8_text(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def binary(*values: str | bytes) -> pa.Array:
        return pa.array([v.encode() if isinstance(v, str) else v for v in values], pa.binary())

    table = pa.table(
        {
            "snapshot_date": ["2026-06-22"] * 3,
            "platform": binary("jd", "jd", "jd"),
            "listing_id": binary("L1", "L2", "L3"),
            "shop_id": binary("S1", "S1", "S1"),
            "shop_name": binary("某某专营店", "某某\xb7专营店".encode("gbk"), "某某专营店"),
            "product_category": binary("mobile_phones", "mobile_phones", "mobile_phones"),
            "title": pa.array(["华为手机".encode()] * 3, pa.large_binary()),
            "price_cny": binary("2999", "2999", b"\xff"),
        }
    )
    path = tmp_path / "l.parquet"
    pq.write_table(table, path)
    batch = batch_of(path, "listings")
    accepted = batch.rows.accepted.row(0, named=True)
    assert (accepted["listing_id"], accepted["shop_name"], accepted["title"]) == (
        "L1",
        "某某专营店",
        "华为手机",
    )
    assert (accepted["platform"], accepted["price_cny"]) == ("jd", 2999.0)
    quarantined = batch.rows.quarantined.select("_row_number", "reasons").rows()
    assert quarantined == [(2, "text:shop_name"), (3, "type:price_cny")]
    assert json.loads(batch.rows.quarantined["record"][0])["listing_id"] == "L2"


def test_json_lines_keys_are_matched_per_record_like_csv_headers(tmp_path: Path) -> None:
    first = dict(zip(COMPLAINT_HEADER.split(","), ROW.split(","), strict=True))
    second = {k.upper(): v for k, v in first.items()} | {"COMPLAINT_ID": "C2"}
    chinese = dict(zip(CN_HEADER.split(","), CN_ROW.split(","), strict=True)) | {"投诉编号": "C3"}
    doubled = first | {"complaint_id": "C4", " Complaint_ID ": "C5"}  # the first spelling wins
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in (first, second, chinese, doubled))
    batch = batch_of(write(tmp_path / "c.jsonl", text + "\n"))
    assert (batch.rows_read, batch.rows_accepted, batch.rows_quarantined) == (4, 4, 0)
    accepted = batch.rows.accepted
    assert accepted["complaint_id"].to_list() == ["C1", "C2", "C3", "C4"]
    assert accepted["product_category"].to_list() == ["seeds"] * 4
    assert accepted["platform"].to_list() == [None, None, "taobao", None]
    # Within one record a second spelling is a doubled column, as in a CSV header.
    assert any("duplicate column ignored: 'Complaint_ID'" in i for i in batch.issues)
    assert not any("COMPLAINT_ID" in i or "投诉编号" in i for i in batch.issues)
