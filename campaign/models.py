from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from campaign.periods import slice_window
from traders.models import ImportRun, Trader

# RULES.md section 3: the trading lexicon. Kept here as defaults of the editable configuration.
DEFAULT_LATIN_TERMS = [
    "long", "short", "futures", "perpetual", "perp", "leverage", "leveraged", "liquidation",
    "liquidations", "funding rate", "open interest", "support", "resistance", "breakout", "entry",
    "stop loss", "take profit", "bullish", "bearish", "squeeze", "derivatives",
]  # fmt: skip
DEFAULT_CJK_TERMS = [
    "做多", "做空", "合约", "杠杆", "爆仓", "清算", "止损", "止盈", "支撑", "阻力", "突破", "多单",
    "空单", "带单", "跟单", "持仓",
]  # fmt: skip
DEFAULT_TIERS = ["4000.00", "3000.00", "2500.00", "2000.00", "1800.00", "1600.00", "1500.00", "1300.00", "1200.00", "1100.00"]


def default_latin_terms():
    return list(DEFAULT_LATIN_TERMS)


def default_cjk_terms():
    return list(DEFAULT_CJK_TERMS)


def default_tiers():
    return list(DEFAULT_TIERS)


def _money_field(verbose, default):
    return models.DecimalField(
        verbose, max_digits=12, decimal_places=2, default=Decimal(default), validators=[MinValueValidator(Decimal("0"))]
    )


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
    grace_hours = models.PositiveIntegerField(_("settlement grace (hours)"), default=24)
    content_period_days = models.PositiveIntegerField(_("content period (days)"), default=14, validators=[MinValueValidator(1)])
    week_days = models.PositiveIntegerField(_("week (days)"), default=7, validators=[MinValueValidator(1)])

    # Qualification (section 3)
    min_length = models.PositiveIntegerField(_("minimum length (characters)"), default=100)
    score_cap = models.PositiveIntegerField(_("post score cap"), default=500, validators=[MinValueValidator(1)])
    duplicate_threshold = models.DecimalField(
        _("near-duplicate Jaccard threshold"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.800"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
    )
    latin_terms = models.JSONField(_("trading terms (whole words)"), default=default_latin_terms)
    cjk_terms = models.JSONField(_("trading terms (substrings)"), default=default_cjk_terms)

    # First-post bonus (section 4)
    first_post_asset = models.CharField(_("first-post asset"), max_length=20, default="TRIAL_FUND")
    first_post_amount = _money_field(_("first-post amount"), "30.00")

    # Biweekly content pool (section 5)
    pool_asset = models.CharField(_("content pool asset"), max_length=20, default="USDT")
    pool_amount = _money_field(_("content pool per period"), "500.00")
    pool_cap = _money_field(_("content pool cap per creator"), "100.00")
    pool_min_score = models.PositiveIntegerField(_("content pool minimum creator score"), default=10)
    pool_top_posts = models.PositiveIntegerField(_("posts counted per creator"), default=5, validators=[MinValueValidator(1)])

    # Leaderboard (section 6)
    leaderboard_asset = models.CharField(_("leaderboard asset"), max_length=20, default="USDT")
    leaderboard_min_posts = models.PositiveIntegerField(_("leaderboard minimum qualifying posts"), default=3)
    leaderboard_strategy = models.CharField(_("leaderboard split"), max_length=20, choices=SplitStrategy.choices, default=SplitStrategy.TIERS)
    leaderboard_tiers = models.JSONField(_("tier amounts by rank"), default=default_tiers)
    leaderboard_pool = _money_field(_("leaderboard pool (proportional/equal)"), "20000.00")
    copier_weight = models.DecimalField(_("points per new copier"), max_digits=8, decimal_places=2, default=Decimal("5"))
    pnl_weight = models.DecimalField(_("points per USDT of copier PnL"), max_digits=8, decimal_places=4, default=Decimal("0.01"))

    # Traffic support (section 7)
    featured_per_day = models.PositiveIntegerField(_("featured posts per day"), default=3)
    weekly_stars = models.PositiveIntegerField(_("star traders per week"), default=3)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
        for field in ("latin_terms", "cjk_terms"):
            terms = getattr(self, field)
            if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
                errors[field] = _("A list of non-empty strings.")
            elif field == "latin_terms" and any("  " in t or t != t.strip() for t in terms):
                errors[field] = _("Multi-word terms use single spaces and no surrounding spaces.")
        try:
            tiers = [Decimal(str(t)) for t in self.leaderboard_tiers]
        except (TypeError, ArithmeticError, ValueError):
            errors["leaderboard_tiers"] = _("A list of amounts such as \"4000.00\".")
        else:
            if not tiers:
                errors["leaderboard_tiers"] = _("At least one tier.")
            elif any(t < 0 or t != t.quantize(Decimal("0.01")) for t in tiers):
                errors["leaderboard_tiers"] = _("Amounts must be non-negative with at most two decimals.")
            elif any(a < b for a, b in zip(tiers, tiers[1:])):
                errors["leaderboard_tiers"] = _("A lower rank may not earn more than a higher one.")
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
            if field.name in {"id", "created_at", "updated_at"}:
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

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="signups")
    trader = models.ForeignKey(Trader, on_delete=models.CASCADE, related_name="signups")
    submitted_at = models.DateTimeField(_("submitted at"))
    square_handle = models.CharField(_("Square handle"), max_length=100, blank=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
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
        return f"{self.trader.uid} @ {self.submitted_at:%Y-%m-%d %H:%M}"
