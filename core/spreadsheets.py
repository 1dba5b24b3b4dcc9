"""Tables as spreadsheet files, CSV and XLSX, in which no cell ever runs as a formula.

What traders type (a nickname, a post) and what ops type (a note) may start like a formula:
`=HYPERLINK(...)`, `+cmd`, `-1+1`, `@SUM(...)`. A spreadsheet program runs such a cell when the
file is opened, so every file the project hands out is written here:

- A CSV has no cell types: a text that starts with a formula trigger gets a leading `'`
  (`safe_cell`), which spreadsheet programs read as "this is text".
- An XLSX types its cells: text is a string cell, never a formula, whatever it starts with, and
  one that looks like a formula is also marked "quote prefix" (Excel shows it as typed and keeps
  it text when it is edited); money is a number shown with two decimals.

Both writers read their rows from an iterable and hold one row at a time: the CSV goes out line
by line (`csv_lines`), the XLSX is written in openpyxl's write-only mode (a normal workbook keeps
a Python object per cell: about 450 MB for 100,000 posts, against 40 MB written row by row).
`table_export` is the one door the admin's list exports use: columns, rows, format in; a file out.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

# A cell that starts with one of these is run as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
EXPORT_FORMATS = ("csv", "xlsx")
# Excel refuses a file with a longer cell ("We found a problem with some content").
XLSX_CELL_LIMIT = 32767
# Excel keeps 15 significant digits: a longer whole number (a UID can have 19) is written as text.
XLSX_EXACT_INTEGER = 10**15
# What XML 1.0 cannot hold (openpyxl raises IllegalCharacterError on it): shown as U+FFFD instead.
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Excel opens a UTF-8 CSV as the system's code page (GBK on a Chinese Windows) unless it starts
# with a byte order mark: the ops exports carry one, so nicknames and headers read right.
CSV_BOM = "\ufeff"


def safe_cell(value: str) -> str:
    """Defuse spreadsheet formula injection in a CSV, which has no cell types: a text starting with
    a trigger gets a leading `'`. An XLSX needs no such mark: `table_xlsx` types its text cells."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


class _Line:
    """A file-like target for csv.writer that hands back what each row wrote (`take`)."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


def csv_lines(header, lines) -> Iterator[str]:
    """The header, then each line, as CSV text one row at a time (`\\n` line ends). Cells are
    written as given: the caller defuses text with `safe_cell`."""
    target = _Line()
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(header)
    yield target.take()
    for line in lines:
        writer.writerow(line)
        yield target.take()


def table_csv(header, lines) -> str:
    """The whole table as one CSV text (the stored and emailed reports)."""
    return "".join(csv_lines(header, lines))


def table_xlsx(header, lines, *, title: str, text_columns: set[int], money_columns: set[int], widths) -> bytes:
    """A one-sheet workbook; columns are 1-based. Text is given as typed (no `safe_cell`): every
    text cell is stored as a string, never a formula, whatever it starts with, and one that looks
    like a formula is also marked "quote prefix", so Excel shows it as typed (no `'`) and keeps it
    text when it is edited. Money cells are numbers shown with two decimals. The header row is
    frozen, bold and carries an autofilter. A text that Excel could not open (longer than a cell
    holds, or with a control character XML cannot carry) is cut, or has the character replaced; a
    whole number longer than Excel keeps exact is written as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.filters import AutoFilter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    # Written before the first row in write-only mode: the sheet's view and columns come first.
    ws.freeze_panes = "A2"
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    bold = Font(bold=True)
    ws.append([_header_cell(ws, WriteOnlyCell, value, bold) for value in header])
    last_row = 1
    for last_row, line in enumerate(lines, start=2):
        ws.append([_cell(ws, WriteOnlyCell, value, text=col in text_columns, money=col in money_columns) for col, value in enumerate(line, start=1)])
    ws.auto_filter = AutoFilter(ref=f"A1:{get_column_letter(len(header))}{last_row}")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _header_cell(ws, cell_class, value, font):
    cell = cell_class(ws, value=_fit(str(value)))
    as_text(cell)
    cell.font = font
    return cell


