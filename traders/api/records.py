"""JSON record batches through the import services: one SourceRecord per array item.

Each API batch goes through the same service as the file of its kind, so validation, upsert and
rejected rows are those of the file path. Two things are added at this door:

- A storage screen. A JSON value can hold what no column can (a NUL character, an unpaired
  surrogate, an integer beyond the column, a date that overflows in UTC, a UTC offset past
  15:59); the parsers let those through and the database would answer with a server error.
  Such a record is refused here with its reason and still kept as a rejected record of the run.
- For the services that read CSV text (registrations, sign-ups, trading stats), the batch is
  written as CSV in the header's field order and every CSV line is mapped back to its item.
  A record refused before the service goes in as a one-field row, which the service rejects (and
  keeps, raw JSON included) by its field count; the response gives the screen's reason.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Callable

from traders.imports import ImportReport, SourceRecord
from traders.models import ImportRun

MAX_BATCH = 2000  # = traders.imports.CHUNK_SIZE: a batch is written in one transaction
INT32_MAX = 2**31 - 1  # PositiveIntegerField
INT64_MAX = 2**63 - 1  # PositiveBigIntegerField
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59, seconds=59)


@dataclass(frozen=True)
class RecordFormat:
    """What a record of one kind carries, for the storage screen and the CSV bridge."""

    fields: tuple[str, ...]
    int_max: dict[str, int] = field(default_factory=dict)
    instants: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordResult:
    index: int
    ok: bool
    error: str | None


@dataclass(frozen=True)
class BatchResult:
    run: ImportRun
    results: list[RecordResult]


def _unstorable_text(value) -> bool:
    stack = [value]  # iterative: the parser bounds the depth, but a stack costs nothing
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def storage_error(item, fmt: RecordFormat) -> str | None:
    """Why the database could not store this record whatever the rules say, or None."""
    if not isinstance(item, dict):
        return "expected a JSON object"
    if _unstorable_text(item):
        return "a text contains a NUL character or an unpaired surrogate, which cannot be stored"
    if all(_blank(item.get(name)) for name in fmt.fields):
        return f"the record has none of the fields {', '.join(fmt.fields)}"
    for name, limit in fmt.int_max.items():
        value = item.get(name)
        text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        # Compare lengths first: int() refuses strings of more than 4300 digits.
        if text.isascii() and text.isdigit() and (len(text.lstrip("0")) > len(str(limit)) or int(text) > limit):
            return f"{name} is out of range (at most {limit})"
    for name in fmt.instants:
        value = item.get(name)
        if not isinstance(value, str):
            continue
        try:
            parsed = datetime.fromisoformat(value.strip())
            offset = parsed.utcoffset()
            if offset is not None:
                parsed.astimezone(dt_timezone.utc)
        except ValueError:
            continue  # the service reports a malformed instant itself
        except OverflowError:
            return f"{name} is out of range once converted to UTC"
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            # PostgreSQL stores offsets up to 15:59:59 and the services store the offset as given.
            return f"{name} has a UTC offset beyond ±15:59, which cannot be stored"
    return None


def source_records(items: list, fmt: RecordFormat) -> list[SourceRecord]:
    """Array items as SourceRecords, `line` = index from 1, `raw` = the item's JSON text."""
    records = []
    for index, item in enumerate(items, start=1):
        error = storage_error(item, fmt)
        # ensure_ascii when refused: the escaped text is storable whatever the item holds.
        raw = json.dumps(item, ensure_ascii=error is not None)
        records.append(SourceRecord(index, raw, item if error is None else None, error))
    return records


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def records_as_csv(records: list[SourceRecord], header: tuple[str, ...]) -> tuple[str, dict[int, int]]:
    """The records as a CSV file with `header`, and {CSV line where a record starts: its index}.

    Line numbers are read back exactly as `traders.imports.csv_records` counts them (a value
    with a line break spans several lines), so the service's line numbers map to items.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    rows = []
    for record in records:
        row = [_cell(record.data.get(name)) for name in header] if record.error is None else [record.raw]
        writer.writerow(row)
        rows.append(row)
    text = out.getvalue()
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    line, starts = 1, []
    for row, written in zip(reader, rows, strict=True):
        if row != written:  # pragma: no cover - csv round-trips every str; a guard, not a path
            raise RuntimeError("a record did not survive the CSV round trip")
        starts.append(line + 1)
        line = reader.line_num
    return text, {start: record.line for start, record in zip(starts, records)}


def batch_result(report: ImportReport, records: list[SourceRecord], index_of_line: dict[int, int] | None = None) -> BatchResult:
    reasons = {}
    for line, reason in report.errors:
        index = index_of_line[line] if index_of_line is not None else line
        reasons.setdefault(index, reason)
    for record in records:
        if record.error is not None:
            reasons[record.line] = record.error
    return BatchResult(
        run=report.run,
        results=[RecordResult(r.line, r.line not in reasons, reasons.get(r.line)) for r in records],
    )


def csv_batch_import(items: list, *, fmt: RecordFormat, service: Callable[..., ImportReport], **service_kwargs) -> BatchResult:
    """Import a batch through a service that takes CSV text (`data=`) in `fmt.fields` order."""
    records = source_records(items, fmt)
    text, index_of_line = records_as_csv(records, fmt.fields)
    report = service(data=text, source=ImportRun.Source.API, **service_kwargs)
    return batch_result(report, records, index_of_line)


def records_batch_import(items: list, *, fmt: RecordFormat, service: Callable[..., ImportReport], **service_kwargs) -> BatchResult:
    """Import a batch through a service that takes SourceRecords (`records=`)."""
    records = source_records(items, fmt)
    report = service(records=records, source=ImportRun.Source.API, **service_kwargs)
    return batch_result(report, records)
