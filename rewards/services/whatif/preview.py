"""The what-if preview: the settlement an edited copy of the campaign configuration would give,
beside the one the current configuration gives, computed in memory without writing anything.

`whatif_preview` judges every post of the campaign twice, under the current configuration and
under an unsaved, validated copy carrying the changes (`campaign_with_changes`), with the engine
settlement judges with (`engine`: `post_judgement` over streamed `JudgeRow`s), leaves out what
ops excluded exactly as settlement does, and runs both through the same `rewards_compute` that
`settle_campaign` uses. Duplicate links are the stored ones unless the threshold changed (or the
index is behind): then they are decided from the stored signatures by the engine of
`duplicates_rebuild`, without writing them. Only what the rules need of a qualifying post is held
per post, never a text or a model instance. Money stays `Decimal`, exact to the cent, as the
rules give it.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from campaign.models import Campaign, Post
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
    verdict_changes_counted,
)
from rewards.services.whatif.engine import PREVIEW_FIELDS, Links, Side, judged_batches, links_decide


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

    def advance_to(self, done: int) -> None:
        """Move to `done` units (never back)."""
        self.advance(max(0, done - self.done))

    def report(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total)

    def finish(self) -> None:
        """The end: all of the total done (a post stored meanwhile does not push it past)."""
        self.done = self.total
        self.report()


def whatif_preview(*, campaign: Campaign, changes: dict, at: datetime | None = None, progress=None) -> WhatIfPreview:
    """The settlement `changes` would give at `at` (default: now) beside the current one. Reads only.

    Both sides are computed from the data as it is now, judged by the judging engine
    (`engine.judged_batches`, streamed) under each configuration, so the only difference between
    them is the configuration; with no change the two are equal, and equal to what
    `settle_campaign(at=at)` writes. Raises `ValidationError` (keyed by field) for a bad change.

    `progress(done, total)`, when given, is told the total first (every post judged under each
    configuration, every post again for each set of duplicate links decided here, and one unit per
    settlement computed), then about every hundredth of the way through every step (the
    signatures read, each set of links decided, each batch judged, each settlement), and the
    total at the end. It may raise to stop the preview.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("the preview instant must be timezone-aware")
    from rewards.services.farming import exclusions_get

    current = Campaign.objects.get(pk=campaign.pk)
    proposed = campaign_with_changes(campaign=current, changes=changes)
    excluded = exclusions_get(campaign=current)
    posts = Post.objects.filter(campaign=current).count()
    # Stored links hold for the current threshold once the index has caught up (no stale post)
    # and was last built under it.
    behind = Post.objects.filter(campaign=current, index_stale=True).exists() or (
        current.links_threshold is not None and current.links_threshold != current.duplicate_threshold
    )
    relink = proposed.duplicate_threshold != current.duplicate_threshold
    tally = Progress(progress, total=posts * (2 + int(behind) + int(relink)) + 2)
    current_links, proposed_links = _links(current, proposed, behind=behind, relink=relink, posts=posts, tally=tally)
    now, new = _judged(current, [Side(current, current_links), Side(proposed, proposed_links)], excluded, tally)

    due = settled_due(current)  # due is final here too: the preview shows what settling at `at` writes
    now_rewards, now_summary = rewards_compute(campaign=current, at=at, posts=now.qualifying, verdict_counts=now.counts(), already_due=due)
    tally.advance()
    tally.report()
    new_rewards, new_summary = rewards_compute(campaign=proposed, at=at, posts=new.qualifying, verdict_counts=new.counts(), already_due=due)
    tally.advance()
    rows = reward_rows(current, now_rewards, new_rewards)
    pools = pool_totals(current, now_summary, proposed, new_summary)
    tally.finish()
    return WhatIfPreview(
        campaign=current, proposed=proposed, at=at, fingerprint=config_fingerprint(current), changes=config_changes(current, proposed),
        rows=rows, gainers=gainers(rows), losers=losers(rows), totals=kind_totals(now_rewards, new_rewards), pools=pools,
        verdict_changes=verdict_changes_counted(now.flips), scores_changed=now.scores_changed,
        current_rewards=tuple(now_rewards), proposed_rewards=tuple(new_rewards), current_summary=now_summary, proposed_summary=new_summary,
    )  # fmt: skip


