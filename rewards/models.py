from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaign.models import Campaign
from core.screen_time import screen_time
from rewards.rules.types import ALL
from traders.models import Trader


class SettlementRun(models.Model):
    """One run of `settle_campaign`: the instant it settled at, the configuration it used and a
    summary of its inputs and outputs (counts, totals, unallocated money).

    A settlement asked for by a person (`settlement_enqueue`) exists at once, queued, under the
    id of the task that will run it; the worker claims that row (running), and it is finished
    when the ledger is written, or failed when the attempt raised (a retry may still finish it).
    Until a queued run starts, `at` is the instant asked for, or the instant it was queued when
    it settles as of whenever it runs; `started_at` is when it was queued until then.
    """

    class State(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("run state", "queued")
        RUNNING = "running", pgettext_lazy("run state", "running")
        FINISHED = "finished", pgettext_lazy("run state", "finished")
        FAILED = "failed", pgettext_lazy("run state", "failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="settlement_runs", verbose_name=_("campaign"))
    at = models.DateTimeField(_("settled as of"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    # The Celery task that runs it: how a caller follows the run, and how a task delivered
    # twice finds the run it already settled. Empty only for a run settled without a task.
    task_id = models.CharField(_("task id"), max_length=64, unique=True, null=True, blank=True, editable=False)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    triggered_by = models.CharField(_("triggered by"), max_length=150, blank=True)
    config = models.JSONField(_("configuration used"), default=dict)
    summary = models.JSONField(_("summary"), default=dict)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        verbose_name = _("settlement run")
        verbose_name_plural = _("settlement runs")

    def __str__(self):
        return f"{self.campaign.slug}: " + _("settlement #%(run)s (%(at)s)") % {"run": self.pk, "at": screen_time(self.at)}


class PayoutBatch(models.Model):
    """A payment made outside this system (exchange transfer, bulk credit), by its reference."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="payout_batches", verbose_name=_("campaign"))
    reference = models.CharField(_("external reference"), max_length=200, unique=True)
    note = models.TextField(_("note"), blank=True)
    created_by = models.CharField(_("by"), max_length=150)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")
        constraints = [models.CheckConstraint(condition=~Q(reference=""), name="payoutbatch_reference_required")]

    def __str__(self):
        return self.reference


class Reward(models.Model):
    """A ledger row. (campaign, kind, period, trader) is unique in the database, so no retry,
    re-settlement or race can create a second reward of a kind for a trader and period.

    State: calculated -> approved -> paid, or void. Only `calculated` rows are ever replaced by a
    settlement; a difference on an approved, paid or void row becomes a ReviewItem instead.
    A preview (period not yet due) is shown but can be neither approved nor reported.
    """

    class Kind(models.TextChoices):
        FIRST_POST = "first_post", _("first-post bonus")
        CONTENT_POOL = "content_pool", _("content pool")
        LEADERBOARD = "leaderboard", _("leaderboard")

    class State(models.TextChoices):
        CALCULATED = "calculated", _("calculated")
        APPROVED = "approved", _("approved")
        PAID = "paid", _("paid")
        VOID = "void", _("void")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="rewards", verbose_name=_("campaign"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    period = models.CharField(_("period"), max_length=10)
    trader = models.ForeignKey(Trader, on_delete=models.PROTECT, related_name="rewards", verbose_name=_("trader"))
    asset = models.CharField(_("asset"), max_length=20)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.CALCULATED, db_index=True)
    preview = models.BooleanField(_("preview (not yet due)"), default=False)
    settlement_run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="rewards", verbose_name=_("settlement run"))
    detail = models.JSONField(_("how it was computed"), default=dict)
    approved_by = models.CharField(_("approved by"), max_length=150, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    payout_batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="rewards", verbose_name=_("payout batch"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["campaign", "trader__uid", "kind", "period"]
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        permissions = [("approve_reward", _("Can approve rewards")), ("pay_reward", _("Can mark rewards paid"))]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind", "period", "trader"], name="reward_once_per_key"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="reward_amount_non_negative"),
            models.CheckConstraint(condition=~Q(state="paid") | Q(payout_batch__isnull=False), name="reward_paid_has_batch"),
            models.CheckConstraint(condition=Q(preview=False) | Q(state="calculated"), name="reward_preview_is_calculated"),
        ]

    def __str__(self):
        return f"{self.trader.uid} {self.label}: {self.amount} {self.asset}"

    @property
    def label(self) -> str:
        """The kind in words, with the period when there are several: "content pool P1", "leaderboard"."""
        kind = str(self.get_kind_display())
        return kind if self.period == ALL else f"{kind} {self.period}"


class RewardEvent(models.Model):
    """Audit trail of every change of a reward's state: who, when, what."""

    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="events", verbose_name=_("reward"))
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=12)
    to_state = models.CharField(_("to"), max_length=12)
    by = models.CharField(_("by"), max_length=150)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)

    # The actions the ledger services record (rewards/services/ledger.py), in words.
    ACTIONS = {
        "approve": _("approved"),
        "pay": _("marked paid"),
        "void": _("voided"),
        "accept_review": _("review item accepted"),
        "keep_review": _("review item kept"),
    }

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("reward event")
        verbose_name_plural = _("reward events")

    def __str__(self):
        reward = self.reward
        return f"{reward.trader.uid} {reward.label}: " + _("%(action)s by %(by)s") % {"action": self.get_action_display(), "by": self.by}

    def get_action_display(self) -> str:
        return str(self.ACTIONS.get(self.action, self.action))


class ReviewItem(models.Model):
    """A settlement computes another amount for an approved, paid or void reward (RULES.md section 8).

    A reward has at most one open item (the database enforces it): a later settlement updates the
    computed amount and its explanation, and every amount the item was given stays in its
    `computations`, each with its settlement. Ops close it with a note: `accept` (approved or void
    rewards: the reward takes the computed amount and goes back to `calculated`, or `void` at
    0.00) or `keep` (the reward keeps its amount; on a paid reward the difference becomes an
    Adjustment for finance). An item whose difference a later settlement no longer finds is
    withdrawn by that settlement.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("closed")

    class Resolution(models.TextChoices):
        NONE = "", _("not closed")
        ACCEPT = "accept", _("accepted: the reward takes the computed amount")
        KEEP = "keep", _("kept: the reward keeps its amount")
        WITHDRAWN = "withdrawn", _("withdrawn: a later settlement computes the ledger amount again")
        SUPERSEDED = "superseded", _("merged into the reward's newer item")

    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="review_items", verbose_name=_("reward"))
    settlement_run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="review_items", verbose_name=_("latest settlement"))
    stored_amount = models.DecimalField(
        _("amount in the ledger"), max_digits=12, decimal_places=2, help_text=_("What the trader holds: the reward's amount, plus earlier adjustments of a paid reward.")
    )
    computed_amount = models.DecimalField(_("amount computed now"), max_digits=12, decimal_places=2)
    computed_detail = models.JSONField(_("how the new amount was computed"), default=dict, blank=True)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(_("closed by"), max_length=12, choices=Resolution.choices, default=Resolution.NONE, blank=True)
    resolved_by = models.CharField(_("closed by (user)"), max_length=150, blank=True)
    resolved_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution_note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["status", "-created_at"]
        verbose_name = _("review item")
        verbose_name_plural = _("review items")
        constraints = [
            models.UniqueConstraint(fields=["reward"], condition=Q(status="open"), name="reviewitem_one_open_per_reward"),
            models.CheckConstraint(condition=Q(status="open", resolution="") | (Q(status="resolved") & ~Q(resolution="")), name="reviewitem_closed_has_resolution"),
        ]

    def __str__(self):
        reward = self.reward
        return f"#{self.pk} {reward.trader.uid} {reward.label}: {self.stored_amount} -> {self.computed_amount} {reward.asset}"

    @property
    def difference(self):
        return self.computed_amount - self.stored_amount


class ReviewComputation(models.Model):
    """One amount a review item was given, and the settlement that computed it."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="computations", verbose_name=_("review item"))
    settlement_run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="+", verbose_name=_("settlement"))
    computed_amount = models.DecimalField(_("amount computed"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["item", "id"]
        verbose_name = _("computed amount")
        verbose_name_plural = _("computed amounts")
        constraints = [models.UniqueConstraint(fields=["item", "settlement_run"], name="reviewcomputation_once_per_run")]

    def __str__(self):
        return _("%(amount)s by settlement #%(run)s") % {"amount": self.computed_amount, "run": self.settlement_run_id}


class Adjustment(models.Model):
    """What finance must top up (positive: underpaid) or claw back (negative: overpaid) on a paid
    reward, recorded when ops keep a review item of that reward. Never in the payout report; the
    paid reward itself never changes."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("campaign"))
    trader = models.ForeignKey(Trader, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("trader"))
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("reward"))
    review_item = models.OneToOneField(ReviewItem, on_delete=models.PROTECT, related_name="adjustment", verbose_name=_("review item"))
    asset = models.CharField(_("asset"), max_length=20)
    amount = models.DecimalField(_("amount (+ underpaid, - overpaid)"), max_digits=12, decimal_places=2)
    note = models.TextField(_("note"))
    created_by = models.CharField(_("by"), max_length=150)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["campaign", "trader__uid", "created_at", "id"]
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="adjustment_not_zero")]

    def __str__(self):
        sign = "+" if self.amount > 0 else ""
        return f"{self.trader.uid} {self.reward.label}: {sign}{self.amount} {self.asset}"


class PayoutReport(models.Model):
    """A payout report as it was generated (scheduled or by hand), kept for download."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="payout_reports", verbose_name=_("campaign"))
    created_at = models.DateTimeField(_("generated"), auto_now_add=True)
    created_by = models.CharField(_("by"), max_length=150)
    rows = models.PositiveIntegerField(_("rows"))
    csv_file = models.FileField(_("CSV"), upload_to="reports/%Y/%m/")
    xlsx_file = models.FileField(_("XLSX"), upload_to="reports/%Y/%m/")
    emailed_to = models.TextField(_("emailed to"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payout report")
        verbose_name_plural = _("payout reports")

    def __str__(self):
        return f"{self.campaign.slug} {screen_time(self.created_at)}"


class StatusLink(models.Model):
    """The rotation counter of a trader's personal status link for a campaign.

    The link is a signed token over (UID, campaign slug, version); rotating increments `version`,
    so every link signed before no longer matches and shows nothing.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="status_links", verbose_name=_("campaign"))
    trader = models.ForeignKey(Trader, on_delete=models.CASCADE, related_name="status_links", verbose_name=_("trader"))
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)
    rotated_by = models.CharField(_("rotated by"), max_length=150, blank=True)

    class Meta:
        ordering = ["campaign", "trader__uid"]
        verbose_name = _("status link")
        verbose_name_plural = _("status links")
        constraints = [models.UniqueConstraint(fields=["campaign", "trader"], name="statuslink_one_per_trader")]

    def __str__(self):
        return f"{self.campaign.slug} {self.trader.uid} v{self.version}"


class TrafficSource(models.TextChoices):
    AUTO = "auto", _("automatic")
    MANUAL = "manual", _("by hand")


class FeaturedPost(models.Model):
    """A post featured on a UTC+8 calendar day (RULES.md section 7).

    `auto` rows are what the rule picks and are rebuilt by `featured_posts_refresh`; `manual` rows
    mirror `Post.featured = True` (featured by hand). A post is created on exactly one day, so it is
    featured at most once per campaign.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="featured_posts", verbose_name=_("campaign"))
    day = models.DateField(_("day (UTC+8)"))
    post = models.ForeignKey("campaign.Post", on_delete=models.CASCADE, related_name="featured_on", verbose_name=_("post"))
    rank = models.PositiveSmallIntegerField(_("rank"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=TrafficSource.choices, default=TrafficSource.AUTO)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["campaign", "-day", "source", "rank"]
        verbose_name = _("featured post")
        verbose_name_plural = _("featured posts")
        constraints = [models.UniqueConstraint(fields=["campaign", "post"], name="featuredpost_once_per_post")]
        indexes = [models.Index(fields=["campaign", "day"], name="featuredpost_day")]

    def __str__(self):
        return f"{self.day} #{self.rank or '-'} {self.post_id}"


class WeeklyStar(models.Model):
    """A star trader of a campaign week (RULES.md section 7).

    `auto` rows are the rule's picks, rebuilt by `weekly_stars_refresh`. `manual` rows are ops'
    overrides and are never touched by a refresh: a star added by hand (`removed` false), or a
    trader removed by hand (`removed` true), whom the rule then skips for that week.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="star_traders", verbose_name=_("campaign"))
    week = models.CharField(_("week"), max_length=10)
    trader = models.ForeignKey(Trader, on_delete=models.CASCADE, related_name="weekly_stars", verbose_name=_("trader"))
    rank = models.PositiveSmallIntegerField(_("rank"), null=True, blank=True)
    score = models.PositiveIntegerField(_("week score"), default=0)
    source = models.CharField(_("source"), max_length=10, choices=TrafficSource.choices, default=TrafficSource.AUTO)
    removed = models.BooleanField(_("removed by hand"), default=False)
    set_by = models.CharField(_("by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["campaign", "week", "removed", "rank", "trader__uid"]
        verbose_name = _("weekly star trader")
        verbose_name_plural = _("weekly star traders")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "week", "trader"], name="weeklystar_once_per_week"),
            models.CheckConstraint(condition=Q(removed=False) | Q(source="manual"), name="weeklystar_removed_is_manual"),
        ]

    def __str__(self):
        return f"{self.week} {self.trader.uid}"


class FarmingThresholds(models.Model):
    """The anti-farming thresholds of a campaign (issue 9, item 3); defaults when the row is missing.

    Kept beside the campaign rather than in it because the campaign's configuration belongs to a
    lower layer; a thresholds change only changes which review flags are raised, never money.
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="farming_thresholds", verbose_name=_("campaign"))
    burst_posts = models.PositiveIntegerField(_("burst: more than this many posts"), default=5)
    burst_minutes = models.PositiveIntegerField(_("burst: within this many minutes"), default=30)
    duplicate_posts = models.PositiveIntegerField(_("near-identical: at least this many own copies"), default=2)
    engagement_multiple = models.PositiveIntegerField(_("engagement: score above this multiple of the trader's median"), default=10)
    engagement_min_posts = models.PositiveIntegerField(_("engagement: the trader has at least this many posts"), default=3)
    jump_min_increase = models.PositiveIntegerField(_("engagement jump: score rises by at least this many points"), default=500)
    jump_multiple = models.PositiveIntegerField(_("engagement jump: to at least this multiple of the previous score"), default=10)
    jump_hours = models.PositiveIntegerField(
        _("engagement jump: within this many hours"),
        default=6,
        help_text=_("Between two consecutive observations of a post's engagement; the score here has no cap."),
    )

    class Meta:
        verbose_name = _("anti-farming thresholds")
        verbose_name_plural = _("anti-farming thresholds")

    def __str__(self):
        return f"{self.campaign.slug}: " + _("anti-farming thresholds")


class ReviewFlag(models.Model):
    """An anti-farming signal reported to ops with its evidence. A flag never changes money by itself:
    only an explicit exclusion (with a note) leaves a post or a trader out of the next settlement."""

    class Kind(models.TextChoices):
        BURST = "burst", _("posting burst")
        NEAR_IDENTICAL = "near_identical", _("near-identical posts")
        ENGAGEMENT = "engagement", _("engagement far above usual")
        ENGAGEMENT_JUMP = "engagement_jump", _("engagement jump between observations")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        DISMISSED = "dismissed", _("dismissed")
        EXCLUDED = "excluded", _("excluded from settlement")

    class Excludes(models.TextChoices):
        NOTHING = "", _("nothing")
        POST = "post", _("the post")
        TRADER = "trader", _("the trader")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="review_flags", verbose_name=_("campaign"))
    trader = models.ForeignKey(Trader, on_delete=models.CASCADE, related_name="review_flags", verbose_name=_("trader"))
    post = models.ForeignKey("campaign.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="review_flags", verbose_name=_("post"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    evidence = models.JSONField(_("evidence"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    excludes = models.CharField(_("excludes"), max_length=10, choices=Excludes.choices, default=Excludes.NOTHING, blank=True)
    note = models.TextField(_("note"), blank=True)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["campaign", "status", "trader__uid", "kind", "id"]
        verbose_name = _("review flag")
        verbose_name_plural = _("review flags")
        constraints = [
            # NULLs are distinct in a unique index, so the trader-level key needs its own constraint.
            models.UniqueConstraint(fields=["campaign", "kind", "trader", "post"], condition=Q(post__isnull=False), name="reviewflag_once_per_post"),
            models.UniqueConstraint(fields=["campaign", "kind", "trader"], condition=Q(post__isnull=True), name="reviewflag_once_per_trader"),
            models.CheckConstraint(
                condition=Q(status="excluded", excludes__in=["post", "trader"]) | (~Q(status="excluded") & Q(excludes="")),
                name="reviewflag_exclusion_has_scope",
            ),
            models.CheckConstraint(condition=~Q(excludes="post") | Q(post__isnull=False), name="reviewflag_post_exclusion_has_post"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.trader.uid}" + (f" {self.post.post_id}" if self.post_id else "")


class WhatIfRun(models.Model):
    """One what-if preview or apply, computed in the background by `whatif_run_task`: what was
    asked (changes, instant, note, by whom), how far it got (`done` of `total`, units of work:
    posts judged, pools computed) and how it ended (`result` JSON, or `error`).

    A worker claims a run with a conditional update (queued -> running, `attempts` + 1), so a
    re-delivered task never computes a finished run again and leaves a live one alone; a run whose
    worker went silent for longer than a task may live is claimed again, or restarted from its page.
    """

    class Kind(models.TextChoices):
        PREVIEW = "preview", _("preview")
        APPLY = "apply", _("apply")

    class State(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("run state", "queued")
        RUNNING = "running", pgettext_lazy("run state", "running")
        FINISHED = "finished", pgettext_lazy("run state", "finished")
        FAILED = "failed", pgettext_lazy("run state", "failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="whatif_runs", verbose_name=_("campaign"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    changes = models.JSONField(_("proposed changes"), default=dict)
    at = models.DateTimeField(_("as of"))
    # The configuration the preview was computed under; an apply refuses any other.
    fingerprint = models.CharField(_("configuration fingerprint"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)
    preview = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="applies", verbose_name=_("preview"))
    done = models.PositiveBigIntegerField(_("done"), default=0)
    total = models.PositiveBigIntegerField(_("total"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("what-if run")
        verbose_name_plural = _("what-if runs")
        constraints = [
            models.CheckConstraint(condition=Q(total__isnull=True) | Q(done__lte=F("total")), name="whatifrun_done_within_total"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display()})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.FINISHED, self.State.FAILED)
