"""The demo of the preloaded campaign: imports, a feed pull, a settlement and a payout report.

Used by `python3 dev.py run`. Everything goes through the real services (the feed is a real
local HTTP server serving fixture posts). Safe to run again: imports upsert on natural keys and
the settlement only replaces calculated rows.
"""

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from campaign.fake_feed import FakeFeedServer, load_posts
from campaign.feed_client import FeedClient
from campaign.models import Campaign
from campaign.services import campaign_import_file, feed_pull, reference_texts_import
from core.models import ImportRun
from rewards.models import StatusLink
from rewards.selectors.links import status_link_url
from rewards.services import payout_report_store, settle_campaign
from rewards.services.schedule import settlement_schedule_sync
from rewards.services.status_links import status_links_ensure
from rewards.services.traffic import traffic_refresh

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
            report = campaign_import_file(campaign=campaign, kind=kind, path=path, filename=name, source=ImportRun.Source.COMMAND, created_by="demo")
            self.stdout.write(f"{name}: {report.summary()}")
            for line, reason in report.errors:
                self.stdout.write(self.style.WARNING(f"  {name}: line {line}: {reason} (kept for ops to see)"))
        self._posts(campaign)
        run = settle_campaign(campaign=campaign, at=campaign.ends_at + campaign.grace, triggered_by="demo")
        ledger = run.summary["ledger"]
        self.stdout.write(
            f"settled as of {run.at.isoformat()}: {run.summary['qualified_posts']} qualifying posts; "
            f"ledger {ledger['created']} created, {ledger['updated']} updated"
        )
        report = payout_report_store(campaign=campaign, created_by="demo")
        traffic_refresh(campaign=campaign, at=run.at)
        status_links_ensure(campaign=campaign)
        settlement_schedule_sync(campaign=campaign)
        self._admin_user()
        self.stdout.write(f"Public campaign page: {settings.SITE_URL}/c/{campaign.slug}/")
        top = StatusLink.objects.filter(campaign=campaign, trader__uid=10000001).first()
        if top is not None:
            self.stdout.write(f"A trader's status page (uid {top.trader.uid}): {status_link_url(top)}")
        self.stdout.write(f"Ops dashboard: {settings.SITE_URL}/admin/campaign/campaign/{campaign.pk}/dashboard/")
        self.stdout.write(f"Payout report ({report.rows} rows): {report.csv_file.path}")
        self.stdout.write(f"                       and XLSX: {report.xlsx_file.path}")
        self.stdout.write(f"Stored reports in the admin: {settings.SITE_URL}/admin/rewards/payoutreport/")

    def _posts(self, campaign):
        """Pull the fixture posts from a real local feed server, as production pulls Gate's feed."""
        with FakeFeedServer(load_posts(), page_size=10) as server:
            url = server.url
            result = feed_pull(campaign=campaign, client=FeedClient(url, server.token))
        self.stdout.write(f"feed {url}: {result.pages} page(s), {result.items} post(s), {result.rejected} rejected")
        path = DEMO_DIR / "reference_texts.txt"
        report = reference_texts_import(campaign=campaign, data=path.read_bytes(), filename=path.name, created_by="demo")
        self.stdout.write(f"{path.name}: {report.summary()}")

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
