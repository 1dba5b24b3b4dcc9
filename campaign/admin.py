import sys

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from campaign.admin_forms import CampaignForm
from campaign.admin_moderation import ModerationForm, PostModerationPageMixin, posts_moderation_apply
from campaign.enrolment import ENROLLED, enrolment_decide
from campaign.exports import ENROLMENT_LABELS, enrolment_export, enrolment_list, posts_export
from campaign.models import Campaign, EngagementSnapshot, FeedCursor, JudgingJob, ModerationDecision, Post, ReferenceText, Signup, WebhookDelivery
from campaign.page_cache import campaign_pages_changed
from campaign.qualification import post_score
from campaign.selectors import enrolment_map
from campaign.services import campaign_import_queue, campaign_import_restart, posts_judge
from campaign.services.import_judging import judging_job_progress
from core.admin import ImportRunAdmin, ReadOnlyAdmin, RejectedRecordAdmin
from core.admin_exports import ChangeListExportMixin, export_links, spreadsheet_response
from core.models import ImportRun, RejectedRecord
from core.screen_time import screen_time
from core.spreadsheets import EXPORT_FORMATS
from traders.admin import TraderAdmin
from traders.models import Trader

SCREEN_TIME_HELP = _("Beijing time (UTC+8), as entered and as shown.")


def enrolment_badge(reason):
    colour = "#1a7f37" if reason == ENROLLED else "#cf222e"
    return format_html('<b style="color:{}">{}</b>', colour, ENROLMENT_LABELS.get(reason, reason))


class ImportFileForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of records"), choices=ImportRun.Kind.choices)
    file = forms.FileField(label=_("UTF-8 file"))


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm  # the JSON settings as lines, never raw JSON
    list_display = ["name", "slug", "starts_at", "ends_at", "leaderboard_strategy", "signup_count"]
    search_fields = ["name", "name_zh", "slug"]
    date_hierarchy = "starts_at"
    readonly_fields = ["created_at", "updated_at", "periods"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "name_zh", "slug", "starts_at", "ends_at", "grace_hours", "content_period_days", "week_days", "periods"]}),
        (_("Qualification"), {"fields": ["min_length", "max_text_length", "score_cap", "duplicate_threshold", "latin_terms", "cjk_terms"]}),
        (_("First-post bonus"), {"fields": ["first_post_asset", "first_post_amount", "first_post_limit"]}),
        (_("Biweekly content pool"), {"fields": ["pool_asset", "pool_amount", "pool_cap", "pool_min_score", "pool_top_posts"]}),
        (_("Leaderboard"), {"fields": ["leaderboard_asset", "leaderboard_min_posts", "leaderboard_strategy", "leaderboard_tiers", "leaderboard_pool", "copier_weight", "pnl_weight"]}),
        (_("Traffic support"), {"fields": ["featured_per_day", "weekly_stars"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("sign-ups"))
    def signup_count(self, obj):
        return obj.signups.count()

    @admin.display(description=_("periods"))
    def periods(self, obj):
        if not obj.pk:
            return "—"
        return ", ".join(f"{p.code}: {screen_time(p.starts_at)} → {screen_time(p.ends_at)}" for p in obj.content_periods())

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField) and field is not None:
            # The admin reads and writes instants in TIME_ZONE, Asia/Shanghai: say so beside them.
            field.help_text = SCREEN_TIME_HELP
        return field

    def get_urls(self):
        custom = [
            path("<int:pk>/import/", self.admin_site.admin_view(self.import_view), name="campaign_campaign_import"),
            path("<int:pk>/enrolment/", self.admin_site.admin_view(self.enrolment_view), name="campaign_campaign_enrolment"),
            path("<int:pk>/enrolment/export/<str:fmt>/", self.admin_site.admin_view(self.enrolment_export_view), name="campaign_campaign_enrolment_export"),
        ]
        return custom + super().get_urls()

    def import_view(self, request, pk):
        """Queue a file for import into this campaign: a worker imports it through the same
        service as the commands, and the run's page shows its progress."""
        if not request.user.has_perm("core.add_importrun") and not request.user.is_superuser:
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        form = ImportFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            run = campaign_import_queue(
                campaign=campaign, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], created_by=request.user.get_username()
            )
            self.message_user(request, _("The file is queued for import as run #%(id)s.") % {"id": run.pk}, messages.INFO)
            return redirect(reverse("admin:core_importrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a file into %(name)s") % {"name": campaign.name},
            "campaign": campaign,
            "form": form,
            "opts": self.model._meta,
            "recent_runs": ImportRun.objects.filter(campaign_link__campaign=campaign)[:10],
        }
        return TemplateResponse(request, "admin/campaign/campaign/import.html", context)

    def enrolment_view(self, request, pk):
        """Every trader the campaign knows, with enrolment state and reason; filter by reason."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        reason, query = request.GET.get("reason", ""), request.GET.get("q", "").strip()
        listing = enrolment_list(campaign=campaign, reason=reason, query=query)
        rows = [(uid, nickname, enrolment_badge(code)) for uid, nickname, code in listing.rows[:2000]]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Enrolment in %(name)s") % {"name": campaign.name},
            "campaign": campaign,
            "opts": self.model._meta,
            "rows": rows,
            "shown": len(rows),
            "matching": len(listing.rows),
            "reason": reason,
            "query": query,
            "reasons": [(code, label, listing.counts.get(code, 0)) for code, label in ENROLMENT_LABELS.items()],
            "spreadsheet_exports": export_links("admin:campaign_campaign_enrolment_export", args=[campaign.pk], query=urlencode({"reason": reason, "q": query})),
        }
        return TemplateResponse(request, "admin/campaign/campaign/enrolment.html", context)

    def enrolment_export_view(self, request, pk, fmt):
        """The enrolment list as filtered on its page (reason, search), every row, as CSV or XLSX."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        if fmt not in EXPORT_FORMATS:
            raise Http404
        reason, query = request.GET.get("reason", ""), request.GET.get("q", "").strip()
        return spreadsheet_response(enrolment_export(campaign=campaign, reason=reason, query=query, fmt=fmt))


