"""Trader status links: who has one, handing them out (one by UID, or every one as a file), and
rotating them (which kills every older link).

The link itself is a signed token built by `rewards.selectors.links.status_link_token`; only its
rotation counter is stored, so nothing secret sits in the database.

Every trader the campaign knows has a link: the doors that hand links out (the ops API, the
export, the admin's "create links" button) create the missing ones first, so a trader who arrived
by any import since has one by the time anyone asks. Creating is idempotent and safe at once: the
unique key (campaign, trader) keeps one row whoever gets there first.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from campaign.models import Campaign, Post, Signup
from campaign.page_cache import campaign_pages_changed
from core.parsing import MAX_UID
from core.spreadsheets import XLSX_TYPE, safe_cell, table_csv, table_xlsx
from rewards.models import Reward, StatusLink
from rewards.selectors.ledger import REPORT_FORMATS, ReportFile
from rewards.selectors.links import status_link_url
from traders.models import LeadTraderRegistration, Trader

EXPORT_HEADER = ("uid", "nickname", "url", "created")


def _known_traders(*, campaign: Campaign) -> QuerySet:
    """Every trader the campaign knows: a lead-trader registration, a sign-up, a post or a reward.

    A registration belongs to no campaign (RULES.md section 2), so a registered trader is known to
    each: that is the trader who most needs the link, to see which step is left.
    """
    return Trader.objects.filter(
        Q(pk__in=LeadTraderRegistration.objects.values("trader"))
        | Q(pk__in=Signup.objects.filter(campaign=campaign).values("trader"))
        | Q(pk__in=Post.objects.filter(campaign=campaign).values("author"))
        | Q(pk__in=Reward.objects.filter(campaign=campaign).values("trader"))
    )


def status_links_ensure(*, campaign: Campaign) -> int:
    """Give every trader the campaign knows (a registration, a sign-up, a post or a reward) a
    status link row.

    Idempotent: an existing row (and so its version) is never touched. Returns how many were
    created.
    """
    have = StatusLink.objects.filter(campaign=campaign).values("trader")
    missing = [StatusLink(campaign=campaign, trader_id=pk) for pk in _known_traders(campaign=campaign).exclude(pk__in=have).values_list("pk", flat=True)]
    # ignore_conflicts: a concurrent ensure may create the same rows; the unique key keeps one.
    StatusLink.objects.bulk_create(missing, batch_size=1000, ignore_conflicts=True)
    return len(missing)


def status_link_get_or_create(*, campaign: Campaign, trader: Trader) -> StatusLink:
    """The trader's status link row for the campaign, created at version 1 when missing."""
    link, _ = StatusLink.objects.get_or_create(campaign=campaign, trader=trader)
    return link


def status_link_ensure(*, campaign: Campaign, uid: int) -> StatusLink | None:
    """The status link of the trader with this UID, created at version 1 when the campaign knows
    the trader and it has none yet; None for a UID the campaign does not know (a link made by hand
    in the admin counts as known).

    Idempotent; two calls at once get the same row (`get_or_create` on the unique key).
    """
    if not 1 <= uid <= MAX_UID:  # no UID can be out there; and SQLite cannot even compare it
        return None
    link = StatusLink.objects.select_related("campaign", "trader").filter(campaign=campaign, trader__uid=uid).first()
    if link is not None:
        return link
    trader = _known_traders(campaign=campaign).filter(uid=uid).first()
    return None if trader is None else status_link_get_or_create(campaign=campaign, trader=trader)


@dataclass(frozen=True)
class StatusLinkRow:
    uid: int
    nickname: str
    url: str
    created: str  # UTC+8, with its offset


def status_links_export(*, campaign: Campaign, fmt: str) -> ReportFile:
    """Every status link of the campaign as a CSV or XLSX file for the messaging team, one row per
    trader by UID: uid, nickname, the link (no language in it: the page follows the trader's
    browser) and when the link was created.

    Ensures the links first, so every trader the campaign knows is in the file. Each link is
    signed now, so it stays valid for STATUS_LINK_MAX_AGE_DAYS from the export. A nickname is a
    trader's own text: in the CSV a formula-like one gets a leading `'`, in the XLSX it is a
    string cell, never a formula.
    """
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"an export is csv or xlsx, not {fmt!r}")
    status_links_ensure(campaign=campaign)
    links = StatusLink.objects.filter(campaign=campaign).select_related("campaign", "trader").order_by("trader__uid")
    rows = [
        StatusLinkRow(link.trader.uid, link.trader.nickname, status_link_url(link), timezone.localtime(link.created_at).isoformat(timespec="seconds"))
        for link in links.iterator(chunk_size=2000)
    ]
    name = f"{campaign.slug}-status-links-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
    if fmt == "csv":
        text = table_csv(EXPORT_HEADER, ([r.uid, safe_cell(r.nickname), r.url, r.created] for r in rows))
        return ReportFile(name=name, content=text.encode("utf-8"), content_type="text/csv; charset=utf-8")
    lines = ([r.uid, r.nickname, r.url, r.created] for r in rows)
    content = table_xlsx(EXPORT_HEADER, lines, title=f"{campaign.slug} links", text_columns={2, 3, 4}, money_columns=set(), widths=(12, 24, 100, 26))
    return ReportFile(name=name, content=content, content_type=XLSX_TYPE)


@transaction.atomic
def status_links_rotate(*, link_ids, by: str) -> int:
    """Increment the version of each link, so every link signed before stops working.

    One conditional UPDATE (`version = version + 1`): two rotations at once both count, and none
    is lost. Returns how many links were rotated.
    """
    links = StatusLink.objects.filter(pk__in=list(link_ids))
    campaigns = set(links.values_list("campaign_id", flat=True))
    rotated = links.update(version=F("version") + 1, rotated_at=timezone.now(), rotated_by=by)
    for campaign_id in campaigns:  # cached status pages are keyed by the version: none survives
        campaign_pages_changed(campaign_id=campaign_id)
    return rotated
