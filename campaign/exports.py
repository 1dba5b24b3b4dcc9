"""The campaign's lists as ops read them, and as files they take to a spreadsheet (issue 18): the
posts list as filtered and searched in the admin, and the enrolment list by reason and search.

The files are what the pages show, in the reader's language: labels rather than codes, instants in
UTC+8 as `core.screen_time` writes them. They are written by `core.spreadsheets`, so no nickname or
post text ever runs as a formula. Rows are read with `values_list(...).iterator()`: no model
object is built, and the CSV goes out as it is read.
"""

from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign, Post
from campaign.selectors import enrolment_map
from core.screen_time import screen_time
from core.spreadsheets import NUMBER, TEXT, Column, SpreadsheetFile, table_export
from traders.models import Trader

# The reasons of campaign.enrolment in words: the enrolment page, its export, the admin badges and
# the ops dashboard all say them so.
ENROLMENT_LABELS = {
    "enrolled": _("enrolled"),
    "no_registration": _("no lead-trader registration"),
    "registration_pending": _("registration pending"),
    "registration_rejected": _("registration rejected"),
    "registration_revoked": _("registration revoked"),
    "spot_market": _("registered for spot, not futures"),
    "no_signup": _("no campaign sign-up"),
    "signup_outside_window": _("sign-up outside the window"),
}
# Nicknames are looked up this many UIDs at a time: SQLite refuses a query with more than 32,766
# parameters, and a campaign can know more traders than that.
UID_BATCH = 10_000
CHUNK = 2000


def _stamp() -> str:
    return f"{timezone.localtime():%Y%m%d-%H%M%S}"


def _yes_no() -> dict[bool, str]:
    return {True: str(_("yes")), False: str(_("no"))}


POST_FIELDS = ("campaign__slug", "post_id", "author__uid", "author__nickname", "created_at", "verdict", "score", "moderation",
               "likes", "comments", "shares", "views", "deleted", "text")  # fmt: skip


def _post_columns() -> list[Column]:
    field = Post._meta.get_field
    return [
        Column(_("campaign"), TEXT, 20),
        Column(field("post_id").verbose_name, TEXT, 20),
        Column(_("trader UID"), NUMBER, 12),
        Column(Trader._meta.get_field("nickname").verbose_name, TEXT, 20),
        Column(field("created_at").verbose_name, TEXT, 24),
        Column(field("verdict").verbose_name, TEXT, 24),
        Column(field("score").verbose_name, NUMBER, 8),
        Column(field("moderation").verbose_name, TEXT, 14),
        *(Column(field(name).verbose_name, NUMBER, 9) for name in ("likes", "comments", "shares", "views")),
        Column(field("deleted").verbose_name, TEXT, 8),
        Column(field("text").verbose_name, TEXT, 80),
    ]


def posts_export(*, posts: QuerySet, fmt: str) -> SpreadsheetFile:
    """The posts of `posts` (the admin list's query, with its filters, search and order) as a CSV
    or XLSX file: campaign, post ID, author UID and nickname, created (UTC+8), verdict and
    moderation in words, score, engagement, deleted, and the whole text.

    Labels are taken in the language active now, before the rows are read, so a CSV streamed
    after the request still speaks the reader's language.
    """
    verdicts = {code: str(label) for code, label in Post.Verdict.choices}
    moderations = {code: str(label) for code, label in Post.Moderation.choices}
    yes_no = _yes_no()

    def line(values):
        slug, post_id, uid, nickname, created, verdict, score, moderation, likes, comments, shares, views, deleted, text = values
        return [slug, post_id, uid, nickname, screen_time(created, seconds=True), verdicts.get(verdict, verdict), score,
                moderations.get(moderation, moderation), likes, comments, shares, views, yes_no[deleted], text]  # fmt: skip

    rows = (line(values) for values in posts.values_list(*POST_FIELDS).iterator(chunk_size=CHUNK))
    return table_export(fmt=fmt, name=f"posts-{_stamp()}", title="Posts", columns=_post_columns(), rows=rows)


@dataclass(frozen=True)
class EnrolmentList:
    rows: list[tuple[int, str, str]]  # (UID, nickname, reason code) of the traders listed, by UID
    counts: Counter  # every trader the campaign knows, per reason (the filter's figures)


def enrolment_list(*, campaign: Campaign, reason: str = "", query: str = "") -> EnrolmentList:
    """Every trader the campaign knows with the reason of their enrolment state, by UID; only
    those with `reason` when given, and those whose UID is `query` or whose nickname contains it
    (any case). The enrolment page and its export both read it, so the file is the list shown."""
    enrolments = enrolment_map(campaign=campaign)
    counts = Counter(e.reason for e in enrolments.values())
    uids = sorted(uid for uid, e in enrolments.items() if not reason or e.reason == reason)
    nicknames = {}
    for start in range(0, len(uids), UID_BATCH):
        nicknames.update(Trader.objects.filter(uid__in=uids[start : start + UID_BATCH]).values_list("uid", "nickname"))
    if query:
        needle = query.lower()
        uids = [uid for uid in uids if query == str(uid) or needle in nicknames.get(uid, "").lower()]
    return EnrolmentList(rows=[(uid, nicknames.get(uid, ""), enrolments[uid].reason) for uid in uids], counts=counts)


def enrolment_export(*, campaign: Campaign, reason: str, query: str, fmt: str) -> SpreadsheetFile:
    """The enrolment list as the page shows it for `reason` and `query` (every row, not only the
    first page), as a CSV or XLSX file: UID, nickname, enrolment in words."""
    listing = enrolment_list(campaign=campaign, reason=reason, query=query)
    labels = {code: str(label) for code, label in ENROLMENT_LABELS.items()}
    columns = [Column(_("UID"), NUMBER, 12), Column(Trader._meta.get_field("nickname").verbose_name, TEXT, 24), Column(_("enrolment"), TEXT, 36)]
    rows = ([uid, nickname, labels.get(code, code)] for uid, nickname, code in listing.rows)
    return table_export(fmt=fmt, name=f"{campaign.slug}-enrolment-{_stamp()}", title=f"{campaign.slug} enrolment", columns=columns, rows=rows)