def _links(current: Campaign, proposed: Campaign, *, behind: bool, relink: bool, posts: int, tally: "Progress") -> tuple[Links | None, Links | None]:
    """(the duplicate links under the current configuration, those under the proposed one), None
    where the stored links are those: decided from one read of the stored signatures, as
    `duplicates_rebuild` would link the posts, without writing them."""
    thresholds = ([current.duplicate_threshold] if behind else []) + ([proposed.duplicate_threshold] if relink else [])
    if not thresholds:
        return None, None
    start, units = tally.done, posts * len(thresholds)
    # Half the step for the read of the signatures, the rest shared by the decisions.
    reading, read = units // 2, [0]

    def on_read(chunk: int) -> None:
        read[0] += chunk
        tally.advance_to(start + reading * min(read[0], posts) // max(posts, 1))

    def decided(i: int) -> int:
        return start + reading + (units - reading) * i // len(thresholds)

    deciding = [0]

    def on_texts() -> None:
        # The decision tells nothing of its length: each batch of texts it reads moves the bar a
        # fiftieth of the way left to this decision's end, and keeps the run's heartbeat.
        tally.advance_to(tally.done + (decided(deciding[0] + 1) - tally.done) // 50)
        tally.report()

    def on_decided(i: int) -> None:
        deciding[0] = i + 1
        tally.advance_to(decided(i + 1))
        tally.report()

    # Not behind: the stored links are the current threshold's answer, and a stricter proposed one
    # decides only what they leave possible.
    stored = None if behind else current.duplicate_threshold
    found = links_decide(campaign=current, thresholds=thresholds, stored=stored, on_read=on_read, on_texts=on_texts, on_decided=on_decided)
    current_links = found[0] if behind else None
    return current_links, (found[-1] if relink else current_links)


@dataclass
class _Tally:
    """What one configuration's verdicts give the rules and the comparison, kept as they stream
    by: the qualifying posts (as the rules see them), the verdict counts, and (on the current
    side) the verdicts and scores that move under the proposed one."""

    qualifying: list = field(default_factory=list)
    verdicts: Counter = field(default_factory=Counter)
    flips: Counter = field(default_factory=Counter)
    scores_changed: int = 0

    def counts(self) -> dict[str, int]:
        return dict(sorted(self.verdicts.items()))


def _judged(campaign: Campaign, sides: list[Side], excluded, tally: "Progress") -> tuple[_Tally, _Tally]:
    """The current and the proposed side's `_Tally`, from the posts judged in batches."""
    excluded_traders, excluded_posts = excluded
    now, new = _Tally(), _Tally()
    qualifying: tuple[list, list] = ([], [])
    fields = {name: i for i, name in enumerate(PREVIEW_FIELDS)}
    pk, uid, created, post_id, author = (fields[n] for n in ("id", "author__uid", "created_at", "post_id", "author_id"))
    for batch in judged_batches(campaign=campaign, sides=sides):
        for side, verdicts, found in zip((now, new), batch.judged, qualifying):
            side.verdicts.update(v for v, _score in verdicts)
            for row, (verdict, score) in zip(batch.rows, verdicts):
                if verdict == Post.Verdict.QUALIFIED and row[author] not in excluded_traders and row[pk] not in excluded_posts:
                    found.append((row[pk], QualifiedPost(post_id=row[post_id], uid=row[uid], created_at=row[created], score=score)))
        for (a, score_a), (b, score_b) in zip(*batch.judged):
            if a != b:
                now.flips[(a, b)] += 1
            if score_a != score_b:
                now.scores_changed += 1
        tally.advance(len(sides) * len(batch.rows))
    tally.report()
    # In the order of the posts' keys, whatever order the stream gave them in.
    for side, found in zip((now, new), qualifying):
        found.sort(key=lambda item: item[0])
        side.qualifying = [post for _pk, post in found]
    return now, new
