"""Explanations follow the money (RULES.md section 8, issue 14 item 4): a reward's breakdown, and
the leaderboard card above it, are the computation of its stored amount; while its review item is
open, the new computation is shown beside it, labelled, and the two never blend."""

import json
import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaign.models import Post
from campaign.services import posts_import_file, posts_moderate
from rewards.models import ReviewItem, Reward, StatusLink
from rewards.selectors.breakdown import NOT_BEST, SINCE, VERDICT, review_breakdown_get, reward_breakdown
from rewards.selectors.links import status_link_url
from rewards.selectors.posts import PostLine
from rewards.selectors.status import trader_status_get
from rewards.services import rewards_approve, rewards_mark_paid, settle_campaign
from rewards.services.status_links import status_links_ensure

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
AGAIN = datetime.fromisoformat("2026-02-28T12:00:00+08:00")
TEXT = "DOGE perpetual plan: long from 0.081 support with a stop loss under 0.078; open interest and funding both cooled after the squeeze."


def staff(codename):
    user = User.objects.create_user(codename, password="pw-staff-123456")
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return User.objects.get(pk=user.pk)  # permissions are cached on the instance


def reject(campaign, *post_ids):
    ids = list(Post.objects.filter(campaign=campaign, post_id__in=post_ids).values_list("pk", flat=True))
    done, refused = posts_moderate(campaign=campaign, post_ids=ids, action="rejected", note="copied from another channel", user="ops")
    assert len(done) == len(post_ids) and not refused


@pytest.fixture
def paid(loaded):
    """The scenario settled when due, every reward approved and paid (1001 #1 with 4,000.00,
    1002 #2 with 3,000.00 on the leaderboard)."""
    settle_campaign(campaign=loaded, at=DUE)
    ids = list(Reward.objects.filter(campaign=loaded).values_list("pk", flat=True))
    approved, refused = rewards_approve(reward_ids=ids, user=staff("approve_reward"))
    assert len(approved) == 7 and not refused
    _batch, done, refused = rewards_mark_paid(reward_ids=ids, reference="BATCH-1", user=staff("pay_reward"))
    assert len(done) == 7 and not refused
    return loaded


@pytest.fixture
def rejected_after_payment(paid):
    """Item 4: ops reject 1002's best post b1 (score 30) after payment; the next settlement no
    longer ranks 1002 (2 qualifying posts, 3 needed) nor gives a content-pool share."""
    reject(paid, "b1")
    settle_campaign(campaign=paid, at=AGAIN)
    return paid


def status_of(campaign, uid):
    status_links_ensure(campaign=campaign)
    return trader_status_get(link=StatusLink.objects.select_related("campaign", "trader").get(campaign=campaign, trader__uid=uid), now=timezone.now())


