"""Traffic support in the admin: the traders' status links (with their export for the messaging
team), the featured posts and the weekly star traders, with the hand overrides and the "recompute
now" and "create links" buttons. Each action and button makes one service call
(rewards.services.traffic, .status_links, .bulk) and reports what it returned.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign
from rewards.admin_display import ToolsMixin, TraderColumns
from rewards.admin_posts import FeaturingActions
from rewards.models import FeaturedPost, StatusLink, WeeklyStar
from rewards.selectors.ledger import REPORT_FORMATS, adjustment_report_campaigns
from rewards.selectors.links import status_link_url
from rewards.services.bulk import status_links_ensure_all, traffic_refresh_all, weekly_stars_set
from rewards.services.status_links import status_links_export, status_links_rotate
from rewards.services.traffic import weekly_star_set, weekly_stars_automatic


@admin.register(StatusLink)
class StatusLinkAdmin(TraderColumns, ToolsMixin, admin.ModelAdmin):
    list_display = ["trader_uid", "trader_nickname", "campaign", "version", "rotated_at", "rotated_by", "copy_link"]
    list_filter = ["campaign"]
    search_fields = ["=trader__uid", "trader__nickname"]
    list_select_related = ["campaign", "trader"]
    raw_id_fields = ["trader"]
    date_hierarchy = "created_at"
    readonly_fields = ["version", "created_at", "rotated_at", "rotated_by", "copy_link"]
    actions = ["rotate"]
    tools = [("ensure", _("Create links for every trader of each campaign"), "ensure_links")]
    tools_help = _(
        "Send a trader their own link only. Rotating a link kills every copy sent before; send the new one. "
        "The export lists every trader of the campaign with a link, created for whoever had none."
    )
    change_list_template = "admin/rewards/statuslink/change_list.html"

    def get_fields(self, request, obj=None):
        return ["campaign", "trader"] if obj is None else ["campaign", "trader", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["campaign", "trader", *self.readonly_fields]

    @admin.display(description=_("link"))
    def copy_link(self, obj):
        if obj.pk is None:
            return "—"
        # Selecting on focus and the copy button are static/ops/admin.js: the CSP runs no inline handler.
        return format_html(
            '<input type="text" readonly value="{}" size="36" class="status-link"> <button type="button" class="button copy-status-link">{}</button>',
            status_link_url(obj),
            _("copy"),
        )

    def has_delete_permission(self, request, obj=None):
        # Never deleted, only rotated: every known trader gets a link again on the next export or
        # API call, and a link made afresh starts at version 1, where the tokens signed for the
        # deleted one would work again. Rotating is what revokes a link.
        return False

    @admin.action(description=_("Rotate selected links (every older link stops working)"), permissions=["change"])
    def rotate(self, request, queryset):
        n = status_links_rotate(link_ids=list(queryset.values_list("pk", flat=True)), by=request.user.get_username())
        self.message_user(request, _("%(n)d link(s) rotated: send the traders their new links.") % {"n": n}, messages.SUCCESS)

    def ensure_links(self, request):
        created = status_links_ensure_all()
        self.message_user(request, _("%(n)d link(s) created.") % {"n": created}, messages.SUCCESS)

    def changelist_view(self, request, extra_context=None):
        # The campaign selected in the filter, or each campaign: a file never mixes campaigns.
        campaigns = adjustment_report_campaigns(campaign_id=request.GET.get("campaign__id__exact", ""))
        exports = [(campaign, *(reverse("admin:rewards_statuslink_export", args=[campaign.pk, fmt]) for fmt in REPORT_FORMATS)) for campaign in campaigns]
        return super().changelist_view(request, {**(extra_context or {}), "link_exports": exports})

    def get_urls(self):
        return [path("export/<int:campaign_id>/<str:fmt>/", self.admin_site.admin_view(self.export_view), name="rewards_statuslink_export"), *super().get_urls()]

    def export_view(self, request, campaign_id, fmt):
        """Every trader's link of one campaign as CSV or XLSX, to whoever may see the links."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        if fmt not in REPORT_FORMATS:
            return HttpResponse(status=404)
        export = status_links_export(campaign=campaign, fmt=fmt)
        # A list of credentials: admin_view's never_cache keeps it out of every cache.
        return HttpResponse(export.content, content_type=export.content_type, headers={"Content-Disposition": f'attachment; filename="{export.name}"'})


def _traffic_recompute(modeladmin, request):
    for outcome in traffic_refresh_all():
        values = {"campaign": outcome.campaign.slug, "featured": outcome.result["featured"], "stars": outcome.result["stars"]}
        modeladmin.message_user(request, _("%(campaign)s: featured posts %(featured)s; star traders %(stars)s.") % values, messages.SUCCESS)


@admin.register(FeaturedPost)
class FeaturedPostAdmin(FeaturingActions, ToolsMixin, admin.ModelAdmin):
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

    def featured_post_ids(self, queryset) -> list[int]:
        return list(queryset.values_list("post_id", flat=True))

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
        n = weekly_stars_set(star_ids=list(queryset.values_list("pk", flat=True)), star=star, by=request.user.get_username())
        self.message_user(request, _("%(verb)s: %(n)d star(s).") % {"verb": verb, "n": n}, messages.SUCCESS)

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
