from campaign.management.import_command import ImportCommand
from core.models import ImportRun


class Command(ImportCommand):
    help = "Import questionnaire sign-ups (CSV: uid,submitted_at,square_handle,contact)."
    kind = ImportRun.Kind.SIGNUPS
    label = "sign-ups"
