"""Incremental judging can never go stale (issue 14): a stateful property test.

A hypothesis state machine drives a small campaign through the real services only: current and
older registrations exports, sign-ups in and out of the window, trading stats, new posts and
re-deliveries by a file, a small batch (feed pages, the API) and the webhook (whose judging task
is lost, or runs later), reference texts, moderation, configuration edits (the what-if apply),
settlements at any instant (a preview, due, later, earlier than a previous one), and ops
approving, paying, voiding, accepting and keeping review items. After every settlement, which
judges incrementally (`full_judge=False`), the same settlement is redone from scratch in a
savepoint that is rolled back: the duplicate links rebuilt, every post judged, every reward
computed at the same instant with the pools the settlement saw as due. The verdicts, the
settlement's summary and the ledger must be what that gives. After every step that writes the
ledger, its invariants hold.

Each example runs in a savepoint of the test's transaction, rolled back in `teardown`, so the
examples start from the same campaign on SQLite and on PostgreSQL alike (the test is not
transactional: a flush per example would cost seconds).
"""

import json
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db import DatabaseError, transaction
from hypothesis import HealthCheck, settings, target
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from campaign.models import Campaign, Post, WebhookDelivery
from campaign.services import posts_import_file, posts_ingest, posts_judge_pending, posts_moderate, posts_qualify, reference_texts_import, signups_import
from campaign.services.duplicates import duplicates_rebuild
from campaign.services.webhook import webhook_deliveries_process, webhook_delivery_receive
from core.reading import jsonl_records
from rewards.budgets import pool_budgets_get
from rewards.invariants import ledger_violations
from rewards.models import Adjustment, ReviewComputation, ReviewItem, Reward
from rewards.services import review_items_close, rewards_approve, rewards_compute, rewards_mark_paid, rewards_void, settle_campaign
from rewards.services.computation import settled_due
from rewards.services.whatif.apply import whatif_apply
from rewards.services.whatif.changes import config_fingerprint
from tests.conftest import CAMPAIGN_SLUG
from tests.factories import OTHER_TEXTS, TRADING_TEXT
from tests.rewards.scenario import BODY
from traders.services import registrations_import, trader_stats_import

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
# Eight traders: with six or more eligible creators the content pool's shares fall under the
# cap and move with every score (with five or fewer, each gets the whole cap).
UIDS = (7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008)
ENROLLED = UIDS[:6]
# The right export: 7007 trades spot and 7008 is not in it (its registration, if an older file
# brought one, stays: the newest import per UID wins, and no file is newer for it).
CURRENT = {**{uid: ("futures", "approved") for uid in ENROLLED}, 7007: ("spot", "approved")}
OLDER = [("futures", "revoked"), ("futures", "pending"), ("spot", "approved"), ("futures", "approved"), ("futures", "rejected")]

IN_WINDOW = ["2026-02-12T18:00:00+08:00", "2026-02-13T10:00:00+08:00", "2026-02-15T10:00:00+08:00", "2026-02-15T02:00:00Z",
             "2026-02-18T09:00:00Z", "2026-02-22T10:00:00+08:00", "2026-02-24T23:59:59+08:00"]  # fmt: skip
OUT_OF_WINDOW = ["2026-02-12T17:59:59+08:00", "2026-02-25T00:00:00+08:00"]
SIGNED_UP_IN = ["2026-02-12T18:00:00+08:00", "2026-02-20T10:00:00Z"]
SIGNED_UP_OUT = ["2026-02-11T10:00:00+08:00", "2026-02-25T00:00:00+08:00"]
STATS_AS_OF = ["2026-02-24T23:00:00+08:00", "2026-02-25T00:00:00+08:00", "2026-02-25T00:00:01+08:00"]
# A look in the window, after its end but within the grace (still a preview), due, and later.
SETTLE_AT = [
    datetime.fromisoformat(t) for t in ("2026-02-20T12:00:00+08:00", "2026-02-25T12:00:00+08:00", "2026-02-26T00:00:00+08:00", "2026-03-05T00:00:00+08:00")
]
DUE = SETTLE_AT[2]

