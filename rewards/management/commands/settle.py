from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from rewards.models import Reward
from rewards.services import settle_campaign


class Command(BaseCommand):
    help = "Settle everything due at an instant (default: now); periods not yet due are previews."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--at", help="ISO 8601 instant with an offset, e.g. 2026-02-26T00:00:00+08:00")
        parser.add_argument(
            "--full-judge",
            action="store_true",
            help="judge every post again, not only those changed since the last whole judging (e.g. after editing post rows by hand)",
        )

    def handle(self, *args, campaign, at, full_judge=False, **options):
        campaign_obj = Campaign.objects.filter(slug=campaign).first()
        if campaign_obj is None:
            raise CommandError(f"no campaign with slug {campaign!r}")
        instant = None
        if at:
            try:
                instant = datetime.fromisoformat(at)
            except ValueError:
                raise CommandError(f"--at is not an ISO 8601 instant: {at!r}") from None
            if instant.utcoffset() is None:
                raise CommandError(f"--at needs an offset (Z or +HH:MM): {at!r}")
        run = settle_campaign(campaign=campaign_obj, at=instant, triggered_by="command", full_judge=full_judge)
        s = run.summary
        self.stdout.write(f"settlement run #{run.pk} as of {run.at.isoformat()}")
        self.stdout.write(f"  qualified posts: {s['qualified_posts']}")
        fp = s["first_post"]
        self.stdout.write(f"  first-post bonus: {fp['traders']} trader(s), {fp['total']}{'' if fp['due'] else ' (preview)'}")
        for code, pool in s["content_pool"].items():
            self.stdout.write(f"  content pool {code}: allocated {pool['allocated']}, unallocated {pool['unallocated']}, {pool['eligible']} eligible{'' if pool['due'] else ' (preview)'}")
        lb = s["leaderboard"]
        self.stdout.write(f"  leaderboard ({lb['strategy']}): {lb['ranked']} ranked, allocated {lb['allocated']}, unallocated {lb['unallocated']}{'' if lb['due'] else ' (preview)'}")
        ledger = s["ledger"]
        self.stdout.write(
            f"  ledger: {ledger['created']} created, {ledger['updated']} updated, {ledger['deleted']} removed; review items: "
            f"{ledger['review_items']} opened, {ledger['review_items_updated']} updated, {ledger['review_items_withdrawn']} withdrawn"
        )
        for b in s["budgets"]:
            name = "first-post bonuses" if b["kind"] == Reward.Kind.FIRST_POST else f"content pool {b['period']}" if b["kind"] == Reward.Kind.CONTENT_POOL else "leaderboard"
            if b["pool"] is None:
                self.stdout.write(f"  budget {name}: no limit; approved + paid {b['approved_and_paid']}, calculated {b['calculated']} {b['asset']}")
                continue
            excess = f", EXCEEDS what can be approved by {b['excess']}" if b["excess"] != "0.00" else ""
            self.stdout.write(
                f"  budget {name}: pool {b['pool']}, approved + paid {b['approved_and_paid']}, calculated {b['calculated']}, "
                f"still approvable {b['approvable']} {b['asset']}{excess}"
            )
