"""The what-if preview: the settlement an edited copy of the campaign configuration would give,
beside the one the current configuration gives, computed in memory without writing anything.

`whatif_preview` judges every post of the campaign twice, under the current configuration and
under an unsaved, validated copy carrying the changes (`campaign_with_changes`), leaves out what
ops excluded exactly as settlement does, and runs both through the same `rewards_compute` that
`settle_campaign` uses. Duplicate links are the stored ones unless the threshold changed (or the
index is behind): then they are recomputed in memory by the near-duplicate memory adapter, as
`duplicates_rebuild` would. Money stays `Decimal`, exact to the cent, as the rules give it.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from django.utils import timezone

from campaign.models import Campaign, Post, ReferenceText
from campaign.near_duplicates import earlier_duplicates, post_order, reference_order
from campaign.selectors import enrolment_map
from campaign.services.judging import campaign_lexicon, post_judgement
from campaign.services.post_records import ENGAGEMENT
from rewards.rules import QualifiedPost
from rewards.services.computation import Computed, rewards_compute, settled_due
from rewards.services.whatif.changes import ConfigChange, campaign_with_changes, config_changes, config_fingerprint
from rewards.services.whatif.compare import (
    KindTotal,
    PoolTotal,
    RewardChange,
    VerdictChange,
    gainers,
    kind_totals,
    losers,
    pool_totals,
    reward_rows,
    scores_changed,
    verdict_changes,
)


@dataclass(frozen=True)
class WhatIfPreview:
    campaign: Campaign
    proposed: Campaign
    at: datetime
    fingerprint: str
    changes: tuple[ConfigChange, ...]
    rows: tuple[RewardChange, ...]
    gainers: tuple[RewardChange, ...]
    losers: tuple[RewardChange, ...]
    totals: tuple[KindTotal, ...]
    pools: tuple[PoolTotal, ...]
    verdict_changes: tuple[VerdictChange, ...]
    scores_changed: int
    current_rewards: tuple[Computed, ...] = field(repr=False)
    proposed_rewards: tuple[Computed, ...] = field(repr=False)
    current_summary: dict = field(repr=False, default_factory=dict)
    proposed_summary: dict = field(repr=False, default_factory=dict)

    @property
    def payability_changes(self) -> tuple[RewardChange, ...]:
        """Rewards given under both configurations whose due state (payable or preview) differs."""
        return tuple(r for r in self.rows if None not in (r.current_preview, r.proposed_preview) and r.current_preview != r.proposed_preview)


class Progress:
    """Counts units of work done of a known total and tells `callback(done, total)` about every
    hundredth of the total and at the end of each step; without a callback it only counts."""

    def __init__(self, callback=None, total: int = 0):
        self.callback, self.total, self.done = callback, total, 0
        self.every = max(1, total // 100)
        self.next = self.every
        self.report()

    def advance(self, units: int = 1) -> None:
        self.done += units
        if self.done >= self.next:
            self.next = self.done + self.every
            self.report()

    def report(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total)


def whatif_preview(*, campaign: Campaign, changes: dict, at: datetime | None = None, progress=None) -> WhatIfPreview:
    """The settlement `changes` would give at `at` (default: now) beside the current one. Reads only.

    Both sides are computed from the data as it is now, judged in memory, so the only difference
    between them is the configuration; with no change the two are equal, and equal to what
    `settle_campaign(at=at)` writes. Raises `ValidationError` (keyed by field) for a bad change.

    `progress(done, total)`, when given, is told how far it got once the posts are loaded (the
    total is then known: every post judged under each configuration, every post again for each
    set of duplicate links computed in memory, and one unit per settlement computed), about every
    hundredth of the way, and at the end of each step. It may raise to stop the preview.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("the preview instant must be timezone-aware")
    from rewards.services.farming import exclusions_get

    current = Campaign.objects.get(pk=campaign.pk)
    proposed = campaign_with_changes(campaign=current, changes=changes)
    posts = _posts(current)
    enrolled = enrolment_map(campaign=current, uids={p.author.uid for p in posts})
    excluded = exclusions_get(campaign=current)
    current_links, proposed_links, tally = _links(current, proposed, posts, progress)
    now_verdicts, now_posts = _judged(current, posts, enrolled, current_links, excluded, tally)
    new_verdicts, new_posts = _judged(proposed, posts, enrolled, proposed_links, excluded, tally)

    due = settled_due(current)  # due is final here too: the preview shows what settling at `at` writes
    now_rewards, now_summary = rewards_compute(campaign=current, at=at, posts=now_posts, verdict_counts=_counts(now_verdicts), already_due=due)
    tally.advance()
    new_rewards, new_summary = rewards_compute(campaign=proposed, at=at, posts=new_posts, verdict_counts=_counts(new_verdicts), already_due=due)
    tally.advance()
    rows = reward_rows(current, now_rewards, new_rewards)
    pools = pool_totals(current, now_summary, proposed, new_summary)
    tally.report()
    return WhatIfPreview(
        campaign=current, proposed=proposed, at=at, fingerprint=config_fingerprint(current), changes=config_changes(current, proposed),
        rows=rows, gainers=gainers(rows), losers=losers(rows), totals=kind_totals(now_rewards, new_rewards), pools=pools,
        verdict_changes=verdict_changes(now_verdicts, new_verdicts), scores_changed=scores_changed(now_verdicts, new_verdicts),
        current_rewards=tuple(now_rewards), proposed_rewards=tuple(new_rewards), current_summary=now_summary, proposed_summary=new_summary,
    )  # fmt: skip


