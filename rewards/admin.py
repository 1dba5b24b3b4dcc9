from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from rewards.exceptions import RewardError
from rewards.models import PayoutBatch, PayoutReport, Reward, RewardEvent, ReviewItem, SettlementRun
from rewards.services import review_items_resolve, rewards_approve, rewards_mark_paid, rewards_void


class RewardEventInline(admin.TabularInline):
    model = RewardEvent
    extra = 0
    can_delete = False
    fields = ["at", "by", "action", "from_state", "to_state", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (required, kept in the audit trail)"), widget=forms.Textarea(attrs={"rows": 3}))


class PaidForm(forms.Form):
    reference = forms.CharField(label=_("Payout batch external reference"), max_length=200)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _intermediate(modeladmin, request, queryset, form, title):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action"),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/rewards/confirm_action.html", context)


def _report(modeladmin, request, done, refused, verb):
    for _reward, reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)
    modeladmin.message_user(request, _("%(verb)s: %(n)d reward(s).") % {"verb": verb, "n": len(done)}, messages.SUCCESS if done else messages.WARNING)


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["trader", "trader_nickname", "campaign", "kind", "period", "asset", "amount", "state_badge", "preview", "approved_by", "payout_batch"]
    list_filter = ["campaign", "kind", "state", "period", "preview", "asset"]
    search_fields = ["=trader__uid", "trader__nickname", "payout_batch__reference"]
    list_select_related = ["trader", "campaign", "payout_batch"]
    raw_id_fields = ["trader", "settlement_run", "payout_batch"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Reward._meta.fields]
    inlines = [RewardEventInline]
    actions = ["approve", "mark_paid", "void"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl")
        if cl is not None:
            totals = cl.queryset.values("asset", "state").annotate(total=Sum("amount"), n=Count("id")).order_by("asset", "state")
            response.context_data["totals"] = list(totals)
        return response

    @admin.display(description=_("nickname"), ordering="trader__nickname")
    def trader_nickname(self, obj):
        return obj.trader.nickname

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj):
        colour = {"calculated": "#9a6700", "approved": "#0969da", "paid": "#1a7f37", "void": "#999"}[obj.state]
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_state_display())

    @admin.action(description=_("Approve selected rewards"), permissions=["approve"])
    def approve(self, request, queryset):
        done, refused = rewards_approve(reward_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        _report(self, request, done, refused, _("Approved"))

    @admin.action(description=_("Mark selected rewards paid (payout batch)"), permissions=["pay"])
    def mark_paid(self, request, queryset):
        form = PaidForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                batch, done, refused = rewards_mark_paid(
                    reward_ids=list(queryset.values_list("pk", flat=True)),
                    reference=form.cleaned_data["reference"],
                    note=form.cleaned_data["note"],
                    user=request.user,
                )
            except RewardError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            _report(self, request, done, refused, _("Paid in batch %(ref)s") % {"ref": batch.reference})
            return None
        return _intermediate(self, request, queryset, form, _("Mark paid"))

    @admin.action(description=_("Void selected rewards"), permissions=["approve"])
    def void(self, request, queryset):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = rewards_void(reward_ids=list(queryset.values_list("pk", flat=True)), user=request.user, note=form.cleaned_data["note"])
            _report(self, request, done, refused, _("Voided"))
            return None
        return _intermediate(self, request, queryset, form, _("Void"))

    def has_approve_permission(self, request):
        return request.user.has_perm("rewards.approve_reward")

    def has_pay_permission(self, request):
        return request.user.has_perm("rewards.pay_reward")


@admin.register(SettlementRun)
class SettlementRunAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "at", "started_at", "finished_at", "triggered_by", "qualified", "unallocated"]
    list_filter = ["campaign", "triggered_by"]
    search_fields = ["=id", "triggered_by"]
    list_select_related = ["campaign"]
    date_hierarchy = "started_at"
    readonly_fields = ["campaign", "at", "started_at", "finished_at", "triggered_by", "config", "summary"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("qualified posts"))
    def qualified(self, obj):
        return obj.summary.get("qualified_posts", "—")

    @admin.display(description=_("unallocated"))
    def unallocated(self, obj):
        pools = [Decimal(p["unallocated"]) for p in obj.summary.get("content_pool", {}).values()]
        board = obj.summary.get("leaderboard", {}).get("unallocated")
        parts = [f"pools {sum(pools, Decimal('0.00'))}"] if pools else []
        if board is not None:
            parts.append(f"leaderboard {board}")
        return ", ".join(parts) or "—"


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = ["id", "reward", "status", "stored_amount", "computed_amount", "reason", "created_at", "resolved_by"]
    list_filter = ["status", "reward__campaign", "reward__kind"]
    search_fields = ["=reward__trader__uid", "reward__trader__nickname", "reason"]
    list_select_related = ["reward", "reward__trader"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ReviewItem._meta.fields]
    actions = ["resolve"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Resolve selected review items"), permissions=["approve"])
    def resolve(self, request, queryset):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            n = review_items_resolve(item_ids=list(queryset.values_list("pk", flat=True)), user=request.user, note=form.cleaned_data["note"])
            self.message_user(request, _("%(n)d review item(s) resolved.") % {"n": n})
            return None
        return _intermediate(self, request, queryset, form, _("Resolve"))

    def has_approve_permission(self, request):
        return request.user.has_perm("rewards.approve_reward")


@admin.register(PayoutBatch)
class PayoutBatchAdmin(admin.ModelAdmin):
    list_display = ["reference", "campaign", "created_by", "created_at", "reward_count", "total"]
    list_filter = ["campaign"]
    search_fields = ["reference", "note"]
    list_select_related = ["campaign"]
    date_hierarchy = "created_at"
    readonly_fields = ["campaign", "reference", "created_by", "created_at", "note"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("rewards"), sum=Sum("rewards__amount"))

    @admin.display(description=_("rewards"), ordering="n")
    def reward_count(self, obj):
        return obj.n

    @admin.display(description=_("total"), ordering="sum")
    def total(self, obj):
        return obj.sum


@admin.register(PayoutReport)
class PayoutReportAdmin(admin.ModelAdmin):
    list_display = ["campaign", "created_at", "created_by", "rows", "csv_link", "xlsx_link", "emailed_to"]
    list_filter = ["campaign"]
    list_select_related = ["campaign"]
    date_hierarchy = "created_at"
    readonly_fields = ["campaign", "created_at", "created_by", "rows", "csv_file", "xlsx_file", "emailed_to"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="CSV")
    def csv_link(self, obj):
        return format_html('<a href="{}">{}</a>', f"{obj.pk}/download/csv/", _("download"))

    @admin.display(description="XLSX")
    def xlsx_link(self, obj):
        return format_html('<a href="{}">{}</a>', f"{obj.pk}/download/xlsx/", _("download"))

    def get_urls(self):
        from django.urls import path

        return [
            path("<int:pk>/download/<str:fmt>/", self.admin_site.admin_view(self.download), name="rewards_payoutreport_download"),
            *super().get_urls(),
        ]

    def download(self, request, pk, fmt):
        """Stored files are served through the admin (with its permission), never as public media."""
        from django.http import FileResponse, Http404

        if not self.has_view_permission(request):
            raise PermissionDenied
        report = PayoutReport.objects.filter(pk=pk).first()
        if report is None or fmt not in {"csv", "xlsx"}:
            raise Http404
        file = report.csv_file if fmt == "csv" else report.xlsx_file
        return FileResponse(file.open("rb"), as_attachment=True, filename=file.name.rsplit("/", 1)[-1])


@admin.register(RewardEvent)
class RewardEventAdmin(admin.ModelAdmin):
    list_display = ["at", "reward", "action", "from_state", "to_state", "by", "note"]
    list_filter = ["action", "by"]
    search_fields = ["=reward__trader__uid", "by", "note"]
    list_select_related = ["reward", "reward__trader"]
    date_hierarchy = "at"
    readonly_fields = ["reward", "action", "from_state", "to_state", "by", "at", "note"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
