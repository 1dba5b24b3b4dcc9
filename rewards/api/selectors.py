"""Reads for the rewards API. The status page's reads live in rewards.selectors (its owner's);
these are the API's own lists and the public leaderboard."""

from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet

from campaign.models import Campaign
from rewards.models import Adjustment, PayoutReport, ReviewComputation, ReviewItem, Reward, SettlementRun
from rewards.selectors import latest_settlement
from traders.models import Trader


OPEN_REVIEW = "open_review_items"
ADJUSTMENTS = "adjustment_rows"


def rewards_list() -> QuerySet[Reward]:
    """The ledger with, for each page, the open review item (at most one) and the adjustments of
    each reward in two more queries, under `OPEN_REVIEW` and `ADJUSTMENTS`."""
    return (
        Reward.objects.select_related("campaign", "trader", "payout_batch")
        .prefetch_related(
            Prefetch(
                "review_items",
                queryset=ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).select_related("settlement_run"),
                to_attr=OPEN_REVIEW,
            ),
            Prefetch("adjustments", queryset=Adjustment.objects.only("pk", "reward_id", "amount"), to_attr=ADJUSTMENTS),
        )
        .order_by("pk")
    )


def review_items_list() -> QuerySet[ReviewItem]:
    """Review items with their reward and every amount they were given, in three queries a page."""
    return (
        ReviewItem.objects.select_related("reward__campaign", "reward__trader", "settlement_run")
        .prefetch_related(Prefetch("computations", queryset=ReviewComputation.objects.select_related("settlement_run").order_by("pk")))
        .order_by("pk")
    )


def adjustments_list() -> QuerySet[Adjustment]:
    return Adjustment.objects.select_related("campaign", "trader", "reward").order_by("pk")


def settlement_runs_list() -> QuerySet[SettlementRun]:
    return SettlementRun.objects.select_related("campaign").order_by("-started_at", "-id")


def payout_reports_list() -> QuerySet[PayoutReport]:
    return PayoutReport.objects.select_related("campaign").order_by("-created_at", "-id")


def task_marker(task_id: str) -> str:
    """How a settlement started through the API is recognised in SettlementRun.triggered_by."""
    return f"[{task_id}]"


def enqueued_key(task_id: str) -> str:
    """The cache key that says a settlement was enqueued under this task id (rewards.api.services)."""
    return f"api:settlement-enqueued:{task_id}"


def enqueued_lifetime() -> float | None:
    """How long the enqueued mark lives, in seconds: as long as the task's result does, since
    after that the result backend could not say how the task went either (None: for ever)."""
    from rewards.tasks import settle_campaign_task

    expires = settle_campaign_task.app.conf.result_expires
    return expires.total_seconds() if isinstance(expires, timedelta) else expires


@dataclass(frozen=True)
class SettlementPointer:
    task_id: str
    state: str  # queued, finished, failed
    run: SettlementRun | None


def settlement_get(*, task_id: str) -> SettlementPointer | None:
    """Where a settlement the API enqueued has got to: its run once one exists, else the task's
    state in the result backend; None for an id no settlement was enqueued under (or one whose
    mark and result have both expired without a run)."""
    from rewards.tasks import settle_campaign_task

    # Eager tasks store no result, so none is read (the run exists as soon as the request that
    # enqueued the task ended). The state is read before the run: a task stores SUCCESS after its
    # run committed, so SUCCESS with no run below means the task made none (its campaign was
    # deleted meanwhile).
    eager = settle_campaign_task.app.conf.task_always_eager
    state = None if eager else settle_campaign_task.AsyncResult(task_id).state
    run = settlement_runs_list().filter(triggered_by__endswith=task_marker(task_id)).first()
    if run is not None:
        return SettlementPointer(task_id, "finished", run)
    if cache.get(enqueued_key(task_id)) is None:
        return None
    return SettlementPointer(task_id, "failed" if state in {"FAILURE", "REVOKED", "SUCCESS"} else "queued", None)


@dataclass(frozen=True)
class LeaderboardEntry:
    rank: int
    nickname: str
    score: str


@dataclass(frozen=True)
class Leaderboard:
    campaign: Campaign
    run: SettlementRun | None
    final: bool
    entries: list[LeaderboardEntry]


def leaderboard_get(*, campaign: Campaign) -> Leaderboard:
    """The Top 10 of the latest settlement, as ranked then, with today's nicknames.

    Public data only, like the public campaign page: rank, nickname, score; no UID, no contact.
    `final` is false while the leaderboard is not yet due (the run was a preview for it).
    """
    run = latest_settlement(campaign)
    board = run.summary.get("leaderboard", {}) if run else {}
    top = board.get("top", [])
    nicknames = dict(Trader.objects.filter(uid__in=[row["uid"] for row in top]).values_list("uid", "nickname")) if top else {}
    entries = [LeaderboardEntry(rank=row["rank"], nickname=nicknames.get(row["uid"], ""), score=row["score"]) for row in top]
    return Leaderboard(campaign=campaign, run=run, final=bool(board.get("due")), entries=entries)
