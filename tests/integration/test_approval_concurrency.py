"""Two approvals at once on PostgreSQL never take a pool's approved plus paid rewards over the pool
(RULES.md section 8): each approval reads what is committed under the campaign lock."""

import json
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection

from campaign.models import Campaign
from campaign.services import posts_import_file
from rewards.invariants import ledger_violations
from rewards.models import Reward
from rewards.services import rewards_approve, settle_campaign
from rewards.services.ledger import REFUSED_BUDGET
from tests.integration.test_settlement_concurrency import load
from tests.rewards.scenario import BODY

DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


@pytest.mark.postgres
def test_two_approvals_at_once_cannot_together_exceed_a_pool(transactional_db, campaign):
    campaign = load(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(pool_amount=Decimal("200.00"))
    user = User.objects.create_user("fin", password="pw-fin-123456")
    user.user_permissions.add(Permission.objects.get(codename="approve_reward"))
    user = User.objects.get(pk=user.pk)
    settle_campaign(campaign=campaign, at=DUE)
    rewards_approve(reward_ids=[Reward.objects.get(trader__uid=1001, kind="content_pool").pk], user=user)
    # 1003 joins the pool: the rules now give 1002 72.00 and 1003 62.00 while 1001 keeps its
    # approved 100.00, so 100.00 is left: either fits alone, both together do not.
    item = {"post_id": "c1", "author_uid": 1003, "created_at": "2026-02-20T09:00:00+08:00", "text": BODY[3][::-1] + " 止损",
            "likes": 30, "comments": 0, "shares": 0, "views": 0, "deleted": False}  # fmt: skip
    posts_import_file(campaign=campaign, data=(json.dumps(item, ensure_ascii=False) + "\n").encode())
    settle_campaign(campaign=campaign, at=DUE)
    contenders = [Reward.objects.get(trader__uid=uid, kind="content_pool").pk for uid in (1002, 1003)]
    barrier, errors, outcomes = threading.Barrier(2), [], {}

    def approve(pk):
        try:
            barrier.wait()
            outcomes[pk] = rewards_approve(reward_ids=[pk], user=user)
        except Exception as exc:  # noqa: BLE001 - the assertion below reports whatever went wrong
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(pk,)) for pk in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    approved = [pk for pk, (done, _) in outcomes.items() if done]
    refused = [reason for _done, refusals in outcomes.values() for _, reason in refusals]
    assert len(approved) == 1 and len(refused) == 1 and refused[0].code == REFUSED_BUDGET
    committed = sum(Reward.objects.filter(kind="content_pool", state="approved").values_list("amount", flat=True))
    assert committed <= Decimal("200.00")
    assert ledger_violations(campaign=campaign) == []
