from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from rewards.invariants import ledger_violations


class Command(BaseCommand):
    help = "Check the money invariants of a campaign's ledger (every campaign without --campaign); exit 1 on any violation."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", help="campaign slug (default: every campaign)")

    def handle(self, *args, campaign=None, **options):
        campaigns = Campaign.objects.order_by("slug")
        if campaign:
            campaigns = campaigns.filter(slug=campaign)
            if not campaigns.exists():
                raise CommandError(f"no campaign with slug {campaign!r}")
        found = 0
        for item in campaigns:
            problems = ledger_violations(campaign=item)
            found += len(problems)
            for problem in problems:
                self.stdout.write(f"{item.slug}: {problem}")
            if not problems:
                self.stdout.write(f"{item.slug}: ok")
        if found:
            raise CommandError(f"{found} ledger violation(s)", returncode=1)
