from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaign.admin import CampaignAdmin, action_form_response
from campaign.models import Campaign
from campaign.page_cache import campaign_pages_changed
from rewards.admin_dashboard import DashboardAdminMixin
from rewards.admin_whatif import WhatIfAdminMixin
from rewards.exceptions import RewardError
from rewards.services.schedule import settlement_schedule_sync
from rewards.models import PayoutBatch, PayoutReport, Reward, RewardEvent, ReviewItem, SettlementRun
from rewards.services import review_items_close, rewards_approve, rewards_mark_paid, rewards_void
from rewards.services.ledger import ACCEPT, KEEP


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
    readonly_fields = [*(f.name for f in Reward._meta.fields), "breakdown"]
    inlines = [RewardEventInline]
    actions = ["approve", "mark_paid", "void"]

    @admin.display(description=_("breakdown"))
    def breakdown(self, obj):
        from django.template.loader import render_to_string

        from rewards.selectors import reward_breakdown_get

        if obj is None or obj.pk is None:
            return "—"
        return render_to_string("rewards/_breakdown.html", {"b": reward_breakdown_get(reward=obj), "open": True})

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
        return action_form_response(self, request, queryset, form, _("Mark paid"))

    @admin.action(description=_("Void selected rewards"), permissions=["approve"])
    def void(self, request, queryset):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = rewards_void(reward_ids=list(queryset.values_list("pk", flat=True)), user=request.user, note=form.cleaned_data["note"])
            _report(self, request, done, refused, _("Voided"))
            return None
        return action_form_response(self, request, queryset, form, _("Void"))

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
    actions = ["accept", "keep"]

    def has_add_permission(self, request):
        return False

    def _close(self, request, queryset, action, title):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                done, refused = review_items_close(item_ids=list(queryset.values_list("pk", flat=True)), action=action, user=request.user, note=form.cleaned_data["note"])
            except RewardError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            for _item, reason in refused:
                self.message_user(request, reason, messages.WARNING)
            self.message_user(request, _("%(verb)s: %(n)d review item(s).") % {"verb": title, "n": len(done)}, messages.SUCCESS if done else messages.WARNING)
            return None
        return action_form_response(self, request, queryset, form, title)

    @admin.action(description=_("Accept the computed amount (approved or void rewards)"), permissions=["approve"])
    def accept(self, request, queryset):
        return self._close(request, queryset, ACCEPT, _("Accepted"))

    @admin.action(description=_("Keep the ledger amount (paid rewards: record the adjustment)"), permissions=["approve"])
    def keep(self, request, queryset):
        return self._close(request, queryset, KEEP, _("Kept"))

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


# --- The campaign: its change form, dashboard and what-if page ---------------------------------
admin.site.unregister(Campaign)


@admin.register(Campaign)
class RewardsCampaignAdmin(DashboardAdminMixin, WhatIfAdminMixin, CampaignAdmin):
    # The campaign's own change form plus a link to the what-if page.
    change_form_template = "admin/rewards/campaign_change_form.html"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The settlement clocks follow the window and grace as saved, once the save commits.
        transaction.on_commit(lambda: settlement_schedule_sync(campaign=obj))
        campaign_pages_changed(campaign_id=obj.pk)  # the window, rules and texts show on the pages

    def get_urls(self):
        return [*self.dashboard_urls(), *self.whatif_urls(), *super().get_urls()]


# --- Trader status links and traffic support ---------------------------------------------------
# Imported here, with the section they serve, rather than in the header the other sections share.
from campaign.models import Campaign  # noqa: E402
from rewards.models import FeaturedPost, StatusLink, WeeklyStar  # noqa: E402
from rewards.selectors import status_link_url  # noqa: E402
from rewards.services.status_links import status_links_ensure, status_links_rotate  # noqa: E402
from rewards.services.traffic import posts_feature, traffic_refresh, weekly_star_set, weekly_stars_automatic  # noqa: E402


