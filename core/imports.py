"""The machinery every import shares: validating each record, writing the good ones in bulk
chunks, keeping the bad ones as RejectedRecord rows, and the run's progress saved as it goes.

Each kind of record has one service (registrations_import, signups_import, posts_ingest, ...) that
plugs a `parse` and a `write` into `run_import`; commands, admin views, API endpoints, the feed and
the webhook all call those services, so there is one code path whichever door a record comes in by.
The records come from `core.reading`, streamed: a file is never read whole.
"""

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Iterable

from django.db import DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.models import ImportRun, RejectedRecord
from core.reading import ImportFileError, SourceRecord, shorten

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
# A chunk is also cut at this many bytes of records, so a file of long records holds a few in
# memory at a time, not CHUNK_SIZE of them.
CHUNK_BYTES = 4 * 1024 * 1024
RAW_KEPT = 65_536  # characters of a rejected record kept as its raw text
ERRORS_KEPT = 10_000  # rejected lines a report holds in memory; the database keeps every one
# A run is worked on by one process at a time: it holds the run until `lease_until`, renewed
# with every chunk; a run unfinished past it was interrupted and may be taken again.
LEASE = timedelta(minutes=10)


@dataclass
class ImportReport:
    run: ImportRun
    errors: list[tuple[int, str]] = field(default_factory=list)
    errors_left_off: int = 0  # rejected lines beyond ERRORS_KEPT: in the database only
    followup: object = None  # the work the writer queued after the write (a posts file's judging job)

    @property
    def ok(self):
        return self.run.rejected == 0 and not self.run.error

    @property
    def refused(self) -> bool:
        """The file was refused as a whole (wrong header, empty): nothing in it was imported."""
        return bool(self.run.error) and self.run.finished_at is not None

    def summary(self):
        run = self.run
        if self.refused:
            return f"{run.get_kind_display()}: the file was refused ({run.error}); nothing was imported"
        return f"{run.get_kind_display()}: {run.total} records, {run.accepted} imported, {run.rejected} rejected"


# --- Importing ---------------------------------------------------------------------------------


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
    except RecursionError:  # a value nested as deep as the JSON parser allowed, shown by a message
        return None, "a field is nested too deeply"


def _chunks(records: Iterable[SourceRecord], size: int, max_bytes: int):
    chunk, held = [], 0
    for record in records:
        chunk.append(record)
        held += len(record.raw)
        if len(chunk) >= size or held >= max_bytes:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def import_run_create(*, kind: str, source: str, filename: str = "", created_by: str = "", status=ImportRun.Status.RUNNING, **fields) -> ImportRun:
    """A new import run: running (held by the caller) or queued (for a worker to claim)."""
    lease = timezone.now() + LEASE if status == ImportRun.Status.RUNNING else None
    return ImportRun.objects.create(
        kind=kind, source=source, filename=filename[:255], created_by=created_by[:150], status=status, lease_until=lease, **fields
    )


