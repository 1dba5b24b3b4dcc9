"""Load the demo data of the preloaded campaign through the real import services.

Used by `python3 dev.py run`. Safe to run again: every import upserts on natural keys.
"""

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from campaign.services import campaign_import_file
from traders.models import ImportRun

DEMO_DIR = Path(settings.BASE_DIR) / "demo"
SLUG = "star-lead-traders-2"
FILES = [
    (ImportRun.Kind.REGISTRATIONS, "registrations.csv"),
    (ImportRun.Kind.SIGNUPS, "signups.csv"),
    (ImportRun.Kind.TRADER_STATS, "trader_stats.csv"),
]


class Command(BaseCommand):
    help = "Load the demo campaign data, and create the demo admin user when DEBUG is on."

    def handle(self, *args, **options):
        try:
            campaign = Campaign.objects.get(slug=SLUG)
        except Campaign.DoesNotExist:
            raise CommandError(f"campaign {SLUG} is missing: run `manage.py migrate` first") from None
        for kind, name in FILES:
            path = DEMO_DIR / name
            report = campaign_import_file(campaign=campaign, kind=kind, data=path.read_bytes(), filename=name, source=ImportRun.Source.COMMAND, created_by="demo")
            self.stdout.write(f"{name}: {report.summary()}")
            for line, reason in report.errors:
                self.stdout.write(self.style.WARNING(f"  {name}: line {line}: {reason} (kept for ops to see)"))
        self._admin_user()

    def _admin_user(self):
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: no demo admin user created (use `manage.py createsuperuser`).")
            return
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "admin")
        User = get_user_model()
        user, created = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
        if created:
            user.set_password(password)
            user.save()
        self.stdout.write(f"Admin: {settings.SITE_URL}/admin/  user 'admin', password '{password}' (demo only)")
