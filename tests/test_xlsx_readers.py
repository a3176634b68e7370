"""The two .xlsx readers: calamine where the workbook's XML shows nothing only openpyxl reads
as the contract wants, openpyxl otherwise; the same cells either way, every row the sheet
holds whatever size it declares, and no calamine read of a sheet that would cost gigabytes."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts import readers
from data_contracts.readers import RawTable, read_xlsx_bytes
from tests.delivery import with_sheet_dimension, with_xlsx_parts


def xlsx(rows: list[list[Any]], write_only: bool = False) -> bytes:
    book = openpyxl.Workbook(write_only=write_only)
    sheet = book.create_sheet() if write_only else book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet_xml(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with its first sheet's XML passed through `change`."""
    return with_xlsx_parts(
        data, lambda name, part: change(part) if name == "xl/worksheets/sheet1.xml" else part
    )


INLINE = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*) t="inlineStr"><is>(.*?)</is></c>')


def with_shared_strings(data: bytes) -> bytes:
    """The workbook as Excel writes it: its text in a shared-strings table (openpyxl writes
    each text inline)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    strings: list[bytes] = []

    def shared(match: re.Match[bytes]) -> bytes:
        strings.append(match.group(3))
        ref, attrs = match.group(1), match.group(2)
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (ref, attrs, len(strings) - 1)

    sheet = INLINE.sub(shared, source.read("xl/worksheets/sheet1.xml"))
    table = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    table += b"".join(b"<si>" + s + b"</si>" for s in strings) + b"</sst>"
    kind = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    parts = {
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": table,
        "[Content_Types].xml": source.read("[Content_Types].xml").replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        ),
        "xl/_rels/workbook.xml.rels": source.read("xl/_rels/workbook.xml.rels").replace(
            b"</Relationships>",
            b'<Relationship Type="%s" Target="sharedStrings.xml" Id="rId99"/></Relationships>'
            % kind,
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, parts.get(item.filename, source.read(item.filename)))
        target.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


def both(data: bytes) -> tuple[RawTable | None, RawTable]:
    """The table by calamine (None where it declines the workbook) and by openpyxl."""
    rows = readers.calamine_rows(data)
    by_calamine = None if rows is None else readers._sheet_rows(rows)
    return by_calamine, readers._sheet_rows(readers.openpyxl_rows(data))


def same(a: RawTable, b: RawTable) -> bool:
    return a.headers == b.headers and a.cells.equals(b.cells)


HEADER = ["统一社会信用代码", "企业名称", "成立日期", "注册资本", "是否", "备注"]

cells = st.one_of(
    st.none(),
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from(" \t"),
        max_size=12,
    ),
    st.sampled_from(["0123", "  绿丰种业  ", "兴湖药店1店", "=1+2", "1.50", "TRUE", " ", "\t "]),
    st.integers(-(10**15) + 1, 10**15 - 1),
    st.integers(10**15, 10**18),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.dates(dt.date(1901, 1, 1), dt.date(2099, 12, 31)),
    st.datetimes(dt.datetime(1901, 1, 1), dt.datetime(2099, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.times().map(lambda t: t.replace(microsecond=0)),
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    body=st.lists(st.lists(cells, min_size=0, max_size=7), min_size=0, max_size=8),
    write_only=st.booleans(),
    shared=st.booleans(),
)
def test_calamine_reads_the_cells_openpyxl_reads(
    body: list[list[Any]], write_only: bool, shared: bool
) -> None:
    data = xlsx([HEADER, *body], write_only=write_only)
    data = with_shared_strings(data) if shared else data
    by_calamine, by_openpyxl = both(data)
    if by_calamine is not None:
        assert same(by_calamine, by_openpyxl)
    assert same(read_xlsx_bytes(data), by_openpyxl)


def test_an_ordinary_workbook_is_read_by_calamine() -> None:
    # The point of the reader: a register as offices send it never needs openpyxl.
    rows = [HEADER] + [
        [f"91630{i:013d}", f"青海某某商贸{i}", dt.datetime(2019, 3, 1), 1000.5 * i, True, None]
        for i in range(50)
    ]
    for data in (xlsx(rows), xlsx(rows, write_only=True), with_shared_strings(xlsx(rows))):
        by_calamine, by_openpyxl = both(data)
        assert by_calamine is not None
        assert same(by_calamine, by_openpyxl)
        assert by_calamine.cells.height == 50


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
def test_a_sheet_that_understates_its_size_is_read_whole(reader: str) -> None:
    # Some writers declare <dimension ref="A1"/> whatever the sheet holds; read-only openpyxl
    # bounded by it saw only the header's first cell and lost every row.
    data = with_sheet_dimension(xlsx([["a", "b"], [1, 2], [3, 4], [5, 6]]), "A1")
    if reader == "calamine":
        rows = readers.calamine_rows(data)
        assert rows is not None
        table = readers._sheet_rows(rows)
    else:
        table = readers._sheet_rows(readers.openpyxl_rows(data))
    assert table.headers == ["a", "b"]
    assert table.cells.select("0", "1").rows() == [("1", "2"), ("3", "4"), ("5", "6")]


def test_a_far_away_cell_in_a_small_file_is_not_read_by_calamine() -> None:
    # calamine fills the rectangle up to the last cell: A1 and GR1048576 would be 210 M cells.
    def far_cell(xml: bytes) -> bytes:
        return xml.replace(
            b"</sheetData>", b'<row r="1048576"><c r="GR1048576"><v>1</v></c></row></sheetData>'
        )

    data = with_sheet_xml(xlsx([["a", "b"], [1, 2]]), far_cell)
    assert readers.calamine_rows(data) is None


@pytest.mark.parametrize(
    "cell, text",
    [
        ('<c r="C2" t="e"><v>#N/A</v></c>', "#N/A"),  # calamine would give an empty cell
        ('<c r="C2"><v>1000000000000000</v></c>', "1000000000000000"),  # a float to calamine
        ('<c r="C2" t="inlineStr"><is><t>a_x000D_b</t></is></c>', "a_x000D_b"),
        ('<c r="C2"><v> 12 </v></c>', "12"),  # calamine keeps " 12 " as text
    ],
    ids=["error", "long_integer", "escaped", "padded"],
)
def test_cells_calamine_reads_otherwise_go_to_openpyxl(cell: str, text: str) -> None:
    def add(xml: bytes) -> bytes:
        return re.sub(
            rb"(<row r=\"2\".*?)</row>", lambda m: m.group(1) + cell.encode() + b"</row>", xml
        )

    data = with_sheet_xml(xlsx([["a", "b", "c"], ["x", "y"]]), add)
    assert readers.calamine_rows(data) is None
    assert read_xlsx_bytes(data).cells["2"].to_list() == [text]


def test_a_sheet_with_unnumbered_cells_goes_to_openpyxl() -> None:
    # Without r= a cell's place is counted, which the size check cannot see beforehand.
    def unnumbered(xml: bytes) -> bytes:
        return re.sub(rb'<c r="[A-Z]+2"', b"<c", xml)

    data = with_sheet_xml(xlsx([["a", "b"], ["x", "y"]]), unnumbered)
    assert readers.calamine_rows(data) is None
    assert read_xlsx_bytes(data).cells.select("0", "1").rows() == [("x", "y")]


def test_a_sheet_outside_xl_worksheets_is_checked_too() -> None:
    # The relationships may put the sheet anywhere, beside a plain part where sheets usually
    # are: the sheet itself is checked (a cell at GR20000 in a small file: calamine declined).
    plain = xlsx([["a", "b"], [1, 2]])
    far = with_sheet_xml(
        plain,
        lambda xml: xml.replace(
            b"</sheetData>", b'<row r="20000"><c r="GR20000"><v>1</v></c></row></sheetData>'
        ),
    )
    decoy = zipfile.ZipFile(io.BytesIO(plain)).read("xl/worksheets/sheet1.xml")
    moved = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(far)) as source, zipfile.ZipFile(moved, "w") as target:
        for item in source.infolist():
            part = source.read(item.filename)
            name = item.filename.replace("xl/worksheets/sheet1.xml", "xl/elsewhere/s.xml")
            target.writestr(
                name, part.replace(b"/xl/worksheets/sheet1.xml", b"/xl/elsewhere/s.xml")
            )
        target.writestr("xl/worksheets/sheet1.xml", decoy)
    assert readers.calamine_rows(moved.getvalue()) is None
    assert read_xlsx_bytes(moved.getvalue()).cells.select("0", "1").rows() == [("1", "2")]
