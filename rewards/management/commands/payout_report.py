from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from rewards.services import payout_rows, render_csv, render_xlsx


class Command(BaseCommand):
    help = "Write the payout report (RULES.md section 9) as CSV (default: standard output) or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", help="file to write (required for xlsx)")

    def handle(self, *args, campaign, format, output, **options):
        campaign_obj = Campaign.objects.filter(slug=campaign).first()
        if campaign_obj is None:
            raise CommandError(f"no campaign with slug {campaign!r}")
        rows = payout_rows(campaign=campaign_obj)
        if format == "xlsx":
            if not output:
                raise CommandError("--output FILE is required for --format xlsx")
            Path(output).write_bytes(render_xlsx(rows))
        elif output:
            Path(output).write_text(render_csv(rows), encoding="utf-8", newline="")
        else:
            self.stdout.write(render_csv(rows), ending="")
            return
        self.stderr.write(f"{len(rows)} row(s) written to {output}")