# Import runs sit in a lower layer that knows no campaigns; here they gain their campaign (a column
# and a filter, through CampaignImport) and their page the button that starts an interrupted file
# import again, through the campaign app's task.
admin.site.unregister(ImportRun)
admin.site.unregister(RejectedRecord)


@admin.register(ImportRun)
class CampaignImportRunAdmin(ImportRunAdmin):
    list_display = [*ImportRunAdmin.list_display[:3], "campaign", *ImportRunAdmin.list_display[3:]]
    list_filter = [*ImportRunAdmin.list_filter, "campaign_link__campaign"]
    list_select_related = ["campaign_link__campaign"]

    @admin.display(description=_("campaign"), ordering="campaign_link__campaign__slug")
    def campaign(self, obj):
        link = getattr(obj, "campaign_link", None)
        return link.campaign.slug if link else "—"

    def _run_context(self, request, run):
        """A posts file's page also shows its judging: one bar a stage, refreshed until done."""
        context = super()._run_context(request, run)
        job = JudgingJob.objects.filter(run=run).order_by("-created_at").first()
        if job is None:
            return context
        progress = judging_job_progress(job)
        context.update(
            followup_title=_("Judging"),
            followup_state=job.get_stage_display(),
            followup_error=job.error,
            followup_steps=[
                {"label": JudgingJob.Stage(stage).label, "done": progress[stage][0], "total": progress[stage][1], "unit": _("steps") if stage == JudgingJob.Stage.INDEX else _("posts")}
                for stage in (JudgingJob.Stage.SIGN, JudgingJob.Stage.INDEX, JudgingJob.Stage.JUDGE)
                if stage in progress
            ],
            followup_url=reverse("admin:campaign_judgingjob_change", args=[job.pk]),
            progress_finished=context["progress_finished"] and job.finished_at is not None,
        )
        return context

    def get_urls(self):
        restart = path("<int:pk>/restart/", self.admin_site.admin_view(self.restart_view), name="core_importrun_restart")
        return [restart, *super().get_urls()]

    def can_restart(self, request, obj) -> bool:
        return obj.restartable and request.user.has_perm("core.add_importrun")

    def restart_view(self, request, pk):
        """Start an interrupted or failed file import again (POST; needs core.add_importrun)."""
        if request.method != "POST":
            return redirect(reverse("admin:core_importrun_change", args=[pk]))
        if not request.user.has_perm("core.add_importrun"):
            raise PermissionDenied
        run = get_object_or_404(ImportRun, pk=pk)
        if campaign_import_restart(run=run):
            self.message_user(request, _("Import run #%(id)s is queued again; it continues from its last committed line.") % {"id": run.pk}, messages.SUCCESS)
        else:
            self.message_user(request, _("Import run #%(id)s cannot be started again: it is finished, being imported, or has no stored file.") % {"id": run.pk}, messages.WARNING)
        return redirect(reverse("admin:core_importrun_change", args=[pk]))


