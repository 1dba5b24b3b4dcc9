from campaign.management.import_command import ImportCommand
from campaign.services import signups_import


class Command(ImportCommand):
    help = "Import questionnaire sign-ups (CSV: uid,submitted_at,square_handle,contact)."
    label = "sign-ups"

    def run(self, campaign, data, filename, progress):
        return signups_import(campaign=campaign, data=data, filename=filename, progress=progress)
