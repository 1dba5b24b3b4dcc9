"""Making verdicts current: the duplicate index caught up with every changed text, then the posts
judged that need it (RULES.md section 2: verdicts are evaluated at settlement from the data as it
is; section 3, check 6, "earliest wins" whatever the ingestion order).

`posts_qualify` is what settlement, the what-if apply and a bulk import run; `posts_judge_pending`
what the webhook's deferred writes leave to a task. A whole-campaign run records what it judged
against (`JudgingState`, `judging_inputs_digest`), so the next one judges only the posts changed
since while those inputs stay the same.
"""

import hashlib
from datetime import datetime

from django.db import transaction

from campaign.models import Campaign, JudgingState, Post, ReferenceText, Signup
from campaign.near_duplicates.db import marks_apply
from campaign.services.duplicates import duplicates_lock, duplicates_rebuild, duplicates_refresh
from campaign.services.judging import JUDGE_BATCH, judging_now, posts_judge
from traders.models import LeadTraderRegistration


def posts_judge_pending(*, campaign: Campaign, post_ids=()) -> int:
    """Judge what deferred writes left behind: every post of the campaign not judged since it
    arrived or changed (`judged_at` empty), and `post_ids`, with the duplicate index caught up
    first. Returns how many verdicts changed.

    Coalescing: the first run after a burst of deliveries judges every new post of the burst, and
    the runs queued behind it find little left. Safe to run twice or at once (it takes the
    campaign lock, and judging is idempotent); a run that never happens is made up by the next
    one, and by every settlement, which judges every post not judged since it changed.
    """
    with transaction.atomic():
        duplicates_lock(campaign)
        pending = _unjudged(campaign)
        post_ids = list(post_ids)
        existing = set()
        for lo in range(0, len(post_ids), JUDGE_BATCH):  # SQLite caps the parameters of a query
            existing.update(Post.objects.filter(campaign=campaign, id__in=post_ids[lo : lo + JUDGE_BATCH]).values_list("id", flat=True))
        if not pending and not existing and not Post.objects.filter(campaign=campaign, index_stale=True).exists():
            return 0
        return posts_qualify(campaign=campaign, post_ids=pending | existing)


REBUILD_AT = 2000


def posts_qualify(*, campaign: Campaign, post_ids=None, full: bool = False) -> int:
    """Catch the duplicate index up with every post whose text changed, then judge `post_ids`
    and whatever the index changed. Returns how many verdicts changed.

    With `post_ids` None (settlement, the what-if apply) every verdict of the campaign is made
    current: when the campaign's rules, its enrolment data and its reference texts are the
    ones the last such run judged against (`JudgingState`), only the posts not judged since
    they changed are judged; otherwise, or with `full`, every post is, and the state recorded.

    Many stale posts (a bulk import, a threshold change) rebuild the index from scratch in
    memory, which is much faster than looking each one up; a few are refreshed incrementally.
    """
    with transaction.atomic():
        duplicates_lock(campaign)
        affected, stale = index_catch_up(campaign=campaign)
        if post_ids is not None:
            return posts_judge(campaign=campaign, post_ids=set(post_ids) | affected | stale)
        inputs = judging_inputs_digest(campaign)
        state = JudgingState.objects.filter(campaign=campaign).first()
        now = judging_now(state)
        if not full and state is not None and state.inputs == inputs:
            # Inputs equal to the last whole judging's do not mean every verdict was judged under
            # them: an older registrations file imported by mistake and then corrected moves the
            # digest away and back, and the posts judged in between (a re-delivery, moderation)
            # were judged under the wrong inputs. Those posts were judged after the state's
            # instant, so they are judged again with the unjudged ones; then every verdict is
            # current for these inputs, and the state's instant moves up to this judging.
            again = _unjudged(campaign) | _judged_since(campaign, state.judged_at)
            changed = posts_judge(campaign=campaign, post_ids=again | affected | stale, now=now)
        else:
            changed = posts_judge(campaign=campaign, now=now)
        JudgingState.objects.update_or_create(campaign=campaign, defaults={"inputs": inputs, "judged_at": now})
        return changed


def index_catch_up(*, campaign: Campaign, marks: bool = False) -> tuple[set[int], set[int]]:
    """Bring the near-duplicate index up to date with every post whose text changed (call under
    the campaign lock): the index is rebuilt in memory when many posts wait for it, else
    refreshed for them (both sign first what a bulk import stored unsigned). Returns (the posts
    whose link changed, the posts that waited): the posts to judge again.

    The marks a queued judging left (`IndexMark`: posts indexed, their flags not cleared yet) are
    applied first, so those posts do not wait again. With `marks` (that judging's index stage)
    the posts indexed now are marked in their turn instead of cleared."""
    marks_apply(campaign)
    stale = set(Post.objects.filter(campaign=campaign, index_stale=True).values_list("id", flat=True))
    if len(stale) >= REBUILD_AT:
        return duplicates_rebuild(campaign=campaign, marks=marks), stale
    return duplicates_refresh(campaign=campaign, post_ids=stale, marks=marks), stale


# Part of the digest: a release that changes how posts are judged bumps it, and every campaign
# is judged whole once more at its next settlement.
JUDGING_RULES_VERSION = 1


def judging_inputs_digest(campaign: Campaign) -> str:
    """A digest of what every verdict of the campaign depends on besides the post itself.

    The campaign's configuration (every rule field), the enrolment data exactly as
    `enrolment_map` reads it, and the campaign's reference texts. Read in full each time, so a
    change by any path (an import, the admin, a bulk update that sends no signal) moves it; about
    two rows per trader, cheap beside judging a million posts.
    """
    digest = hashlib.sha256()

    def feed(rows):
        for row in rows:
            digest.update(repr(tuple(row)).encode())
        digest.update(b"|")

    feed([(JUDGING_RULES_VERSION,), *sorted(campaign.rules_config().items())])
    feed(LeadTraderRegistration.objects.order_by("trader__uid").values_list("trader__uid", "status", "market").iterator(chunk_size=10000))
    feed(Signup.objects.filter(campaign=campaign).order_by("trader__uid", "submitted_at", "pk").values_list("trader__uid", "submitted_at").iterator(chunk_size=10000))
    feed(ReferenceText.objects.filter(campaign=campaign).order_by("pk").values_list("pk", "content_hash").iterator(chunk_size=10000))
    return digest.hexdigest()


def judging_state_forget(*, campaign_id: int) -> None:
    """Make the next settlement judge every post of the campaign (a post or reference deleted:
    the links that pointed at it were cleared without judging the posts that had them)."""
    JudgingState.objects.filter(campaign_id=campaign_id).delete()


def _unjudged(campaign: Campaign) -> set[int]:
    """Posts not judged since they arrived or last changed (the partial index `post_unjudged`)."""
    return set(Post.objects.filter(campaign=campaign, judged_at__isnull=True).values_list("id", flat=True))


def _judged_since(campaign: Campaign, instant: datetime) -> set[int]:
    """Posts whose verdict or score some judging changed after `instant` (it stamps only those)."""
    return set(Post.objects.filter(campaign=campaign, judged_at__gt=instant).values_list("id", flat=True))
