"""Post records at the doors: the fields of a post record, and how every door parses and bounds one.

RULES.md sections 3 and 9. A record is parsed into a `PostRow` (or refused with the reason) by
`post_parser(campaign)`, whatever door it came through (file, feed, webhook, API); a posts file's
line may be as long as the campaign's maximum text escaped (`posts_line_limit`).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Callable

from campaign.models import MAX_TEXT_LENGTH, Campaign
from core.parsing import MAX_UID, parse_bool, parse_count, parse_instant, parse_uid, shown
from core.reading import line_limit

POST_FIELDS = ("post_id", "author_uid", "created_at", "text", "likes", "comments", "shares", "views", "deleted")
ENGAGEMENT = ("likes", "comments", "shares", "views")


@dataclass(frozen=True)
class PostRow:
    post_id: str
    author_uid: int
    created_at: datetime
    text: str
    likes: int
    comments: int
    shares: int
    views: int
    deleted: bool


def post_parse(data: dict, *, max_text_length: int = MAX_TEXT_LENGTH) -> PostRow:
    """A post record as a PostRow, or ValueError with the reason (RULES.md sections 3 and 9).

    Every field is bounded by its column, and the text by the campaign's maximum: the doors pass
    it with `post_parser(campaign)`; the default is the rulebook's 50,000 characters.
    """
    missing = [name for name in POST_FIELDS if name not in data]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    post_id = data["post_id"]
    if not isinstance(post_id, str) or not post_id.strip():
        raise ValueError(f"post_id must be a non-empty string, got {shown(post_id)}")
    if len(post_id) > 128:
        raise ValueError(f"post_id is {len(post_id):,} characters; the column holds at most 128")
    text = data["text"]
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    if len(text) > max_text_length:
        raise ValueError(f"text is {len(text):,} characters; the campaign's maximum is {max_text_length:,}")
    return PostRow(
        post_id=post_id,
        author_uid=parse_uid(data["author_uid"], "author_uid"),
        created_at=parse_instant(data["created_at"], "created_at"),
        text=text,
        likes=parse_count(data["likes"], "likes"),
        comments=parse_count(data["comments"], "comments"),
        shares=parse_count(data["shares"], "shares"),
        views=parse_count(data["views"], "views", maximum=MAX_UID),
        deleted=parse_bool(data["deleted"], "deleted"),
    )


def post_parser(campaign: Campaign) -> Callable[[dict], PostRow]:
    """`post_parse` with the campaign's maximum text length: what every door parses posts with."""
    return partial(post_parse, max_text_length=campaign.max_text_length)


# A JSON Lines posts line may hold the campaign's maximum text however it is written: a
# character takes at most 12 bytes in JSON ("\ud83d\ude00", a character outside the Basic
# Multilingual Plane escaped as two UTF-16 halves; 6 for any other escaped one, at most 4 raw).
# The other fields get IMPORT_MAX_LINE_BYTES on top. Longer lines are read past and rejected.
JSON_BYTES_PER_CHARACTER = 12


def posts_line_limit(campaign: Campaign) -> int:
    """The byte limit of one line of a posts file: 12 * max_text_length + IMPORT_MAX_LINE_BYTES
    (1,648,576 bytes with the defaults)."""
    return JSON_BYTES_PER_CHARACTER * campaign.max_text_length + line_limit()