def page_of(client, campaign, uid, lang="en"):
    status_links_ensure(campaign=campaign)
    url = status_link_url(StatusLink.objects.get(campaign=campaign, trader__uid=uid))
    response = client.get(urlsplit(url).path, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def section(html, testid):
    """The element with this data-testid, up to its closing tag (the tags here do not nest in themselves)."""
    start = html.index(f'data-testid="{testid}"')
    tag = html.rfind("<", 0, start) + 1
    name = re.match(r"\w+", html[tag:]).group(0)
    depth, pos = 0, tag - 1
    for match in re.finditer(rf"<(/?){name}\b", html[pos:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return html[tag - 1 : html.index(">", pos + match.end()) + 1]
    raise AssertionError(f"{testid} is not closed")


def counted(html):
    return re.findall(r'data-testid="counted-post" data-breakdown-post="([^"]+)"', html)


def reward_line(status, kind):
    [line] = [r for r in status.rewards if r.kind == kind]
    return line


# --- Item 4 as reported ---------------------------------------------------------------------------


def test_the_leaderboard_card_agrees_with_the_paid_reward_after_a_post_is_rejected(rejected_after_payment, client):
    status = status_of(rejected_after_payment, 1002)
    board = reward_line(status, "leaderboard")
    assert (board.state, board.amount, board.breakdown.detail["rank"]) == ("paid", Decimal("3000.00"), 2)
    # The card is the reward's: rank and score of its stored computation, final, with its settlement.
    standing = status.standing
    assert (standing.rank, standing.score, standing.due, standing.from_reward) == (2, "36", True, True)
    assert standing.settled_at == board.settled_at == DUE
    # ... and the new computation, which no longer ranks 1002, beside it.
    assert (standing.review.rank, standing.review.settled_at) == (None, AGAIN)

    html = page_of(client, rejected_after_payment, 1002)
    card = section(html, "standing")
    assert "#2" in section(card, "standing-rank") and "Leaderboard score 36" in card
    assert "You are not in the Top 10." not in section(card, "standing-rank")
    review = section(card, "standing-review")
    assert "New computation, under review by the campaign team:" in review and "not in the Top 10." in review
    assert "Computed by the settlement of 2026-02-28 12:00 (UTC+8)." in review
    assert "Final, settled as of 2026-02-26 00:00." in card


def test_the_counted_posts_add_up_to_the_stored_content_score(rejected_after_payment, client):
    breakdown = reward_line(status_of(rejected_after_payment, 1002), "leaderboard").breakdown
    assert [(line.post_id, line.score) for line in breakdown.counted] == [("b1", 30), ("b2", 5), ("b3", 1)]
    assert sum(line.score for line in breakdown.counted) == breakdown.detail["content_score"] == 36
    # The post rejected since is still the one paid on, and says what happened to it since.
    b1 = breakdown.counted[0]
    assert (b1.since_reason, b1.since_label) == (VERDICT, "rejected by ops") and breakdown.not_counted == []

    stored = section(section(page_of(client, rejected_after_payment, 1002), "reward-leaderboard"), "breakdown-leaderboard")
    assert counted(stored) == ["b1", "b2", "b3"]
    assert re.search(r'data-testid="content-score">36<', stored) and 'data-testid="breakdown-rank">#2<' in stored
    assert "since this computation: rejected by ops" in section(stored, "counted-since")


def test_the_paid_rewards_breakdowns_are_the_stored_ones(rejected_after_payment, client):
    status = status_of(rejected_after_payment, 1002)
    rewards = {line.kind: line for line in status.rewards}
    stored = {r.kind: r for r in Reward.objects.filter(campaign=rejected_after_payment, trader__uid=1002).select_related("settlement_run")}
    for kind, line in rewards.items():
        assert line.state == "paid" and line.amount == stored[kind].amount == line.breakdown.amount
        assert line.breakdown.detail == stored[kind].detail and line.settled_at == stored[kind].settlement_run.at == DUE
    pool = rewards["content_pool"].breakdown
    assert [(line.post_id, line.score) for line in pool.counted] == [("b1", 30), ("b2", 5), ("b3", 1)] == [(p["post_id"], p["score"]) for p in pool.detail["posts"]]
    assert sum(line.score for line in pool.counted) == pool.detail["creator_score"]
    [first] = rewards["first_post"].breakdown.counted
    assert (first.post_id, first.score, first.since_reason) == ("b1", 30, VERDICT)

    html = page_of(client, rejected_after_payment, 1002)
    for kind in ("content_pool", "leaderboard", "first_post"):
        card = section(html, f"reward-{kind}")
        assert "As computed by the settlement of 2026-02-26 00:00 (UTC+8)." in section(card, "computed-by")
        assert counted(section(card, f"breakdown-{kind}"))[0] == "b1"
    # The page's list of posts says the same post is rejected; the breakdowns say it was counted, and since rejected.
    assert "Rejected by the campaign team." in section(html, "posts")
    assert html.count("since this computation: rejected by ops") == 3


def test_the_new_computation_appears_beside_the_stored_one_and_labelled(rejected_after_payment, client):
    status = status_of(rejected_after_payment, 1002)
    for kind in ("content_pool", "leaderboard"):
        line = reward_line(status, kind)
        item = ReviewItem.objects.get(reward__trader__uid=1002, reward__kind=kind, status="open")
        assert (line.review.amount, line.review.settled_at) == (item.computed_amount, item.settlement_run.at) == (Decimal("0.00"), AGAIN)
        assert line.review.breakdown.amount == Decimal("0.00") and line.review.breakdown.empty and line.review.breakdown.counted == []
        assert [(p.post_id, p.reason, p.reason_label) for p in line.review.breakdown.not_counted] == [("b1", VERDICT, "rejected by ops")]
    # The first-post bonus is computed again the same (30.00 on b2 now): no item, the stored breakdown stays.
    assert reward_line(status, "first_post").review is None

    html = page_of(client, rejected_after_payment, 1002)
    for kind, words in (("content_pool", "no share of this period's pool"), ("leaderboard", "does not place you in the paid places")):
        card = section(html, f"reward-{kind}")
        review = section(card, f"review-{kind}")
        assert "New computation, under review by the campaign team:" in review and words in review
        assert section(review, "review-amount").endswith(">0.00 USDT</span>")
        assert "Computed by the settlement of 2026-02-28 12:00 (UTC+8)." in review
        assert counted(section(review, f"review-breakdown-{kind}")) == []
        # The stored breakdown comes first, whole, and outside the box.
        assert card.index(f'data-testid="breakdown-{kind}"') < card.index(f'data-testid="review-{kind}"')
        assert f'data-testid="review-breakdown-{kind}"' not in section(card, f"breakdown-{kind}")
    assert "review-first_post" not in html

    zh = page_of(client, rejected_after_payment, 1002, lang="zh-CN")
    assert "新的计算结果，正在由活动团队复核：" in section(zh, "review-leaderboard") and "按 2026-02-26 00:00（UTC+8）的结算计算。" in zh


def test_a_new_computation_that_ranks_the_trader_elsewhere_shows_that_rank_and_its_breakdown(paid, client):
    reject(paid, "a1", "a2")  # 1001 keeps 2 qualifying posts: unranked; 1002 moves up to #1
    settle_campaign(campaign=paid, at=AGAIN)
    status = status_of(paid, 1002)
    board = reward_line(status, "leaderboard")
    assert (board.amount, board.breakdown.detail["rank"], status.standing.rank) == (Decimal("3000.00"), 2, 2)
    assert (board.review.amount, board.review.breakdown.detail["rank"], status.standing.review.rank, status.standing.review.score) == (Decimal("4000.00"), 1, 1, "36")
    assert [line.post_id for line in board.review.breakdown.counted] == ["b1", "b2", "b3"]

    html = page_of(client, paid, 1002)
    assert "#1, leaderboard score 36" in section(section(html, "standing"), "standing-review")
    review = section(html, "review-leaderboard")
    assert section(review, "review-amount").endswith(">4,000.00 USDT</span>") and 'data-testid="breakdown-rank">#1<' in review
    assert 'data-testid="breakdown-rank">#2<' in section(html, "breakdown-leaderboard")

    loser = status_of(paid, 1001)
    assert (loser.standing.rank, loser.standing.score, loser.standing.review.rank) == (1, "84.005", None)
    lost = reward_line(loser, "leaderboard")
    assert sum(line.score for line in lost.breakdown.counted) == lost.breakdown.detail["content_score"] == 33
    assert [line.post_id for line in lost.breakdown.counted if line.since_reason] == ["a1", "a2"]


def test_the_admin_reads_the_new_computation_from_the_item(rejected_after_payment):
    item = ReviewItem.objects.select_related("reward__campaign", "reward__trader").get(reward__trader__uid=1002, reward__kind="leaderboard", status="open")
    breakdown = review_breakdown_get(item=item)
    assert breakdown.amount == item.computed_amount == Decimal("0.00") and breakdown.empty


# --- Without a review item -----------------------------------------------------------------------------


def test_a_frozen_reward_computed_the_same_again_keeps_its_explanation_and_the_card_its_rank(paid, client):
    reject(paid, "a1")  # 1001 stays #1 with the same tier; the first-post bonus moves to a2, same amount
    settle_campaign(campaign=paid, at=AGAIN)
    assert not ReviewItem.objects.filter(reward__trader__uid=1001).exists()
    status = status_of(paid, 1001)
    assert (status.standing.rank, status.standing.score, status.standing.review) == (1, "84.005", None)
    board = reward_line(status, "leaderboard")
    assert [line.post_id for line in board.breakdown.counted] == ["a1", "a2", "a3", "a4"] and board.review is None
    [first] = reward_line(status, "first_post").breakdown.counted
    assert (first.post_id, first.score, first.since_label) == ("a1", 11, "rejected by ops")
    html = page_of(client, paid, 1001)
    assert "Leaderboard score 84.005" in section(html, "standing") and "standing-review" not in html
    assert 'data-testid="review-' not in html


def test_a_post_that_qualified_after_the_computation_is_named_as_such(paid):
    line = {"post_id": "a5", "author_uid": 1001, "created_at": "2026-02-17T10:00:00+08:00", "text": TEXT, "likes": 40, "comments": 0, "shares": 0, "views": 0, "deleted": False}
    assert posts_import_file(campaign=paid, data=(json.dumps(line) + "\n").encode()).ok
    status = status_of(paid, 1001)
    for kind in ("content_pool", "leaderboard"):
        breakdown = reward_line(status, kind).breakdown
        assert [line.post_id for line in breakdown.counted] == ["a1", "a2", "a3", "a4"]
        assert [(p.post_id, p.reason) for p in breakdown.not_counted] == [("a5", SINCE)]


def test_the_page_costs_the_same_queries_with_open_review_items_as_without(rejected_after_payment):
    counts = {}
    status_links_ensure(campaign=rejected_after_payment)
    for uid in (1002, 1003):  # 1002 has two open items, 1003 none
        link = StatusLink.objects.select_related("campaign", "trader", "trader__registration").get(campaign=rejected_after_payment, trader__uid=uid)
        with CaptureQueriesContext(connection) as queries:
            trader_status_get(link=link, now=timezone.now())
        counts[uid] = len(queries)
    assert counts[1002] == counts[1003], counts


# --- reward_breakdown on its own --------------------------------------------------------------------


def post_line(post_id, score, verdict="qualified", day=14):
    return PostLine(post_id=post_id, created_at=datetime.fromisoformat(f"2026-02-{day}T10:00:00+08:00"), text="", verdict=verdict, score=score,
                    approved_by_ops=False, featured_day=None, homepage=False, likes=score - 1)  # fmt: skip


def test_a_post_is_not_among_the_best_only_when_the_computation_counted_enough_posts_scoring_at_least_as_much(campaign):
    best = [post_line(f"p{i}", score) for i, score in enumerate([10, 9, 8, 7, 6], start=1)]
    detail = {"creator_score": 40, "posts": [{"post_id": p.post_id, "score": p.score} for p in best], "eligible_score_total": 40, "pool": "500.00",
              "cap": "100.00", "capped": True, "exact_share": "100", "floored": "100.00", "rounding_cent": "0.00"}  # fmt: skip
    others = [post_line("tie", 6, day=15), post_line("higher", 12, day=16), post_line("gone", 20, verdict="rejected", day=17)]
    breakdown = reward_breakdown(campaign=campaign, kind="content_pool", period="P1", amount=Decimal("100.00"), detail=detail, posts=best + others)
    assert [(p.post_id, p.reason) for p in breakdown.not_counted] == [("tie", NOT_BEST), ("higher", SINCE), ("gone", VERDICT)]
    short = {**detail, "posts": detail["posts"][:2], "creator_score": 19}
    breakdown = reward_breakdown(campaign=campaign, kind="content_pool", period="P1", amount=Decimal("100.00"), detail=short, posts=best + others)
    assert [(p.post_id, p.reason) for p in breakdown.not_counted] == [("p3", SINCE), ("p4", SINCE), ("p5", SINCE), ("tie", SINCE), ("higher", SINCE), ("gone", VERDICT)]


def test_a_leaderboard_detail_without_its_posts_falls_back_to_the_posts_that_qualify_now(campaign):
    posts = [post_line("x1", 11), post_line("x2", 5, verdict="rejected", day=15), post_line("x3", 4, day=16)]
    detail = {"rank": 3, "score": "15", "content_score": 15, "qualifying_posts": 2, "new_copiers": 0, "copier_weight": "5.00",
              "copier_pnl_usdt": "0", "pnl_weight": "0.0100", "strategy": "tiers", "tier": "2000.00"}  # fmt: skip
    legacy = reward_breakdown(campaign=campaign, kind="leaderboard", period="ALL", amount=Decimal("2000.00"), detail=detail, posts=posts)
    assert [line.post_id for line in legacy.counted] == ["x1", "x3"] and [p.post_id for p in legacy.not_counted] == ["x2"]
    stored = reward_breakdown(campaign=campaign, kind="leaderboard", period="ALL", amount=Decimal("2000.00"), posts=posts,
                              detail={**detail, "posts": [{"post_id": "x1", "score": 11}, {"post_id": "x2", "score": 4}], "content_score": 15})  # fmt: skip
    assert [(line.post_id, line.score, line.since_reason) for line in stored.counted] == [("x1", 11, ""), ("x2", 4, VERDICT)]
    assert [(p.post_id, p.reason) for p in stored.not_counted] == [("x3", SINCE)]
