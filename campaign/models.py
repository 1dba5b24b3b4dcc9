from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from campaign import terms
from campaign.periods import slice_window
from core.models import ImportRun
from core.screen_time import screen_time
from traders.models import Trader


# The defaults of the JSON settings, as fresh lists (the defaults themselves are `campaign.terms`'s).
# Migrations refer to these callables by this path: they stay here.
def default_latin_terms():
    return list(terms.DEFAULT_LATIN_TERMS)


def default_cjk_terms():
    return list(terms.DEFAULT_CJK_TERMS)


def default_tiers():
    return [str(amount) for amount in terms.DEFAULT_TIERS]


# `Campaign.clean`'s sentence for each rule `campaign.terms` finds broken.
TERMS_MESSAGES = {
    "not_terms": _("A list of non-empty strings."),
    "spacing": _("Multi-word terms use single spaces and no surrounding spaces."),
}
TIERS_MESSAGES = {
    "not_amount": _("A list of amounts such as \"4000.00\"."),
    "empty": _("At least one tier."),
    "negative": _("Amounts must be non-negative with at most two decimals."),
    "not_cents": _("Amounts must be non-negative with at most two decimals."),
    "increasing": _("A lower rank may not earn more than a higher one."),
}


def _money_field(verbose, default):
    return models.DecimalField(
        verbose, max_digits=12, decimal_places=2, default=Decimal(default), validators=[MinValueValidator(Decimal("0"))]
    )


MAX_TEXT_LENGTH = 50_000  # RULES.md section 9: the default maximum of a post's text, in characters
# What ops may raise it to: a posts line may then hold 12 bytes a character (posts_line_limit),
# still a few MB, and judging holds one text at a time.
MAX_TEXT_LENGTH_CEILING = 1_000_000


