"""What-if preview: the settlement an edited copy of the campaign configuration would give, beside
the one the current configuration gives, without writing anything; and its one audited apply.

`whatif_preview` reads only. It judges every post of the campaign in memory twice, under the
current configuration and under an unsaved, validated copy carrying the changes (window, length,
lexicon, near-duplicates, moderation, score cap), leaves out what ops excluded exactly as
settlement does, and runs both through the same `rewards_compute` that `settle_campaign` uses.
Duplicate links are the stored ones unless the threshold changed (or the index is behind): then
they are recomputed in memory by the near-duplicate memory adapter, as `duplicates_rebuild` would.
Money stays `Decimal`, exact to the cent, as the rules give it.

`whatif_apply` is the only write: under the campaign row lock it refuses a configuration that
changed since the preview (fingerprint), saves the changed fields through `campaign_update` (which
logs them old -> new with the note in the admin log), re-judges every post, and queues the
settlement with `settlement_enqueue`, as the dashboard does. Approved and paid rewards stay protected by settlement (review items).

Both run in the background (`WhatIfRun`, `whatif_run_task`): `whatif_preview_start` and
`whatif_apply_start` refuse in the request what can be known there, and `whatif_run_execute`
calls the same two functions, recording progress and outcome on the run.
"""

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from campaign.models import Campaign, Post, ReferenceText
from campaign.near_duplicates import earlier_duplicates, post_order, reference_order
from campaign.selectors import enrolment_map
from campaign.services import campaign_lock, posts_qualify
from campaign.services.campaigns import campaign_update
from campaign.services.posts import ENGAGEMENT, campaign_lexicon, post_judgement
from rewards.exceptions import RewardError
from rewards.models import Reward, SettlementRun, WhatIfRun
from rewards.rules import QualifiedPost
from rewards.rules.money import format_money
from rewards.budgets import leaderboard_total, pool_budget_conflicts
from rewards.services.settlement import Computed, rewards_compute, settled_due, settlement_enqueue
from traders.models import Trader

logger = logging.getLogger(__name__)

# The configuration a what-if may change: qualification, the content pool and the leaderboard.
# The window, periods and assets are left out: they move schedules and enrolment, not a split.
WHATIF_FIELDS = (
    "grace_hours",
    "min_length",
    "score_cap",
    "duplicate_threshold",
    "latin_terms",
    "cjk_terms",
    "first_post_limit",
    "pool_amount",
    "pool_cap",
    "pool_min_score",
    "pool_top_posts",
    "leaderboard_min_posts",
    "leaderboard_strategy",
    "leaderboard_tiers",
    "leaderboard_pool",
)
CHANGE_PERMISSION = "campaign.change_campaign"
# Applying re-settles the campaign: the dashboard's own permission to settle is needed too.
APPLY_PERMISSIONS = (CHANGE_PERMISSION, "rewards.add_settlementrun")
ZERO = Decimal("0.00")
PREVIEW_MAX_AGE = timedelta(hours=1)  # a preview older than this is made again before it is applied
LOCKED_STATES = (Reward.State.APPROVED, Reward.State.PAID)


@dataclass(frozen=True)
class ConfigChange:
    field: str
    label: str
    current: object
    proposed: object


@dataclass(frozen=True)
class RewardChange:
    """One ledger key (kind, period, trader) under both configurations; 0.00 where none is given.

    `ledger_state` is the state of the stored reward when it is approved or paid: settlement never
    changes such a row, a difference there becomes a review item instead.
    """

    uid: int
    nickname: str
    kind: str
    period: str
    asset: str
    current: Decimal
    proposed: Decimal
    current_preview: bool | None
    proposed_preview: bool | None
    ledger_state: str = ""

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.current


@dataclass(frozen=True)
class KindTotal:
    kind: str
    asset: str
    current: Decimal
    proposed: Decimal
    current_payable: Decimal
    proposed_payable: Decimal
    current_rewards: int
    proposed_rewards: int

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.current


@dataclass(frozen=True)
class PoolTotal:
    """One pool (a content period, or the leaderboard): its size, allocated and unallocated money."""

    kind: str
    period: str
    asset: str
    current_pool: Decimal
    current_allocated: Decimal
    current_unallocated: Decimal
    proposed_pool: Decimal
    proposed_allocated: Decimal
    proposed_unallocated: Decimal


