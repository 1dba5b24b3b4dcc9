from campaign.management.import_command import ImportCommand
from traders.services import trader_stats_import


class Command(ImportCommand):
    help = "Import copy-trading stats snapshots (CSV: uid,as_of,new_copiers,copier_pnl_usdt)."
    label = "trading stats"

    def run(self, campaign, data, filename, progress):
        return trader_stats_import(data=data, campaign_slug=campaign.slug, filename=filename, progress=progress)