class ToolsMixin:
    """Changelist buttons that POST to an admin view (work on no selection, unlike actions)."""

    change_list_template = "rewards/admin/change_list_tools.html"
    tools: list[tuple[str, str, str]] = []  # (url name suffix, label, method name)
    tools_help = ""

    def get_urls(self):
        from django.urls import path

        info = self.model._meta.app_label, self.model._meta.model_name
        extra = [path(f"{slug}/", self.admin_site.admin_view(self._tool(method)), name=f"%s_%s_{slug}" % info) for slug, _label, method in self.tools]
        return [*extra, *super().get_urls()]

    def _tool(self, method):
        from django.http import HttpResponseNotAllowed, HttpResponseRedirect
        from django.urls import reverse

        def view(request):
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            if not self.has_change_permission(request):
                raise PermissionDenied
            getattr(self, method)(request)
            info = self.model._meta.app_label, self.model._meta.model_name
            return HttpResponseRedirect(reverse("admin:%s_%s_changelist" % info))

        return view

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        info = self.model._meta.app_label, self.model._meta.model_name
        tools = [(reverse(f"admin:%s_%s_{slug}" % info), label) for slug, label, _method in self.tools] if self.has_change_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "extra_tools": tools, "tools_help": self.tools_help})


@admin.register(StatusLink)
class StatusLinkAdmin(ToolsMixin, admin.ModelAdmin):
    list_display = ["trader_uid", "trader_nickname", "campaign", "version", "rotated_at", "rotated_by", "copy_link"]
    list_filter = ["campaign"]
    search_fields = ["=trader__uid", "trader__nickname"]
    list_select_related = ["campaign", "trader"]
    raw_id_fields = ["trader"]
    date_hierarchy = "created_at"
    readonly_fields = ["version", "created_at", "rotated_at", "rotated_by", "copy_link"]
    actions = ["rotate"]
    tools = [("ensure", _("Create links for every trader of each campaign"), "ensure_links")]
    tools_help = _("Send a trader their own link only. Rotating a link kills every copy sent before; send the new one.")

    def get_fields(self, request, obj=None):
        return ["campaign", "trader"] if obj is None else ["campaign", "trader", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["campaign", "trader", *self.readonly_fields]

    @admin.display(description=_("UID"), ordering="trader__uid")
    def trader_uid(self, obj):
        return obj.trader.uid

    @admin.display(description=_("nickname"), ordering="trader__nickname")
    def trader_nickname(self, obj):
        return obj.trader.nickname

    @admin.display(description=_("link"))
    def copy_link(self, obj):
        if obj.pk is None:
            return "—"
        # Clipboard API needs HTTPS (or localhost); selecting the text is the fallback.
        return format_html(
            '<input type="text" readonly value="{}" size="36" class="status-link" onfocus="this.select()"> '
            '<button type="button" class="button" onclick="var i=this.previousElementSibling;i.select();'
            "if(navigator.clipboard){{navigator.clipboard.writeText(i.value)}}else{{document.execCommand('copy')}}\">{}</button>",
            status_link_url(obj),
            _("copy"),
        )

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        campaign_pages_changed(campaign_id=obj.campaign_id)  # its cached status pages go with it

    def delete_queryset(self, request, queryset):
        campaigns = set(queryset.values_list("campaign_id", flat=True))
        super().delete_queryset(request, queryset)
        for campaign_id in campaigns:
            campaign_pages_changed(campaign_id=campaign_id)

    @admin.action(description=_("Rotate selected links (every older link stops working)"), permissions=["change"])
    def rotate(self, request, queryset):
        n = status_links_rotate(link_ids=list(queryset.values_list("pk", flat=True)), by=request.user.get_username())
        self.message_user(request, _("%(n)d link(s) rotated: send the traders their new links.") % {"n": n}, messages.SUCCESS)

    def ensure_links(self, request):
        created = sum(status_links_ensure(campaign=campaign) for campaign in Campaign.objects.all())
        self.message_user(request, _("%(n)d link(s) created.") % {"n": created}, messages.SUCCESS)


def _traffic_recompute(modeladmin, request):
    for campaign in Campaign.objects.all():
        result = traffic_refresh(campaign=campaign)
        modeladmin.message_user(
            request,
            _("%(campaign)s: featured posts %(featured)s; star traders %(stars)s.") % {"campaign": campaign.slug, "featured": result["featured"], "stars": result["stars"]},
            messages.SUCCESS,
        )


@admin.register(FeaturedPost)
class FeaturedPostAdmin(ToolsMixin, admin.ModelAdmin):
    list_display = ["day", "rank", "source", "post_link", "author", "score", "verdict", "override", "excerpt"]
    list_filter = ["campaign", "source"]
    search_fields = ["=post__post_id", "=post__author__uid", "post__author__nickname"]
    list_select_related = ["campaign", "post", "post__author"]
    raw_id_fields = ["post"]
    date_hierarchy = "day"
    readonly_fields = ["campaign", "day", "post", "rank", "source", "created_at", "updated_at"]
    actions = ["unfeature", "feature_by_hand", "back_to_automatic"]
    tools = [("recompute", _("Recompute featured posts and star traders now"), "recompute")]
    tools_help = _("The 3 best qualifying posts of each ended day (UTC+8) are featured automatically. To feature another post by hand, set “featured by hand” on the post.")

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("post"), ordering="post__post_id")
    def post_link(self, obj):
        from django.urls import reverse

        return format_html('<a href="{}">{}</a>', reverse("admin:campaign_post_change", args=[obj.post_id]), obj.post.post_id)

    @admin.display(description=_("author"), ordering="post__author__uid")
    def author(self, obj):
        return obj.post.author

    @admin.display(description=_("score"), ordering="post__score")
    def score(self, obj):
        return obj.post.score

    @admin.display(description=_("verdict"), ordering="post__verdict")
    def verdict(self, obj):
        return obj.post.get_verdict_display()

    @admin.display(description=_("override"))
    def override(self, obj):
        return {True: _("featured by hand"), False: _("never featured"), None: _("automatic")}[obj.post.featured]

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return obj.post.text if len(obj.post.text) <= 60 else obj.post.text[:57] + "..."

    def _feature(self, request, queryset, featured, verb):
        n = posts_feature(post_ids=list(queryset.values_list("post_id", flat=True)), featured=featured)
        self.message_user(request, _("%(verb)s: %(n)d post(s).") % {"verb": verb, "n": n}, messages.SUCCESS)

    @admin.action(description=_("Never feature selected posts (unfeature by hand)"), permissions=["change"])
    def unfeature(self, request, queryset):
        self._feature(request, queryset, False, _("Unfeatured"))

    @admin.action(description=_("Keep selected posts featured by hand"), permissions=["change"])
    def feature_by_hand(self, request, queryset):
        self._feature(request, queryset, True, _("Featured by hand"))

    @admin.action(description=_("Put selected posts back on automatic"), permissions=["change"])
    def back_to_automatic(self, request, queryset):
        self._feature(request, queryset, None, _("Back on automatic"))

    def recompute(self, request):
        _traffic_recompute(self, request)


