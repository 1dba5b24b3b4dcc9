from datetime import datetime, timedelta, timezone

import factory

from campaign.models import Campaign, Signup
from traders.models import LeadTraderRegistration, Trader

UTC8 = timezone(timedelta(hours=8))
WINDOW_START = datetime(2026, 2, 12, 18, 0, tzinfo=UTC8)
WINDOW_END = datetime(2026, 2, 25, 0, 0, tzinfo=UTC8)


class TraderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trader
        django_get_or_create = ["uid"]

    uid = factory.Sequence(lambda n: 20000000 + n)
    nickname = factory.Faker("user_name")


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadTraderRegistration

    trader = factory.SubFactory(TraderFactory)
    market = LeadTraderRegistration.Market.FUTURES
    status = LeadTraderRegistration.Status.APPROVED
    applied_at = factory.LazyFunction(lambda: WINDOW_START - timedelta(days=3))
    approved_at = None


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    slug = factory.Sequence(lambda n: f"campaign-{n}")
    name = factory.Sequence(lambda n: f"Campaign {n}")
    starts_at = WINDOW_START
    ends_at = WINDOW_END


class SignupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signup

    campaign = factory.LazyFunction(lambda: Campaign.objects.get(slug="star-lead-traders-2"))
    trader = factory.SubFactory(TraderFactory)
    submitted_at = factory.LazyFunction(lambda: WINDOW_START + timedelta(hours=1))
    square_handle = factory.Faker("user_name")


def enrolled_trader(campaign=None, **trader_kwargs):
    """A trader with an approved futures registration and a sign-up inside the window."""
    trader = TraderFactory(**trader_kwargs)
    RegistrationFactory(trader=trader)
    SignupFactory(trader=trader, **({"campaign": campaign} if campaign else {}))
    return trader


TRADING_TEXT = (
    "BTC futures: going long above 64k support with a stop loss at 62.5k. Funding rate is flat and "
    "open interest keeps climbing, so a breakout toward the 68k resistance looks likely this week."
)


OTHER_TEXTS = [
    "ETH perpetual swap: shorting the retest of 3,400 resistance, invalidation above 3,520. Liquidation "
    "clusters sit just overhead, so expect a squeeze before any real move down. 止损 3,520, 止盈 3,150.",
    "SOL derivatives desk notes: leverage is rising into the weekend and the funding rate turned negative "
    "on two venues; I am flat until price reclaims the weekly breakout level near 180 dollars.",
    "合约复盘:本周 BTC 在 6.2 万附近有强支撑,多单在突破 6.5 万阻力后加仓,严格止损 6.1 万。爆仓数据显示空单集中在"
    "6.6 万上方,若放量突破可能触发轧空行情。带单思路:轻仓做多,分批止盈,控制杠杆在 5 倍以内。",
]


def post_item(post_id, uid, created_at="2026-02-14T12:00:00+08:00", text=TRADING_TEXT, **overrides):
    """A post record as RULES.md section 9 spells it (what a file, the feed or a webhook carries)."""
    item = {
        "post_id": str(post_id),
        "author_uid": uid,
        "created_at": created_at,
        "text": text,
        "likes": 0,
        "comments": 0,
        "shares": 0,
        "views": 0,
        "deleted": False,
    }
    item.update(overrides)
    return item


def band_rows(*extra: str, **filters) -> list[tuple]:
    """The rows of both band tables (near_duplicates/db.py, "Two band tables") that match
    `filters`, each (key, owner) once as a lookup sees it: (key, owner, *extra fields), sorted."""
    from campaign.near_duplicates.db import BAND_TABLES

    rows = {}
    for model in BAND_TABLES:
        for row in model.objects.filter(**filters).values_list("key", "owner", *extra):
            rows[row[:2]] = row
    return sorted(rows.values())
