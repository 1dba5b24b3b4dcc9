from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from traders.api.tokens import api_token_create, api_tokens_revoke
from traders.models import ApiToken, ImportRun, LeadTraderRegistration, RejectedRecord, Trader, TradingStats


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


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple, label=_("scopes"))

    class Meta:
        model = ApiToken
        fields = ["name", "user", "scopes", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Ops create tokens here and see the secret once, in the message after saving; afterwards only
    its prefix is known. A token is revoked, never deleted, so the audit trail keeps its name."""

    form = ApiTokenForm
    list_display = ["name", "prefix", "user", "scope_list", "created_at", "last_used_at", "expires_at", "status"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "user"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by"]
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # The owner is fixed at creation: moving a token to another user would change its powers silently.
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, secret = api_token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
            created_by=request.user.get_username(),
        )
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = token.pk, token.prefix, token.key_hash, token.created_at
        self.message_user(
            request,
            format_html(_("The secret of {} is <code>{}</code>. Copy it now: it is not stored and will not be shown again."), token.name, secret),
            messages.WARNING,
        )

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        n = api_tokens_revoke(token_ids=queryset.values_list("pk", flat=True), by=request.user.get_username())
        self.message_user(request, _("%(n)d token(s) revoked.") % {"n": n}, messages.SUCCESS)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes or [])

    @admin.display(description=_("status"), ordering="revoked_at")
    def status(self, obj):
        if obj.revoked_at:
            return format_html('<b style="color:#cf222e">{}</b>', _("revoked"))
        if obj.expires_at and obj.expires_at <= timezone.now():
            return format_html('<b style="color:#9a6700">{}</b>', _("expired"))
        return format_html('<b style="color:#1a7f37">{}</b>', _("active"))