@dataclass(frozen=True)
class VerdictChange:
    current: str
    proposed: str
    posts: int


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


@dataclass(frozen=True)
class WhatIfApplied:
    campaign: Campaign
    changes: tuple[ConfigChange, ...]
    log_entry: LogEntry
    verdicts_changed: int
    settle_at: datetime
    triggered_by: str = ""  # the settlement run it queued says so
    settlement_run_id: int | None = None  # that run, queued at once


def config_fingerprint(campaign: Campaign) -> str:
    """A digest of the whole stored configuration: any edit between a preview and its apply shows."""
    return hashlib.sha256(json.dumps(campaign.rules_config(), sort_keys=True, default=str).encode()).hexdigest()


def _field_value(campaign: Campaign, name: str):
    value = getattr(campaign, name)
    return list(value) if isinstance(value, list) else value


def campaign_with_changes(*, campaign: Campaign, changes: dict) -> Campaign:
    """An unsaved copy of `campaign` with `changes`, validated by the model's own validation.

    Raises `ValidationError` keyed by field: for a field a what-if may not change, for every
    value `Campaign.full_clean` refuses, and for a pool made smaller than the money already
    approved or paid in it (`pool_budget_conflicts`). The copy is never saved (it keeps the pk so that reads
    keyed by campaign, such as sign-ups, still find the campaign's rows).
    """
    errors = {name: [_("This setting cannot be changed in a what-if preview.")] for name in sorted(set(changes) - set(WHATIF_FIELDS))}
    copy = Campaign(**{f.attname: _field_value(campaign, f.attname) for f in Campaign._meta.concrete_fields})
    for name, value in changes.items():
        if name not in errors:
            setattr(copy, name, list(value) if isinstance(value, (list, tuple)) else value)
    others = [f.name for f in Campaign._meta.concrete_fields if f.name not in WHATIF_FIELDS]
    try:
        copy.full_clean(exclude=others, validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not errors:
        # Money already approved or paid stays within its pool (RULES.md section 8).
        errors.update(pool_budget_conflicts(campaign=campaign, proposed=copy))
    if errors:
        raise ValidationError(errors)
    # As the database would store them: decimals to their places, tiers as two-decimal strings.
    for model_field in Campaign._meta.concrete_fields:
        if model_field.name in WHATIF_FIELDS and model_field.get_internal_type() == "DecimalField":
            value = getattr(copy, model_field.name)
            setattr(copy, model_field.name, value.quantize(Decimal(1).scaleb(-model_field.decimal_places)))
    copy.leaderboard_tiers = [format_money(Decimal(str(t))) for t in copy.leaderboard_tiers]
    return copy


def _config_changes(current: Campaign, proposed: Campaign) -> tuple[ConfigChange, ...]:
    return tuple(
        ConfigChange(name, str(Campaign._meta.get_field(name).verbose_name), getattr(current, name), getattr(proposed, name))
        for name in WHATIF_FIELDS
        if getattr(current, name) != getattr(proposed, name)
    )


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


def _judged(config: Campaign, posts, enrolled, links, excluded, progress: "Progress") -> tuple[dict[int, tuple[str, int]], list[QualifiedPost]]:
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


def _pools(config: Campaign, summary: dict) -> dict[tuple[str, str], tuple[str, Decimal, Decimal, Decimal]]:
    pools = {
        (Reward.Kind.CONTENT_POOL.value, code): (config.pool_asset, config.pool_amount, Decimal(p["allocated"]), Decimal(p["unallocated"]))
        for code, p in summary["content_pool"].items()
    }
    board = summary["leaderboard"]
    pools[(Reward.Kind.LEADERBOARD.value, "ALL")] = (config.leaderboard_asset, leaderboard_total(config), Decimal(board["allocated"]), Decimal(board["unallocated"]))
    if config.first_post_limit is not None:
        # The first-post budget as a pool: `first_post_limit` bonuses; what the limit leaves out is unallocated.
        first = summary["first_post"]
        size = config.first_post_amount * config.first_post_limit
        pools[(Reward.Kind.FIRST_POST.value, "ALL")] = (config.first_post_asset, size, Decimal(first["total"]), size - Decimal(first["total"]))
    return pools


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
    posts = list(
        Post.objects.filter(campaign=current)
        .select_related("author")
        .only("id", "post_id", "author__uid", "created_at", "text", "deleted", "moderation", "duplicate_of", "duplicate_of_reference", "index_stale", "text_length", "trading_term", "lexicon_key", *ENGAGEMENT)
        .order_by("pk")
    )
    enrolled = enrolment_map(campaign=current, uids={p.author.uid for p in posts})
    excluded = exclusions_get(campaign=current)
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
    now_verdicts, now_posts = _judged(current, posts, enrolled, current_links, excluded, tally)
    new_verdicts, new_posts = _judged(proposed, posts, enrolled, proposed_links, excluded, tally)

    due = settled_due(current)  # due is final here too: the preview shows what settling at `at` writes
    now_rewards, now_summary = rewards_compute(campaign=current, at=at, posts=now_posts, verdict_counts=_counts(now_verdicts), already_due=due)
    tally.advance()
    new_rewards, new_summary = rewards_compute(campaign=proposed, at=at, posts=new_posts, verdict_counts=_counts(new_verdicts), already_due=due)
    tally.advance()
    rows = _rows(current, now_rewards, new_rewards)
    flips = Counter((now_verdicts[pk][0], new_verdicts[pk][0]) for pk in now_verdicts if now_verdicts[pk][0] != new_verdicts[pk][0])
    now_pools, new_pools = _pools(current, now_summary), _pools(proposed, new_summary)
    tally.report()
    return WhatIfPreview(
        campaign=current,
        proposed=proposed,
        at=at,
        fingerprint=config_fingerprint(current),
        changes=_config_changes(current, proposed),
        rows=rows,
        gainers=_gainers(rows),
        losers=_losers(rows),
        totals=_totals(now_rewards, new_rewards),
        pools=tuple(
            PoolTotal(*key, (new_pools.get(key) or now_pools[key])[0], *_pool_side(now_pools.get(key)), *_pool_side(new_pools.get(key)))
            for key in sorted(set(now_pools) | set(new_pools))
        ),
        verdict_changes=tuple(VerdictChange(a, b, n) for (a, b), n in sorted(flips.items(), key=lambda item: (-item[1], item[0]))),
        scores_changed=sum(1 for pk in now_verdicts if now_verdicts[pk][1] != new_verdicts[pk][1]),
        current_rewards=tuple(now_rewards),
        proposed_rewards=tuple(new_rewards),
        current_summary=now_summary,
        proposed_summary=new_summary,
    )


def _gainers(rows) -> tuple[RewardChange, ...]:
    return tuple(sorted((r for r in rows if r.difference > 0), key=lambda r: (-r.difference, r.uid, r.kind, r.period)))


def _losers(rows) -> tuple[RewardChange, ...]:
    return tuple(sorted((r for r in rows if r.difference < 0), key=lambda r: (r.difference, r.uid, r.kind, r.period)))


def _counts(verdicts: dict[int, tuple[str, int]]) -> dict[str, int]:
    return dict(sorted(Counter(v for v, _score in verdicts.values()).items()))


def _pool_side(pool) -> tuple[Decimal, Decimal, Decimal]:
    return (ZERO, ZERO, ZERO) if pool is None else pool[1:]


def _rows(campaign: Campaign, now: list[Computed], new: list[Computed]) -> tuple[RewardChange, ...]:
    before = {(c.kind, c.period, c.uid): c for c in now}
    after = {(c.kind, c.period, c.uid): c for c in new}
    keys = sorted(set(before) | set(after), key=lambda k: (k[2], k[0], k[1]))
    nicknames = dict(Trader.objects.filter(uid__in={k[2] for k in keys}).values_list("uid", "nickname"))
    locked = {
        (kind, period, uid): state
        for kind, period, uid, state in Reward.objects.filter(campaign=campaign, state__in=LOCKED_STATES).values_list("kind", "period", "trader__uid", "state")
    }
    rows = []
    for key in keys:
        a, b = before.get(key), after.get(key)
        rows.append(
            RewardChange(
                uid=key[2],
                nickname=nicknames.get(key[2], ""),
                kind=key[0],
                period=key[1],
                asset=(b or a).asset,
                current=a.amount if a else ZERO,
                proposed=b.amount if b else ZERO,
                current_preview=a.preview if a else None,
                proposed_preview=b.preview if b else None,
                ledger_state=locked.get(key, ""),
            )
        )
    return tuple(rows)


def _totals(now: list[Computed], new: list[Computed]) -> tuple[KindTotal, ...]:
    def tally(rewards):
        sums = {}
        for c in rewards:
            total, payable, n = sums.get((c.kind, c.asset), (ZERO, ZERO, 0))
            sums[(c.kind, c.asset)] = (total + c.amount, payable + (ZERO if c.preview else c.amount), n + 1)
        return sums

    before, after = tally(now), tally(new)
    order = [kind.value for kind in Reward.Kind]
    keys = sorted(set(before) | set(after), key=lambda k: (order.index(k[0]) if k[0] in order else len(order), k))
    empty = (ZERO, ZERO, 0)
    totals = []
    for key in keys:
        (now_total, now_payable, now_n), (new_total, new_payable, new_n) = before.get(key, empty), after.get(key, empty)
        totals.append(KindTotal(*key, now_total, new_total, now_payable, new_payable, now_n, new_n))
    return tuple(totals)


def whatif_apply(*, campaign: Campaign, changes: dict, note: str, user, expected_fingerprint: str, at: datetime | None = None) -> WhatIfApplied:
    """Apply a previewed configuration: one explicit, audited action. Needs `campaign.change_campaign`.

    In one transaction, under the campaign row lock: refuses when the stored configuration is no
    longer the one the preview showed (`expected_fingerprint`), when the note is empty, and when
    nothing changes; saves the changed fields with `campaign_update`, whose admin log entry lists
    each field old -> new and the note; rebuilds the duplicate links when the threshold changed;
    re-judges every post (`posts_qualify`). It queues the settlement as of `at` (default: now) with
    `settlement_enqueue`, as the dashboard does (the task is sent after commit), and re-syncs the
    settlement schedule when the grace changed.
    Approved and paid rewards are never touched: settlement turns a difference into a review item.
    Not idempotent by design: a second apply with the old fingerprint is refused as stale.
    """
    from rewards.services.schedule import settlement_schedule_sync

    missing = [perm for perm in APPLY_PERMISSIONS if not user.has_perm(perm)]
    if missing:
        raise PermissionDenied(f"{user.get_username() or 'anonymous'} lacks the permission(s) {', '.join(missing)}")
    note = (note or "").strip()
    if not note:
        raise RewardError(_("A note is required to apply a what-if configuration."))
    settle_at = at or timezone.now()
    with transaction.atomic():
        locked = campaign_lock(campaign)
        if config_fingerprint(locked) != expected_fingerprint:
            raise RewardError(_("The campaign configuration changed since this preview; preview again before applying."))
        proposed = campaign_with_changes(campaign=locked, changes=changes)
        applied = _config_changes(locked, proposed)
        if not applied:
            raise RewardError(_("Nothing to apply: the proposed configuration is the current one."))
        locked = campaign_update(campaign=locked, changes={c.field: c.proposed for c in applied}, by=user, note=note, action="What-if applied")
        # Its entry is the campaign's latest: every campaign_update holds the lock held here.
        entry = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Campaign), object_id=str(locked.pk)).order_by("-pk").first()
        # A new threshold relinks every post in there (the links remember their threshold).
        verdicts_changed = posts_qualify(campaign=locked)
        settlement = settlement_enqueue(campaign=locked, at=settle_at, by=f"admin what-if: {user.get_username()}")
        if any(c.field == "grace_hours" for c in applied):
            transaction.on_commit(lambda: settlement_schedule_sync(campaign=locked))
    return WhatIfApplied(
        campaign=locked, changes=applied, log_entry=entry, verdicts_changed=verdicts_changed, settle_at=settle_at,
        triggered_by=settlement.triggered_by, settlement_run_id=settlement.pk,
    )  # fmt: skip