def _fit(text: str) -> str:
    text = XLSX_ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", text)
    return text if len(text) <= XLSX_CELL_LIMIT else text[: XLSX_CELL_LIMIT - 1] + "…"


def _cell(ws, cell_class, value, *, text: bool, money: bool):
    """What write-only mode appends for one value: the value itself where openpyxl types it right
    (a text that cannot be a formula is a string cell, a number a number), else a cell typed and
    styled here (a formula-like text, money, a non-text value in a text column)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= XLSX_EXACT_INTEGER:
        value = str(value)
    if isinstance(value, str):
        value = _fit(value)
        if not money and not value.startswith(FORMULA_TRIGGERS):
            return value
    elif not text and not money:
        return value
    cell = cell_class(ws, value=value)
    if text or isinstance(value, str):
        as_text(cell)
    if money:
        cell.number_format = "0.00"
    return cell


def as_text(cell) -> None:
    """Type a cell as text, never a formula."""
    # openpyxl reads a value starting with "=" as a formula: typing the cell "s" stores the text.
    if cell.value is None:
        return
    cell.data_type = "s"
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True


# --- The admin's list exports ----------------------------------------------------------------

TEXT, NUMBER, MONEY = "text", "number", "money"


@dataclass(frozen=True)
class Column:
    """One column of an export: its header in the reader's language, its kind (text, number or
    money: how each format writes it) and its width in the XLSX."""

    header: str
    kind: str = TEXT
    width: int = 14


@dataclass(frozen=True)
class SpreadsheetFile:
    """An export ready to send: a CSV as an iterator of encoded chunks (streamed), an XLSX whole."""

    name: str
    content: bytes | Iterator[bytes]
    content_type: str


def table_export(
    *, fmt: str, name: str, title: str, columns: Sequence[Column], rows: Iterable[Sequence], money_text: Callable | None = None
) -> SpreadsheetFile:
    """Rows (typed values: text, numbers, Decimals, None for empty) as a CSV or XLSX file named
    `name` plus the extension.

    In the CSV a text is defused with `safe_cell`, money is written by `money_text` (the caller's
    exact formatter: this layer never decides how money is rounded) and the file starts with a byte
    order mark; it is produced as it is read, one row at a time. In the XLSX text cells are string
    cells and money cells numbers with two decimals (`table_xlsx`). `rows` is read once.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"an export is csv or xlsx, not {fmt!r}")
    if money_text is None and any(column.kind == MONEY for column in columns):
        raise ValueError("a money column needs money_text, the exact formatter of its amounts")
    kinds = [column.kind for column in columns]
    header = [str(column.header) for column in columns]  # in the language of the request, now
    if fmt == "csv":
        lines = ([_csv_value(value, kind, money_text) for value, kind in zip(row, kinds, strict=True)] for row in rows)
        chunks = (text.encode("utf-8") for text in _with_bom(csv_lines(header, lines)))
        return SpreadsheetFile(name=f"{name}.csv", content=chunks, content_type=CSV_TYPE)
    content = table_xlsx(
        header,
        rows,
        title=title,
        text_columns={i for i, kind in enumerate(kinds, start=1) if kind == TEXT},
        money_columns={i for i, kind in enumerate(kinds, start=1) if kind == MONEY},
        widths=[column.width for column in columns],
    )
    return SpreadsheetFile(name=f"{name}.xlsx", content=content, content_type=XLSX_TYPE)


def _csv_value(value, kind: str, money_text):
    if value is None:
        return ""
    if kind == MONEY:
        return money_text(value)
    return safe_cell(str(value)) if kind == TEXT or isinstance(value, str) else value


def _with_bom(lines: Iterator[str]) -> Iterator[str]:
    first = next(lines)
    yield CSV_BOM + first
    yield from lines
