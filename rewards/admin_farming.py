"""The anti-farming review flags in the admin, and their thresholds per campaign. Flags only
report: dismissing changes nothing; excluding (with a note) leaves the post or the trader out of
the next settlement. Each action and the "recompute" button make one service call.
"""

from datetime import datetime

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaign.admin import action_form_response
from core.screen_time import screen_time
from rewards.admin_display import APPROVE_PERMISSION, NoteForm, ToolsMixin
from rewards.exceptions import RewardError
from rewards.models import FarmingThresholds, ReviewFlag
from rewards.services.bulk import review_flags_refresh_all
from rewards.services.farming import DISMISS, EXCLUDE_POST, EXCLUDE_TRADER, review_flags_decide


def _engagement_counts(observation: dict) -> str:
    return "/".join(str(observation.get(name, "?")) for name in ("likes", "comments", "shares", "views"))


def _evidence_time(value) -> str:
    """An instant of a flag's evidence (ISO 8601) as screens show it; one without an offset as stored."""
    try:
        return screen_time(datetime.fromisoformat(value), seconds=True)
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
    # The evidence in words in place of its stored JSON; `fields` too, or the form would offer the JSON to edit.
    readonly_fields = ["evidence_text" if f.name == "evidence" else f.name for f in ReviewFlag._meta.fields if f.name != "id"]
    fields = readonly_fields
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
        return request.user.has_perm(APPROVE_PERMISSION)

    def refresh(self, request):
        for outcome in review_flags_refresh_all():
            values = {"campaign": outcome.campaign.slug, **outcome.result}
            self.message_user(request, _("%(campaign)s: %(created)d new flag(s), %(updated)d updated, %(deleted)d gone.") % values, messages.SUCCESS)
