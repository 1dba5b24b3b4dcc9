from campaign.management.import_command import ImportCommand
from core.models import ImportRun


class Command(ImportCommand):
    help = "Import copy-trading stats snapshots (CSV: uid,as_of,new_copiers,copier_pnl_usdt)."
    kind = ImportRun.Kind.TRADER_STATS
    label = "trading stats"
