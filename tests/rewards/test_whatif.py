"""What-if preview: the settlement an edited copy of the configuration would give, computed in
memory beside the current one, never written; and its one audited apply.

The scenario is tests/rewards/scenario.py, settled by hand in test_settlement.py: at DUE, content
pool P1 gives 1001 (score 33) and 1002 (36) 100.00 each (the cap), 1003 (6) is under the minimum
score 10; the leaderboard gives 1001 (84.005) 4000.00 and 1002 (36) 3000.00; 1001, 1002 and 1003
each get the 30.00 first-post bonus.
"""

import json
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.models import Campaign, DuplicateBand, DuplicateBandRecent, Post
from campaign.services import posts_ingest
from core.reading import item_records
from rewards.exceptions import RewardError
from rewards.models import PayoutBatch, ReviewFlag, ReviewItem, Reward, RewardEvent, SettlementRun
from rewards.services import rewards_approve, rewards_mark_paid, settle_campaign
from rewards.services.farming import EXCLUDE_TRADER, review_flags_decide
from rewards.services.whatif.apply import whatif_apply
from rewards.services.whatif.changes import WHATIF_FIELDS, config_fingerprint
from rewards.services.whatif.preview import whatif_preview
from tests.factories import post_item
from tests.rewards.scenario import BODY
from traders.models import Trader

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE")
# Jaccard 0.86 with BODY[0] (a1): a duplicate at the rulebook's 0.8, not at 0.9.
NEAR_COPY = BODY[0] + " Watching closely."