class Campaign(models.Model):
    """A content campaign: its window and every rule parameter of RULES.md, editable by ops.

    Each settlement stores `rules_config()` as it was, so a later edit never rewrites history.
    """

    class SplitStrategy(models.TextChoices):
        TIERS = "tiers", _("fixed tiers by rank")
        PROPORTIONAL = "proportional", _("proportional to score")
        EQUAL = "equal", _("equal shares")

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("window start (inclusive)"))
    ends_at = models.DateTimeField(_("window end (exclusive)"))
    grace_hours = models.PositiveIntegerField(_("settlement grace (hours)"), default=terms.DEFAULT_GRACE_HOURS)
    content_period_days = models.PositiveIntegerField(_("content period (days)"), default=terms.DEFAULT_CONTENT_PERIOD_DAYS, validators=[MinValueValidator(1)])
    week_days = models.PositiveIntegerField(_("week (days)"), default=terms.DEFAULT_WEEK_DAYS, validators=[MinValueValidator(1)])

    # Qualification (section 3)
    min_length = models.PositiveIntegerField(_("minimum length (characters)"), default=terms.DEFAULT_MIN_LENGTH)
    # RULES.md section 9: a longer post text is rejected at every door (file, API, webhook, feed).
    max_text_length = models.PositiveIntegerField(
        _("maximum text length (characters)"),
        default=MAX_TEXT_LENGTH,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TEXT_LENGTH_CEILING)],
        help_text=_("A post whose text is longer is rejected with its reason, by every import. The rulebook default is 50,000."),
    )
    score_cap = models.PositiveIntegerField(_("post score cap"), default=terms.DEFAULT_SCORE_CAP, validators=[MinValueValidator(1)])
    duplicate_threshold = models.DecimalField(
        _("near-duplicate Jaccard threshold"),
        max_digits=4,
        decimal_places=3,
        default=terms.DEFAULT_DUPLICATE_THRESHOLD,
        validators=[MinValueValidator(Decimal("0.8")), MaxValueValidator(Decimal("1"))],
        # The LSH index (40 bands of 5) is tuned so that a pair at 0.8 is missed with probability
        # 1e-7; below 0.8 candidates would be lost silently, so the setting does not go lower.
        help_text=_("0.8 to 1. The rulebook default is 0.8."),
    )
    # The threshold the stored duplicate links were computed under (`campaign.services.duplicates`):
    # when ops change the threshold, by any path, the next index work relinks every post.
    links_threshold = models.DecimalField(_("threshold of the stored duplicate links"), max_digits=4, decimal_places=3, null=True, blank=True, editable=False)
    latin_terms = models.JSONField(_("trading terms (whole words)"), default=default_latin_terms)
    cjk_terms = models.JSONField(_("trading terms (substrings)"), default=default_cjk_terms)

    # First-post bonus (section 4)
    first_post_asset = models.CharField(_("first-post asset"), max_length=20, default=terms.DEFAULT_FIRST_POST_ASSET)
    first_post_amount = _money_field(_("first-post amount"), terms.DEFAULT_FIRST_POST_AMOUNT)
    first_post_limit = models.PositiveIntegerField(
        _("first-post bonuses at most"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit. Otherwise the traders whose first qualifying posts are earliest get them."),
    )

    # Biweekly content pool (section 5)
    pool_asset = models.CharField(_("content pool asset"), max_length=20, default=terms.DEFAULT_POOL_ASSET)
    pool_amount = _money_field(_("content pool per period"), terms.DEFAULT_POOL_AMOUNT)
    pool_cap = _money_field(_("content pool cap per creator"), terms.DEFAULT_POOL_CAP)
    pool_min_score = models.PositiveIntegerField(_("content pool minimum creator score"), default=terms.DEFAULT_POOL_MIN_SCORE)
    pool_top_posts = models.PositiveIntegerField(_("posts counted per creator"), default=terms.DEFAULT_POOL_TOP_POSTS, validators=[MinValueValidator(1)])

    # Leaderboard (section 6)
    leaderboard_asset = models.CharField(_("leaderboard asset"), max_length=20, default=terms.DEFAULT_LEADERBOARD_ASSET)
    leaderboard_min_posts = models.PositiveIntegerField(_("leaderboard minimum qualifying posts"), default=terms.DEFAULT_LEADERBOARD_MIN_POSTS)
    leaderboard_strategy = models.CharField(_("leaderboard split"), max_length=20, choices=SplitStrategy.choices, default=SplitStrategy.TIERS)
    leaderboard_tiers = models.JSONField(_("tier amounts by rank"), default=default_tiers)
    leaderboard_pool = _money_field(_("leaderboard pool (proportional/equal)"), terms.DEFAULT_LEADERBOARD_POOL)
    copier_weight = models.DecimalField(_("points per new copier"), max_digits=8, decimal_places=2, default=terms.DEFAULT_COPIER_WEIGHT)
    pnl_weight = models.DecimalField(_("points per USDT of copier PnL"), max_digits=8, decimal_places=4, default=terms.DEFAULT_PNL_WEIGHT)

    # Traffic support (section 7)
    featured_per_day = models.PositiveIntegerField(_("featured posts per day"), default=terms.DEFAULT_FEATURED_PER_DAY)
    weekly_stars = models.PositiveIntegerField(_("star traders per week"), default=terms.DEFAULT_WEEKLY_STARS)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="campaign_window_ordered"),
            models.CheckConstraint(condition=Q(pool_cap__gte=0) & Q(pool_amount__gte=0), name="campaign_pool_non_negative"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.starts_at and self.ends_at and not self.starts_at < self.ends_at:
            errors["ends_at"] = _("The window must end after it starts.")
        for field, whole_words in (("latin_terms", True), ("cjk_terms", False)):
            try:
                terms.validate_terms(getattr(self, field), whole_words=whole_words)
            except terms.ConfigurationError as error:
                errors[field] = TERMS_MESSAGES[error.code]
        try:
            terms.tiers_from_config(self.leaderboard_tiers)
        except terms.ConfigurationError as error:
            errors["leaderboard_tiers"] = TIERS_MESSAGES[error.code]
        if errors:
            raise ValidationError(errors)

    @property
    def grace(self):
        return timedelta(hours=self.grace_hours)

    def content_periods(self):
        return slice_window(self.starts_at, self.ends_at, days=self.content_period_days, prefix="P")

    def weeks(self):
        return slice_window(self.starts_at, self.ends_at, days=self.week_days, prefix="W")

    def in_window(self, instant):
        return self.starts_at <= instant < self.ends_at

    def rules_config(self) -> dict:
        """The configuration a settlement uses, as JSON-safe data (decimals as strings)."""
        data = {}
        for field in self._meta.concrete_fields:
            if field.name in {"id", "created_at", "updated_at", "links_threshold"}:
                continue
            value = getattr(self, field.attname)
            if isinstance(value, Decimal):
                value = str(value)
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            data[field.name] = value
        return data


class Signup(models.Model):
    """A questionnaire sign-up (RULES.md section 2); kept even when the UID has no registration."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="signups", verbose_name=_("campaign"))
    trader = models.ForeignKey(Trader, on_delete=models.CASCADE, related_name="signups", verbose_name=_("trader"))
    submitted_at = models.DateTimeField(_("submitted at"))
    square_handle = models.CharField(_("Square handle"), max_length=100, blank=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("import run"))
    source_line = models.PositiveIntegerField(_("source line"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["campaign", "trader__uid", "submitted_at"]
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "trader", "submitted_at"], name="signup_unique_submission"),
        ]

    def __str__(self):
        return f"{self.trader.uid} @ {screen_time(self.submitted_at)}"


class Post(models.Model):
    """A Gate Square post as last ingested, with its cached verdict and score.

    The verdict and score are a cache of `campaign.qualification.judge` over the data as it is
    now; `posts_judge` recomputes them at any time and settlement always does so first.
    """

    class Verdict(models.TextChoices):
        PENDING = "pending", _("not judged yet")
        QUALIFIED = "qualified", _("qualified")
        OUTSIDE_WINDOW = "outside_window", _("created outside the window")
        NOT_ENROLLED = "not_enrolled", _("author not enrolled")
        DELETED = "deleted", _("deleted")
        TOO_SHORT = "too_short", _("too short")
        NOT_TRADING = "not_trading", _("not about trading")
        DUPLICATE = "duplicate", _("near-duplicate of an earlier text")
        REJECTED = "rejected", _("rejected by ops")

    class Moderation(models.TextChoices):
        NONE = "", _("none")
        APPROVED = "approved", _("approved by ops")
        REJECTED = "rejected", _("rejected by ops")

    # Every index is maintained on every insert and on every verdict change (a million of each at
    # scale): the campaign is the first column of the unique key and of the indexes below, so
    # it needs no index of its own; nor does the verdict (post_verdict_time) or index_stale
    # (only the few stale posts are ever looked up: post_index_stale).
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="posts", db_index=False, verbose_name=_("campaign"))
    post_id = models.CharField(_("post ID"), max_length=128)
    author = models.ForeignKey(Trader, on_delete=models.PROTECT, related_name="posts", verbose_name=_("author"))
    created_at = models.DateTimeField(_("created at"))
    text = models.TextField(_("text"))
    likes = models.PositiveIntegerField(_("likes"), default=0)
    comments = models.PositiveIntegerField(_("comments"), default=0)
    shares = models.PositiveIntegerField(_("shares"), default=0)
    views = models.PositiveBigIntegerField(_("views"), default=0)
    deleted = models.BooleanField(_("deleted"), default=False)
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))

    signature = models.BinaryField(_("MinHash signature"), editable=False, default=bytes)
    # Set when the text changed and the near-duplicate index has not caught up yet; a crash
    # between the two leaves the flag, and the next qualification run finishes the job.
    index_stale = models.BooleanField(_("duplicate check pending"), default=True)
    # Checks 4 and 5 as the text gave them when it arrived (`qualification.text_facts`): judging
    # reads these, not the text, unless the lexicon changed since (another `lexicon_key`).
    text_length = models.PositiveIntegerField(_("length without URLs and whitespace"), null=True, blank=True, editable=False)
    trading_term = models.BooleanField(_("has a trading term"), null=True, blank=True, editable=False)
    lexicon_key = models.CharField(_("trading-term lexicon key"), max_length=16, blank=True, editable=False)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("near-duplicate of post"))
    duplicate_of_reference = models.ForeignKey(
        "ReferenceText", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("near-duplicate of reference text")
    )
    moderation = models.CharField(_("moderation"), max_length=10, choices=Moderation.choices, default=Moderation.NONE, blank=True)
    verdict = models.CharField(_("verdict"), max_length=20, choices=Verdict.choices, default=Verdict.PENDING)
    score = models.PositiveIntegerField(_("score"), default=0)
    # When the verdict and score were last confirmed; cleared by a write that changes what they
    # are judged on (engagement, deletion, text), so "not judged since it changed" is one
    # indexed look-up (`post_unjudged`) instead of re-judging the whole campaign.
    judged_at = models.DateTimeField(_("judged"), null=True, blank=True)
    featured = models.BooleanField(_("featured by hand"), null=True, blank=True, help_text=_("Empty: automatic."))
    homepage = models.BooleanField(_("homepage recommendation"), default=False)

    class Meta:
        ordering = ["campaign", "created_at", "post_id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        permissions = [("moderate_post", _("Can approve or reject posts"))]
        constraints = [models.UniqueConstraint(fields=["campaign", "post_id"], name="post_unique_per_campaign")]
        indexes = [
            models.Index(fields=["campaign", "author", "created_at"], name="post_author_time"),
            # Covering what settlement reads of the qualifying posts: an index-only scan of a
            # narrow index instead of a read of every wide row (texts and signatures).
            models.Index(fields=["campaign", "verdict", "created_at"], include=["post_id", "author", "score"], name="post_verdict_time"),
            models.Index(fields=["campaign", "created_at"], condition=Q(homepage=True), name="post_homepage_picks"),
            models.Index(fields=["campaign"], condition=Q(judged_at__isnull=True), name="post_unjudged"),
            # The posts judged since an instant: what an incremental settlement judges again
            # (`posts_qualify`) and what the dashboard counts as changed since a settlement; a
            # scan of every wide row otherwise (0.35 s a million posts, warm). Measured on a
            # million rows: no cost on the whole judging's UPDATE beyond its noise.
            models.Index(fields=["campaign", "judged_at"], name="post_judged_time"),
            models.Index(fields=["campaign"], condition=Q(index_stale=True), name="post_index_stale"),
            # Covering what judging reads of every post (`judging.JUDGE_FIELDS`): judging a whole
            # campaign reads this index (about 130 bytes a post) instead of every wide row. Its
            # cost is one more entry per insert and per non-HOT update: verdict, score and
            # engagement writes were non-HOT already (verdict, judged_at are indexed); a write of
            # only the duplicate links, the moderation or the text facts is now non-HOT too.
            models.Index(
                fields=["campaign", "id"],
                include=[
                    "author", "created_at", "deleted", "moderation", "duplicate_of", "duplicate_of_reference", "verdict", "score",
                    "text_length", "trading_term", "lexicon_key", "likes", "comments", "shares", "views", "judged_at",
                ],
                name="post_judging",
            ),  # fmt: skip
        ]

    def __str__(self):
        return self.post_id


class JudgingState(models.Model):
    """What a campaign's verdicts were last judged against as a whole (`posts_qualify`).

    `inputs` digests everything a verdict depends on besides the post itself: the campaign's
    rules, the enrolment data (registrations and sign-ups) and the reference texts
    (`campaign.services.qualify.judging_inputs_digest`). While it still matches, only posts whose
    own data changed since they were judged (`Post.judged_at` empty) need judging again; when it
    differs, or when the row is gone (a post or reference deleted), every post is judged.
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, primary_key=True, related_name="+", verbose_name=_("campaign"))
    inputs = models.CharField(_("digest of the judging inputs"), max_length=64)
    judged_at = models.DateTimeField(_("judged"))

    class Meta:
        verbose_name = _("judging state")
        verbose_name_plural = _("judging states")

    def __str__(self):
        return _("judged %(at)s") % {"at": screen_time(self.judged_at, seconds=True)}


