from campaign.management.import_command import ImportCommand
from core.models import ImportRun


class Command(ImportCommand):
    help = "Import lead-trader registrations (CSV: uid,nickname,market,status,applied_at,approved_at)."
    kind = ImportRun.Kind.REGISTRATIONS
    label = "registrations"
