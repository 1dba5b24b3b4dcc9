import sys

from django.core.management.base import BaseCommand, CommandError

from campaign.feed_client import FeedClient, FeedError
from campaign.models import Campaign
from campaign.services import feed_pull
from core.imports import make_progress


class Command(BaseCommand):
    help = "Pull new and updated posts from the Gate Square feed, resuming at the saved cursor."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--base-url", help="feed base URL (default: GATE_FEED_BASE_URL)")
        parser.add_argument("--token", help="feed token (default: GATE_FEED_TOKEN)")
        parser.add_argument("--max-pages", type=int)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, campaign, base_url, token, max_pages, no_progress, **options):
        from django.conf import settings

        campaign_obj = Campaign.objects.filter(slug=campaign).first()
        if campaign_obj is None:
            raise CommandError(f"no campaign with slug {campaign!r}")
        client = None
        if base_url:
            client = FeedClient(base_url, token if token is not None else settings.GATE_FEED_TOKEN)
        bar = make_progress(None, enabled=not no_progress and sys.stderr.isatty(), desc="pull posts")
        try:
            result = feed_pull(campaign=campaign_obj, client=client, progress=bar, max_pages=max_pages)
        except FeedError as exc:
            raise CommandError(f"feed pull stopped: {exc} (the cursor is saved; run again to resume)") from exc
        finally:
            if bar is not None:
                bar.close()
        if result.skipped:
            self.stdout.write(f"skipped: {result.skipped}")
            return
        self.stdout.write(f"{result.pages} page(s), {result.items} post(s) ingested, {result.rejected} rejected")
        if result.rejected:
            raise CommandError(f"{result.rejected} post(s) rejected; see the import runs in the admin", returncode=1)
