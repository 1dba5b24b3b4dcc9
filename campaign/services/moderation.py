"""Moderation (RULES.md section 3, check 7): ops approve or reject posts, always with a note."""

from django.db import transaction

from campaign.models import ModerationDecision, Post
from campaign.page_cache import campaign_pages_changed
from campaign.qualification import MODERATABLE
from campaign.selectors import enrolment_map
from campaign.services.duplicates import duplicates_lock


class ModerationError(ValueError):
    pass


@transaction.atomic
def posts_moderate(*, campaign, post_ids, action: str, note: str, user: str) -> tuple[list[Post], list[tuple[Post, str]]]:
    """Approve (`approved`), reject (`rejected`) or clear (``) the moderation of posts.

    A note is required. An approval may override only checks 4 to 6 (too short, not trading,
    duplicate): a post outside the window, by a trader not enrolled, or deleted is refused, with
    the reason, and the others are still done. Every decision is kept in the audit trail with who,
    when, why and the verdict before. Returns (moderated posts, refused posts each with the
    `Post.Verdict` code of the check it fails: `outside_window`, `not_enrolled` or `deleted`);
    a code, not a sentence, so that each door says it in its reader's language.
    """
    from campaign.services.judging import campaign_lexicon, post_reason, posts_judge

    note = (note or "").strip()
    if not note:
        raise ModerationError("a note is required to approve or reject a post")
    if action not in {"approved", "rejected", ""}:
        raise ModerationError(f"unknown moderation action {action!r}")
    # The campaign lock before the posts' row locks, in the order settlement takes them.
    duplicates_lock(campaign)
    posts = list(Post.objects.select_for_update().filter(campaign=campaign, id__in=list(post_ids)).select_related("author").order_by("pk"))
    enrolled = enrolment_map(campaign=campaign, uids={p.author.uid for p in posts})
    lexicon = campaign_lexicon(campaign)
    done, refused = [], []
    for post in posts:
        if action == "approved":
            reason = post_reason(campaign, post, enrolled=enrolled[post.author.uid].enrolled, lexicon=lexicon, ignore_moderation=True)
            if reason is not None and reason not in MODERATABLE:
                refused.append((post, reason))
                continue
        ModerationDecision.objects.create(post=post, action=action, note=note, decided_by=user, verdict_before=post.verdict)
        post.moderation = action
        done.append(post)
    Post.objects.bulk_update(done, ["moderation"])
    posts_judge(campaign=campaign, post_ids=[p.id for p in done])
    campaign_pages_changed(campaign_id=campaign.pk)  # the moderation note shows even when the verdict stays
    return done, refused


def post_feature(*, post_ids, featured: bool | None) -> int:
    """Set the hand override of featuring on posts: True featured by hand, False never featured,
    None automatic (the traffic support of RULES.md). The campaign's write of its own field;
    `rewards.services.traffic.posts_feature`, the door ops use, calls it and then rebuilds the
    featured lists. Returns how many posts changed."""
    return Post.objects.filter(pk__in=list(post_ids)).exclude(featured=featured).update(featured=featured)
