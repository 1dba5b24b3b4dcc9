from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from traders.models import LeadTraderRegistration, Trader, TradingStats


class RegistrationInline(admin.StackedInline):
    model = LeadTraderRegistration
    extra = 0
    can_delete = False
    readonly_fields = ["market", "status", "applied_at", "approved_at", "import_run", "source_line", "updated_at"]


@admin.register(Trader)
class TraderAdmin(admin.ModelAdmin):
    list_display = ["uid", "nickname", "registration_market", "registration_status", "created_at"]
    list_filter = ["registration__status", "registration__market"]
    search_fields = ["=uid", "nickname"]
    list_select_related = ["registration"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [RegistrationInline]

    @admin.display(description=_("market"), ordering="registration__market")
    def registration_market(self, obj):
        registration = getattr(obj, "registration", None)
        return registration.get_market_display() if registration else "—"

    @admin.display(description=_("registration"), ordering="registration__status")
    def registration_status(self, obj):
        registration = getattr(obj, "registration", None)
        if registration is None:
            return format_html('<span style="color:#999">{}</span>', _("none"))
        colour = {"approved": "#1a7f37", "pending": "#9a6700", "rejected": "#cf222e", "revoked": "#cf222e"}
        return format_html('<b style="color:{}">{}</b>', colour[registration.status], registration.get_status_display())


@admin.register(LeadTraderRegistration)
class LeadTraderRegistrationAdmin(admin.ModelAdmin):
    list_display = ["trader", "trader_nickname", "market", "status", "applied_at", "approved_at", "updated_at"]
    list_filter = ["status", "market"]
    search_fields = ["=trader__uid", "trader__nickname"]
    list_select_related = ["trader"]
    raw_id_fields = ["trader", "import_run"]
    readonly_fields = ["import_run", "source_line", "updated_at"]
    date_hierarchy = "applied_at"

    @admin.display(description=_("nickname"), ordering="trader__nickname")
    def trader_nickname(self, obj):
        return obj.trader.nickname


@admin.register(TradingStats)
class TradingStatsAdmin(admin.ModelAdmin):
    list_display = ["trader", "as_of", "new_copiers", "copier_pnl_usdt", "import_run"]
    search_fields = ["=trader__uid", "trader__nickname"]
    list_select_related = ["trader", "import_run"]
    raw_id_fields = ["trader", "import_run"]
    readonly_fields = ["import_run", "source_line", "updated_at"]
    date_hierarchy = "as_of"
