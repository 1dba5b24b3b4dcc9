"""Settlement: the rules of RULES.md sections 4 to 6 turned into ledger rows, exactly once.

`settle_campaign` makes every verdict current (`posts_qualify`), computes every reward with the
pure rules, and writes the ledger in one transaction under a per-campaign lock. Rows still
`calculated` are replaced; approved, paid and void rows never change, and a difference on one of
them becomes a ReviewItem. A reward whose period is not yet due (end + grace > at) is a preview.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from campaign.models import Campaign, Post
from campaign.page_cache import campaign_pages_changed
from campaign.services import posts_qualify
from campaign.services.sql import values_binary
from rewards.models import Reward, ReviewItem, SettlementRun
from rewards.rules import QualifiedPost, TraderStats, first_post_awards, rank_traders, split_content_pool, split_leaderboard
from rewards.rules.money import format_money, quantize_money
from traders.models import Trader
from traders.selectors import trading_stats_as_of

ALL = "ALL"


@dataclass(frozen=True)
class Computed:
    kind: str
    period: str
    uid: int
    asset: str
    amount: Decimal
    preview: bool
    detail: dict = field(default_factory=dict, compare=False)


def _iso(instant: datetime) -> str:
    return instant.isoformat()


def exact_decimal(value: Fraction) -> str:
    """A leaderboard score as a decimal string with every digit (scores have finite decimals)."""
    with localcontext() as ctx:
        ctx.prec = 60
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    # Trailing zeros go only after a decimal point: 1190 stays 1190, 84.0050 becomes 84.005.
    return text.rstrip("0").rstrip(".") if "." in text else text


def qualified_posts(campaign: Campaign) -> list[QualifiedPost]:
    """The qualifying posts the rules see, less what ops excluded by hand (a post, or a trader's
    every post) through a review flag with a note; a flag that is only open changes nothing."""
    from rewards.services.farming import exclusions_get

    excluded_traders, excluded_posts = exclusions_get(campaign=campaign)
    # Only columns of the covering index post_verdict_time (author id, not the trader's uid: a
    # join would read every row), so PostgreSQL answers from the index alone.
    rows = (
        Post.objects.filter(campaign=campaign, verdict=Post.Verdict.QUALIFIED)
        .exclude(author_id__in=excluded_traders)
        .exclude(pk__in=excluded_posts)
        .order_by()
        .values_list("post_id", "author_id", "created_at", "score")
    )
    uid_of = dict(Trader.objects.values_list("pk", "uid"))  # a few rows per trader, read once
    return [QualifiedPost(post_id=p, uid=uid_of[a], created_at=c, score=s) for p, a, c, s in values_binary(rows)]


def rewards_compute(
    *, campaign: Campaign, at: datetime, posts: list[QualifiedPost] | None = None, verdict_counts: dict | None = None
) -> tuple[list[Computed], dict]:
    """Every reward the rules give now, and a JSON summary of inputs and unallocated money.

    Reads only: it never writes the ledger (the what-if preview and `settle_campaign` share it).
    By default the posts are the stored verdicts (judge them first with `posts_qualify`); the
    what-if preview passes `posts` and `verdict_counts` judged in memory under an unsaved copy of
    the campaign, exclusions already applied, so both go through this one computation.
    """
    if posts is None:
        posts = qualified_posts(campaign)
    grace = campaign.grace
    window_due = at >= campaign.ends_at + grace
    computed: list[Computed] = []
    summary = {
        "at": _iso(at),
        "qualified_posts": len(posts),
        "posts_by_verdict": dict(_verdict_counts(campaign) if verdict_counts is None else verdict_counts),
        "first_post": {"due": window_due},
        "content_pool": {},
        "leaderboard": {"due": window_due},
    }

    awards = first_post_awards(posts)
    for uid, post in awards.items():
        computed.append(
            Computed("first_post", ALL, uid, campaign.first_post_asset, campaign.first_post_amount, not window_due,
                     {"post_id": post.post_id, "created_at": _iso(post.created_at)})
        )  # fmt: skip
    summary["first_post"].update(traders=len(awards), total=format_money(campaign.first_post_amount * len(awards)))

    score_of = {p.post_id: p.score for p in posts}
    for period in campaign.content_periods():
        due = period.is_due(at, grace)
        split = split_content_pool(
            [p for p in posts if period.contains(p.created_at)],
            pool=campaign.pool_amount,
            cap=campaign.pool_cap,
            min_score=campaign.pool_min_score,
            top_posts=campaign.pool_top_posts,
        )
        eligible_total = sum(split.creator_scores[u] for u in split.eligible)
        for uid, amount in split.shares.items():
            creator = split.creators[uid]
            floored = quantize_money(split.exact[uid])
            # Every cent explained: the posts counted, the exact share, and the cent of rounding.
            computed.append(
                Computed("content_pool", period.code, uid, campaign.pool_asset, amount, not due,
                         {"creator_score": creator.score, "posts": [{"post_id": p, "score": score_of[p]} for p in creator.post_ids],
                          "eligible_score_total": eligible_total, "pool": format_money(campaign.pool_amount),
                          "cap": format_money(campaign.pool_cap), "capped": uid in split.capped,
                          "exact_share": str(split.exact[uid]), "floored": format_money(floored),
                          "rounding_cent": format_money(amount - floored)})
            )  # fmt: skip
        summary["content_pool"][period.code] = {
            "due": due,
            "starts_at": _iso(period.starts_at),
            "ends_at": _iso(period.ends_at),
            "pool": format_money(campaign.pool_amount),
            "creators": len(split.creator_scores),
            "eligible": len(split.eligible),
            "allocated": format_money(split.allocated),
            "unallocated": format_money(split.unallocated),
            "capped": list(split.capped),
        }

    in_window = posts  # a qualified post is always inside the window
    stats = {
        uid: TraderStats(new_copiers=copiers, copier_pnl_usdt=pnl)
        for uid, (copiers, pnl) in trading_stats_as_of(uids={p.uid for p in in_window}, at=campaign.ends_at).items()
    }
    ranked = rank_traders(in_window, stats, min_posts=campaign.leaderboard_min_posts, copier_weight=campaign.copier_weight, pnl_weight=campaign.pnl_weight)
    tiers = [Decimal(str(t)) for t in campaign.leaderboard_tiers]
    pool = None if campaign.leaderboard_strategy == Campaign.SplitStrategy.TIERS else campaign.leaderboard_pool
    board = split_leaderboard(ranked, strategy=campaign.leaderboard_strategy, tiers=tiers, pool=pool)
    for entry in board.ranked:
        amount = board.amounts.get(entry.uid)
        if amount:
            computed.append(
                Computed("leaderboard", ALL, entry.uid, campaign.leaderboard_asset, amount, not window_due,
                         {"rank": entry.rank, "score": exact_decimal(entry.score), "content_score": entry.content_score,
                          "qualifying_posts": entry.qualifying_posts, "new_copiers": entry.new_copiers,
                          "copier_weight": str(campaign.copier_weight), "copier_pnl_usdt": str(entry.copier_pnl_usdt),
                          "pnl_weight": str(campaign.pnl_weight), "strategy": board.strategy,
                          "tier": format_money(tiers[entry.rank - 1]) if board.strategy == "tiers" else None})
            )  # fmt: skip
    summary["leaderboard"].update(
        ranked=len(ranked),
        paid_places=len(board.ranked),
        strategy=board.strategy,
        allocated=format_money(board.allocated),
        unallocated=format_money(board.unallocated),
        top=[{"rank": r.rank, "uid": r.uid, "score": exact_decimal(r.score)} for r in board.ranked],
    )
    return computed, summary


def _verdict_counts(campaign):
    from django.db.models import Count

    # count(*), not count(id): the id is not in post_verdict_time, and reading it meant every row.
    return Post.objects.filter(campaign=campaign).values_list("verdict").annotate(n=Count("*")).order_by("verdict")


def settle_campaign(*, campaign: Campaign, at: datetime | None = None, triggered_by: str = "", full_judge: bool = False) -> SettlementRun:
    """Settle everything due at `at` (default: now) and preview the rest, into the ledger.

    Verdicts are made current first: only the posts not judged since they changed, while the
    campaign's rules, enrolment data and reference texts are those of the last whole judging;
    every post otherwise, and always with `full_judge` (the scheduled settlements at each
    period's end + grace pass it, so money falls due on verdicts judged whole that moment).

    One transaction; the campaign row is locked first (SELECT ... FOR UPDATE), so two concurrent
    settlements (two workers, beat and a click) run one after the other and give one result.
    Idempotent: settling twice leaves the same ledger (only a second SettlementRun row). Amounts
    are exact to the cent (the rules floor and distribute cents; see rewards.rules.money).
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("settlement instant must be timezone-aware")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)  # duplicates_lock's lock
        run = SettlementRun.objects.create(campaign=campaign, at=at, triggered_by=triggered_by, config=campaign.rules_config())
        posts_qualify(campaign=campaign, full=full_judge)
        computed, summary = rewards_compute(campaign=campaign, at=at)
        summary["ledger"] = _ledger_write(campaign, run, computed)
        run.summary = summary
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "finished_at"])
        campaign_pages_changed(campaign_id=campaign.pk)
    return run


