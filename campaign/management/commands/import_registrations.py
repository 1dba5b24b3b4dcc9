from campaign.management.import_command import ImportCommand
from traders.services import registrations_import


class Command(ImportCommand):
    help = "Import lead-trader registrations (CSV: uid,nickname,market,status,applied_at,approved_at)."
    label = "registrations"

    def run(self, campaign, data, filename, progress):
        return registrations_import(data=data, campaign_slug=campaign.slug, filename=filename, progress=progress)