# --- background runs -------------------------------------------------------------------------
# At a million posts a preview or an apply takes minutes: the admin validates in the request,
# queues a `WhatIfRun`, and `whatif_run_task` computes it with the functions above, writing its
# progress and outcome on the row for the run's page to show.


class RunSuperseded(Exception):
    """Another attempt owns the run now (it was restarted or claimed again): this one stops."""


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _stale_before(now: datetime) -> datetime:
    # No execution of a task outlives the hard time limit, so a run silent for that long has lost its worker.
    return now - timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 20 * 60)


def _claimable(now: datetime) -> Q:
    return Q(state=WhatIfRun.State.QUEUED) | Q(state=WhatIfRun.State.RUNNING, heartbeat_at__lt=_stale_before(now))


def _restartable(now: datetime) -> Q:
    return Q(state=WhatIfRun.State.FAILED) | Q(state__in=[WhatIfRun.State.QUEUED, WhatIfRun.State.RUNNING], heartbeat_at__lt=_stale_before(now))


def _enqueue(run: WhatIfRun) -> None:
    from rewards.tasks import whatif_run_task

    transaction.on_commit(lambda: whatif_run_task.delay(run.pk))


def whatif_preview_start(*, campaign: Campaign, changes: dict, at: datetime, user) -> WhatIfRun:
    """Queue the what-if preview of `changes` as of `at`; `whatif_run_task` computes it after commit.

    Validates first, in the caller's request, as `whatif_preview` will: a bad change raises
    `ValidationError` keyed by field (`campaign_with_changes`) and queues nothing. Writes one
    queued run; the changes are kept as JSON (decimals as strings), which the preview reads back
    to the same values.
    """
    if timezone.is_naive(at):
        raise ValueError("the preview instant must be timezone-aware")
    campaign_with_changes(campaign=Campaign.objects.get(pk=campaign.pk), changes=changes)
    run = WhatIfRun.objects.create(
        campaign=campaign, kind=WhatIfRun.Kind.PREVIEW, changes={name: _json_value(value) for name, value in changes.items()}, at=at, created_by=user if user.pk else None
    )
    _enqueue(run)
    return run


