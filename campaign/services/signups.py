"""Sign-up imports, and the one entry point for a file of any kind: the commands call it, and the
admin queues a file for the background task that calls it (`campaign_import_queue`)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction

from campaign.models import Campaign, CampaignImport, Signup
from campaign.page_cache import campaign_pages_changed
from core.imports import ImportReport, import_run_claim, import_run_create, import_run_release, run_import
from core.models import ImportRun
from core.parsing import parse_instant, parse_text, parse_uid
from core.reading import count_lines, csv_records
from traders.services import registrations_import, trader_stats_import, traders_ensure

SIGNUP_HEADER = ("uid", "submitted_at", "square_handle", "contact")


@dataclass(frozen=True)
class SignupRow:
    uid: int
    submitted_at: datetime
    square_handle: str
    contact: str


def campaign_import_run_create(*, campaign: Campaign, kind: str, source: str, **fields) -> ImportRun:
    """A new import run (`import_run_create`) of records for `campaign`, linked to it by a key
    (CampaignImport): every import into a campaign makes its run here and hands it to the service."""
    with transaction.atomic():
        run = import_run_create(kind=kind, source=source, **fields)
        CampaignImport.objects.create(run=run, campaign=campaign)
    return run


def signup_parse(data: dict) -> SignupRow:
    handle = parse_text(data.get("square_handle"), "square_handle", 100)
    contact = parse_text(data.get("contact"), "contact", 200)
    return SignupRow(
        uid=parse_uid(data.get("uid")),
        submitted_at=parse_instant(data.get("submitted_at"), "submitted_at"),
        square_handle=handle,
        contact=contact,
    )


def signups_import(
    *, campaign: Campaign, data=None, records=None, source=ImportRun.Source.COMMAND, filename="", created_by="", progress=None, run=None
) -> ImportReport:
    """Import questionnaire sign-ups for `campaign` (RULES.md sections 2 and 9).

    Every sign-up is kept, inside the window or not, registered or not: enrolment is decided at
    settlement time from all of them. (campaign, UID, submitted_at instant) is the natural key, so
    re-importing a file changes nothing and a corrected handle or contact replaces the old one.
    `data`: bytes or a binary file object, streamed; `run`: an unfinished run to continue.
    """

    def write(chunk, run):
        latest = {}
        for record, row in chunk:
            latest[(row.uid, row.submitted_at.timestamp())] = (record, row)
        ids = traders_ensure({row.uid for _, row in latest.values()})
        Signup.objects.bulk_create(
            [
                Signup(
                    campaign=campaign,
                    trader_id=ids[row.uid],
                    submitted_at=row.submitted_at,
                    square_handle=row.square_handle,
                    contact=row.contact,
                    import_run=run,
                    source_line=record.line,
                )
                for record, row in latest.values()
            ],
            update_conflicts=True,
            unique_fields=["campaign", "trader", "submitted_at"],
            update_fields=["square_handle", "contact", "import_run", "source_line", "updated_at"],
        )
        return []

    report = run_import(
        kind=ImportRun.Kind.SIGNUPS,
        records=records if records is not None else csv_records(data, header=SIGNUP_HEADER),
        parse=signup_parse,
        write=write,
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
        run=run or campaign_import_run_create(campaign=campaign, kind=ImportRun.Kind.SIGNUPS, source=source, filename=filename, created_by=created_by),
    )
    campaign_pages_changed(campaign_id=campaign.pk)  # step 2 of the status pages
    return report


def _importers():
    from campaign.services.posts import posts_import_file
    from campaign.services.reference_texts import reference_texts_import

    return {
        # Records of traders, not of a campaign: `campaign_import_file` made their run, linked to it.
        ImportRun.Kind.REGISTRATIONS: lambda campaign, **kwargs: registrations_import(**kwargs),
        ImportRun.Kind.SIGNUPS: lambda campaign, **kwargs: signups_import(campaign=campaign, **kwargs),
        ImportRun.Kind.TRADER_STATS: lambda campaign, **kwargs: trader_stats_import(**kwargs),
        ImportRun.Kind.POSTS: lambda campaign, **kwargs: posts_import_file(campaign=campaign, **kwargs),
        ImportRun.Kind.REFERENCE_TEXTS: lambda campaign, **kwargs: reference_texts_import(campaign=campaign, **kwargs),
    }


# How each kind counts its lines (`read_lines`): CSV also breaks at a lone "\r".
CSV_KINDS = {ImportRun.Kind.REGISTRATIONS, ImportRun.Kind.SIGNUPS, ImportRun.Kind.TRADER_STATS}
UPLOAD_DIR = "imports"


def import_lines_count(*, kind: str, path) -> int:
    """The file's line count as its import counts lines: the total of the progress bars."""
    return count_lines(path, universal=kind in CSV_KINDS)


