from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from traders.models import ImportRun, LeadTraderRegistration, RejectedRecord, Trader, TradingStats


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


class RejectedRecordInline(admin.TabularInline):
    model = RejectedRecord
    extra = 0
    can_delete = False
    fields = ["line", "reason", "raw"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "source", "campaign_slug", "filename", "started_at", "total", "accepted", "rejected_count", "created_by"]
    list_filter = ["kind", "source", "campaign_slug"]
    search_fields = ["filename", "created_by", "=id"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in ImportRun._meta.fields]
    inlines = [RejectedRecordInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("rejected"), ordering="rejected")
    def rejected_count(self, obj):
        if not obj.rejected:
            return 0
        return format_html('<b style="color:#cf222e">{}</b>', obj.rejected)


@admin.register(RejectedRecord)
class RejectedRecordAdmin(admin.ModelAdmin):
    list_display = ["run", "line", "reason", "raw_excerpt", "created_at"]
    list_filter = ["run__kind", "run__campaign_slug"]
    search_fields = ["reason", "raw"]
    list_select_related = ["run"]
    date_hierarchy = "created_at"
    readonly_fields = ["run", "line", "reason", "raw", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("record"))
    def raw_excerpt(self, obj):
        return obj.raw if len(obj.raw) <= 80 else obj.raw[:77] + "..."