def whatif_apply_start(*, preview_run: WhatIfRun, note: str, user) -> WhatIfRun:
    """Queue the apply of a finished preview (`whatif_apply`, run by `whatif_run_task` after commit).

    Refuses in the request what can be known now: a user without `APPLY_PERMISSIONS`
    (`PermissionDenied`); a run that is not a finished preview, or finished more than
    `PREVIEW_MAX_AGE` ago (`ValidationError`); an empty note, a preview that changes nothing, one
    already being applied, or a configuration changed since the preview (`RewardError`).
    `whatif_apply` checks the configuration again under the campaign lock when the run executes.
    """
    missing = [perm for perm in APPLY_PERMISSIONS if not user.has_perm(perm)]
    if missing:
        raise PermissionDenied(f"{user.get_username() or 'anonymous'} lacks the permission(s) {', '.join(missing)}")
    if preview_run.kind != WhatIfRun.Kind.PREVIEW or preview_run.state != WhatIfRun.State.FINISHED:
        raise ValidationError(_("Only a finished preview can be applied."))
    if preview_run.finished_at < timezone.now() - PREVIEW_MAX_AGE:
        raise ValidationError(_("This preview is more than an hour old; preview again."))
    note = (note or "").strip()
    if not note:
        raise RewardError(_("A note is required to apply a what-if configuration."))
    if not preview_run.result.get("changes"):
        raise RewardError(_("Nothing to apply: the proposed configuration is the current one."))
    busy = preview_run.applies.exclude(state=WhatIfRun.State.FAILED).first()
    if busy is not None:
        raise RewardError(_("This preview is already applied or being applied (run #%(run)s).") % {"run": busy.pk})
    if config_fingerprint(Campaign.objects.get(pk=preview_run.campaign_id)) != preview_run.fingerprint:
        raise RewardError(_("The campaign configuration changed since this preview; preview again before applying."))
    run = WhatIfRun.objects.create(
        campaign_id=preview_run.campaign_id,
        kind=WhatIfRun.Kind.APPLY,
        preview=preview_run,
        changes=preview_run.changes,
        at=preview_run.at,
        fingerprint=preview_run.fingerprint,
        note=note,
        created_by=user,
    )
    _enqueue(run)
    return run