class EngagementSnapshot(models.Model):
    """One observation of a post's engagement, kept for the engagement-jump signal (issue 9).

    History starts when a re-ingest changes the figures: the figures as stored (observed at the
    post's `last_seen_at`) and the new ones. A post whose figures never change has no rows, so a
    first import writes none. The post row itself always holds the newest figures.
    """

    # No index of its own: (post, observed_at) below serves the cascade and every lookup.
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="engagement_snapshots", db_index=False, verbose_name=_("post"))
    observed_at = models.DateTimeField(_("observed at"))
    likes = models.PositiveIntegerField(_("likes"))
    comments = models.PositiveIntegerField(_("comments"))
    shares = models.PositiveIntegerField(_("shares"))
    views = models.PositiveBigIntegerField(_("views"))

    class Meta:
        ordering = ["post", "observed_at", "id"]
        verbose_name = _("engagement snapshot")
        verbose_name_plural = _("engagement snapshots")
        indexes = [models.Index(fields=["post", "observed_at"], name="engagementsnapshot_post_time")]

    def __str__(self):
        return f"{self.post_id} @ {screen_time(self.observed_at, seconds=True)}"


class ReferenceText(models.Model):
    """A text ops loaded for the duplicate check; every post is later than every reference."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reference_texts", verbose_name=_("campaign"))
    text = models.TextField(_("text"))
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64)
    signature = models.BinaryField(_("MinHash signature"), editable=False, default=bytes)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("import run"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["campaign", "id"]
        verbose_name = _("reference text")
        verbose_name_plural = _("reference texts")
        constraints = [models.UniqueConstraint(fields=["campaign", "content_hash"], name="reference_text_unique")]

    def __str__(self):
        return self.text[:60]


class BandRows(models.Model):
    """The columns of a band table (`DuplicateBand`, `DuplicateBandRecent`): one LSH band key of a
    post or reference text."""

    pk = models.CompositePrimaryKey("campaign_id", "key", "owner")
    # No database constraint: a cascade per row would be the cost of the 40 rows per post. The
    # ORM still deletes a campaign's rows with it (one indexed DELETE).
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False, verbose_name=_("campaign"))
    key = models.BigIntegerField(_("band key"))
    owner = models.BigIntegerField(_("text (post, or minus the reference text)"))
    # 4 bits of each of the owner's MinHash values (`near_duplicates.sketch_matrix`), on the rows
    # of keys held by many texts (boilerplate) only: a lookup drops most of those owners without
    # reading their posts. NULL elsewhere; rewritten whenever the owner is indexed again.
    sketch = models.BinaryField(_("signature sketch"), null=True, editable=False)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.key} -> {self.owner}"


class DuplicateBand(BandRows):
    """One LSH band key of a post or reference text: the persistent near-duplicate index.

    Looking up a text's band keys finds its candidates in any process without rebuilding an index;
    the decision is still the exact Jaccard value. A derived cache, so it is kept lean: the
    primary key (campaign, key, owner) is its only full index (the other holds sketched rows
    only), there is no foreign key to check per row, and on PostgreSQL the table is UNLOGGED
    (migration 0009). `owner` is the post id, or
    minus the reference text id. Rows of a post whose text changed, or that was deleted, stay
    until the next full rewrite; lookups check every hit against the owner's current signature.
    The row (campaign, 0, 0) marks an index that is complete: after a crash PostgreSQL empties
    an unlogged table, the mark goes with it, and the next refresh rebuilds the index.

    This table holds what the last full rewrite wrote; the rows of texts indexed one by one since
    go to `DuplicateBandRecent` (`near_duplicates.db`, "Two band tables").
    """

    class Meta:
        verbose_name = _("near-duplicate index entry")
        verbose_name_plural = _("near-duplicate index entries")
        # Finds an owner's sketches to clear when its text is indexed again; only sketched rows
        # (about 1% of them) are in it.
        indexes = [models.Index(fields=["campaign", "owner"], condition=Q(sketch__isnull=False), name="duplicateband_sketched")]


class DuplicateBandRecent(BandRows):
    """The band rows of the texts indexed since the last full rewrite of `DuplicateBand`: a small
    table whose pages stay in memory, where adding a text's 40 keys to the large one costs 40
    random index pages (`near_duplicates.db`, "Two band tables"). Lookups read both; a rewrite
    empties it, and it is merged into the large one once it grows (`RECENT_ROWS`). UNLOGGED on
    PostgreSQL like the large one (migration 0024): a crash empties both, marks included."""

    class Meta:
        verbose_name = _("near-duplicate index entry, recent")
        verbose_name_plural = _("near-duplicate index entries, recent")
        indexes = [models.Index(fields=["campaign", "owner"], condition=Q(sketch__isnull=False), name="duplicatebandrecent_sketched")]


class IndexMark(models.Model):
    """A post the near-duplicate index caught up with whose `index_stale` flag is still set: a
    bulk import's judging clears the flag in the write of the post's verdict, one write of the
    wide row instead of two (`campaign.services.import_judging`).

    `prefix` is the start of the content hash of the text the index read: the flag is cleared
    only while the post still has that text (a writer that takes no lock may have stored a newer
    one since, which keeps waiting). Whatever enters the index applies the marks left first
    (`campaign.services.qualify.index_catch_up`), so a mark is never older than the band rows.
    A derived, short-lived record: no constraint on either key (a mark of a deleted post matches
    no row when applied).
    """

    post_id = models.BigIntegerField(_("post"), primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False, verbose_name=_("campaign"))
    prefix = models.CharField(_("content hash prefix"), max_length=16)

    class Meta:
        verbose_name = _("duplicate check mark")
        verbose_name_plural = _("duplicate check marks")

    def __str__(self):
        return f"{self.post_id}: {self.prefix}"


class ModerationDecision(models.Model):
    """The audit trail of moderation: who approved or rejected which post, when and why."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("post"))
    action = models.CharField(_("action"), max_length=10, choices=[("approved", _("approve")), ("rejected", _("reject")), ("", _("clear"))], blank=True)
    note = models.TextField(_("note"))
    decided_by = models.CharField(_("by"), max_length=150)
    decided_at = models.DateTimeField(_("at"), auto_now_add=True)
    verdict_before = models.CharField(_("verdict before"), max_length=20)

    class Meta:
        ordering = ["-decided_at", "-id"]
        verbose_name = _("moderation decision")
        verbose_name_plural = _("moderation decisions")

    def __str__(self):
        return f"{self.post.post_id}: " + _("%(action)s by %(by)s") % {"action": self.get_action_display(), "by": self.decided_by}


