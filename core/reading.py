"""Reading files a record at a time: lines with their numbers, CSV and JSON Lines records, and
decoded JSON items, as SourceRecords for `core.imports.run_import`.

Files are streamed, never read whole (RULES.md section 9, "no field ... can make an import fail as
a whole or take unbounded memory"): `read_lines` takes bytes or a binary file object and hands out
one line at a time; a line longer than the limit (settings.IMPORT_MAX_LINE_BYTES, or the posts
limit of `campaign.services.post_records.posts_line_limit`) is read past in blocks, never held whole, and
comes back as a rejected record with its line number, its size, the limit and a short prefix.
Lines are decoded one by one, so a byte that is not UTF-8 is reported on the line it is on and the
other lines are imported.
"""

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, NamedTuple

from django.conf import settings

BLOCK = 64 * 1024  # bytes read at a time
PREFIX_BYTES = 200  # what is kept of an over-long line, to show ops what it was


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong header, empty): nothing in it is imported."""


@dataclass(frozen=True)
class SourceRecord:
    line: int
    raw: str
    data: dict | None
    error: str | None = None
    # When the record reached us, when that was before it is stored (a queued webhook delivery);
    # None: now. What was observed is dated by it (a post's last_seen_at, its engagement history).
    seen_at: datetime | None = None
    # The line the record ends on, when it spans several (a CSV field holding line breaks).
    last_line: int | None = None


def line_limit() -> int:
    """The byte limit of a line (and of a CSV record) of a file (settings.IMPORT_MAX_LINE_BYTES)."""
    return settings.IMPORT_MAX_LINE_BYTES


# --- Reading lines ---------------------------------------------------------------------------


class Line(NamedTuple):
    number: int
    data: bytes  # the line without its break; of an over-long line, its first PREFIX_BYTES
    size: int  # the line's length in bytes, without its break
    end: bytes  # the break as read: b"\n", b"\r\n", b"\r" (CSV only) or b"" at the end of the file
    whole: bool  # False: over-long, read past


_NEWLINE = re.compile(rb"\n")
_ANY_NEWLINE = re.compile(rb"\r\n|\r|\n")


def open_binary(data):
    """A binary stream over `data`: bytes, a str (encoded as UTF-8), or a binary file object
    (an open file, Django's UploadedFile) returned as it is."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(data)
    if isinstance(data, str):
        return io.BytesIO(data.encode("utf-8", "surrogatepass"))
    return data


def read_lines(data, *, limit: int, universal: bool = False) -> Iterator[Line]:
    """The lines of a file, one at a time, with at most `limit` bytes of one line in memory.

    JSON Lines and texts (`universal` false) end a line at "\\n" only, dropping a "\\r" before
    it: U+2028, U+2029, U+0085 and the other characters `str.splitlines()` breaks at are not line
    breaks (a JSON string may hold them raw). CSV (`universal`) also ends one at a lone "\\r",
    as Python's csv module reads a file opened with newline="". A last line without a break
    counts. A line over `limit` is read past in blocks and handed out with `whole` false.
    """
    stream = open_binary(data)
    breaks = _ANY_NEWLINE if universal else _NEWLINE
    buf, pos, number, eof = b"", 0, 0, False
    skipped = None  # [prefix, bytes so far] of an over-long line being read past
    while True:
        match = breaks.search(buf, pos)
        if match is not None and universal and not eof and match.end() == len(buf) and buf.endswith(b"\r"):
            match = None  # a "\r" that ends what was read may be the first half of "\r\n"
        if match is not None:
            piece, end = buf[pos : match.start()], match.group()
            pos = match.end()
            number += 1
            if skipped is None:
                yield _line(number, piece, end, limit, universal)
            else:
                yield _skipped_line(number, skipped, piece, end, universal)
                skipped = None
            continue
        if eof:
            if skipped is not None:
                yield _skipped_line(number + 1, skipped, buf[pos:], b"", universal)
            elif pos < len(buf):
                yield _line(number + 1, buf[pos:], b"", limit, universal)
            return
        # No whole line in what was read. A "\r" that ends it is not counted yet: it is a break
        # (CSV), or dropped before a "\n" (JSON Lines).
        tail = 1 if buf.endswith(b"\r") and len(buf) > pos else 0
        if skipped is None and len(buf) - pos - tail > limit:
            skipped = [b"", 0]
        if skipped is not None:
            _skip(skipped, buf[pos : len(buf) - tail])
            buf, pos = buf[len(buf) - tail :], 0
        block = stream.read(BLOCK)
        eof = not block
        buf, pos = buf[pos:] + block, 0


def _line(number, piece, end, limit, universal) -> Line:
    if not universal and piece.endswith(b"\r"):
        piece, end = piece[:-1], b"\r" + end
    if len(piece) > limit:
        return Line(number, piece[:PREFIX_BYTES], len(piece), end, False)
    return Line(number, piece, len(piece), end, True)


def _skip(skipped, piece: bytes) -> None:
    """Read past `piece` of an over-long line, keeping only what its prefix still lacks."""
    if len(skipped[0]) < PREFIX_BYTES:
        skipped[0] += piece[: PREFIX_BYTES - len(skipped[0])]
    skipped[1] += len(piece)


def _skipped_line(number, skipped, piece, end, universal) -> Line:
    if not universal and piece.endswith(b"\r"):
        piece, end = piece[:-1], b"\r" + end
    _skip(skipped, piece)
    return Line(number, skipped[0], skipped[1], end, False)


def _decode(line: Line) -> tuple[str | None, str | None]:
    """(text, None), or (None, why) when the line is not UTF-8; a BOM opening line 1 is dropped."""
    data = line.data
    if line.number == 1 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 ({exc.reason} at byte {exc.start + 1} of the line)"


def _shown(data: bytes) -> str:
    """Bytes as text to show ops, whatever they hold (a byte that is not UTF-8 as \\xNN)."""
    return data.decode("utf-8", "backslashreplace")


def _too_long(line: Line, limit: int, *, start: int | None = None) -> str:
    which = "the line" if start in (None, line.number) else f"line {line.number}"
    return f"{which} is {line.size:,} bytes; the limit is {limit:,} bytes"


class TextLine(NamedTuple):
    number: int
    text: str | None  # None when the line could not be read (`error` says why)
    raw: str
    error: str | None


def decoded_lines(data, *, limit: int) -> Iterator[TextLine]:
    """The lines of a UTF-8 text file (breaks at "\\n" only), each decoded on its own."""
    for line in read_lines(data, limit=limit):
        if not line.whole:
            yield TextLine(line.number, None, _shown(line.data) + "…", _too_long(line, limit))
            continue
        text, error = _decode(line)
        yield TextLine(line.number, text, text if error is None else _shown(line.data), error)


def text_lines(text: str) -> list[str]:
    """The lines of a text: split at "\n" only, with a "\r" before it dropped (as `read_lines`).

    Not `str.splitlines()`, which also breaks at U+2028, U+2029, U+0085, "\x0b", "\x0c" and
    "\x1c" to "\x1e": a JSON string may hold those unescaped, and a text pasted from a rich
    editor often does, so a record split there was lost whole. A last line without "\n" counts.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the "\n" that ends the last line starts no line of its own
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def count_lines(path, *, universal: bool = False) -> int:
    """How many lines the file at `path` has, read in blocks (never whole): a progress bar's total.
    Counted as `read_lines` counts them."""
    count, last = 0, b""
    with open(path, "rb") as stream:
        while block := stream.read(1024 * 1024):
            count += block.count(b"\n")
            if universal:  # a lone "\r" ends a line too, also when "\r\n" is cut between two blocks
                count += block.count(b"\r") - block.count(b"\r\n") - (last == b"\r" and block[:1] == b"\n")
            last = block[-1:]
    return count + (last not in (b"", b"\n", b"\r" if universal else b"\n"))


# --- CSV -------------------------------------------------------------------------------------


def _still_quoted(data: bytes, quoted: bool) -> bool:
    """Whether a CSV record is inside a quoted field at the end of this line, as Python's csv
    reader (excel dialect) reads it: a quote opens a field only at its start, and "" inside a
    quoted field is a quote. Bytes are enough: in UTF-8 no other character holds '"' or ','."""
    pos = 0
    while (i := data.find(b'"', pos)) >= 0:
        if quoted:
            if data[i + 1 : i + 2] == b'"':
                pos = i + 2
                continue
            quoted = False
        elif i == 0 or data[i - 1] == 0x2C:  # "," : a quote at a field's start opens it
            quoted = True
        pos = i + 1
    return quoted


class _CsvRecord(NamedTuple):
    start: int
    end: int
    row: list[str] | None
    raw: str
    error: str | None


def _csv_rows(lines: Iterator[Line], limit: int) -> Iterator[_CsvRecord]:
    """CSV records from lines: a record ends at a line break outside quotes. Its lines are kept
    until it ends, at most `limit` bytes in all; past that it is read on without keeping (so its
    end is still found where csv would find it) and rejected. An over-long line ends its record:
    its quotes were never read."""
    parts, start, size, quoted, prefix = [], None, 0, False, b""
    for line in lines:
        if start is None and line.whole and b'"' not in line.data:
            # The common record: one line without quotes, which csv would cut at its commas.
            text, error = _decode(line)
            if error is not None:
                yield _CsvRecord(line.number, line.number, None, _shown(line.data), error)
            else:
                yield _CsvRecord(line.number, line.number, text.split(",") if text else [], text, None)
            continue
        if start is None:
            start, size, parts, prefix = line.number, 0, [], line.data[:PREFIX_BYTES]
        if not line.whole:
            yield _CsvRecord(start, line.number, None, _shown(prefix) + "…", _too_long(line, limit, start=start))
            start, quoted = None, False
            continue
        quoted = _still_quoted(line.data, quoted)
        size += line.size + (len(line.end) if quoted else 0)  # its breaks inside quotes count, its last one not
        if parts is not None and size <= limit:
            parts.append(line)
        else:
            parts = None  # too long: read on to its end, keep nothing
        if quoted:
            continue
        yield _csv_record(start, line.number, parts, size, limit, prefix)
        start, quoted = None, False
    if start is not None:  # a quote left open at the end of the file: csv reads what there is
        yield _csv_record(start, line.number, parts, size, limit, prefix)


def _csv_record(start, end, parts, size, limit, prefix) -> _CsvRecord:
    if parts is None:
        return _CsvRecord(start, end, None, _shown(prefix) + "…", f"the record (lines {start} to {end}) is {size:,} bytes; the limit is {limit:,} bytes")
    texts = []
    for line in parts:
        text, error = _decode(line)
        if error is not None:
            where = "" if line.number == start else f"line {line.number} is "
            raw = "".join(_shown(p.data) + _shown(p.end) for p in parts).rstrip("\r\n")
            return _CsvRecord(start, end, None, raw, where + error)
        texts.append(text + line.end.decode("ascii"))
    text = "".join(texts)
    try:
        rows = list(csv.reader([text]))
    except csv.Error as exc:
        return _CsvRecord(start, end, None, text.rstrip("\r\n"), f"cannot be read as CSV ({exc})")
    if len(rows) > 1:  # pragma: no cover - the quote scan ends records where csv does
        return _CsvRecord(start, end, None, text.rstrip("\r\n"), "cannot be read as one CSV record")
    return _CsvRecord(start, end, rows[0] if rows else [], text.rstrip("\r\n"), None)


def csv_records(data, *, header: tuple[str, ...], limit: int | None = None) -> Iterator[SourceRecord]:
    """Rows of a UTF-8 CSV file as dicts; the header counts as line 1 (RULES.md section 9).

    `data`: bytes, str or a binary file object, streamed. A quoted field may span lines; a record
    over `limit` bytes (settings.IMPORT_MAX_LINE_BYTES), or one that is not UTF-8, is a
    rejected record at the line where it starts. A wrong or missing header refuses the file.
    """
    limit = limit or line_limit()
    # Records are bounded here, in bytes; csv's own field limit (131,072 characters) would raise
    # in the middle of the file and stop it.
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)
    records = _csv_rows(read_lines(data, limit=limit, universal=True), limit)
    first = next(records, None)
    if first is None:
        raise ImportFileError(f"the file is empty; expected the header {','.join(header)}")
    if first.error is not None:
        raise ImportFileError(f"the header cannot be read ({first.error}); expected {','.join(header)}")
    found = ",".join(name.strip() for name in first.row)
    if found != ",".join(header):
        raise ImportFileError(f"expected the header {','.join(header)}, got {shorten(found, 200)}")
    for record in records:
        if record.error is not None:
            yield SourceRecord(record.start, record.raw, None, record.error, last_line=record.end)
            continue
        row = record.row
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield SourceRecord(record.start, record.raw, None, f"expected {len(header)} fields, got {len(row)}", last_line=record.end)
        else:
            yield SourceRecord(record.start, record.raw, dict(zip(header, (cell.strip() for cell in row))), last_line=record.end)


# --- JSON ------------------------------------------------------------------------------------


def jsonl_records(data, *, limit: int | None = None) -> Iterator[SourceRecord]:
    """Objects of a JSON Lines file, streamed; lines count from 1 and blank lines are skipped.
    A line over `limit` bytes, not UTF-8, or not a JSON object is a rejected record."""
    limit = limit or line_limit()
    for line in decoded_lines(data, limit=limit):
        if line.error is not None:
            yield SourceRecord(line.number, line.raw, None, line.error)
            continue
        if not line.text.strip():
            continue
        try:
            obj = json.loads(line.text)
        except json.JSONDecodeError as exc:
            yield SourceRecord(line.number, line.raw, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        except ValueError as exc:  # an integer of more than 4,300 digits
            yield SourceRecord(line.number, line.raw, None, f"not valid JSON: {exc}")
            continue
        except RecursionError:
            yield SourceRecord(line.number, line.raw, None, "not valid JSON here: nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield SourceRecord(line.number, line.raw, None, "expected a JSON object")
            continue
        yield SourceRecord(line.number, line.raw, obj)


def item_records(items: list) -> list[SourceRecord]:
    """Decoded JSON items (a webhook delivery, a feed page, an API batch) as SourceRecords:
    `line` is the item's index from 1, `raw` its JSON text; anything but an object is refused."""
    records = []
    for n, item in enumerate(items, start=1):
        try:
            raw = json.dumps(item, ensure_ascii=False)
        except RecursionError:
            records.append(SourceRecord(n, "(nested too deeply to show)", None, "nested too deeply"))
            continue
        if isinstance(item, dict):
            records.append(SourceRecord(n, raw, item, None))
        else:
            records.append(SourceRecord(n, raw, None, "expected a JSON object"))
    return records


def shorten(text: str, limit: int) -> str:
    """At most about `limit` characters of `text`, saying so when cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (cut: {len(text):,} characters in all)"