@admin.register(JudgingJob)
class JudgingJobAdmin(ReadOnlyAdmin):
    """The judging each posts file queued: its stage, how far each stage got, and its error."""

    list_display = ["id", "campaign", "run", "stage", "progress", "created_at", "finished_at"]
    list_filter = ["stage", "campaign"]
    list_select_related = ["campaign", "run"]
    search_fields = ["=id", "=run__id", "run__filename"]
    date_hierarchy = "created_at"
    readonly_fields = ["campaign", "run", "stage", "progress", "created_at", "finished_at", "error"]
    fields = readonly_fields

    @admin.display(description=_("progress"))
    def progress(self, obj):
        progress = judging_job_progress(obj)
        return format_html_join(
            " · ", "{}: {} / {}", ((JudgingJob.Stage(stage).label, f"{done:,}", f"{total:,}") for stage, (done, total) in progress.items())
        ) or "—"


@admin.register(RejectedRecord)
class CampaignRejectedRecordAdmin(RejectedRecordAdmin):
    list_filter = [*RejectedRecordAdmin.list_filter, "run__campaign_link__campaign"]


class EnrolmentListFilter(admin.SimpleListFilter):
    title = _("sign-up in window")
    parameter_name = "in_window"

    def lookups(self, request, model_admin):
        return [("yes", _("yes")), ("no", _("no"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(signed_up_in_window=self.value() == "yes")
        return queryset


@admin.register(Signup)
class SignupAdmin(admin.ModelAdmin):
    list_display = ["trader", "trader_nickname", "campaign", "submitted_at", "square_handle", "enrolment"]
    list_filter = ["campaign", EnrolmentListFilter, "trader__registration__status", "trader__registration__market"]
    search_fields = ["=trader__uid", "trader__nickname", "square_handle"]
    list_select_related = ["trader", "trader__registration", "campaign"]
    raw_id_fields = ["trader", "import_run"]
    readonly_fields = ["import_run", "source_line", "updated_at"]
    date_hierarchy = "submitted_at"

    def get_queryset(self, request):
        in_window = Signup.objects.filter(
            campaign=OuterRef("campaign"),
            trader=OuterRef("trader"),
            submitted_at__gte=OuterRef("campaign__starts_at"),
            submitted_at__lt=OuterRef("campaign__ends_at"),
        )
        return super().get_queryset(request).annotate(signed_up_in_window=Exists(in_window))

    @admin.display(description=_("nickname"), ordering="trader__nickname")
    def trader_nickname(self, obj):
        return obj.trader.nickname

    @admin.display(description=_("enrolment"))
    def enrolment(self, obj):
        registration = getattr(obj.trader, "registration", None)
        result = enrolment_decide(  # this row is a sign-up; the annotation says whether any is inside the window
            uid=obj.trader.uid,
            registration=(registration.status, registration.market) if registration else None,
            signed_up=True,
            signed_up_in_window=obj.signed_up_in_window,
        )
        return enrolment_badge(result.reason)


class SignupInline(admin.TabularInline):
    model = Signup
    extra = 0
    fields = ["campaign", "submitted_at", "square_handle", "contact"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


# Traders sit in a lower layer that knows no campaigns; here their admin page gains the
# campaign-side facts: sign-ups and the enrolment state in each campaign.
admin.site.unregister(Trader)


@admin.register(Trader)
class CampaignTraderAdmin(TraderAdmin):
    readonly_fields = [*TraderAdmin.readonly_fields, "enrolment_by_campaign"]
    inlines = [*TraderAdmin.inlines, SignupInline]

    @admin.display(description=_("enrolment"))
    def enrolment_by_campaign(self, obj):
        if not obj.pk:
            return "—"
        rows = [
            (campaign.name, enrolment_badge(enrolment_map(campaign=campaign, uids=[obj.uid])[obj.uid].reason))
            for campaign in Campaign.objects.all()
        ]
        return format_html_join("", "{}: {}<br>", rows) if rows else "—"


def action_form_response(modeladmin, request, queryset, form, title):
    """The intermediate page of a bulk admin action that needs input (a note, a reference)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action"),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


class ModerationDecisionInline(admin.TabularInline):
    model = ModerationDecision
    extra = 0
    can_delete = False
    fields = ["decided_at", "decided_by", "action", "verdict_before", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class EngagementSnapshotInline(admin.TabularInline):
    """The post's engagement history, newest first; it starts when the figures first change."""

    model = EngagementSnapshot
    extra = 0
    can_delete = False
    ordering = ["-observed_at", "-id"]
    fields = ["observed_at", "likes", "comments", "shares", "views", "uncapped_score"]
    readonly_fields = fields
    verbose_name_plural = _("engagement history (newest first)")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("score without cap"))
    def uncapped_score(self, obj):
        return post_score(likes=obj.likes, comments=obj.comments, shares=obj.shares, views=obj.views, cap=sys.maxsize)


class TraderUidListFilter(admin.FieldListFilter):
    """Filter by trader: `?author__uid__exact=UID` (the author links in the list set it). Listing
    every trader would not fit, so the sidebar shows only the one chosen; search finds the rest."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_kwarg = f"{field_path}__exact"
        values = params.get(self.lookup_kwarg) or [None]
        self.lookup_val = values[-1]
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = _("trader")

    def expected_parameters(self):
        return [self.lookup_kwarg]

    def get_facet_counts(self, pk_attname, filtered_qs):
        return {}

    def choices(self, changelist):
        yield {"selected": self.lookup_val is None, "query_string": changelist.get_query_string(remove=[self.lookup_kwarg]), "display": _("All")}
        if self.lookup_val is not None:
            trader = Trader.objects.filter(uid=int(self.lookup_val)).first() if self.lookup_val.isdigit() else None
            yield {"selected": True, "query_string": changelist.get_query_string({self.lookup_kwarg: self.lookup_val}), "display": str(trader or self.lookup_val)}


@admin.register(Post)
class PostAdmin(ChangeListExportMixin, PostModerationPageMixin, admin.ModelAdmin):
    list_display = ["post_id", "author_link", "created_at", "verdict_badge", "score", "moderation", "likes", "comments", "shares", "views", "deleted", "excerpt"]
    list_filter = ["campaign", "verdict", ("author__uid", TraderUidListFilter), "moderation", "deleted", "featured", "homepage"]
    search_fields = ["=post_id", "=author__uid", "author__nickname", "text"]
    list_select_related = ["author", "campaign", "duplicate_of"]
    raw_id_fields = ["author", "duplicate_of", "duplicate_of_reference"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "campaign", "post_id", "author", "created_at", "text", "likes", "comments", "shares", "views", "deleted",
        "content_hash", "first_seen_at", "last_seen_at", "duplicate_of", "duplicate_of_reference", "moderation",
        "verdict", "score", "judged_at", "featured",
    ]  # fmt: skip
    # `featured` (the hand override of traffic support) is read-only here: setting it must rebuild
    # the featured posts, which the rewards layer owns; its Post admin edits it through that
    # service (rewards/admin_posts.py), since this layer may not import it.
    fields = [*readonly_fields, "homepage"]
    inlines = [ModerationDecisionInline, EngagementSnapshotInline]
    actions = ["approve_posts", "reject_posts", "clear_moderation", "rejudge_posts"]

    def has_add_permission(self, request):
        return False

    def changelist_export(self, *, queryset, fmt):
        return posts_export(posts=queryset, fmt=fmt)

    def save_model(self, request, obj, form, change):
        # Only the field this form edits: `featured` is written by the rewards layer's service, and
        # writing the whole row back could undo figures a delivery stored during the request.
        obj.save(update_fields=["homepage"])
        campaign_pages_changed(campaign_id=obj.campaign_id)  # homepage picks show on the pages

    @admin.display(description=_("author"), ordering="author__uid")
    def author_link(self, obj):
        return format_html('<a href="?{}" title="{}">{}</a>', urlencode({"author__uid__exact": obj.author.uid}), _("Posts of this trader"), obj.author)

    @admin.display(description=_("verdict (reason)"), ordering="verdict")
    def verdict_badge(self, obj):
        colour = "#1a7f37" if obj.verdict == Post.Verdict.QUALIFIED else "#cf222e"
        words = obj.get_verdict_display()
        if obj.verdict == Post.Verdict.DUPLICATE and obj.duplicate_of is not None:
            words = _("near-duplicate of post %(post_id)s") % {"post_id": obj.duplicate_of.post_id}
        elif obj.verdict == Post.Verdict.DUPLICATE and obj.duplicate_of_reference_id:
            words = _("near-duplicate of reference text #%(id)d") % {"id": obj.duplicate_of_reference_id}
        return format_html('<b style="color:{}" title="{}">{}</b>', colour, obj.verdict, words)

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return obj.text if len(obj.text) <= 60 else obj.text[:57] + "..."

    def _moderate(self, request, queryset, action, verb):
        if "apply" in request.POST:
            form = ModerationForm(request.POST)
            if form.is_valid():
                done = posts_moderation_apply(self, request, queryset.select_related("campaign"), action=action, note=form.cleaned_data["note"])
                self.message_user(request, _("%(verb)s: %(n)d post(s).") % {"verb": verb, "n": len(done)}, messages.SUCCESS)
                return None
        else:
            form = ModerationForm()
        return action_form_response(self, request, queryset, form, verb)

    @admin.action(description=_("Approve selected posts (overrides too short, not trading, duplicate)"), permissions=["moderate"])
    def approve_posts(self, request, queryset):
        return self._moderate(request, queryset, "approved", _("Approve"))

    @admin.action(description=_("Reject selected posts"), permissions=["moderate"])
    def reject_posts(self, request, queryset):
        return self._moderate(request, queryset, "rejected", _("Reject"))

    @admin.action(description=_("Clear moderation of selected posts"), permissions=["moderate"])
    def clear_moderation(self, request, queryset):
        return self._moderate(request, queryset, "", _("Clear moderation"))

    @admin.action(description=_("Re-judge selected posts now"), permissions=["change"])
    def rejudge_posts(self, request, queryset):
        changed = 0
        for campaign in Campaign.objects.filter(posts__in=queryset).distinct():
            changed += posts_judge(campaign=campaign, post_ids=list(queryset.filter(campaign=campaign).values_list("id", flat=True)))
        self.message_user(request, _("%(n)d verdict(s) changed.") % {"n": changed})

    def has_moderate_permission(self, request):
        return request.user.has_perm("campaign.moderate_post")


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdmin):
    list_display = ["decided_at", "post", "action", "decided_by", "verdict_before", "note"]
    list_filter = ["action", "decided_by"]
    search_fields = ["=post__post_id", "decided_by", "note"]
    list_select_related = ["post"]
    date_hierarchy = "decided_at"
    readonly_fields = ["post", "action", "note", "decided_by", "decided_at", "verdict_before"]


@admin.register(ReferenceText)
class ReferenceTextAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "excerpt", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["text"]
    list_select_related = ["campaign"]
    date_hierarchy = "created_at"
    readonly_fields = ["campaign", "text", "content_hash", "import_run", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return obj.text[:80]


@admin.register(FeedCursor)
class FeedCursorAdmin(admin.ModelAdmin):
    list_display = ["campaign", "cursor", "pages", "items", "last_pulled_at", "lease_until", "last_error"]
    list_select_related = ["campaign"]
    readonly_fields = ["campaign", "pages", "items", "last_pulled_at", "lease_until", "last_error"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Deliveries as taken at the door; one still unprocessed waits for the worker (queued)."""

    list_display = ["delivery_id", "campaign", "items", "received_at", "processed_at", "import_run"]
    list_filter = ["campaign", ("processed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["campaign", "import_run"]
    search_fields = ["delivery_id"]
    date_hierarchy = "received_at"
    readonly_fields = ["delivery_id", "campaign", "items", "received_at", "processed_at", "import_run"]
    exclude = ["body"]

    def has_add_permission(self, request):
        return False