QUALIFYING = [*BODY, TRADING_TEXT, *OTHER_TEXTS]
TEXTS = [
    *QUALIFYING,
    BODY[0] + " Watching closely.",  # a near-duplicate of BODY[0]
    TRADING_TEXT.replace("this week", "this month"),  # a near-duplicate of TRADING_TEXT
    "BTC long above support, stop loss below 62k.",  # too short
    "A review of noodle shops in Shanghai, with prices and opening hours for each of them, and a kimchi note. " * 2,  # not trading
]
REFERENCES = [BODY[2] + " (republished)", OTHER_TEXTS[1], "An unrelated reference text about the weather in Hangzhou, long enough to be kept."]

engagement = st.fixed_dictionaries(
    {"likes": st.integers(0, 40), "comments": st.integers(0, 5), "shares": st.integers(0, 3), "views": st.sampled_from([0, 99, 100, 450])}
)
first_post = st.tuples(st.sampled_from(ENROLLED), st.sampled_from(IN_WINDOW), st.integers(0, len(QUALIFYING) - 1), engagement)
new_post = st.tuples(st.sampled_from(UIDS), st.sampled_from(IN_WINDOW + IN_WINDOW + OUT_OF_WINDOW), st.integers(0, len(TEXTS) - 1), engagement)
PATHS = ["file", "batch", "webhook"]
REDELIVERY = ["unchanged", "engagement", "deleted", "restored", "edited", "moved"]
picks = st.lists(st.integers(0, 40), min_size=1, max_size=4)
REVIEW = st.sampled_from([None, "keep", "accept"])  # what ops do with the items a settlement leaves open
# Configuration edits that judge differently or split differently, never below committed money.
WHATIF_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "min_length": st.sampled_from([80, 100, 120]),
        "score_cap": st.sampled_from([20, 500]),
        "duplicate_threshold": st.sampled_from([Decimal("0.800"), Decimal("0.900")]),
        "pool_min_score": st.sampled_from([5, 10]),
        "leaderboard_min_posts": st.sampled_from([2, 3]),
        "pool_amount": st.just(Decimal("800.00")),  # raised once, never lowered again
    },
)


def _jsonl(items) -> bytes:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()


def _csv(header: str, rows) -> bytes:
    return (header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)).encode()


def _picked(rows: list, indices: list[int]) -> list:
    return sorted({rows[i % len(rows)] for i in indices}) if rows else []


def _posts_judged(campaign) -> dict:
    rows = Post.objects.filter(campaign=campaign).values_list("post_id", "verdict", "score", "duplicate_of__post_id", "duplicate_of_reference__content_hash")
    return {post_id: rest for post_id, *rest in rows}


def _json(value):
    return json.loads(json.dumps(value))


def _diff(left: dict, right: dict) -> dict:
    return {key: (left.get(key), right.get(key)) for key in sorted(left.keys() | right.keys(), key=str) if left.get(key) != right.get(key)}


