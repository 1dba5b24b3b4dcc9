from campaign.management.import_command import ImportCommand
from core.models import ImportRun


class Command(ImportCommand):
    help = "Load reference texts for the duplicate check (UTF-8 text, texts separated by a line ---)."
    kind = ImportRun.Kind.REFERENCE_TEXTS
    label = "reference texts"