class FeedCursor(models.Model):
    """Where the feed pull of a campaign stopped: saved with each page in one transaction."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="feed_cursor", verbose_name=_("campaign"))
    cursor = models.CharField(_("cursor"), max_length=500, blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    items = models.PositiveBigIntegerField(_("items"), default=0)
    last_pulled_at = models.DateTimeField(_("last pulled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # A pull claims the cursor with a conditional UPDATE of this lease, so two workers (or beat and
    # a hand-run command) never page the feed at once; an expired lease is free to take.
    lease_until = models.DateTimeField(_("worked on until"), null=True, blank=True)

    class Meta:
        verbose_name = _("feed cursor")
        verbose_name_plural = _("feed cursors")

    def __str__(self):
        return f"{self.campaign.slug}: {self.cursor or '(start)'}"


class WebhookDelivery(models.Model):
    """A webhook delivery already taken: its unique key refuses a replay, and its body waits here
    until a worker stores its posts (`webhook_deliveries_process`), which then sets
    `processed_at` and the import run in the same transaction as the posts."""

    delivery_id = models.CharField(_("delivery ID"), max_length=200, unique=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    # Null only for deliveries taken before the queue existed (processed at once back then).
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("campaign"))
    # The signed body as received (bytes: JSON may spell a NUL, which no PostgreSQL text holds).
    body = models.BinaryField(_("body"), default=b"", editable=False)
    items = models.PositiveIntegerField(_("items"), default=0)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("import run"))

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["campaign", "id"], condition=models.Q(processed_at__isnull=True), name="webhookdelivery_queue"),
        ]

    def __str__(self):
        return self.delivery_id


class CampaignImport(models.Model):
    """Which campaign an import run brought records into: a key, where the run kept a slug before.

    Core's ImportRun knows no campaign (a lower layer), so the link lives here, one row per run of
    a campaign; runs of no campaign (a registrations batch through the API) have none. Deleting a
    campaign deletes its links and keeps the runs.
    """

    run = models.OneToOneField(ImportRun, on_delete=models.CASCADE, primary_key=True, related_name="campaign_link", verbose_name=_("import run"))
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="imports", verbose_name=_("campaign"))

    class Meta:
        verbose_name = _("campaign import")
        verbose_name_plural = _("campaign imports")

    def __str__(self):
        return f"{self.campaign.slug}: {self.run}"


class JudgingJob(models.Model):
    """The judging a bulk import queued: its posts are stored (the import is acknowledged), their
    signatures, near-duplicate links and verdicts are worked out in chunks by whichever processes
    take them (Celery workers on the same database and broker, and the command that waits).

    Three stages, one after the other: `sign` (signatures and text facts of the new texts, chunks
    in parallel), `index` (the near-duplicate index and links: one chunk, under the campaign lock,
    since "earliest wins" needs the whole campaign in order), `judge` (verdicts and scores of every
    post not judged since it changed, chunks in parallel). The process that finishes a stage's
    last chunk opens the next stage (`campaign.services.import_judging`).
    """

    class Stage(models.TextChoices):
        SIGN = "sign", _("signatures")
        INDEX = "index", _("near-duplicate links")
        JUDGE = "judge", _("verdicts")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="judging_jobs", verbose_name=_("campaign"))
    run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="judging_jobs", verbose_name=_("import run"))
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices, default=Stage.SIGN)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("judging job")
        verbose_name_plural = _("judging jobs")
        ordering = ["-created_at"]

    def __str__(self):
        return _("judging #%(pk)s (%(stage)s)") % {"pk": self.pk, "stage": self.get_stage_display()}


class JudgingChunk(models.Model):
    """One unit of a judging job: the posts with ids from `low` to `high` (inclusive) of one stage.

    Done once (`done_at`); a process works on it holding its row lock, so two processes never do
    the same chunk at once and a re-delivered task finds it done or taken and moves on."""

    job = models.ForeignKey(JudgingJob, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("judging job"))
    stage = models.CharField(_("stage"), max_length=10, choices=JudgingJob.Stage.choices)
    low = models.BigIntegerField(_("first post id"))
    high = models.BigIntegerField(_("last post id"))
    size = models.PositiveIntegerField(_("posts"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("judging chunk")
        verbose_name_plural = _("judging chunks")
        constraints = [models.UniqueConstraint(fields=["job", "stage", "low"], name="judging_chunk_unique")]

    def __str__(self):
        return f"{self.stage} {self.low}-{self.high}"