def _ledger_write(campaign: Campaign, run: SettlementRun, computed: list[Computed]) -> dict:
    trader_ids = dict(Trader.objects.filter(uid__in={c.uid for c in computed}).values_list("uid", "id"))
    existing = {
        (r.kind, r.period, r.trader_id): r
        for r in Reward.objects.select_for_update().filter(campaign=campaign).select_related("trader").order_by("pk")
    }
    created, updated, reviews = [], [], 0
    seen = set()
    for c in computed:
        key = (c.kind, c.period, trader_ids[c.uid])
        seen.add(key)
        reward = existing.get(key)
        if reward is None:
            created.append(Reward(campaign=campaign, kind=c.kind, period=c.period, trader_id=key[2], asset=c.asset, amount=c.amount,
                                  preview=c.preview, settlement_run=run, detail=c.detail))  # fmt: skip
        elif reward.state == Reward.State.CALCULATED:
            if (reward.asset, reward.amount, reward.preview, reward.detail) != (c.asset, c.amount, c.preview, c.detail):
                reward.asset, reward.amount, reward.preview, reward.detail, reward.settlement_run = c.asset, c.amount, c.preview, c.detail, run
                reward.updated_at = timezone.now()
                updated.append(reward)
        elif (reward.asset, reward.amount) != (c.asset, c.amount):
            reviews += _review(reward, run, c.amount, f"a settlement now computes {c.amount} {c.asset} for this {reward.state} reward")
    stale = [r for key, r in existing.items() if key not in seen]
    deleted = [r.pk for r in stale if r.state == Reward.State.CALCULATED]
    for reward in stale:
        if reward.state in (Reward.State.APPROVED, Reward.State.PAID):
            reviews += _review(reward, run, Decimal("0.00"), f"a settlement no longer gives this {reward.state} reward")
    Reward.objects.filter(pk__in=deleted).delete()
    Reward.objects.bulk_create(created, batch_size=1000)
    Reward.objects.bulk_update(updated, ["asset", "amount", "preview", "detail", "settlement_run", "updated_at"], batch_size=1000)
    return {"created": len(created), "updated": len(updated), "deleted": len(deleted), "review_items": reviews}


def _review(reward: Reward, run: SettlementRun, computed_amount: Decimal, reason: str) -> int:
    _, created = ReviewItem.objects.get_or_create(
        reward=reward,
        computed_amount=computed_amount,
        status=ReviewItem.Status.OPEN,
        defaults={"settlement_run": run, "stored_amount": reward.amount, "reason": reason},
    )
    return int(created)