def import_run_claim(*, run_id: int) -> ImportRun | None:
    """Take an unfinished run to work on it, one process at a time (a conditional update: if it
    changes no row, another worker holds the run or it is done). None: gone, finished or held."""
    now = timezone.now()
    claimed = (
        ImportRun.objects.filter(pk=run_id, finished_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(status=ImportRun.Status.RUNNING, lease_until=now + LEASE, error="")
    )
    return ImportRun.objects.get(pk=run_id) if claimed == 1 else None


def import_run_release(*, run: ImportRun, error: str = "") -> None:
    """Let go of an unfinished run: with `error` it failed (shown to ops; it may be started
    again), without it it was interrupted (a lost database: the task's retry takes it again)."""
    status = ImportRun.Status.FAILED if error else ImportRun.Status.RUNNING
    ImportRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(lease_until=None, status=status, error=shorten(error, 2000))


def run_import(
    *,
    kind: str,
    records: Iterable[SourceRecord],
    parse: Callable[[dict], object],
    write: Callable[[list[tuple[SourceRecord, object]], ImportRun], list[tuple[SourceRecord, str]]],
    source: str = ImportRun.Source.COMMAND,
    filename: str = "",
    created_by: str = "",
    progress=None,
    chunk_size: int = CHUNK_SIZE,
    chunk_bytes: int = CHUNK_BYTES,
    run: ImportRun | None = None,
    parse_ahead: bool = False,
) -> ImportReport:
    """Validate every record, write the valid ones chunk by chunk, keep every rejected one.

    `parse(data)` returns a value or raises ValueError (the reason). `write(chunk, run)` persists a
    chunk of (record, value) in bulk and returns the records it refused with their reasons (for
    rules that need the stored state, like a post whose author changed). A chunk is one
    transaction, and the run's counters and last committed line are saved in it: a crash loses
    at most the chunk in flight, and the run shows what was committed. A value the database
    refuses nonetheless (DataError, IntegrityError) is found by writing that chunk record by
    record, and rejected with the database's reason; the others are written.

    `run`: a new run made by the caller (the campaign app's, linked to its campaign), or an
    unfinished one to continue (claimed by the caller): the records up to its `last_line` were
    committed by an earlier attempt and are skipped, and its counters go on. Without it a new
    run is created. Re-running a whole file is harmless too, because every writer upserts on a
    natural key. `progress` is a tqdm-like object or None (lines done).

    `parse_ahead`, for a `parse` that reads nothing but the record (no database): the next chunk
    is read and parsed in a thread while this one is written, so the parsing runs while the
    database works (the thread holds at most two chunks; an error of the file reaches this
    loop where it would have been raised).
    """
    if run is None:
        run = import_run_create(kind=kind, source=source, filename=filename, created_by=created_by)
    report = ImportReport(run=run)
    done = run.last_line
    pending = (record for record in records if (record.last_line or record.line) > done)
    parsed = _parsed_chunks(_chunks(pending, chunk_size, chunk_bytes), parse)
    try:
        for chunk, good, bad in _ahead(parsed) if parse_ahead else parsed:
            counts = {"total": run.total + len(chunk), "rejected": run.rejected, "last_line": max(done, chunk[-1].last_line or chunk[-1].line)}
            with transaction.atomic():
                if good:
                    bad.extend(_write(write, good, run))
                _keep_rejected(run, bad, report)
                counts["rejected"] += len(bad)
                counts["accepted"] = counts["total"] - counts["rejected"]
                ImportRun.objects.filter(pk=run.pk).update(**counts, status=ImportRun.Status.RUNNING, lease_until=timezone.now() + LEASE)
            for name, value in counts.items():
                setattr(run, name, value)
            if progress is not None:
                progress.update(run.last_line - done)
            done = run.last_line
    except ImportFileError as exc:
        _keep_rejected(run, [(SourceRecord(1, "", None), str(exc))], report)
        run.rejected += 1
        run.error = str(exc)
    run.finished_at = timezone.now()
    run.status = ImportRun.Status.FAILED if run.error else ImportRun.Status.FINISHED
    run.lease_until = None
    run.save(update_fields=["total", "accepted", "rejected", "finished_at", "status", "lease_until", "error"])
    for line, reason in report.errors:
        logger.warning("%s import #%s line %s rejected: %s", kind, run.pk, line, reason)
    if report.errors_left_off:
        logger.warning("%s import #%s: %s more rejected lines (see the import run)", kind, run.pk, report.errors_left_off)
    return report


def _parsed_chunks(chunks, parse):
    """(chunk, [(record, value)], [(record, reason)]) of each chunk of records."""
    for chunk in chunks:
        good, bad = [], []
        for record in chunk:
            value, problem = record_parse(record, parse)
            if problem is None:
                good.append((record, value))
            else:
                bad.append((record, problem))
        yield chunk, good, bad


def _ahead(items, depth: int = 2):
    """`items` produced by a thread, at most `depth` ahead of the consumer; what the producer
    raises is raised here, in order. The consumer stopping early (an error of its own) stops the
    producer at its next item."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def produce():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put((item, None), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put((end, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            box.put((end, exc))

    thread = threading.Thread(target=produce, name="import-parse-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = box.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _write(write, good, run):
    """`write(good, run)`; when the database refuses a value of the chunk, each record alone, so
    only the one it refuses is rejected (with the database's reason)."""
    try:
        with transaction.atomic():
            return write(good, run)
    except (DataError, IntegrityError):
        logger.warning("import #%s: the database refused a chunk; writing it record by record", run.pk, exc_info=True)
    refused = []
    for item in good:
        try:
            with transaction.atomic():
                refused.extend(write([item], run))
        except (DataError, IntegrityError) as exc:
            refused.append((item[0], f"the database refused it ({shorten(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, 300)})"))
    return refused


MAX_DEPTH = 64  # levels of JSON arrays and objects in a record; no record of ours has more than 2


def _unstorable_text(value) -> str | None:
    """Why a record cannot be stored, or None: PostgreSQL text holds neither NUL nor the halves
    of a surrogate pair (JSON can spell both: \\u0000, \\ud800); no real name or post has them. And
    a record nested deeper than MAX_DEPTH is refused whatever it holds, the same on every door
    (how deep the JSON parser itself goes depends on the stack it runs on). Walked with a stack,
    not recursion."""
    if isinstance(value, dict) and not any(isinstance(item, (dict, list)) for item in value.values()):
        # A flat record (every posts line): no walk, each string checked once.
        for item in (*value.keys(), *value.values()):
            if isinstance(item, str) and ("\x00" in item or not item.isascii()):
                problem = _unstorable_text(item)
                if problem:
                    return problem
        return None
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "contains a NUL character (\\x00)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "contains an unpaired surrogate (not valid Unicode text)"
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels"
            children = [c for pair in item.items() for c in pair] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in reversed(children))
    return None


def _keep_rejected(run, bad, report):
    if not bad:
        return
    bad.sort(key=lambda item: item[0].line)
    RejectedRecord.objects.bulk_create(
        [
            RejectedRecord(run=run, line=record.line, reason=_printable(shorten(reason, RAW_KEPT)), raw=_printable(shorten(record.raw, RAW_KEPT)))
            for record, reason in bad
        ]
    )
    room = max(ERRORS_KEPT - len(report.errors), 0)
    report.errors.extend((record.line, reason) for record, reason in bad[:room])
    report.errors_left_off += len(bad) - min(room, len(bad))


def _printable(text: str) -> str:
    """Text that PostgreSQL can store, with NUL and lone surrogates spelled out, never dropped."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def make_progress(total=None, *, enabled: bool, desc: str, unit: str = "line"):
    """A tqdm progress bar on stderr for commands run by hand; None when not wanted."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)
