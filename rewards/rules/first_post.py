"""First-post bonus (RULES.md section 4).

Each enrolled trader's earliest qualifying post earns one copy-trading trial fund: asset
``TRIAL_FUND``, amount ``30.00``, period ``ALL``. "At most one per trader per campaign, ever" is
the ledger's unique key (campaign, kind, period, uid); this rule only picks the post.
"""

from collections.abc import Iterable

from campaign.terms import DEFAULT_FIRST_POST_AMOUNT, DEFAULT_FIRST_POST_ASSET
from rewards.rules.types import ALL, QualifiedPost, unique_posts

# The bonus as the rulebook sets it; a campaign's own asset and amount are its configuration.
FIRST_POST_ASSET = DEFAULT_FIRST_POST_ASSET
FIRST_POST_AMOUNT = DEFAULT_FIRST_POST_AMOUNT
FIRST_POST_PERIOD = ALL


def first_post_awards(
    posts: Iterable[QualifiedPost], *, enrolled: set[int] | None = None, limit: int | None = None
) -> dict[int, QualifiedPost]:
    """Return, per trader, the post that earns the first-post bonus.

    ``posts`` are qualifying posts (any period of the window). The winner for a trader is the
    least ``(created_at instant, post_id as a string)``; ``post_id`` is unique, so the key never
    ties and the result (keyed and iterated by uid) is independent of input order. With
    ``enrolled`` given, posts of other traders are ignored (a defence: qualification already
    requires enrolment). A repeated ``post_id`` raises ``ValueError``. No money is computed
    here, so there is no rounding.

    ``limit`` is the optional budget ``first_post_limit`` of RULES.md section 8: at most that many
    bonuses, to the traders whose first qualifying posts are earliest by the same key (None: no
    limit). Since the key never ties, the winners do not depend on input order either.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    awards: dict[int, QualifiedPost] = {}
    for post in unique_posts(posts):
        if enrolled is not None and post.uid not in enrolled:
            continue
        best = awards.get(post.uid)
        if best is None or post.order_key < best.order_key:
            awards[post.uid] = post
    if limit is not None and len(awards) > limit:
        awards = dict(sorted(awards.items(), key=lambda item: item[1].order_key)[:limit])
    return dict(sorted(awards.items()))