def ledger_against_computation(campaign, computed, open_before: set[int]) -> list[str]:
    """How the ledger differs from what a settlement writing `computed` must leave.

    Calculated rows are the computation (amount, asset, due or preview, explanation). An approved,
    paid or void reward keeps its amount; it has an open review item exactly when the computation
    differs from what the trader holds (the amount plus the adjustments of a paid reward; a void
    reward computed at 0.00 owes nothing), unless it had no open item and ops last kept that very
    amount; the item carries the computation. An approved reward computed at its own amount, with
    no item open, shows the computation's explanation (explanations follow the money).
    """
    wanted = {(c.kind, c.period, c.uid): c for c in computed}
    rewards = {(r.kind, r.period, r.trader.uid): r for r in Reward.objects.filter(campaign=campaign).select_related("trader")}
    items = {i.reward_id: i for i in ReviewItem.objects.filter(reward__campaign=campaign, status=ReviewItem.Status.OPEN)}
    adjusted: dict[int, Decimal] = {}
    for reward_id, amount in Adjustment.objects.filter(campaign=campaign).values_list("reward_id", "amount"):
        adjusted[reward_id] = adjusted.get(reward_id, ZERO) + amount
    last_kept: dict[int, Decimal] = {}
    kept = ReviewItem.objects.filter(reward__campaign=campaign, resolution=ReviewItem.Resolution.KEEP).order_by("reward_id", "-resolved_at", "-id")
    for reward_id, amount in kept.values_list("reward_id", "computed_amount"):
        last_kept.setdefault(reward_id, amount)
    problems = []
    for key in sorted(wanted.keys() | rewards.keys(), key=str):
        c, reward = wanted.get(key), rewards.get(key)
        if reward is None:
            problems.append(f"{key}: the full judging gives {c.amount} {c.asset}, the ledger has no reward")
            continue
        item = items.get(reward.pk)
        if reward.state == Reward.State.CALCULATED:
            if c is None:
                problems.append(f"{key}: the ledger holds a calculated {reward.amount}, the full judging gives nothing")
            elif (reward.asset, reward.amount, reward.preview) != (c.asset, c.amount, c.preview):
                problems.append(
                    f"{key}: the ledger holds {reward.amount} {reward.asset} preview={reward.preview}, the full judging gives {c.amount} {c.asset} preview={c.preview}"
                )
            elif reward.detail != _json(c.detail):
                problems.append(f"{key}: explanation {reward.detail} != the full judging's {c.detail}")
            if item is not None:
                problems.append(f"{key}: a calculated reward has an open review item")
            continue
        held = reward.amount + adjusted.get(reward.pk, ZERO)
        amount, detail = (c.amount, _json(c.detail)) if c is not None and c.asset == reward.asset else (ZERO, {})
        differs = amount != held and not (reward.state == Reward.State.VOID and amount == ZERO)
        should_open = differs and (reward.pk in open_before or amount != last_kept.get(reward.pk))
        if should_open != (item is not None):
            problems.append(
                f"{key}: {reward.state} {held} (kept {last_kept.get(reward.pk)}), the full judging gives {amount}: review item open={item is not None}"
            )
        elif item is not None and (item.computed_amount, item.stored_amount, item.computed_detail) != (amount, held, detail):
            problems.append(f"{key}: review item says {item.computed_amount} (holds {item.stored_amount}), the full judging gives {amount} (holds {held})")
        if reward.state == Reward.State.APPROVED and item is None and c is not None and c.amount == reward.amount and reward.detail != detail:
            problems.append(f"{key}: approved {reward.amount}, explanation {reward.detail} != the full judging's {detail}")
    return problems