@pytest.fixture(autouse=True)
def eager_tasks():
    """Run the settlement that apply queues in-process, even when REDIS_URL is set; in English,
    whatever language an earlier test's request left active."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with translation.override("en"):
        yield
    app.conf.task_always_eager = before


@pytest.fixture
def ops():
    user = User.objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_campaign", "change_campaign", "view_settlementrun", "add_settlementrun"]))
    return User.objects.get(pk=user.pk)


def amounts(preview):
    """{(uid, kind, period): (current, proposed)} of every reward either side gives."""
    return {(r.uid, r.kind, r.period): (r.current, r.proposed) for r in preview.rows}


def moved(preview):
    return {key: (a, b) for key, (a, b) in amounts(preview).items() if a != b}


def ledger(campaign):
    return sorted(Reward.objects.filter(campaign=campaign).values_list("trader__uid", "kind", "period", "asset", "amount", "preview"))


def snapshot():
    """Every row a preview could touch, in full (verdicts, scores and duplicate links included)."""
    tables = [Reward, SettlementRun, RewardEvent, ReviewItem, PayoutBatch, Post, Campaign, DuplicateBand, DuplicateBandRecent, ReviewFlag, LogEntry, Trader]
    return {model.__name__: [tuple(row.items()) for row in model.objects.order_by("pk").values()] for model in tables}


def assert_no_writes(queries):
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []


# --- the preview -----------------------------------------------------------------------------


def test_a_preview_with_no_change_is_the_current_settlement_exactly(loaded):
    preview = whatif_preview(campaign=loaded, changes={}, at=DUE)
    assert preview.changes == () and preview.gainers == () and preview.losers == () and preview.verdict_changes == ()
    run = settle_campaign(campaign=loaded, at=DUE)
    as_ledger = sorted((c.uid, c.kind, c.period, c.asset, c.amount, c.preview) for c in preview.current_rewards)
    assert as_ledger == ledger(loaded)
    assert preview.current_rewards == preview.proposed_rewards
    assert [c.detail for c in preview.current_rewards] == [c.detail for c in preview.proposed_rewards]
    assert preview.current_summary["content_pool"] == run.summary["content_pool"]
    assert preview.current_summary["leaderboard"] == run.summary["leaderboard"]
    assert preview.current_summary["posts_by_verdict"] == run.summary["posts_by_verdict"]
    totals = {(t.kind, t.asset): (t.current, t.proposed) for t in preview.totals}
    assert totals == {
        ("first_post", "TRIAL_FUND"): (Decimal("90.00"), Decimal("90.00")),
        ("content_pool", "USDT"): (Decimal("200.00"), Decimal("200.00")),
        ("leaderboard", "USDT"): (Decimal("7000.00"), Decimal("7000.00")),
    }
    pools = {(p.kind, p.period): (p.current_pool, p.current_allocated, p.current_unallocated) for p in preview.pools}
    assert pools == {("content_pool", "P1"): (Decimal("500.00"), Decimal("200.00"), Decimal("300.00")), ("leaderboard", "ALL"): (Decimal("20000.00"), Decimal("7000.00"), Decimal("13000.00"))}


def test_raising_the_pool_cap_hands_the_unallocated_money_to_the_creators(loaded):
    preview = whatif_preview(campaign=loaded, changes={"pool_cap": Decimal("300.00")}, at=DUE)
    # 500 x 33/69 = 239.1304..., 500 x 36/69 = 260.8695...: floors 239.13 + 260.86 = 499.99, and
    # the last cent goes to the larger remainder (1002's 0.0095... against 1001's 0.0004...).
    assert moved(preview) == {(1001, "content_pool", "P1"): (Decimal("100.00"), Decimal("239.13")), (1002, "content_pool", "P1"): (Decimal("100.00"), Decimal("260.87"))}
    assert [(g.uid, g.difference) for g in preview.gainers] == [(1002, Decimal("160.87")), (1001, Decimal("139.13"))]
    assert preview.losers == ()
    (pool,) = [p for p in preview.pools if p.kind == "content_pool"]
    assert (pool.proposed_allocated, pool.proposed_unallocated) == (Decimal("500.00"), Decimal("0.00"))
    assert [(c.field, c.current, c.proposed) for c in preview.changes] == [("pool_cap", Decimal("100.00"), Decimal("300.00"))]


def test_a_lower_minimum_score_lets_a_small_creator_into_the_pool(loaded):
    # 1003's score 6 now counts: 500 x 6/75 = 40, then the 200 the capped creators cannot take
    # goes to 1003, up to the cap: 100.00; 200.00 stays unallocated.
    preview = whatif_preview(campaign=loaded, changes={"pool_min_score": 5}, at=DUE)
    assert moved(preview) == {(1003, "content_pool", "P1"): (Decimal("0.00"), Decimal("100.00"))}
    (pool,) = [p for p in preview.pools if p.kind == "content_pool"]
    assert (pool.current_unallocated, pool.proposed_unallocated) == (Decimal("300.00"), Decimal("200.00"))


def test_other_tiers_change_what_each_rank_earns(loaded):
    preview = whatif_preview(campaign=loaded, changes={"leaderboard_tiers": ["5000", "1000.00"]}, at=DUE)
    assert moved(preview) == {(1001, "leaderboard", "ALL"): (Decimal("4000.00"), Decimal("5000.00")), (1002, "leaderboard", "ALL"): (Decimal("3000.00"), Decimal("1000.00"))}
    assert [(r.uid, r.difference) for r in preview.losers] == [(1002, Decimal("-2000.00"))]
    (board,) = [p for p in preview.pools if p.kind == "leaderboard"]
    assert (board.proposed_pool, board.proposed_allocated, board.proposed_unallocated) == (Decimal("6000.00"), Decimal("6000.00"), Decimal("0.00"))
    assert preview.proposed.leaderboard_tiers == ["5000.00", "1000.00"]


def test_an_equal_split_shares_the_whole_pool_among_the_ranked_traders(loaded):
    preview = whatif_preview(campaign=loaded, changes={"leaderboard_strategy": "equal"}, at=DUE)
    assert moved(preview) == {(1001, "leaderboard", "ALL"): (Decimal("4000.00"), Decimal("10000.00")), (1002, "leaderboard", "ALL"): (Decimal("3000.00"), Decimal("10000.00"))}
    (board,) = [p for p in preview.pools if p.kind == "leaderboard"]
    assert (board.proposed_pool, board.proposed_unallocated) == (Decimal("20000.00"), Decimal("0.00"))


def test_a_proportional_split_follows_the_leaderboard_scores(loaded):
    # 20,000 x 84.005/120.005 = 14000.24998...; 20,000 x 36/120.005 = 5999.75001...: the floors
    # leave one cent, which goes to the larger remainder, 1001's 0.0099... against 1002's 0.00001....
    preview = whatif_preview(campaign=loaded, changes={"leaderboard_strategy": "proportional", "leaderboard_pool": "20000.00"}, at=DUE)
    assert moved(preview) == {(1001, "leaderboard", "ALL"): (Decimal("4000.00"), Decimal("14000.25")), (1002, "leaderboard", "ALL"): (Decimal("3000.00"), Decimal("5999.75"))}


def test_raising_the_duplicate_threshold_recomputes_the_links_in_memory(loaded):
    posts_ingest(campaign=loaded, records=item_records([post_item("c2", 1003, "2026-02-21T09:00:00+08:00", NEAR_COPY, likes=4)]))
    assert Post.objects.get(post_id="c2").verdict == "duplicate"
    preview = whatif_preview(campaign=loaded, changes={"duplicate_threshold": "0.9"}, at=DUE)
    # c2 (score 5) now qualifies: 1003's score 6 + 5 = 11 reaches the minimum 10, and 1003 takes
    # up to the cap what the two capped creators leave: 100.00.
    assert moved(preview) == {(1003, "content_pool", "P1"): (Decimal("0.00"), Decimal("100.00"))}
    assert [(v.current, v.proposed, v.posts) for v in preview.verdict_changes] == [("duplicate", "qualified", 1)]
    assert Post.objects.get(post_id="c2").duplicate_of.post_id == "a1"  # stored link untouched


def test_a_post_exactly_on_the_threshold_is_a_duplicate_and_just_above_it_is_not(loaded):
    on_threshold = BODY[0].replace("funding is flat today", "funding is negative now")  # Jaccard exactly 4/5
    posts_ingest(campaign=loaded, records=item_records([post_item("c2", 1003, "2026-02-21T09:00:00+08:00", on_threshold, likes=4)]))
    assert whatif_preview(campaign=loaded, changes={}, at=DUE).verdict_changes == ()
    preview = whatif_preview(campaign=loaded, changes={"duplicate_threshold": "0.801"}, at=DUE)
    assert [(v.current, v.proposed, v.posts) for v in preview.verdict_changes] == [("duplicate", "qualified", 1)]


def test_dropping_a_trading_term_takes_away_the_posts_that_only_had_it(loaded):
    # c1 is reversed Chinese plus " 止损": without that term it is not about trading, and 1003
    # has no qualifying post left, so no first-post bonus.
    terms = [t for t in loaded.cjk_terms if t != "止损"]
    preview = whatif_preview(campaign=loaded, changes={"cjk_terms": terms}, at=DUE)
    assert moved(preview) == {(1003, "first_post", "ALL"): (Decimal("30.00"), Decimal("0.00"))}
    assert [(v.current, v.proposed, v.posts) for v in preview.verdict_changes] == [("qualified", "not_trading", 1)]
    (first,) = [t for t in preview.totals if t.kind == "first_post"]
    assert (first.current, first.proposed, first.current_rewards, first.proposed_rewards) == (Decimal("90.00"), Decimal("60.00"), 3, 2)


def test_a_longer_grace_turns_due_rewards_back_into_previews(loaded):
    preview = whatif_preview(campaign=loaded, changes={"grace_hours": 48}, at=DUE)
    assert moved(preview) == {}
    assert len(preview.payability_changes) == len(preview.rows) == 7
    assert all(t.current_payable == t.current and t.proposed_payable == Decimal("0.00") for t in preview.totals)


def test_a_lower_score_cap_lowers_the_leaderboard_scores(loaded):
    # Cap 10: 1001's posts score 10+10+10+1 = 31, 1002's 10+5+1 = 16 (a1, a2, b1 and d1 lose
    # points). Content pool: 31 and 16 still reach the cap of 100; the leaderboard order stays
    # 1001 (31 + 50 + 1.005), then 1002.
    preview = whatif_preview(campaign=loaded, changes={"score_cap": 10}, at=DUE)
    assert moved(preview) == {}
    assert preview.scores_changed == 4 and preview.proposed_summary["leaderboard"]["top"][1] == {"rank": 2, "uid": 1002, "score": "16"}


def test_the_preview_leaves_out_what_ops_excluded_exactly_as_settlement_does(loaded, ops):
    approver = User.objects.create_user("fin", password="pw-fin-123456")
    approver.user_permissions.add(Permission.objects.get(codename="approve_reward"))
    flag = ReviewFlag.objects.create(campaign=loaded, trader=Trader.objects.get(uid=1002), kind=ReviewFlag.Kind.BURST, evidence={})
    review_flags_decide(flag_ids=[flag.pk], action=EXCLUDE_TRADER, note="farming", user=User.objects.get(pk=approver.pk))
    preview = whatif_preview(campaign=loaded, changes={}, at=DUE)
    settle_campaign(campaign=loaded, at=DUE)
    assert sorted((c.uid, c.kind, c.period, c.asset, c.amount, c.preview) for c in preview.current_rewards) == ledger(loaded)
    assert 1002 not in {c.uid for c in preview.current_rewards}


def test_a_change_the_model_refuses_is_reported_on_its_field(loaded):
    with pytest.raises(ValidationError) as refused:
        whatif_preview(campaign=loaded, changes={"duplicate_threshold": "0.5", "leaderboard_tiers": ["100", "200"], "slug": "x"}, at=DUE)
    assert set(refused.value.message_dict) == {"duplicate_threshold", "leaderboard_tiers", "slug"}


def test_rows_of_approved_rewards_say_so(loaded, ops):
    settle_campaign(campaign=loaded, at=DUE)
    approver = User.objects.create_user("fin", password="pw-fin-123456")
    approver.user_permissions.add(Permission.objects.get(codename="approve_reward"))
    rewards_approve(reward_ids=list(Reward.objects.filter(trader__uid=1002, kind="leaderboard").values_list("pk", flat=True)), user=User.objects.get(pk=approver.pk))
    preview = whatif_preview(campaign=loaded, changes={"leaderboard_tiers": ["5000", "1000"]}, at=DUE)
    assert {(r.uid, r.ledger_state) for r in preview.losers} == {(1002, "approved")}


# --- the preview never writes ----------------------------------------------------------------


@pytest.fixture
def busy(loaded):
    """A campaign with something in every table: settled, approved, paid, a review item."""
    settle_campaign(campaign=loaded, at=DUE)
    staff = User.objects.create_user("fin", password="pw-fin-123456")
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["approve_reward", "pay_reward"]))
    staff = User.objects.get(pk=staff.pk)
    ids = list(Reward.objects.filter(trader__uid__in=[1001, 1002], kind="first_post").values_list("pk", flat=True))
    rewards_approve(reward_ids=ids, user=staff)
    rewards_mark_paid(reward_ids=ids[:1], reference="BATCH-1", user=staff)
    reward = Reward.objects.get(pk=ids[1])
    ReviewItem.objects.create(reward=reward, settlement_run=reward.settlement_run, stored_amount=reward.amount, computed_amount=Decimal("0.00"), reason="test")
    posts_ingest(campaign=loaded, records=item_records([post_item("c2", 1003, "2026-02-21T09:00:00+08:00", NEAR_COPY, likes=4)]))
    return loaded


def test_a_preview_never_writes_to_the_ledger_or_anything_else(busy):
    changes = {"pool_cap": "300", "duplicate_threshold": "0.9", "leaderboard_tiers": ["5000", "1000"], "grace_hours": 1, "cjk_terms": ["合约"], "score_cap": 7}
    before = snapshot()
    assert all(before[name] for name in ("Reward", "SettlementRun", "RewardEvent", "ReviewItem", "PayoutBatch", "Post"))
    assert before["DuplicateBand"] or before["DuplicateBandRecent"]
    with CaptureQueriesContext(connection) as queries:
        preview = whatif_preview(campaign=busy, changes=changes, at=DUE)
    assert preview.gainers and preview.losers and preview.verdict_changes
    assert_no_writes(queries.captured_queries)
    assert snapshot() == before


POOL_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "pool_cap": st.decimals(min_value=0, max_value=600, places=2),
        "pool_amount": st.decimals(min_value=0, max_value=1000, places=2),
        "pool_min_score": st.integers(min_value=0, max_value=40),
        "pool_top_posts": st.integers(min_value=1, max_value=6),
        "leaderboard_min_posts": st.integers(min_value=0, max_value=4),
        "leaderboard_strategy": st.sampled_from(["tiers", "proportional", "equal"]),
        "leaderboard_tiers": st.lists(st.integers(min_value=0, max_value=500000), min_size=1, max_size=4).map(lambda xs: [f"{x / 100:.2f}" for x in sorted(xs, reverse=True)]),
        "leaderboard_pool": st.decimals(min_value=0, max_value=30000, places=2),
        "grace_hours": st.integers(min_value=0, max_value=72),
        "score_cap": st.integers(min_value=1, max_value=40),
        "min_length": st.integers(min_value=0, max_value=150),
        "duplicate_threshold": st.decimals(min_value="0.8", max_value=1, places=3),
    },
)


@pytest.mark.usefixtures("ledger_invariants")
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=POOL_CHANGES)
def test_any_preview_writes_nothing_and_splits_every_pool_to_the_cent(busy, changes):
    before = snapshot()
    with CaptureQueriesContext(connection) as queries:
        preview = whatif_preview(campaign=busy, changes=changes, at=DUE)
    assert_no_writes(queries.captured_queries)
    assert snapshot() == before
    proposed = preview.proposed
    for pool in preview.pools:
        given_out = sum((r.proposed for r in preview.rows if (r.kind, r.period) == (pool.kind, pool.period)), Decimal("0.00"))
        if pool.kind == "content_pool":
            size = proposed.pool_amount
        elif proposed.leaderboard_strategy == "tiers":
            size = sum(Decimal(t) for t in proposed.leaderboard_tiers)
        else:
            size = proposed.leaderboard_pool
        assert pool.proposed_pool == size
        assert given_out + pool.proposed_unallocated == size == pool.proposed_allocated + pool.proposed_unallocated
        assert given_out.as_tuple().exponent == -2 and all(r.proposed == r.proposed.quantize(Decimal("0.01")) for r in preview.rows)


# --- apply -----------------------------------------------------------------------------------


def test_applying_saves_the_config_audits_it_and_settles(loaded, ops, django_capture_on_commit_callbacks):
    settle_campaign(campaign=loaded, at=DUE)
    preview = whatif_preview(campaign=loaded, changes={"pool_cap": "300.00"}, at=DUE)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        applied = whatif_apply(campaign=loaded, changes={"pool_cap": "300.00"}, note="raise the cap", user=ops, expected_fingerprint=preview.fingerprint, at=DUE)
    assert len([c for c in callbacks if "campaign_pages_changed" not in getattr(c, "__qualname__", "")]) == 1  # page cache bumps aside
    loaded.refresh_from_db()
    assert loaded.pool_cap == Decimal("300.00")
    entry = LogEntry.objects.get()
    assert (entry.user_id, entry.object_id, entry.action_flag) == (ops.pk, str(loaded.pk), 2)
    assert json.loads(entry.change_message) == [
        {"changed": {"fields": ["content pool cap per creator"]}, "campaign_update": {"action": "What-if applied", "changes": [{"field": "pool_cap", "old": "100.00", "new": "300.00"}], "note": "raise the cap"}}
    ]
    assert applied.log_entry == entry and [c.field for c in applied.changes] == ["pool_cap"]
    run = SettlementRun.objects.order_by("-pk").first()
    assert run.triggered_by == "admin what-if: ops" and run.config["pool_cap"] == "300.00"
    assert dict(Reward.objects.filter(kind="content_pool").values_list("trader__uid", "amount")) == {1001: Decimal("239.13"), 1002: Decimal("260.87")}


def test_applying_a_new_threshold_rebuilds_the_stored_links(loaded, ops, django_capture_on_commit_callbacks):
    posts_ingest(campaign=loaded, records=item_records([post_item("c2", 1003, "2026-02-21T09:00:00+08:00", NEAR_COPY, likes=4)]))
    fingerprint = config_fingerprint(Campaign.objects.get(pk=loaded.pk))
    with django_capture_on_commit_callbacks(execute=True):
        applied = whatif_apply(campaign=loaded, changes={"duplicate_threshold": "0.900"}, note="stricter", user=ops, expected_fingerprint=fingerprint, at=DUE)
    c2 = Post.objects.get(post_id="c2")
    assert (c2.duplicate_of_id, c2.verdict) == (None, "qualified") and applied.verdicts_changed == 1
    assert Reward.objects.get(trader__uid=1003, kind="content_pool").amount == Decimal("100.00")


def test_applying_after_the_config_changed_is_refused(loaded, ops):
    preview = whatif_preview(campaign=loaded, changes={"pool_cap": "300"}, at=DUE)
    Campaign.objects.filter(pk=loaded.pk).update(pool_min_score=11)  # someone else edited it since
    with pytest.raises(RewardError, match="changed since this preview"):
        whatif_apply(campaign=loaded, changes={"pool_cap": "300"}, note="raise", user=ops, expected_fingerprint=preview.fingerprint)
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


@pytest.mark.parametrize("note", ["", "   "])
def test_applying_without_a_note_is_refused(loaded, ops, note):
    fingerprint = config_fingerprint(Campaign.objects.get(pk=loaded.pk))
    with pytest.raises(RewardError, match="note is required"):
        whatif_apply(campaign=loaded, changes={"pool_cap": "300"}, note=note, user=ops, expected_fingerprint=fingerprint)
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_applying_needs_the_change_permission(loaded):
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_campaign", "view_settlementrun"]))
    fingerprint = config_fingerprint(Campaign.objects.get(pk=loaded.pk))
    with pytest.raises(PermissionDenied):
        whatif_apply(campaign=loaded, changes={"pool_cap": "300"}, note="x", user=User.objects.get(pk=viewer.pk), expected_fingerprint=fingerprint)
    assert not LogEntry.objects.exists()


def test_applying_also_needs_the_permission_to_settle(loaded):
    # Applying re-settles the campaign: changing the campaign alone is not enough.
    editor = User.objects.create_user("editor", password="pw-editor-123456", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_campaign", "change_campaign", "view_settlementrun"]))
    fingerprint = config_fingerprint(Campaign.objects.get(pk=loaded.pk))
    with pytest.raises(PermissionDenied, match="rewards.add_settlementrun"):
        whatif_apply(campaign=loaded, changes={"pool_cap": "300"}, note="x", user=User.objects.get(pk=editor.pk), expected_fingerprint=fingerprint)
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_applying_nothing_new_is_refused(loaded, ops):
    fingerprint = config_fingerprint(Campaign.objects.get(pk=loaded.pk))
    with pytest.raises(RewardError, match="Nothing to apply"):
        whatif_apply(campaign=loaded, changes={"pool_cap": "100"}, note="x", user=ops, expected_fingerprint=fingerprint)


def test_every_whatif_field_is_a_campaign_field():
    names = {f.name for f in Campaign._meta.concrete_fields}
    assert set(WHATIF_FIELDS) <= names


def test_applying_a_longer_grace_moves_the_settlement_clock(loaded, ops, django_capture_on_commit_callbacks):
    from django_celery_beat.models import PeriodicTask

    fingerprint = config_fingerprint(Campaign.objects.get(pk=loaded.pk))
    with django_capture_on_commit_callbacks(execute=True):
        whatif_apply(campaign=loaded, changes={"grace_hours": 48}, note="slow engagement feed", user=ops, expected_fingerprint=fingerprint, at=DUE)
    clock = PeriodicTask.objects.get(name=f"settle {loaded.slug} final").clocked.clocked_time
    assert clock == datetime.fromisoformat("2026-02-27T00:00:00+08:00")
    # Settled as of DUE, which the longer grace no longer reaches: every reward is a preview.
    assert set(Reward.objects.filter(campaign=loaded).values_list("preview", flat=True)) == {True}


# --- background runs -------------------------------------------------------------------------


def preview_run(campaign, user=None, **changes):
    """A queued preview run, as the what-if page makes it."""
    from rewards.services.whatif.runs import whatif_preview_start

    return whatif_preview_start(campaign=campaign, changes=changes, at=DUE, user=user or User(username="nobody"))


def seen(preview):
    """Everything the what-if page shows of a preview."""
    return (
        [(c.field, str(c.current), str(c.proposed)) for c in preview.changes],
        preview.gainers,
        preview.losers,
        preview.payability_changes,
        preview.totals,
        preview.pools,
        preview.verdict_changes,
        preview.scores_changed,
        preview.at,
        preview.fingerprint,
    )


def test_progress_is_told_the_total_first_then_more_done_up_to_the_total(loaded):
    calls = []
    preview = whatif_preview(campaign=loaded, changes={"pool_cap": "300"}, at=DUE, progress=lambda done, total: calls.append((done, total)))
    posts = Post.objects.filter(campaign=loaded).count()
    total = 2 * posts + 2  # each post judged under both configurations, then the two settlements
    assert calls[0] == (0, total) and calls[-1] == (total, total) and {t for _d, t in calls} == {total}
    assert [d for d, _t in calls] == sorted(d for d, _t in calls) and (2 * posts, total) in calls
    assert seen(preview) == seen(whatif_preview(campaign=loaded, changes={"pool_cap": "300"}, at=DUE))


def test_progress_counts_the_duplicate_links_computed_in_memory(loaded):
    calls = []
    whatif_preview(campaign=loaded, changes={"duplicate_threshold": "0.9"}, at=DUE, progress=lambda done, total: calls.append((done, total)))
    total = 3 * Post.objects.filter(campaign=loaded).count() + 2
    assert calls[0] == (0, total) and calls[-1] == (total, total)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"pool_cap": "300"},
        {"leaderboard_tiers": ["5000", "1000"]},
        {"grace_hours": 48},
        {"duplicate_threshold": "0.9", "cjk_terms": ["合约"], "score_cap": 7},
        {"pool_min_score": 5, "leaderboard_strategy": "proportional", "leaderboard_pool": "20000.00"},
    ],
)
def test_a_preview_run_shows_exactly_what_the_preview_gives(busy, ops, changes):
    run = preview_run(busy, ops, **changes)
    assert (run.state, run.created_by) == ("queued", ops)
    from rewards.services.whatif.results import whatif_preview_load
    from rewards.services.whatif.runs import whatif_run_execute

    assert whatif_run_execute(run_id=run.pk) == {"run": run.pk, "state": "finished"}
    run.refresh_from_db()
    direct = whatif_preview(campaign=busy, changes=changes, at=DUE)
    assert seen(whatif_preview_load(run=run)) == seen(direct)
    assert run.total == run.done > 0 and run.fingerprint == direct.fingerprint and run.attempts == 1


def test_a_preview_run_refuses_a_bad_change_before_it_is_queued(loaded):
    with pytest.raises(ValidationError) as refused:
        preview_run(loaded, duplicate_threshold="0.5")
    assert set(refused.value.message_dict) == {"duplicate_threshold"}
    from rewards.models import WhatIfRun

    assert not WhatIfRun.objects.exists()


def test_a_finished_run_is_not_computed_again_when_its_task_comes_again(loaded, ops):
    from rewards.services.whatif.runs import whatif_run_execute

    run = preview_run(loaded, ops, pool_cap="300")
    whatif_run_execute(run_id=run.pk)
    run.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        again = whatif_run_execute(run_id=run.pk)
    assert again == {"run": run.pk, "skipped": "finished"}
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert len(writes) == 1 and "WHERE" in writes[0]  # the claim, which took nothing
    fresh = type(run).objects.get(pk=run.pk)
    assert (fresh.result, fresh.finished_at, fresh.attempts) == (run.result, run.finished_at, 1)


def test_a_live_run_is_left_to_its_worker_and_a_silent_one_is_taken_over(loaded, ops, settings):
    from datetime import timedelta

    from django.utils import timezone

    from rewards.models import WhatIfRun
    from rewards.services.whatif.runs import whatif_run_execute

    run = preview_run(loaded, ops, pool_cap="300")
    WhatIfRun.objects.filter(pk=run.pk).update(state="running", attempts=1, done=3, total=10)
    assert whatif_run_execute(run_id=run.pk) == {"run": run.pk, "skipped": "running"}
    assert WhatIfRun.objects.get(pk=run.pk).done == 3
    WhatIfRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1))
    assert whatif_run_execute(run_id=run.pk) == {"run": run.pk, "state": "finished"}
    run.refresh_from_db()
    assert (run.state, run.attempts, run.done) == ("finished", 2, run.total)


def test_a_run_for_a_run_that_is_gone_returns_quietly():
    from rewards.services.whatif.runs import whatif_run_execute

    assert whatif_run_execute(run_id=999999) == {"skipped": "run is gone"}
