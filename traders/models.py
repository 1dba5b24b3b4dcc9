from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import ImportRun
from core.screen_time import screen_time


class Trader(models.Model):
    """A person on the exchange, known by their Gate UID.

    A row exists for every UID any import has mentioned, registered or not, so that a sign-up or a
    post that arrives before its registration is kept and starts to count when it lands.
    """

    uid = models.PositiveBigIntegerField(_("UID"), unique=True)
    nickname = models.CharField(_("nickname"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["uid"]
        verbose_name = _("trader")
        verbose_name_plural = _("traders")
        constraints = [models.CheckConstraint(condition=Q(uid__gt=0), name="trader_uid_positive")]

    def __str__(self):
        return f"{self.uid} {self.nickname}".strip()


class LeadTraderRegistration(models.Model):
    """The trader's current futures/spot lead-trader registration (RULES.md section 2).

    One row per trader: the newest import replaces the older one whole.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        REVOKED = "revoked", _("revoked")

    class Market(models.TextChoices):
        FUTURES = "futures", _("futures")
        SPOT = "spot", _("spot")

    trader = models.OneToOneField(Trader, on_delete=models.CASCADE, related_name="registration", verbose_name=_("trader"))
    market = models.CharField(_("market"), max_length=10, choices=Market.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    applied_at = models.DateTimeField(_("applied at"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("import run"))
    source_line = models.PositiveIntegerField(_("source line"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("lead-trader registration")
        verbose_name_plural = _("lead-trader registrations")

    def __str__(self):
        return f"{self.trader.uid} {self.get_market_display()}/{self.get_status_display()}"

    @property
    def counts(self):
        return self.status == self.Status.APPROVED and self.market == self.Market.FUTURES


class TradingStats(models.Model):
    """A copy-trading snapshot for a trader as of an instant (RULES.md section 6).

    (trader, as_of) is unique: importing a snapshot with an equal `as_of` again replaces it, which is
    how "equal as_of: the later import wins" holds and why re-importing a file changes nothing.
    """

    trader = models.ForeignKey(Trader, on_delete=models.CASCADE, related_name="stats", verbose_name=_("trader"))
    as_of = models.DateTimeField(_("as of"))
    new_copiers = models.PositiveIntegerField(_("new copiers"))
    copier_pnl_usdt = models.DecimalField(_("copier PnL (USDT)"), max_digits=24, decimal_places=8)
    import_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("import run"))
    source_line = models.PositiveIntegerField(_("source line"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["trader__uid", "-as_of"]
        verbose_name = _("trading stats snapshot")
        verbose_name_plural = _("trading stats snapshots")
        constraints = [models.UniqueConstraint(fields=["trader", "as_of"], name="tradingstats_one_per_instant")]

    def __str__(self):
        return f"{self.trader.uid} @ {screen_time(self.as_of)}"