class LedgerMachine(RuleBasedStateMachine):
    """Ops and the exchange's files doing anything in any order; settlements checked against a
    from-scratch settlement each time."""

    def __init__(self):
        super().__init__()
        # Rolled back in teardown: the next example starts from the preloaded campaign again.
        self._example = transaction.atomic()
        self._example.__enter__()
        self.campaign_id = Campaign.objects.get(slug=CAMPAIGN_SLUG).pk
        self.staff = User.objects.create(username="ops-stateful", is_staff=True)
        self.staff.user_permissions.add(*Permission.objects.filter(codename__in=["approve_reward", "pay_reward", "change_campaign", "add_settlementrun"]))
        self.staff = User.objects.get(pk=self.staff.pk)  # permissions are cached per instance
        self.posts: dict[str, dict] = {}  # post_id -> the record last delivered
        self.batches = 0
        self.deliveries = 0

    def teardown(self):
        # Half of the examples climb towards more review work (amounts given to items, items
        # closed): few sequences reach it by chance, and it is where approved money meets new data.
        try:
            reviewed = ReviewComputation.objects.filter(item__reward__campaign_id=self.campaign_id).count()
            closed = ReviewItem.objects.filter(
                reward__campaign_id=self.campaign_id, resolution__in=[ReviewItem.Resolution.ACCEPT, ReviewItem.Resolution.KEEP]
            ).count()
            target(reviewed + 2 * closed, label="review work")
        except DatabaseError:
            pass  # a step failed inside the transaction (PostgreSQL): its error is the report
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    @property
    def campaign(self) -> Campaign:
        """Read afresh, as every request and task does."""
        return Campaign.objects.get(pk=self.campaign_id)

    def _registrations(self, markets: dict):
        rows = [(uid, f"trader{uid}", market, status, "2026-02-01T10:00:00+08:00", "") for uid, (market, status) in sorted(markets.items())]
        assert registrations_import(data=_csv("uid,nickname,market,status,applied_at,approved_at", rows)).ok

    def _deliver(self, items, path: str) -> bool:
        """Whether every record was taken. The webhook's worker stores the posts and leaves their
        judging to a task queued on commit, which never comes here (the test does not commit):
        they wait for the `judging_task_runs` rule or for the next settlement."""
        if path == "webhook":
            self.deliveries += 1
            body = json.dumps({"items": items}).encode()
            receipt = webhook_delivery_receive(campaign=self.campaign, delivery_id=f"delivery-{self.deliveries}", body=body, items=items)
            webhook_deliveries_process(campaign=self.campaign)
            # The door only refuses what no database state could take; a moved post is refused
            # by the worker, as by the other paths.
            run = WebhookDelivery.objects.get(delivery_id=f"delivery-{self.deliveries}").import_run
            return not receipt.rejected and run.rejected == 0
        data = _jsonl(items)
        if path == "file":
            return posts_import_file(campaign=self.campaign, data=data).ok
        return posts_ingest(campaign=self.campaign, records=jsonl_records(data)).ok

    # --- what the exchange sends ------------------------------------------------------------

    @initialize(first=st.lists(first_post, min_size=6, max_size=16), start=st.sampled_from(["approved", "paid", "settled", "judged"]))
    def enrol_six_and_their_posts(self, first, start):
        """Six enrolled traders and their first posts; then, as the issue tells it, the first
        settlement exact to the cent, all approved and all paid, or only some of it: the rules
        below disturb a ledger that already holds money from the first step."""
        self._registrations(CURRENT)
        rows = [(uid, SIGNED_UP_IN[0], f"h{uid}", "") for uid in ENROLLED]
        assert signups_import(campaign=self.campaign, data=_csv("uid,submitted_at,square_handle,contact", rows)).ok
        self.new_posts(first, path="file")
        if start != "judged":
            self.settle(DUE)
        if start in ("approved", "paid") and self._reward_ids(Reward.State.CALCULATED, due=True):
            self.approve([], everything=True)
        if start == "paid" and self._reward_ids(Reward.State.APPROVED):
            self.mark_paid([], everything=True)

    @rule(twice=st.booleans())
    def import_current_registrations(self, twice=False):
        for _ in range(1 + twice):  # re-importing the same file changes nothing
            self._registrations(CURRENT)

    @rule(older=st.dictionaries(st.sampled_from(UIDS), st.sampled_from(OLDER), min_size=1, max_size=3))
    def import_older_registrations(self, older):
        self._registrations(older)

    @rule(rows=st.lists(st.tuples(st.sampled_from(UIDS), st.sampled_from(SIGNED_UP_IN + SIGNED_UP_OUT)), min_size=1, max_size=2))
    def import_signups(self, rows):
        data = _csv("uid,submitted_at,square_handle,contact", [(uid, at, f"h{uid}", "") for uid, at in rows])
        assert signups_import(campaign=self.campaign, data=data).ok

    @rule(
        rows=st.lists(
            st.tuples(st.sampled_from(UIDS), st.sampled_from(STATS_AS_OF), st.integers(0, 50), st.sampled_from(["-50", "0", "100.50"])), min_size=1, max_size=2
        )
    )
    def import_trading_stats(self, rows):
        assert trader_stats_import(data=_csv("uid,as_of,new_copiers,copier_pnl_usdt", rows)).ok

    @rule(new=st.lists(new_post, min_size=1, max_size=4), path=st.sampled_from(PATHS))
    def new_posts(self, new, path):
        """Posts never seen, by a file, a small batch (feed pages, the API) or the webhook."""
        items = []
        for uid, created_at, text, counts in new:
            post_id = f"p{len(self.posts) + len(items):02d}"
            items.append({"post_id": post_id, "author_uid": uid, "created_at": created_at, "text": TEXTS[text], **counts, "deleted": False})
        assert self._deliver(items, path)
        self.posts.update({item["post_id"]: item for item in items})

    @precondition(lambda self: self.posts)
    @rule(which=picks, how=st.sampled_from(REDELIVERY), counts=engagement, text=st.integers(0, len(TEXTS) - 1), path=st.sampled_from(PATHS))
    def redeliver(self, which, how, counts, text, path):
        """The feed or a file delivers known posts again: unchanged, with new engagement (up or
        down), deleted or back, with an edited text, or with another instant (refused whole)."""
        items = []
        for post_id in _picked(sorted(self.posts), which):
            item = dict(self.posts[post_id])
            if how == "engagement":
                item.update(counts)
            elif how in ("deleted", "restored"):
                item["deleted"] = how == "deleted"
            elif how == "edited":
                item["text"] = TEXTS[text]
            elif how == "moved":
                item["created_at"] = "2026-02-14T00:00:00+08:00" if item["created_at"] != "2026-02-14T00:00:00+08:00" else "2026-02-16T00:00:00+08:00"
            items.append(item)
        assert self._deliver(items, path) == (how != "moved")
        if how != "moved":
            self.posts.update({item["post_id"]: item for item in items})

    @precondition(lambda self: self.posts)
    @rule(older=st.dictionaries(st.sampled_from(ENROLLED), st.sampled_from(OLDER[:3]), min_size=1, max_size=2), which=picks, path=st.sampled_from(PATHS))
    def older_registrations_corrected(self, older, which, path):
        """Issue 14, item 5, as one step: an older export imported by mistake, posts of those
        traders delivered again (unchanged) under it, and the right export imported again."""
        self.import_older_registrations(older)
        theirs = sorted(p for p, item in self.posts.items() if item["author_uid"] in older) or sorted(self.posts)
        items = [self.posts[post_id] for post_id in _picked(theirs, which)]
        assert self._deliver(items, path)
        self.import_current_registrations()

    @rule(text=st.sampled_from(REFERENCES))
    def import_reference_text(self, text):
        assert reference_texts_import(campaign=self.campaign, data=text.encode()).ok

    # The one rule without arguments, cheap: hypothesis draws it most and shrinks towards it.
    @rule()
    def judging_task_runs(self):
        """The task the webhook's worker queues: judge what deferred writes left unjudged."""
        posts_judge_pending(campaign=self.campaign)

    # --- what ops do ------------------------------------------------------------------------

    @precondition(lambda self: self.posts)
    @rule(which=picks, action=st.sampled_from(["approved", "rejected", ""]))
    def moderate(self, which, action):
        ids = list(Post.objects.filter(campaign_id=self.campaign_id, post_id__in=_picked(sorted(self.posts), which)).values_list("pk", flat=True))
        posts_moderate(campaign=self.campaign, post_ids=ids, action=action, note="stateful test", user="ops")

    @rule(at=st.sampled_from(SETTLE_AT), review=REVIEW)
    def settle(self, at, review=None):
        """Settle incrementally, check it against a settlement from scratch, and then, often, ops
        close every item it left open by one action (the admin's bulk action)."""
        campaign = self.campaign
        due_before = settled_due(campaign)
        open_before = set(ReviewItem.objects.filter(reward__campaign=campaign, status=ReviewItem.Status.OPEN).values_list("reward_id", flat=True))
        run = settle_campaign(campaign=campaign, at=at)
        incremental = _posts_judged(campaign)
        budgets = _json([b.as_json() for b in pool_budgets_get(campaign=campaign)])
        # From scratch, in a savepoint rolled back below: links, verdicts and rewards.
        with transaction.atomic():
            duplicates_rebuild(campaign=campaign)
            posts_qualify(campaign=campaign, full=True)
            scratch = _posts_judged(campaign)
            computed, summary = rewards_compute(campaign=campaign, at=at, already_due=due_before)
            transaction.set_rollback(True)
        assert incremental == scratch, f"verdicts judged incrementally differ from a full judging: {_diff(incremental, scratch)}"
        written = {k: v for k, v in run.summary.items() if k not in ("ledger", "budgets")}
        assert written == _json(summary), f"the settlement's summary differs from a full judging's: {_diff(written, _json(summary))}"
        assert run.summary["budgets"] == budgets
        problems = ledger_against_computation(campaign, computed, open_before)
        assert problems == [], problems
        self._ledger_has_no_violation()
        if review and self._open_item_ids():
            review_items_close(item_ids=self._open_item_ids(), action=review, user=self.staff, note="stateful test")
            self._ledger_has_no_violation()

    @rule(changes=WHATIF_CHANGES)
    def apply_whatif(self, changes):
        """Ops apply an edited configuration (the what-if door): every post is judged again under
        it; its settlement is queued on commit, which never comes here, so a settlement rule
        settles under it. Pools and the first-post limit only grow: lowering them below the
        money already approved is `test_lowering_a_pool_below_the_approved_money_is_refused`."""
        campaign = self.campaign
        changes = {k: v for k, v in changes.items() if getattr(campaign, k) != v}
        if changes:
            whatif_apply(campaign=campaign, changes=changes, note="stateful test", user=self.staff, expected_fingerprint=config_fingerprint(campaign))

    @rule(review=REVIEW)
    def settle_due(self, review):
        """The common case, as often as any other instant: the settlement that makes money due."""
        self.settle(DUE, review)

    def _reward_ids(self, *states, due=False) -> list[int]:
        rows = Reward.objects.filter(campaign_id=self.campaign_id, state__in=states)
        return list((rows.filter(preview=False) if due else rows).order_by("pk").values_list("pk", flat=True))

    def _open_item_ids(self) -> list[int]:
        return list(ReviewItem.objects.filter(reward__campaign_id=self.campaign_id, status=ReviewItem.Status.OPEN).order_by("pk").values_list("pk", flat=True))

    @precondition(lambda self: self._reward_ids(Reward.State.CALCULATED, due=True))
    @rule(which=picks, everything=st.booleans())
    def approve(self, which, everything):
        ids = self._reward_ids(Reward.State.CALCULATED, due=True)
        rewards_approve(reward_ids=ids if everything else _picked(ids, which), user=self.staff)
        self._ledger_has_no_violation()

    @precondition(lambda self: self._reward_ids(Reward.State.APPROVED))
    @rule(which=picks, everything=st.booleans())
    def mark_paid(self, which, everything):
        ids = self._reward_ids(Reward.State.APPROVED)
        self.batches += 1
        rewards_mark_paid(reward_ids=ids if everything else _picked(ids, which), reference=f"BATCH-{self.batches}", user=self.staff)
        self._ledger_has_no_violation()

    @precondition(lambda self: self._reward_ids(Reward.State.CALCULATED, Reward.State.APPROVED, due=True))
    @rule(which=st.integers(0, 40))
    def void(self, which):
        ids = self._reward_ids(Reward.State.CALCULATED, Reward.State.APPROVED, due=True)
        rewards_void(reward_ids=_picked(ids, [which]), user=self.staff, note="stateful test")
        self._ledger_has_no_violation()

    @precondition(lambda self: self._open_item_ids())
    @rule(which=picks, action=st.sampled_from(["accept", "keep"]), then_settle=st.booleans())
    def close_review_items(self, which, action, then_settle):
        """Ops accept or keep open items, and often settle again at once (what a kept amount and
        an accepted one do at the next settlement is where the review logic lives)."""
        review_items_close(item_ids=_picked(self._open_item_ids(), which), action=action, user=self.staff, note="stateful test")
        self._ledger_has_no_violation()
        if then_settle:
            self.settle(DUE)

    def _ledger_has_no_violation(self):
        """Checked after every step that writes the ledger (the others leave it as it was)."""
        assert ledger_violations(campaign=self.campaign) == []


STATEFUL = settings(max_examples=30, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_incremental_settlement_leaves_the_ledger_a_full_judging_gives(campaign):
    run_state_machine_as_test(LedgerMachine, settings=STATEFUL)