def _posts(campaign: Campaign) -> list[Post]:
    """Every post of the campaign with what judging it reads, as this preview's private copies."""
    return list(
        Post.objects.filter(campaign=campaign)
        .select_related("author")
        .only("id", "post_id", "author__uid", "created_at", "text", "deleted", "moderation", "duplicate_of", "duplicate_of_reference", "index_stale", "text_length", "trading_term", "lexicon_key", *ENGAGEMENT)
        .order_by("pk")
    )


def _links(current: Campaign, proposed: Campaign, posts: list[Post], progress) -> tuple[dict, dict, Progress]:
    """(the duplicate links under the current configuration, those under the proposed one, the
    progress tally of the whole preview, whose total is known once it is known which links are
    computed in memory)."""
    stored = {p.pk: (p.duplicate_of_id, p.duplicate_of_reference_id) for p in posts}
    # Stored links hold for the current threshold once the index has caught up (no stale post)
    # and was last built under it.
    behind = any(p.index_stale for p in posts) or (current.links_threshold is not None and current.links_threshold != current.duplicate_threshold)
    relink = proposed.duplicate_threshold != current.duplicate_threshold
    tally = Progress(progress, total=len(posts) * (2 + int(behind) + int(relink)) + 2)
    current_links = _duplicate_links(current, posts, current.duplicate_threshold) if behind else stored
    if behind:
        tally.advance(len(posts))
        tally.report()
    if not relink:
        proposed_links = current_links
    else:
        proposed_links = _duplicate_links(current, posts, proposed.duplicate_threshold)
        tally.advance(len(posts))
        tally.report()
    return current_links, proposed_links, tally


def _duplicate_links(campaign: Campaign, posts: list[Post], threshold: Decimal) -> dict[int, tuple[int | None, int | None]]:
    """{post pk: (earlier post pk, reference pk)} for every post that has an earlier near-copy,
    decided from scratch in memory (exact Jaccard), the way `duplicates_rebuild` links them."""
    entries = [(("ref", pk), text, reference_order(pk)) for pk, text in ReferenceText.objects.filter(campaign=campaign).values_list("id", "text")]
    entries += [(("post", p.pk), p.text, post_order(p.created_at, p.post_id)) for p in posts]
    links = {}
    for (kind, pk), (target_kind, target) in earlier_duplicates(entries, threshold=Fraction(threshold)).items():
        if kind == "post":
            links[pk] = (target, None) if target_kind == "post" else (None, target)
    return links


def _judged(config: Campaign, posts, enrolled, links, excluded, progress: Progress) -> tuple[dict[int, tuple[str, int]], list[QualifiedPost]]:
    """({post pk: (verdict, score)}, the qualifying posts the rules see) under one configuration."""
    lexicon = campaign_lexicon(config)
    excluded_traders, excluded_posts = excluded
    verdicts, qualifying = {}, []
    for post in posts:
        # These instances are this preview's private copies; nothing here ever saves them.
        post.duplicate_of_id, post.duplicate_of_reference_id = links.get(post.pk, (None, None))
        verdict, score = post_judgement(config, post, enrolled=enrolled[post.author.uid].enrolled, lexicon=lexicon)
        verdicts[post.pk] = (verdict, score)
        if verdict == Post.Verdict.QUALIFIED and post.author_id not in excluded_traders and post.pk not in excluded_posts:
            qualifying.append(QualifiedPost(post_id=post.post_id, uid=post.author.uid, created_at=post.created_at, score=score))
        progress.advance()
    progress.report()
    return verdicts, qualifying


def _counts(verdicts: dict[int, tuple[str, int]]) -> dict[str, int]:
    return dict(sorted(Counter(v for v, _score in verdicts.values()).items()))