def whatif_run_restartable(*, run: WhatIfRun, now: datetime | None = None) -> bool:
    """Whether `whatif_run_restart` would take the run: failed, or silent longer than a task may live."""
    return WhatIfRun.objects.filter(_restartable(now or timezone.now()), pk=run.pk).exists()


def whatif_run_restart(*, run: WhatIfRun, user) -> WhatIfRun:
    """Queue a failed run again, or one whose worker died (silent longer than a task may live).

    An apply needs `APPLY_PERMISSIONS` (`PermissionDenied`) and runs again as its author asked it.
    A conditional update takes the run back to queued, so a finished or live run is refused
    (`RewardError`) and two restarts at once queue it once; an old attempt that wakes up finds
    the run no longer its own and stops without writing.
    """
    if run.kind == WhatIfRun.Kind.APPLY:
        missing = [perm for perm in APPLY_PERMISSIONS if not user.has_perm(perm)]
        if missing:
            raise PermissionDenied(f"{user.get_username() or 'anonymous'} lacks the permission(s) {', '.join(missing)}")
    now = timezone.now()
    restarted = WhatIfRun.objects.filter(_restartable(now), pk=run.pk).update(
        state=WhatIfRun.State.QUEUED, done=0, total=None, error="", result={}, started_at=None, finished_at=None, heartbeat_at=now
    )
    if restarted != 1:
        raise RewardError(_("This run is finished or still running; there is nothing to restart."))
    _enqueue(run)
    run.refresh_from_db()
    return run


