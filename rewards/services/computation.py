"""What the rules give: every reward of a campaign computed from its qualifying posts (RULES.md
sections 4 to 6), with the explanation of each amount and a summary of the money left unallocated.

Reads only. `settle_campaign` writes what `rewards_compute` returns into the ledger; the what-if
preview and the dashboard compute through it too, so there is one computation of the money.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction

from campaign.models import Campaign, Post
from campaign.terms import leaderboard_pool_size
from core.database import values_binary
from rewards.models import Reward, SettlementRun
from rewards.rules import QualifiedPost, TraderStats, first_post_awards, rank_traders, split_content_pool, split_leaderboard
from rewards.rules.money import format_money, quantize_money
from rewards.rules.types import ALL, unique_posts
from traders.models import Trader
from traders.selectors import trading_stats_as_of


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


def settled_due(campaign: Campaign) -> frozenset[tuple[str, str]]:
    """The pools, by (kind, period), that an earlier settlement already made due.

    Due is final (RULES.md section 8): a later settlement at an earlier instant (a look at the
    past) never turns them back into previews. Each settlement records its pools' due flags in
    its summary, carrying the earlier ones forward, so the latest finished run says it; a pool
    that holds a reward which is not a preview is due too (rows settled before runs said so).
    """
    due = set(Reward.objects.filter(campaign=campaign, preview=False).values_list("kind", "period").distinct().order_by())
    run = (
        SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False)
        .order_by("-started_at", "-id")
        .values("summary__first_post__due", "summary__leaderboard__due", "summary__content_pool")
        .first()
    )
    if run is not None:
        if run["summary__first_post__due"]:
            due.add((Reward.Kind.FIRST_POST, ALL))
        if run["summary__leaderboard__due"]:
            due.add((Reward.Kind.LEADERBOARD, ALL))
        due |= {(Reward.Kind.CONTENT_POOL, code) for code, pool in (run["summary__content_pool"] or {}).items() if pool.get("due")}
    return frozenset(due)


def rewards_compute(
    *,
    campaign: Campaign,
    at: datetime,
    posts: Sequence[QualifiedPost] | None = None,
    verdict_counts: dict | None = None,
    already_due: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[list[Computed], dict]:
    """Every reward the rules give now, and a JSON summary of inputs and unallocated money.

    Reads only: it never writes the ledger (the what-if preview and `settle_campaign` share it).
    By default the posts are the stored verdicts (judge them first with `posts_qualify`); the
    what-if preview passes `posts` and `verdict_counts` judged in memory under an unsaved copy of
    the campaign, exclusions already applied, so both go through this one computation. A pool is
    due when `at` is past its end plus grace, or when it is in `already_due` (`settled_due`).
    """
    # Checked for repeated post ids once here; every rule is given these same checked posts.
    posts = unique_posts(qualified_posts(campaign) if posts is None else posts)
    window_due = at >= campaign.ends_at + campaign.grace
    first_post_due = window_due or (Reward.Kind.FIRST_POST, ALL) in already_due
    leaderboard_due = window_due or (Reward.Kind.LEADERBOARD, ALL) in already_due
    summary = {
        "at": _iso(at),
        "qualified_posts": len(posts),
        "posts_by_verdict": dict(_verdict_counts(campaign) if verdict_counts is None else verdict_counts),
        "first_post": {"due": first_post_due},
        "content_pool": {},
        "leaderboard": {"due": leaderboard_due},
    }
    first_post, summary_first_post = _first_post_rewards(campaign, posts, due=first_post_due)
    summary["first_post"].update(summary_first_post)
    content_pool, summary["content_pool"] = _content_pool_rewards(campaign, posts, at=at, already_due=already_due)
    leaderboard, summary_leaderboard = _leaderboard_rewards(campaign, posts, due=leaderboard_due)
    summary["leaderboard"].update(summary_leaderboard)
    return [*first_post, *content_pool, *leaderboard], summary


def _verdict_counts(campaign):
    from django.db.models import Count

    # count(*), not count(id): the id is not in post_verdict_time, and reading it meant every row.
    return Post.objects.filter(campaign=campaign).values_list("verdict").annotate(n=Count("*")).order_by("verdict")


def _first_post_rewards(campaign: Campaign, posts: list[QualifiedPost], *, due: bool) -> tuple[list[Computed], dict]:
    """The first-post rewards (RULES.md section 4), and their part of the summary."""
    limit = campaign.first_post_limit
    awards = first_post_awards(posts, limit=limit)
    computed = [
        Computed(Reward.Kind.FIRST_POST, ALL, uid, campaign.first_post_asset, campaign.first_post_amount, not due,
                 {"post_id": post.post_id, "created_at": _iso(post.created_at), "score": post.score, "limit": limit})
        for uid, post in awards.items()
    ]  # fmt: skip
    summary = {
        "traders": len(awards),
        "limit": limit,
        "left_out": len({p.uid for p in posts}) - len(awards),
        "total": format_money(campaign.first_post_amount * len(awards)),
    }
    return computed, summary


def _content_pool_rewards(
    campaign: Campaign, posts: list[QualifiedPost], *, at: datetime, already_due: frozenset[tuple[str, str]]
) -> tuple[list[Computed], dict]:
    """The content pool rewards of every period (RULES.md section 5), and the summary of each
    period's pool by its code."""
    computed: list[Computed] = []
    summary = {}
    score_of = {p.post_id: p.score for p in posts}
    for period in campaign.content_periods():
        due = period.is_due(at, campaign.grace) or (Reward.Kind.CONTENT_POOL, period.code) in already_due
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
                Computed(Reward.Kind.CONTENT_POOL, period.code, uid, campaign.pool_asset, amount, not due,
                         {"creator_score": creator.score, "posts": [{"post_id": p, "score": score_of[p]} for p in creator.post_ids],
                          "eligible_score_total": eligible_total, "pool": format_money(campaign.pool_amount),
                          "cap": format_money(campaign.pool_cap), "capped": uid in split.capped,
                          "exact_share": str(split.exact[uid]), "floored": format_money(floored),
                          "rounding_cent": format_money(amount - floored)})
            )  # fmt: skip
        summary[period.code] = {
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
    return computed, summary


def _leaderboard_rewards(campaign: Campaign, posts: list[QualifiedPost], *, due: bool) -> tuple[list[Computed], dict]:
    """The leaderboard rewards (RULES.md section 6), and their part of the summary."""
    in_window = posts  # a qualified post is always inside the window
    stats = {
        uid: TraderStats(new_copiers=copiers, copier_pnl_usdt=pnl)
        for uid, (copiers, pnl) in trading_stats_as_of(uids={p.uid for p in in_window}, at=campaign.ends_at).items()
    }
    ranked = rank_traders(in_window, stats, min_posts=campaign.leaderboard_min_posts, copier_weight=campaign.copier_weight, pnl_weight=campaign.pnl_weight)
    tiers = [Decimal(str(t)) for t in campaign.leaderboard_tiers]
    pool = leaderboard_pool_size(strategy=campaign.leaderboard_strategy, tiers=campaign.leaderboard_tiers, pool=campaign.leaderboard_pool)
    board = split_leaderboard(ranked, strategy=campaign.leaderboard_strategy, tiers=tiers, pool=pool)
    paid_places = {entry.uid for entry in board.ranked if board.amounts.get(entry.uid)}
    # The posts behind each paid place's content score, stored with its amount: the explanation
    # of a frozen reward must not be rebuilt from verdicts that moved on since.
    theirs = {uid: [] for uid in paid_places}
    for post in in_window:
        if post.uid in theirs:
            theirs[post.uid].append(post)
    counted = {uid: [{"post_id": p.post_id, "score": p.score} for p in sorted(posts, key=lambda p: p.order_key)] for uid, posts in theirs.items()}
    computed = []
    for entry in board.ranked:
        amount = board.amounts.get(entry.uid)
        if amount:
            computed.append(
                Computed(Reward.Kind.LEADERBOARD, ALL, entry.uid, campaign.leaderboard_asset, amount, not due,
                         {"rank": entry.rank, "score": exact_decimal(entry.score), "content_score": entry.content_score,
                          "posts": counted[entry.uid],
                          "qualifying_posts": entry.qualifying_posts, "new_copiers": entry.new_copiers,
                          "copier_weight": str(campaign.copier_weight), "copier_pnl_usdt": str(entry.copier_pnl_usdt),
                          "pnl_weight": str(campaign.pnl_weight), "strategy": board.strategy,
                          "tier": format_money(tiers[entry.rank - 1]) if board.strategy == "tiers" else None})
            )  # fmt: skip
    summary = {
        "ranked": len(ranked),
        "paid_places": len(board.ranked),
        "strategy": board.strategy,
        "allocated": format_money(board.allocated),
        "unallocated": format_money(board.unallocated),
        "top": [{"rank": r.rank, "uid": r.uid, "score": exact_decimal(r.score)} for r in board.ranked],
    }
    return computed, summary