def campaign_import_file(
    *, campaign: Campaign, kind: str, path=None, data=None, filename: str = "", source: str, created_by: str = "", progress=None, run=None, **options
) -> ImportReport:
    """Import one file of `kind` into `campaign` through that kind's service: the door of the
    commands, of the admin's background task (`campaign_import_run`) and of the demo.

    `path`: the file on disk, streamed (never read whole); the run records it and its line
    count, so an interrupted run can be continued from it. `data`: bytes or a binary file object
    instead. `run`: an unfinished run of this file to continue, claimed by the caller; without
    it the run is made here, linked to the campaign, whichever kind the file is. `options`: what
    that kind's service takes besides (a posts file: `judging_progress`, `wait`).
    """
    importer = _importers().get(kind)
    if importer is None:
        raise ValueError(f"unknown import kind {kind!r}")
    if path is None:
        run = run or campaign_import_run_create(campaign=campaign, kind=kind, source=source, filename=filename, created_by=created_by)
        return importer(campaign, data=data, source=source, filename=filename, created_by=created_by, progress=progress, run=run, **options)
    path = Path(path)
    if run is None:
        run = campaign_import_run_create(
            campaign=campaign, kind=kind, source=source, filename=filename or path.name, created_by=created_by,
            file_path=str(path.resolve()), expected_lines=import_lines_count(kind=kind, path=path),
        )  # fmt: skip
    with path.open("rb") as stream:
        return importer(campaign, data=stream, source=source, filename=run.filename, created_by=created_by, progress=progress, run=run, **options)


def campaign_import_queue(*, campaign: Campaign, kind: str, upload, created_by: str = "") -> ImportRun:
    """Store an uploaded file under MEDIA_ROOT/imports/ (a name of its own), create its import run
    (queued, with the file's line count as the total to reach) and enqueue the task that imports
    it once this transaction commits. The admin's "Import a file"; returns the run."""
    if kind not in ImportRun.Kind.values:
        raise ValueError(f"unknown import kind {kind!r}")
    suffix = "".join(ch for ch in Path(upload.name or "").suffix[:10] if ch.isalnum() or ch == ".")
    name = default_storage.save(f"{UPLOAD_DIR}/{kind}-{uuid.uuid4().hex}{suffix}", upload)
    path = Path(default_storage.path(name))
    run = campaign_import_run_create(
        campaign=campaign, kind=kind, source=ImportRun.Source.ADMIN, filename=upload.name or path.name, created_by=created_by,
        status=ImportRun.Status.QUEUED, file_path=str(path), expected_lines=import_lines_count(kind=kind, path=path),
    )  # fmt: skip
    _import_enqueue(run.pk)
    return run


def campaign_import_restart(*, run: ImportRun) -> bool:
    """Start an unfinished run again (interrupted, failed, or queued and lost): it continues from
    its last committed line. False when it cannot be: finished, without a stored file, or
    being worked on. Safe to press twice: the task claims the run, so one worker runs it."""
    if not run.restartable:
        return False
    ImportRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(status=ImportRun.Status.QUEUED, error="")
    _import_enqueue(run.pk)
    return True


def _import_enqueue(run_id: int) -> None:
    from campaign.tasks import campaign_import_file as campaign_import_file_task

    transaction.on_commit(lambda: campaign_import_file_task.delay(run_id))


def campaign_import_run(*, run_id: int) -> ImportReport | str:
    """Import (or continue) the stored file of an import run: what the task does. Returns the
    report, or why nothing was done.

    Idempotent and safe to run twice or at once: the run is claimed first (`import_run_claim`),
    so a second delivery finds it held or finished and does nothing; the records up to its last
    committed line are skipped, and every writer upserts on a natural key. A run whose campaign
    or file is gone fails with that reason. Any other error leaves the run failed with the error
    (ops may start it again); a lost database leaves it interrupted for the task's retry.
    """
    run = import_run_claim(run_id=run_id)
    if run is None:
        held = ImportRun.objects.filter(pk=run_id).first()
        return "the run is gone" if held is None else "the run is finished" if held.finished_at else "another worker is importing the run"
    campaign = Campaign.objects.filter(imports__run=run).first()
    problem = "the campaign is gone" if campaign is None else None
    if problem is None and not Path(run.file_path).is_file():
        problem = f"the stored file is gone ({run.file_path})"
    if problem is not None:
        import_run_release(run=run, error=problem)
        return problem
    try:
        return campaign_import_file(campaign=campaign, kind=run.kind, path=run.file_path, source=run.source, created_by=run.created_by, run=run)
    except (OperationalError, InterfaceError):
        import_run_release(run=run)
        raise
    except Exception as exc:  # a time limit, a bug: shown on the run's page, which can start it again
        import_run_release(run=run, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        raise
