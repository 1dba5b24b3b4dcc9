"""The spreadsheet writers every export goes through: whatever a cell holds, the file opens, and
no text runs as a formula. No database."""

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.spreadsheets import MONEY, NUMBER, TEXT, XLSX_CELL_LIMIT, Column, csv_lines, table_export, table_xlsx

COLUMNS = [Column("id", NUMBER), Column("name", TEXT), Column("amount", MONEY)]


def sheet_of(content):
    return load_workbook(io.BytesIO(content)).active


def test_a_text_excel_could_not_open_is_mended_not_refused():
    """A control character (a feed may carry one) has no place in XML; a text longer than a cell
    holds makes Excel "repair" the file. Both were errors or broken files before."""
    long_text = "x" * (XLSX_CELL_LIMIT + 10)
    sheet = sheet_of(table_xlsx(["a", "b"], [["bell\x07 and\x00nul", long_text]], title="t", text_columns={1, 2}, money_columns=set(), widths=[]))
    assert sheet["A2"].value == "bell\ufffd and\ufffdnul"
    assert len(sheet["B2"].value) == XLSX_CELL_LIMIT and sheet["B2"].value.endswith("…")


def test_a_whole_number_longer_than_excel_keeps_is_written_as_text():
    sheet = sheet_of(table_xlsx(["uid"], [[9223372036854775807], [12345678]], title="t", text_columns=set(), money_columns=set(), widths=[]))
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("9223372036854775807", "s")  # exact, not 9.22337E+18
    assert (sheet["A3"].value, sheet["A3"].data_type) == (12345678, "n")


def test_the_csv_is_written_as_the_rows_are_read():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield [n, f"=x{n}", Decimal("1.50")]

    export = table_export(fmt="csv", name="f", title="t", columns=COLUMNS, rows=rows(), money_text=lambda amount: f"{amount:f}")
    assert read == [] and export.name == "f.csv"
    chunks = iter(export.content)
    assert next(chunks) == "\ufeffid,name,amount\n".encode() and read == []
    assert next(chunks) == b"0,'=x0,1.50\n" and read == [0]
    assert list(csv.reader(io.StringIO(b"".join(chunks).decode()))) == [["1", "'=x1", "1.50"], ["2", "'=x2", "1.50"]]


def test_the_xlsx_of_an_export_types_each_column_by_its_kind():
    export = table_export(fmt="xlsx", name="f", title="t", columns=COLUMNS, rows=[[1, "-1+1", Decimal("0.10")], [2, None, Decimal("-3.00")]], money_text=str)
    sheet = sheet_of(export.content)
    assert export.name == "f.xlsx" and [c.value for c in sheet[1]] == ["id", "name", "amount"]
    assert [(c.value, c.data_type) for c in sheet[2]] == [(1, "n"), ("-1+1", "s"), (0.1, "n")]
    assert sheet["B2"].quotePrefix and sheet["C2"].number_format == "0.00" and sheet["B3"].value is None
    assert sheet.auto_filter.ref == "A1:C3" and sheet.freeze_panes == "A2"


def test_an_export_refuses_an_unknown_format_and_money_without_its_formatter():
    with pytest.raises(ValueError):
        table_export(fmt="ods", name="f", title="t", columns=COLUMNS, rows=[], money_text=str)
    with pytest.raises(ValueError):
        table_export(fmt="csv", name="f", title="t", columns=COLUMNS, rows=[])


def test_csv_lines_are_the_csv_module_s_own_quoting():
    assert "".join(csv_lines(["a", "b"], [['say "hi"', "x,y"], ["multi\nline", ""]])) == 'a,b\n"say ""hi""","x,y"\n"multi\nline",\n'
