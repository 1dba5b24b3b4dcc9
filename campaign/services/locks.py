"""The campaign row lock: the one lock every write that must see a campaign whole serialises on.

Judging (the near-duplicate index and the verdicts), moderation, settlement, approvals and the
other ledger actions, the featured-post and weekly-star refreshes and applying a what-if
configuration each take it first, so two of them on one campaign (two workers, beat and a
click) run one after the other and the second sees what the first committed.

It is SELECT ... FOR NO KEY UPDATE on the campaign row: it excludes the other holders of this
lock, but not the key-share lock that inserting a post (its foreign key to the campaign) takes,
so deliveries that only write posts never wait for a judging run or a settlement. On SQLite,
which has no row locks, the transaction's write lock serialises the writers instead.
"""

from collections.abc import Iterable

from django.db import transaction

from campaign.models import Campaign
from core.database import row_lock_shared


def _check_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("campaign_lock must be called inside a transaction (transaction.atomic)")


def campaign_lock(campaign: Campaign | int) -> Campaign:
    """Lock one campaign's row until the surrounding transaction ends and return it freshly read.

    Takes a campaign or its primary key; call inside `transaction.atomic()` (raises
    TransactionManagementError otherwise). Waits while another transaction holds the lock.
    Raises Campaign.DoesNotExist when the campaign is gone.
    """
    _check_atomic()
    pk = campaign.pk if isinstance(campaign, Campaign) else campaign
    return Campaign.objects.select_for_update(no_key=True).get(pk=pk)


def campaigns_lock(campaign_ids: Iterable[int]) -> dict[int, Campaign]:
    """Lock several campaigns' rows (`campaign_lock` on each) and return them by primary key.

    The rows are locked in primary-key order, so two callers that lock overlapping sets never
    deadlock. Ids of campaigns that are gone are left out. Call inside `transaction.atomic()`.
    """
    _check_atomic()
    rows = Campaign.objects.select_for_update(no_key=True).filter(pk__in=set(campaign_ids)).order_by("pk")
    return {c.pk: c for c in rows}


def campaign_lock_shared(campaign: Campaign | int) -> None:
    """Hold the campaign row in share mode until the surrounding transaction ends: several holders
    at once (the chunks of a queued judging, on several workers), none beside `campaign_lock`'s
    holders (settlement, moderation, the near-duplicate index), whose lock it waits for and
    excludes. Inserting a post does not wait for it either. On SQLite the transaction's write
    lock serialises instead, as for `campaign_lock`."""
    _check_atomic()
    row_lock_shared(model=Campaign, pk=campaign.pk if isinstance(campaign, Campaign) else campaign)
