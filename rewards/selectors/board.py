"""What both pages read of a campaign's settlements and calendar: the window's phase, the latest
settlement, its leaderboard (the Top 10 as settled, never computed again) and the weeks by code."""

from dataclasses import dataclass
from datetime import datetime

from campaign.models import Campaign
from campaign.periods import Period
from rewards.models import SettlementRun


def window_phase(campaign: Campaign, now: datetime) -> str:
    if now < campaign.starts_at:
        return "upcoming"
    return "open" if now < campaign.ends_at else "closed"


def latest_settlement(campaign: Campaign) -> SettlementRun | None:
    return SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False).only("at", "summary", "campaign_id").order_by("-started_at", "-id").first()


@dataclass(frozen=True)
class Board:
    """The leaderboard part of the latest settlement's summary: when, whether final, the paid places."""

    at: datetime
    due: bool
    top: list[dict]


def latest_board(campaign: Campaign) -> Board | None:
    """The leaderboard of the latest finished settlement, in one query that reads only its keys.

    The summary also holds every period's figures and the ledger counts; the pages need the Top 10
    alone, so the JSON is cut down in the database rather than shipped whole on every request.
    """
    row = (
        SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False)
        .order_by("-started_at", "-id")
        .values("at", "summary__leaderboard__due", "summary__leaderboard__top")
        .first()
    )
    if row is None:
        return None
    return Board(at=row["at"], due=bool(row["summary__leaderboard__due"]), top=row["summary__leaderboard__top"] or [])


def weeks_by_code(campaign: Campaign) -> dict[str, Period]:
    return {week.code: week for week in campaign.weeks()}
