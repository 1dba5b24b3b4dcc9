"""The machinery every import shares: reading records with their line numbers, validating each,
writing the good ones in bulk chunks, keeping the bad ones as RejectedRecord rows.

Each kind of record has one service (registrations_import, signups_import, posts_ingest, ...) that
plugs a `parse` and a `write` into `run_import`; commands, admin views, API endpoints, the feed and
the webhook all call those services, so there is one code path whichever door a record comes in by.
"""

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from django.db import transaction
from django.utils import timezone

from traders.models import ImportRun, RejectedRecord

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong header, not UTF-8): nothing in it is imported."""


@dataclass(frozen=True)
class SourceRecord:
    line: int
    raw: str
    data: dict | None
    error: str | None = None
    # When the record reached us, when that was before it is stored (a queued webhook delivery);
    # None: now. What was observed is dated by it (a post's last_seen_at, its engagement history).
    seen_at: datetime | None = None


@dataclass
class ImportReport:
    run: ImportRun
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self):
        return self.run.rejected == 0

    def summary(self):
        run = self.run
        return f"{run.get_kind_display()}: {run.total} records, {run.accepted} imported, {run.rejected} rejected"


def decode_text(data):
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"the file is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    return data.lstrip("\ufeff")


def text_lines(text: str) -> list[str]:
    """The lines of a text file: split at "\n" only, with a "\r" before it dropped.

    Not `str.splitlines()`, which also breaks at U+2028, U+2029, U+0085, "\x0b", "\x0c" and
    "\x1c" to "\x1e": a JSON string may hold those unescaped, and a text pasted from a rich
    editor often does, so a record split there was lost whole. A last line without "\n" counts.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the "\n" that ends the last line starts no line of its own
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def csv_records(data, *, header: tuple[str, ...]) -> Iterator[SourceRecord]:
    """Rows of a UTF-8 CSV file as dicts; the header counts as line 1 (RULES.md section 9)."""
    text = decode_text(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        found = next(reader)
    except StopIteration:
        raise ImportFileError(f"the file is empty; expected the header {','.join(header)}") from None
    found = [name.strip() for name in found]
    if tuple(found) != header:
        raise ImportFileError(f"line 1: expected the header {','.join(header)}, got {','.join(found)}")
    line = 1
    for row in reader:
        start = line + 1
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(row)
        if len(row) != len(header):
            yield SourceRecord(start, out.getvalue(), None, f"expected {len(header)} fields, got {len(row)}")
        else:
            yield SourceRecord(start, out.getvalue(), dict(zip(header, (cell.strip() for cell in row))))


def jsonl_records(data) -> Iterator[SourceRecord]:
    """Objects of a JSON Lines file; lines count from 1 and blank lines are skipped."""
    text = decode_text(data)
    for number, raw in enumerate(text_lines(text), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield SourceRecord(number, raw, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield SourceRecord(number, raw, None, "expected a JSON object")
            continue
        yield SourceRecord(number, raw, obj)


def item_records(items: list) -> list[SourceRecord]:
    """Decoded JSON items (a webhook delivery, a feed page, an API batch) as SourceRecords:
    `line` is the item's index from 1, `raw` its JSON text; anything but an object is refused."""
    return [
        SourceRecord(n, json.dumps(item, ensure_ascii=False), item, None)
        if isinstance(item, dict)
        else SourceRecord(n, json.dumps(item, ensure_ascii=False), None, "expected a JSON object")
        for n, item in enumerate(items, start=1)
    ]


def record_parse(record: SourceRecord, parse: Callable[[dict], object]) -> tuple[object, str | None]:
    """(value, None) for a record `run_import` would write, (None, reason) for one it would refuse.

    The checks that need no stored state, so a door can answer them before it queues the records
    (the webhook); the writer's own refusals (a post whose author changed) come on top."""
    if record.error is not None:
        return None, record.error
    problem = _unstorable_text(record.data)
    if problem:
        return None, problem
    try:
        return parse(record.data), None
    except ValueError as exc:
        return None, str(exc)


def _chunks(items: Iterable, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_import(
    *,
    kind: str,
    records: Iterable[SourceRecord],
    parse: Callable[[dict], object],
    write: Callable[[list[tuple[SourceRecord, object]], ImportRun], list[tuple[SourceRecord, str]]],
    campaign_slug: str = "",
    source: str = ImportRun.Source.COMMAND,
    filename: str = "",
    created_by: str = "",
    progress=None,
    chunk_size: int = CHUNK_SIZE,
) -> ImportReport:
    """Validate every record, write the valid ones chunk by chunk, keep every rejected one.

    `parse(data)` returns a value or raises ValueError (the reason). `write(chunk, run)` persists a
    chunk of (record, value) in bulk and returns the records it refused with their reasons (for
    rules that need the stored state, like a post whose author changed). A chunk is one
    transaction; a crash loses at most the chunk in flight, and re-running the import is harmless
    because every writer upserts on a natural key. `progress` is a tqdm-like object or None.
    """
    run = ImportRun.objects.create(
        kind=kind, source=source, campaign_slug=campaign_slug, filename=filename[:255], created_by=created_by
    )
    report = ImportReport(run=run)
    try:
        for chunk in _chunks(records, chunk_size):
            good, bad = [], []
            for record in chunk:
                value, problem = record_parse(record, parse)
                if problem is None:
                    good.append((record, value))
                else:
                    bad.append((record, problem))
            with transaction.atomic():
                if good:
                    bad.extend(write(good, run))
                _keep_rejected(run, bad, report)
            run.total += len(chunk)
            run.rejected += len(bad)
            run.accepted = run.total - run.rejected
            if progress is not None:
                progress.update(len(chunk))
    except ImportFileError as exc:
        _keep_rejected(run, [(SourceRecord(1, "", None), str(exc))], report)
        run.rejected += 1
    run.finished_at = timezone.now()
    run.save(update_fields=["total", "accepted", "rejected", "finished_at"])
    for line, reason in report.errors:
        logger.warning("%s import #%s line %s rejected: %s", kind, run.pk, line, reason)
    return report


def _unstorable_text(value) -> str | None:
    """Why a record's text cannot be stored, or None: PostgreSQL text holds neither NUL nor the
    halves of a surrogate pair (JSON can spell both: \\u0000, \\ud800); no real name or post has them."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (\\x00)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (not valid Unicode text)"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        problem = _unstorable_text(key) if isinstance(key, str) else None
        problem = problem or _unstorable_text(item)
        if problem:
            return problem
    return None


def _keep_rejected(run, bad, report):
    if not bad:
        return
    bad.sort(key=lambda item: item[0].line)
    RejectedRecord.objects.bulk_create(
        [
            RejectedRecord(run=run, line=record.line, reason=_printable(reason), raw=_printable(record.raw))
            for record, reason in bad
        ]
    )
    report.errors.extend((record.line, reason) for record, reason in bad)


def _printable(text: str) -> str:
    """Text that PostgreSQL can store, with NUL and lone surrogates spelled out, never dropped."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def make_progress(total=None, *, enabled: bool, desc: str):
    """A tqdm progress bar on stderr for commands run by hand; None when not wanted."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rec", dynamic_ncols=True)
