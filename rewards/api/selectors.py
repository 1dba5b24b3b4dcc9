"""Reads for the rewards API. The status page's reads live in rewards.selectors.status (its owner's);
these are the API's own lists and the public leaderboard."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from campaign.models import Campaign
from rewards.models import Adjustment, PayoutReport, ReviewComputation, ReviewItem, Reward, SettlementRun
from rewards.selectors.board import latest_settlement
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


@dataclass(frozen=True)
class SettlementPointer:
    task_id: str
    state: str  # SettlementRun.State: queued, running, finished, failed
    run: SettlementRun | None  # once it has finished

    @classmethod
    def of(cls, run: SettlementRun) -> "SettlementPointer":
        return cls(run.task_id, run.state, run if run.state == SettlementRun.State.FINISHED else None)


def settlement_get(*, task_id: str) -> SettlementPointer | None:
    """Where the settlement queued under `task_id` has got to, as its run's row says; None for an
    id no settlement was queued under."""
    run = settlement_runs_list().filter(task_id=task_id).first()
    return None if run is None else SettlementPointer.of(run)


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
