"""JSON record batches through the import services: one SourceRecord per array item.

Each API batch goes through the same service as the file of its kind (`records=`), so
validation, upsert and rejected rows are those of the file path, and each item's line is its
index in the array (from 1). What no column can hold (NUL, lone surrogates, integers beyond the
column, instants beyond the calendar) is refused by the shared parsers and `run_import`.
"""

from dataclasses import dataclass, field, replace
from typing import Callable

from core.imports import ImportReport
from core.models import ImportRun
from core.parsing import MAX_COUNT, MAX_UID
from core.reading import SourceRecord, item_records

MAX_BATCH = 2000  # = core.imports.CHUNK_SIZE: a batch is written in one transaction
INT32_MAX = MAX_COUNT  # PositiveIntegerField
INT64_MAX = MAX_UID  # PositiveBigIntegerField


@dataclass(frozen=True)
class RecordFormat:
    """What a record of one kind carries (its field names and bounds), for the schema."""

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


def json_type(value) -> str:
    """The JSON name of a decoded value's type, for messages ("got null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def batch_records(items: list) -> list[SourceRecord]:
    """The items of an API batch as SourceRecords; an item that is not an object (null, a number, a
    string, an array) is a rejected record that says what it was, never a refusal of the batch."""
    return [
        record if isinstance(item, dict) else replace(record, error=f"expected a JSON object, got {json_type(item)}")
        for record, item in zip(item_records(items), items)
    ]


def records_batch_import(items: list, *, fmt: RecordFormat, service: Callable[..., ImportReport], **service_kwargs) -> BatchResult:
    """Import a batch through a service (`records=`) and report each item's outcome."""
    records = batch_records(items)
    report = service(records=records, source=ImportRun.Source.API, **service_kwargs)
    reasons = {}
    for line, reason in report.errors:
        reasons.setdefault(line, reason)
    return BatchResult(run=report.run, results=[RecordResult(r.line, r.line not in reasons, reasons.get(r.line)) for r in records])