def whatif_run_execute(*, run_id: int) -> dict:
    """Compute a queued run (the body of `whatif_run_task`) and record its outcome on the row.

    Idempotent and safe to deliver twice: the run is claimed by a conditional update (queued, or
    running but silent longer than a task may live -> running, `attempts` + 1), so a finished or
    failed run is never computed again and a live one is left to its worker. Progress and the
    outcome are written only while the attempt still owns the run. A preview calls
    `whatif_preview` (reads only); an apply calls `whatif_apply` and marks the run finished in the
    same transaction, so the configuration is applied exactly once per run. A refused change, a
    stale configuration or a missing permission fails the run with the reason; so does any other
    error, logged; a database error puts the run back in the queue and is raised for a retry.
    """
    now = timezone.now()
    claimed = WhatIfRun.objects.filter(_claimable(now), pk=run_id).update(
        state=WhatIfRun.State.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, done=0, total=None, error=""
    )
    run = WhatIfRun.objects.select_related("campaign", "created_by").filter(pk=run_id).first()
    if run is None:
        return {"skipped": "run is gone"}
    if claimed != 1:
        return {"run": run.pk, "skipped": run.state}
    mine = WhatIfRun.objects.filter(pk=run.pk, attempts=run.attempts, state=WhatIfRun.State.RUNNING)

    def progress(done: int, total: int) -> None:
        if mine.update(done=done, total=total, heartbeat_at=timezone.now()) != 1:
            raise RunSuperseded

    try:
        if run.kind == WhatIfRun.Kind.PREVIEW:
            preview = whatif_preview(campaign=run.campaign, changes=run.changes, at=run.at, progress=progress)
            _finish(mine, result=whatif_preview_result(preview), fingerprint=preview.fingerprint)
        else:
            _apply(run, mine, progress)
    except RunSuperseded:
        return {"run": run.pk, "skipped": "superseded"}
    except OperationalError:
        mine.update(state=WhatIfRun.State.QUEUED)
        raise
    except (ValidationError, RewardError, PermissionDenied) as exc:
        return _fail(run, mine, _refusal(exc))
    except SoftTimeLimitExceeded:
        return _fail(run, mine, _("Stopped: it took longer than the task time limit (%(seconds)s s).") % {"seconds": settings.CELERY_TASK_SOFT_TIME_LIMIT})
    except Exception as exc:
        logger.exception("what-if run %s failed", run.pk)
        return _fail(run, mine, _("Stopped by an unexpected error: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"})
    return {"run": run.pk, "state": WhatIfRun.State.FINISHED.value}


def _apply(run: WhatIfRun, mine, progress) -> None:
    if run.created_by is None:
        raise RewardError(_("The user who asked for this apply no longer exists."))
    # Judging every post again happens inside the apply's transaction: the count is the work.
    progress(0, Post.objects.filter(campaign_id=run.campaign_id).count())
    with transaction.atomic():
        applied = whatif_apply(
            campaign=run.campaign, changes=run.changes, note=run.note, user=run.created_by, expected_fingerprint=run.fingerprint, at=run.at
        )
        _finish(mine, result=whatif_applied_result(applied))  # RunSuperseded here rolls the apply back


def _finish(mine, **values) -> None:
    now = timezone.now()
    if mine.update(state=WhatIfRun.State.FINISHED, done=F("total"), finished_at=now, heartbeat_at=now, **values) != 1:
        raise RunSuperseded


def _fail(run: WhatIfRun, mine, message: str) -> dict:
    now = timezone.now()
    mine.update(state=WhatIfRun.State.FAILED, error=message, finished_at=now, heartbeat_at=now)
    return {"run": run.pk, "state": WhatIfRun.State.FAILED.value, "error": message}


