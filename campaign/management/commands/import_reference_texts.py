from campaign.management.import_command import ImportCommand
from campaign.services import reference_texts_import


class Command(ImportCommand):
    help = "Load reference texts for the duplicate check (UTF-8 text, texts separated by a line ---)."
    label = "reference texts"

    def run(self, campaign, data, filename, progress):
        return reference_texts_import(campaign=campaign, data=data, filename=filename, progress=progress)
