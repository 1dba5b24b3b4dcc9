"""Reads for the campaign app."""

from collections import defaultdict

from django.shortcuts import get_object_or_404

from campaign.enrolment import Enrolment, enrolment_evaluate
from campaign.models import Campaign, Signup
from traders.models import LeadTraderRegistration


def campaign_get(*, slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


def enrolment_map(*, campaign: Campaign, uids=None) -> dict[int, Enrolment]:
    """Enrolment of every trader the campaign knows (a sign-up or a registration), by UID.

    Evaluated from the data as it is now, so the order files arrived in never matters. With `uids`,
    only those traders (each present in the result, `no_registration` when unknown).
    """
    registrations = LeadTraderRegistration.objects.values_list("trader__uid", "status", "market")
    signups = Signup.objects.filter(campaign=campaign).values_list("trader__uid", "submitted_at")
    if uids is not None:
        uids = set(uids)
        registrations = registrations.filter(trader__uid__in=uids)
        signups = signups.filter(trader__uid__in=uids)
    reg_by_uid = {uid: (status, market) for uid, status, market in registrations}
    signups_by_uid = defaultdict(list)
    for uid, submitted_at in signups:
        signups_by_uid[uid].append(submitted_at)
    everyone = set(signups_by_uid) | set(reg_by_uid) if uids is None else uids
    return {
        uid: enrolment_evaluate(
            uid=uid,
            registration=reg_by_uid.get(uid),
            signups=signups_by_uid.get(uid, []),
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
        )
        for uid in everyone
    }


def campaigns_collecting(*, at=None):
    """Campaigns whose posts still change: window open, or closed for less than the grace time."""
    from django.utils import timezone

    at = at or timezone.now()
    return [c for c in Campaign.objects.filter(starts_at__lte=at) if at < c.ends_at + c.grace]
