"""Sign-up imports, and the one entry point the admin uses to import any kind of file."""

from dataclasses import dataclass
from datetime import datetime

from campaign.models import Campaign, Signup
from campaign.page_cache import campaign_pages_changed
from traders.imports import ImportReport, csv_records, run_import
from traders.models import ImportRun
from traders.parsing import parse_instant, parse_text, parse_uid
from traders.services import traders_ensure

SIGNUP_HEADER = ("uid", "submitted_at", "square_handle", "contact")


@dataclass(frozen=True)
class SignupRow:
    uid: int
    submitted_at: datetime
    square_handle: str
    contact: str


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
    *, campaign: Campaign, data=None, records=None, source=ImportRun.Source.COMMAND, filename="", created_by="", progress=None
) -> ImportReport:
    """Import questionnaire sign-ups for `campaign` (RULES.md sections 2 and 9).

    Every sign-up is kept, inside the window or not, registered or not: enrolment is decided at
    settlement time from all of them. (campaign, UID, submitted_at instant) is the natural key, so
    re-importing a file changes nothing and a corrected handle or contact replaces the old one.
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
        campaign_slug=campaign.slug,
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
    )
    campaign_pages_changed(campaign_id=campaign.pk)  # step 2 of the status pages
    return report


def _importers():
    from traders.services import registrations_import, trader_stats_import

    def registrations(campaign, **kwargs):
        return registrations_import(campaign_slug=campaign.slug, **kwargs)

    def trader_stats(campaign, **kwargs):
        return trader_stats_import(campaign_slug=campaign.slug, **kwargs)

    from campaign.services.posts import posts_import_file, reference_texts_import

    importers = {
        ImportRun.Kind.REGISTRATIONS: registrations,
        ImportRun.Kind.SIGNUPS: lambda campaign, **kwargs: signups_import(campaign=campaign, **kwargs),
        ImportRun.Kind.TRADER_STATS: trader_stats,
        ImportRun.Kind.POSTS: lambda campaign, **kwargs: posts_import_file(campaign=campaign, **kwargs),
        ImportRun.Kind.REFERENCE_TEXTS: lambda campaign, **kwargs: reference_texts_import(campaign=campaign, **kwargs),
    }
    return importers


def campaign_import_file(*, campaign: Campaign, kind: str, data: bytes, filename: str, source: str, created_by: str = "") -> ImportReport:
    """Import one file of `kind` into `campaign` through that kind's service (the admin's door)."""
    importer = _importers().get(kind)
    if importer is None:
        raise ValueError(f"unknown import kind {kind!r}")
    return importer(campaign, data=data, source=source, filename=filename, created_by=created_by)
