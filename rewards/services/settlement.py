"""Settlement: the rules of RULES.md sections 4 to 6 turned into ledger rows, exactly once.

`settle_campaign` makes every verdict current (`posts_qualify`), computes every reward with the
pure rules, and writes the ledger in one transaction under a per-campaign lock. Rows still
`calculated` are replaced; approved, paid and void rows never change, and a difference on one of
them becomes a ReviewItem. A reward whose period is not yet due (end + grace > at) is a preview.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from campaign.models import Campaign, Post
from campaign.page_cache import campaign_pages_changed
from campaign.services import campaign_lock, posts_qualify
from campaign.terms import leaderboard_pool_size
from core.database import values_binary
from rewards.models import Adjustment, ReviewComputation, ReviewItem, Reward, SettlementRun
from rewards.rules import QualifiedPost, TraderStats, first_post_awards, rank_traders, split_content_pool, split_leaderboard
from rewards.rules.money import format_money, quantize_money
from rewards.rules.review import ReviewAction, review_action
from rewards.rules.types import ALL
from traders.models import Trader
from traders.selectors import trading_stats_as_of

ZERO = Decimal("0.00")
FROZEN = (Reward.State.APPROVED, Reward.State.PAID, Reward.State.VOID)


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
    posts: list[QualifiedPost] | None = None,
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
    if posts is None:
        posts = qualified_posts(campaign)
    grace = campaign.grace
    window_due = at >= campaign.ends_at + grace
    first_post_due = window_due or (Reward.Kind.FIRST_POST, ALL) in already_due
    leaderboard_due = window_due or (Reward.Kind.LEADERBOARD, ALL) in already_due
    computed: list[Computed] = []
    summary = {
        "at": _iso(at),
        "qualified_posts": len(posts),
        "posts_by_verdict": dict(_verdict_counts(campaign) if verdict_counts is None else verdict_counts),
        "first_post": {"due": first_post_due},
        "content_pool": {},
        "leaderboard": {"due": leaderboard_due},
    }

    limit = campaign.first_post_limit
    awards = first_post_awards(posts, limit=limit)
    for uid, post in awards.items():
        computed.append(
            Computed(Reward.Kind.FIRST_POST, ALL, uid, campaign.first_post_asset, campaign.first_post_amount, not first_post_due,
                     {"post_id": post.post_id, "created_at": _iso(post.created_at), "score": post.score, "limit": limit})
        )  # fmt: skip
    summary["first_post"].update(
        traders=len(awards),
        limit=limit,
        left_out=len({p.uid for p in posts}) - len(awards),
        total=format_money(campaign.first_post_amount * len(awards)),
    )

    score_of = {p.post_id: p.score for p in posts}
    for period in campaign.content_periods():
        due = period.is_due(at, grace) or (Reward.Kind.CONTENT_POOL, period.code) in already_due
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
    for entry in board.ranked:
        amount = board.amounts.get(entry.uid)
        if amount:
            computed.append(
                Computed(Reward.Kind.LEADERBOARD, ALL, entry.uid, campaign.leaderboard_asset, amount, not leaderboard_due,
                         {"rank": entry.rank, "score": exact_decimal(entry.score), "content_score": entry.content_score,
                          "posts": counted[entry.uid],
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


def settle_campaign(
    *, campaign: Campaign, at: datetime | None = None, triggered_by: str = "", full_judge: bool = False, task_id: str | None = None
) -> SettlementRun:
    """Settle everything due at `at` (default: now) and preview the rest, into the ledger.

    Verdicts are made current first: only the posts not judged since they changed, while the
    campaign's rules, enrolment data and reference texts are those of the last whole judging;
    every post otherwise, and always with `full_judge` (the scheduled settlements at each
    period's end + grace pass it, so money falls due on verdicts judged whole that moment).

    One transaction; the campaign row is locked first (SELECT ... FOR UPDATE), so two concurrent
    settlements (two workers, beat and a click) run one after the other and give one result.
    Idempotent: settling twice leaves the same ledger (only a second SettlementRun row). Amounts
    are exact to the cent (the rules floor and distribute cents; see rewards.rules.money). Due is
    final: a pool an earlier settlement made due stays due whatever `at` is (`settled_due`).

    `task_id` is the id of the task running it. The run queued under it (`settlement_enqueue`)
    is the one settled, marked running at once and claimed under the lock; without one, a new
    run records the id (the beat's tasks). A delivery of a task whose run is already finished
    settles nothing and returns that run; an attempt that raises marks its queued run failed,
    which a retry of the task may still finish.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("settlement instant must be timezone-aware")
    if task_id:
        # Outside the settlement's transaction, so whoever follows the run sees it start.
        SettlementRun.objects.filter(task_id=task_id, state__in=[SettlementRun.State.QUEUED, SettlementRun.State.FAILED]).update(
            state=SettlementRun.State.RUNNING, started_at=timezone.now()
        )
    try:
        return _settle(campaign, at=at, triggered_by=triggered_by, full_judge=full_judge, task_id=task_id)
    except Exception:
        if task_id:
            SettlementRun.objects.filter(task_id=task_id, finished_at__isnull=True).update(state=SettlementRun.State.FAILED)
        raise


def _settle(campaign: Campaign, *, at: datetime, triggered_by: str, full_judge: bool, task_id: str | None) -> SettlementRun:
    from rewards.budgets import pool_budgets_get

    with transaction.atomic():
        campaign = campaign_lock(campaign)
        already_due = settled_due(campaign)
        run, claimed = _run_claim(campaign, at=at, triggered_by=triggered_by, task_id=task_id)
        if not claimed:
            return run
        posts_qualify(campaign=campaign, full=full_judge)
        computed, summary = rewards_compute(campaign=campaign, at=at, already_due=already_due)
        summary["ledger"] = _ledger_write(campaign, run, computed)
        summary["budgets"] = [budget.as_json() for budget in pool_budgets_get(campaign=campaign)]
        run.summary, run.state, run.finished_at = summary, SettlementRun.State.FINISHED, timezone.now()
        run.save(update_fields=["summary", "state", "finished_at"])
        campaign_pages_changed(campaign_id=campaign.pk)
    return run


def _run_claim(campaign: Campaign, *, at: datetime, triggered_by: str, task_id: str | None) -> tuple[SettlementRun, bool]:
    """(the run this settlement writes, whether it is this attempt's to write). Called under the
    campaign lock, which every settlement of the campaign holds until it commits: a run of the
    task still unfinished here is no other worker's (a live one would hold the lock), so it is
    claimed; a finished one was settled by an earlier delivery of the same task."""
    values = {"state": SettlementRun.State.RUNNING, "at": at, "started_at": timezone.now(), "config": campaign.rules_config()}
    if task_id:
        mine = SettlementRun.objects.filter(campaign=campaign, task_id=task_id)
        claimed = mine.exclude(state=SettlementRun.State.FINISHED).update(**values)
        run = mine.first()
        if run is not None:
            return run, claimed == 1
    return SettlementRun.objects.create(campaign=campaign, task_id=task_id or None, triggered_by=triggered_by, **values), True


def settlement_enqueue(*, campaign: Campaign, at: datetime | None = None, by: str, full_judge: bool = False) -> SettlementRun:
    """Queue a settlement of `campaign` as of `at` (default: whenever it runs), asked for by `by`:
    the one way every door (the dashboard, the what-if apply, the API) settles in the background.

    Writes the run at once, queued, under a new task id, and sends `settle_campaign_task` with
    that id once the caller's transaction commits, so a worker never looks for rows that are not
    committed, and a rolled-back request leaves neither a run nor a task. The worker settles that
    very run (`settle_campaign` with the task id), so the caller can follow it by its `task_id`.
    """
    from rewards.tasks import settle_campaign_task

    if at is not None and timezone.is_naive(at):
        raise ValueError("settlement instant must be timezone-aware")
    task_id = str(uuid.uuid4())
    run = SettlementRun.objects.create(
        campaign=campaign, at=at or timezone.now(), state=SettlementRun.State.QUEUED, task_id=task_id, triggered_by=by[:150]
    )
    args = [campaign.pk, at.isoformat() if at is not None else None]
    kwargs = {"triggered_by": run.triggered_by, "full_judge": full_judge}
    transaction.on_commit(lambda: settle_campaign_task.apply_async(args=args, kwargs=kwargs, task_id=task_id))
    return run


class Change(StrEnum):
    """What a settlement does to one ledger key (campaign, kind, period, trader)."""

    NONE = "none"
    CREATE = "create"  # a new calculated reward
    CHANGE = "change"  # a calculated reward takes another amount (or asset)
    DUE = "due"  # a calculated preview becomes payable, its amount unchanged
    REFRESH = "refresh"  # only the explanation moves (a calculated reward's, or an approved one's)
    REMOVE = "remove"  # a calculated reward the rules no longer give is deleted
    REVIEW_OPEN = "review_open"  # an approved, paid or void reward gets a review item
    REVIEW_UPDATE = "review_update"  # its open item gets another computed amount
    REVIEW_WITHDRAW = "review_withdraw"  # its open item is withdrawn: the difference is gone


REVIEW_CHANGES = {ReviewAction.OPEN: Change.REVIEW_OPEN, ReviewAction.UPDATE: Change.REVIEW_UPDATE, ReviewAction.WITHDRAW: Change.REVIEW_WITHDRAW}


@dataclass
class Planned:
    """One ledger key as a settlement would leave it. `reward` is the stored row (None for a new
    one); `computed` what the rules give now (None: nothing); `amount` the computed amount in the
    reward's asset (0.00 when nothing is computed in it); `held` what the trader holds (a paid
    reward's amount plus its adjustments); `item` the reward's open review item."""

    change: Change
    kind: str
    period: str
    uid: int
    computed: Computed | None
    reward: Reward | None = None
    item: ReviewItem | None = None
    held: Decimal | None = None
    amount: Decimal = ZERO
    preview: bool = False
    item_explained: bool = False  # the (still) open item takes the new computation's explanation
    reward_explained: bool = False  # the approved reward takes it (same amount, no item left open)


def ledger_plan(*, campaign: Campaign, computed: list[Computed], lock: bool = False) -> list[Planned]:
    """What writing `computed` does to the campaign's ledger, key by key: the one reading of
    RULES.md section 8 that `settle_campaign` applies and the dashboard's preview shows.

    `calculated` rows are created, changed or removed (a due row never goes back to a preview);
    approved, paid and void rows never change, and `rewards.rules.review` says what happens to
    their one review item. Reads only; with `lock` the rewards and open items are locked in
    primary-key order (the caller holds the campaign lock and writes the plan).
    """
    rewards = Reward.objects.filter(campaign=campaign).select_related("trader").order_by("pk")
    # By campaign rather than by the rewards' ids: a campaign has few items and adjustments, and
    # thousands of approved rewards would make thousands of query parameters.
    items = ReviewItem.objects.filter(reward__campaign_id=campaign.pk)
    open_items = items.filter(status=ReviewItem.Status.OPEN).order_by("pk")
    if lock:
        rewards, open_items = rewards.select_for_update(), open_items.select_for_update(of=("self",))
    existing = {(r.kind, r.period, r.trader.uid): r for r in rewards}
    open_by_reward = {item.reward_id: item for item in open_items}
    adjusted: dict[int, Decimal] = {}
    for reward_id, amount in Adjustment.objects.filter(campaign_id=campaign.pk).values_list("reward_id", "amount"):
        adjusted[reward_id] = adjusted.get(reward_id, ZERO) + amount
    last_kept: dict[int, Decimal] = {}
    for reward_id, amount in items.filter(resolution=ReviewItem.Resolution.KEEP).order_by("reward_id", "-resolved_at", "-id").values_list("reward_id", "computed_amount"):
        last_kept.setdefault(reward_id, amount)
    given = {(c.kind, c.period, c.uid): c for c in computed}
    plan = []
    for key in [*given, *(key for key in existing if key not in given)]:
        c, reward = given.get(key), existing.get(key)
        if reward is None:
            plan.append(Planned(Change.CREATE, *key, c, amount=c.amount, preview=c.preview))
        elif reward.state == Reward.State.CALCULATED:
            if c is None:
                plan.append(Planned(Change.REMOVE, *key, None, reward))
                continue
            preview = c.preview and reward.preview  # due is final, row by row too
            change = (
                Change.CHANGE if (c.asset, c.amount) != (reward.asset, reward.amount)
                else Change.DUE if preview != reward.preview
                else Change.REFRESH if c.detail != reward.detail
                else Change.NONE
            )  # fmt: skip
            plan.append(Planned(change, *key, c, reward, amount=c.amount, preview=preview))
        else:
            held = reward.amount + adjusted.get(reward.pk, ZERO)
            amount, detail = (c.amount, c.detail) if c is not None and c.asset == reward.asset else (ZERO, {})
            item = open_by_reward.get(reward.pk)
            action = review_action(held=held, computed=amount, open_computed=item and item.computed_amount, last_kept=last_kept.get(reward.pk),
                                   void=reward.state == Reward.State.VOID)  # fmt: skip
            still_open = action in (ReviewAction.OPEN, ReviewAction.UPDATE) or (action == ReviewAction.NONE and item is not None)
            # The open item carries the new computation's explanation, whatever its amount does.
            item_explained = still_open and action != ReviewAction.OPEN and item.computed_detail != detail
            # An approved reward the settlement gives the same amount again takes that
            # computation's explanation, so what a trader reads never contradicts the verdicts
            # behind the money; a paid reward's stays as it was paid.
            reward_explained = (
                not still_open and reward.state == Reward.State.APPROVED and c is not None and c.amount == reward.amount and reward.detail != c.detail
            )
            plan.append(Planned(REVIEW_CHANGES.get(action, Change.NONE), *key, c, reward, item, held, amount, reward.preview, item_explained, reward_explained))
    return plan


def _ledger_write(campaign: Campaign, run: SettlementRun, computed: list[Computed]) -> dict:
    """Write one settlement's `ledger_plan`: calculated rows created, replaced or deleted; review
    items opened, given the new amount (every amount stays in its computations) or withdrawn."""
    plan = ledger_plan(campaign=campaign, computed=computed, lock=True)
    trader_ids = dict(Trader.objects.filter(uid__in={p.uid for p in plan if p.reward is None}).values_list("uid", "id"))
    now = timezone.now()
    created, updated, deleted = [], [], []
    opened, changed, withdrawn, history = [], [], [], []
    for p in plan:
        reward, c, item = p.reward, p.computed, p.item
        if p.change == Change.CREATE:
            created.append(Reward(campaign=campaign, kind=c.kind, period=c.period, trader_id=trader_ids[c.uid], asset=c.asset, amount=c.amount,
                                  preview=c.preview, settlement_run=run, detail=c.detail))  # fmt: skip
        elif p.change in (Change.CHANGE, Change.DUE, Change.REFRESH) and reward.state == Reward.State.CALCULATED:
            reward.asset, reward.amount, reward.preview, reward.detail, reward.settlement_run, reward.updated_at = c.asset, c.amount, p.preview, c.detail, run, now
            updated.append(reward)
        elif p.change == Change.REMOVE:
            deleted.append(reward.pk)
        elif p.change == Change.REVIEW_OPEN:
            what = f"now computes {p.amount} {reward.asset}" if c is not None else "no longer gives this reward"
            opened.append(ReviewItem(reward=reward, settlement_run=run, stored_amount=p.held, computed_amount=p.amount, computed_detail=c.detail if c and c.asset == reward.asset else {},
                                     reason=f"settlement #{run.pk} {what}; the {reward.get_state_display()} reward holds {p.held}"))  # fmt: skip
        elif p.change == Change.REVIEW_WITHDRAW:
            item.status, item.resolution, item.resolved_at, item.resolved_by = ReviewItem.Status.RESOLVED, ReviewItem.Resolution.WITHDRAWN, now, f"settlement #{run.pk}"
            item.resolution_note, item.updated_at = f"settlement #{run.pk} computes {p.amount} {reward.asset}, what the reward holds", now
            withdrawn.append(item)
        if p.change == Change.REVIEW_UPDATE or p.item_explained:
            if item.computed_amount != p.amount:
                history.append(ReviewComputation(item=item, settlement_run=run, computed_amount=p.amount))
            detail = c.detail if c is not None and c.asset == reward.asset else {}
            item.computed_amount, item.computed_detail, item.stored_amount, item.settlement_run, item.updated_at = p.amount, detail, p.held, run, now
            changed.append(item)
        if p.reward_explained:
            reward.detail, reward.settlement_run, reward.updated_at = c.detail, run, now
            updated.append(reward)
    Reward.objects.filter(pk__in=deleted).delete()
    Reward.objects.bulk_create(created, batch_size=1000)
    Reward.objects.bulk_update(updated, ["asset", "amount", "preview", "detail", "settlement_run", "updated_at"], batch_size=1000)
    ReviewItem.objects.bulk_update(withdrawn, ["status", "resolution", "resolved_at", "resolved_by", "resolution_note", "updated_at"])
    ReviewItem.objects.bulk_update(changed, ["computed_amount", "computed_detail", "stored_amount", "settlement_run", "updated_at"])
    ReviewItem.objects.bulk_create(opened)
    history += [ReviewComputation(item=item, settlement_run=run, computed_amount=item.computed_amount) for item in opened]
    ReviewComputation.objects.bulk_create(history)
    return {
        "created": len(created),
        "updated": len(updated),
        "deleted": len(deleted),
        "review_items": len(opened),
        "review_items_updated": len(changed),
        "review_items_withdrawn": len(withdrawn),
    }
