"""JSON record batches through the import services: one SourceRecord per array item.

Each API batch goes through the same service as the file of its kind (`records=`), so
validation, upsert and rejected rows are those of the file path, and each item's line is its
index in the array (from 1). What no column can hold (NUL, lone surrogates, integers beyond the
column, instants beyond the calendar) is refused by the shared parsers and `run_import`.
"""

from dataclasses import dataclass, field
from typing import Callable

from traders.imports import ImportReport, item_records
from traders.models import ImportRun
from traders.parsing import MAX_COUNT, MAX_UID

MAX_BATCH = 2000  # = traders.imports.CHUNK_SIZE: a batch is written in one transaction
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


def records_batch_import(items: list, *, fmt: RecordFormat, service: Callable[..., ImportReport], **service_kwargs) -> BatchResult:
    """Import a batch through a service (`records=`) and report each item's outcome."""
    records = item_records(items)
    report = service(records=records, source=ImportRun.Source.API, **service_kwargs)
    reasons = {}
    for line, reason in report.errors:
        reasons.setdefault(line, reason)
    return BatchResult(run=report.run, results=[RecordResult(r.line, r.line not in reasons, reasons.get(r.line)) for r in records])