class WeeklyStarAddForm(forms.ModelForm):
    class Meta:
        model = WeeklyStar
        fields = ["campaign", "week", "trader"]

    def clean(self):
        data = super().clean()
        campaign, week = data.get("campaign"), data.get("week")
        if campaign and week and week not in [w.code for w in campaign.weeks()]:
            self.add_error("week", _("Not a week of this campaign: %(weeks)s.") % {"weeks": ", ".join(w.code for w in campaign.weeks())})
        existing = WeeklyStar.objects.filter(campaign=campaign, week=week, trader=data.get("trader")).first() if campaign and week else None
        if existing is not None:
            # The service turns an automatic (or removed) row into a manual star: validate as an
            # edit of that row, not as a duplicate of it.
            self.instance.pk, self.instance._state.adding = existing.pk, False
        return data


@admin.register(WeeklyStar)
class WeeklyStarAdmin(ToolsMixin, admin.ModelAdmin):
    list_display = ["week", "rank", "trader", "score", "source", "removed", "set_by", "campaign", "updated_at"]
    list_filter = ["campaign", "week", "source", "removed"]
    search_fields = ["=trader__uid", "trader__nickname"]
    list_select_related = ["campaign", "trader"]
    raw_id_fields = ["trader"]
    date_hierarchy = "created_at"
    actions = ["remove_by_hand", "keep_by_hand", "back_to_automatic"]
    tools = [("recompute", _("Recompute featured posts and star traders now"), "recompute")]
    tools_help = _("Add a star by hand with “Add”; a star removed by hand stays listed (removed) so the rule never picks that trader for that week again.")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = WeeklyStarAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["campaign", "week", "trader"] if obj is None else [f.name for f in WeeklyStar._meta.fields if f.name != "id"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [f.name for f in WeeklyStar._meta.fields if f.name != "id"]

    def save_model(self, request, obj, form, change):
        row = weekly_star_set(campaign=obj.campaign, week=obj.week, trader=obj.trader, star=True, by=request.user.get_username())
        obj.pk = row.pk

    def _set(self, request, queryset, star, verb):
        by = request.user.get_username()
        rows = list(queryset.select_related("campaign", "trader"))
        for row in rows:
            weekly_star_set(campaign=row.campaign, week=row.week, trader=row.trader, star=star, by=by)
        self.message_user(request, _("%(verb)s: %(n)d star(s).") % {"verb": verb, "n": len(rows)}, messages.SUCCESS)

    @admin.action(description=_("Remove selected stars by hand"), permissions=["change"])
    def remove_by_hand(self, request, queryset):
        self._set(request, queryset, False, _("Removed by hand"))

    @admin.action(description=_("Keep selected stars by hand"), permissions=["change"])
    def keep_by_hand(self, request, queryset):
        self._set(request, queryset, True, _("Kept by hand"))

    @admin.action(description=_("Put selected rows back on automatic"), permissions=["change"])
    def back_to_automatic(self, request, queryset):
        n = weekly_stars_automatic(star_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(n)d hand override(s) dropped; the rule picks those weeks again.") % {"n": n}, messages.SUCCESS)

    def recompute(self, request):
        _traffic_recompute(self, request)


# --- Anti-farming review flags --------------------------------------------------------------------
from datetime import datetime  # noqa: E402

from rewards.models import FarmingThresholds, ReviewFlag  # noqa: E402
from rewards.services.farming import DISMISS, EXCLUDE_POST, EXCLUDE_TRADER, review_flags_decide, review_flags_refresh  # noqa: E402


def _engagement_counts(observation: dict) -> str:
    return "/".join(str(observation.get(name, "?")) for name in ("likes", "comments", "shares", "views"))


def _evidence_time(value) -> str:
    """An instant of a flag's evidence (ISO 8601) in the local time of the screens."""
    try:
        return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(value)


@admin.register(FarmingThresholds)
class FarmingThresholdsAdmin(admin.ModelAdmin):
    list_display = [
        "campaign", "burst_posts", "burst_minutes", "duplicate_posts", "engagement_multiple", "engagement_min_posts",
        "jump_min_increase", "jump_multiple", "jump_hours",
    ]  # fmt: skip
    list_filter = ["campaign"]
    search_fields = ["campaign__slug", "campaign__name"]
    list_select_related = ["campaign"]


@admin.register(ReviewFlag)
class ReviewFlagAdmin(ToolsMixin, admin.ModelAdmin):
    """Signals only report: dismissing changes nothing; excluding (with a note) leaves the post or
    the trader out of the next settlement and shows in the trader's breakdown."""

    list_display = ["kind", "trader", "post_link", "status", "excludes", "evidence_text", "note", "decided_by", "decided_at", "campaign"]
    list_filter = ["campaign", "kind", "status", "excludes"]
    search_fields = ["=trader__uid", "trader__nickname", "=post__post_id", "note"]
    list_select_related = ["campaign", "trader", "post"]
    raw_id_fields = ["trader", "post"]
    date_hierarchy = "created_at"
    readonly_fields = [*(f.name for f in ReviewFlag._meta.fields if f.name != "id"), "evidence_text"]
    actions = ["dismiss", "exclude_post", "exclude_trader"]
    tools = [("refresh", _("Recompute the anti-farming flags now"), "refresh")]
    tools_help = _("Flags only report. Only an exclusion, with a note, changes a settlement: the next one leaves the post or the trader out.")

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("post"), ordering="post__post_id")
    def post_link(self, obj):
        if obj.post_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:campaign_post_change", args=[obj.post_id]), obj.post.post_id)

    @admin.display(description=_("evidence"))
    def evidence_text(self, obj):
        ev = obj.evidence
        if obj.kind == ReviewFlag.Kind.BURST:
            return _("%(n)d posts in less than %(m)d minutes: %(posts)s") % {"n": ev.get("count", 0), "m": ev.get("minutes", 0), "posts": ", ".join(ev.get("posts", []))}
        if obj.kind == ReviewFlag.Kind.NEAR_IDENTICAL:
            return _("%(n)d copies of own posts: %(pairs)s") % {"n": ev.get("count", 0), "pairs": ", ".join(f"{a} ≈ {b}" for a, b in ev.get("pairs", []))}
        if obj.kind == ReviewFlag.Kind.ENGAGEMENT_JUMP:
            before, after = ev.get("before", {}), ev.get("after", {})
            return _(
                "score %(before)s → %(after)s (+%(increase)s) in %(hours)s h, %(rate)s points/h; "
                "likes/comments/shares/views %(before_counts)s at %(before_at)s → %(after_counts)s at %(after_at)s"
            ) % {
                "before": before.get("score"), "after": after.get("score"), "increase": ev.get("increase"), "hours": ev.get("hours"),
                "rate": ev.get("per_hour") or "—", "before_counts": _engagement_counts(before), "after_counts": _engagement_counts(after),
                "before_at": _evidence_time(before.get("at")), "after_at": _evidence_time(after.get("at")),
            }  # fmt: skip
        return _("score %(score)s, more than %(k)s × the median %(median)s of %(posts)s posts") % {
            "score": ev.get("score"), "k": ev.get("multiple"), "median": ev.get("median"), "posts": ev.get("posts")}

    def _decide(self, request, queryset, action, title):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                flags = review_flags_decide(flag_ids=list(queryset.values_list("pk", flat=True)), action=action, note=form.cleaned_data["note"], user=request.user)
            except RewardError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            self.message_user(request, _("%(verb)s: %(n)d flag(s). An exclusion applies from the next settlement.") % {"verb": title, "n": len(flags)}, messages.SUCCESS)
            return None
        return action_form_response(self, request, queryset, form, title)

    @admin.action(description=_("Dismiss selected flags (no effect on money)"), permissions=["change"])
    def dismiss(self, request, queryset):
        return self._decide(request, queryset, DISMISS, _("Dismissed"))

    @admin.action(description=_("Exclude the flagged posts from settlement"), permissions=["approve"])
    def exclude_post(self, request, queryset):
        return self._decide(request, queryset, EXCLUDE_POST, _("Post excluded"))

    @admin.action(description=_("Exclude the flagged traders from settlement"), permissions=["approve"])
    def exclude_trader(self, request, queryset):
        return self._decide(request, queryset, EXCLUDE_TRADER, _("Trader excluded"))

    def has_approve_permission(self, request):
        return request.user.has_perm("rewards.approve_reward")

    def refresh(self, request):
        for campaign in Campaign.objects.all():
            result = review_flags_refresh(campaign=campaign)
            self.message_user(request, _("%(campaign)s: %(created)d new flag(s), %(updated)d updated, %(deleted)d gone.") % {"campaign": campaign.slug, **result}, messages.SUCCESS)