def _field_label(name: str) -> str:
    try:
        return capfirst(str(Campaign._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:  # NON_FIELD_ERRORS, or a field a what-if may not change
        return name


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return "; ".join(f"{_field_label(name)}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


def _dump(item) -> dict:
    return {f.name: _json_value(getattr(item, f.name)) for f in fields(item)}


def _load(cls, data: dict):
    return cls(**{f.name: Decimal(data[f.name]) if f.type is Decimal else data[f.name] for f in fields(cls)})


def whatif_preview_result(preview: WhatIfPreview) -> dict:
    """What a preview run keeps, as JSON (money as strings): everything its page shows. Of the
    reward rows only those that move (amount, or due state) are kept, which is every row the page
    lists or charts; the rewards and summaries behind them are not."""
    moving = set(preview.payability_changes)
    return {
        "at": preview.at.isoformat(),
        "fingerprint": preview.fingerprint,
        "changes": [{"field": c.field, "current": _json_value(c.current), "proposed": _json_value(c.proposed)} for c in preview.changes],
        "rows": [_dump(r) for r in preview.rows if r.difference or r in moving],
        "totals": [_dump(t) for t in preview.totals],
        "pools": [_dump(p) for p in preview.pools],
        "verdict_changes": [_dump(v) for v in preview.verdict_changes],
        "scores_changed": preview.scores_changed,
    }


def whatif_preview_load(*, run: WhatIfRun) -> WhatIfPreview:
    """The preview a finished run computed, read back from its result: the same changes, rows,
    gainers, losers, totals, pools and verdict changes, to the cent. The proposed campaign, the
    rewards and the summaries are not kept (None and empty)."""
    data = run.result
    rows = tuple(_load(RewardChange, r) for r in data["rows"])
    return WhatIfPreview(
        campaign=run.campaign,
        proposed=None,
        at=datetime.fromisoformat(data["at"]),
        fingerprint=data["fingerprint"],
        changes=tuple(ConfigChange(c["field"], str(Campaign._meta.get_field(c["field"]).verbose_name), c["current"], c["proposed"]) for c in data["changes"]),
        rows=rows,
        gainers=_gainers(rows),
        losers=_losers(rows),
        totals=tuple(_load(KindTotal, t) for t in data["totals"]),
        pools=tuple(_load(PoolTotal, p) for p in data["pools"]),
        verdict_changes=tuple(_load(VerdictChange, v) for v in data["verdict_changes"]),
        scores_changed=data["scores_changed"],
        current_rewards=(),
        proposed_rewards=(),
    )


def whatif_applied_result(applied: WhatIfApplied) -> dict:
    """What an apply run keeps, as JSON: the fields it changed (old and new), the verdicts that
    changed, its audit entry and the settlement it queued (its run, instant and `triggered_by`)."""
    return {
        "changes": [{"field": c.field, "current": _json_value(c.current), "proposed": _json_value(c.proposed)} for c in applied.changes],
        "verdicts_changed": applied.verdicts_changed,
        "log_entry": applied.log_entry.pk,
        "settle_at": applied.settle_at.isoformat(),
        "triggered_by": applied.triggered_by,
        "settlement_run": applied.settlement_run_id,
    }


def whatif_apply_settlement(*, run: WhatIfRun) -> SettlementRun | None:
    """The settlement a finished apply queued: the run it recorded. An apply recorded before runs
    were queued at once names none: then the campaign's first run as of the apply's instant,
    triggered by it, that started after the apply committed."""
    if run.kind != WhatIfRun.Kind.APPLY or run.state != WhatIfRun.State.FINISHED:
        return None
    if run.result.get("settlement_run"):
        return SettlementRun.objects.filter(pk=run.result["settlement_run"]).first()
    return (
        SettlementRun.objects.filter(
            campaign_id=run.campaign_id, at=datetime.fromisoformat(run.result["settle_at"]), triggered_by=run.result["triggered_by"], started_at__gte=run.finished_at
        )
        .order_by("started_at", "id")
        .first()
    )


def whatif_runs_list(*, campaign: Campaign, limit: int = 10):
    """The campaign's latest what-if runs, newest first."""
    return WhatIfRun.objects.filter(campaign=campaign).select_related("created_by").order_by("-created_at", "-id")[:limit]
