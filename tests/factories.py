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
