"""Review items and adjustments in the admin (RULES.md section 8). Ops close an open review item
by accept or keep, from the list (bulk, after a confirmation page) or from the item's own page,
both through `review_items_close`; keeping a paid reward records an adjustment, which finance
reads here and downloads per campaign. What a close would do comes from
`rewards.selectors.ledger`, so the pages only show it.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign
from core.admin import ReadOnlyAdmin
from rewards.admin_display import (
    APPROVE_PERMISSION,
    STATE_COLOURS,
    NoteForm,
    RewardColumns,
    TraderColumns,
    explanations_html,
    item_link,
    run_link,
    signed_html,
    signed_text,
    titled_filter,
)
from rewards.exceptions import RewardError
from rewards.models import Adjustment, ReviewComputation, ReviewItem
from rewards.review_reasons import review_reason_display
from rewards.rules.money import format_money
from rewards.selectors.ledger import (
    REPORT_FORMATS,
    adjustment_report_campaigns,
    adjustment_report_get,
    adjustment_totals,
    review_item_adjustment_get,
    review_item_close_options,
    review_items_close_preview,
)
from rewards.services import review_items_close
from rewards.services.ledger import ACCEPT, KEEP, REFUSED_CLOSED, REFUSED_PAID

# Why the service refused to close an item, in the reader's words (it returns a code).
CLOSE_REFUSALS = {
    REFUSED_CLOSED: _("Review item #%(item)s is already closed: %(resolution)s."),
    REFUSED_PAID: _("Review item #%(item)s was not accepted: the reward is %(state)s, and a paid reward can only be kept."),
}


def close_refusal_text(item: ReviewItem, code: str) -> str:
    template = CLOSE_REFUSALS.get(code)
    if template is None:
        return code
    return template % {"item": item.pk, "resolution": item.get_resolution_display(), "state": item.reward.get_state_display()}


class ReviewComputationInline(admin.TabularInline):
    """Every amount the item was given, oldest first, each with the settlement that computed it."""

    model = ReviewComputation
    extra = 0
    can_delete = False
    fields = ["amount", "settlement", "created_at"]
    readonly_fields = fields
    verbose_name_plural = _("history of the computed amounts")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("settlement_run", "item__reward")

    def has_view_permission(self, request, obj=None):
        # The history is part of its item: whoever may see the item sees it.
        return request.user.has_perm("rewards.view_reviewitem") or request.user.has_perm("rewards.change_reviewitem")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("amount computed"))
    def amount(self, obj):
        return f"{format_money(obj.computed_amount)} {obj.item.reward.asset}"

    @admin.display(description=_("settlement"))
    def settlement(self, obj):
        return run_link(obj.settlement_run)



@admin.register(ReviewItem)
class ReviewItemAdmin(RewardColumns, ReadOnlyAdmin):
    """Read-only pages of the review items; ops close an open item with accept or keep, from the
    list (bulk) or from the item's own page, both through `review_items_close`."""

    # What ops decide on first (the item, the two amounts, the difference, open or not) comes first,
    # so it shows without scrolling at 1280 px beside the filters (tests/e2e/test_pages_a11y.py).
    list_display = [
        "item", "ledger_amount", "computed", "difference_signed", "status", "reward_state", "trader_uid", "trader_nickname", "kind", "period",
        "closed", "created_at", "updated_at", "latest_settlement",
    ]  # fmt: skip
    list_filter = ["status", ("resolution", titled_filter(_("resolution"))), "reward__campaign", "reward__kind", ("reward__state", titled_filter(_("reward state")))]
    search_fields = ["=reward__trader__uid", "reward__trader__nickname"]
    list_select_related = ["reward", "reward__trader", "reward__campaign", "settlement_run"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["reward_link", "trader_uid", "trader_nickname", "reward_state", "status", "closed", "resolved_at", "note_text", "reason_text"]}),
        (_("Amounts"), {"fields": ["ledger_amount", "computed", "difference_signed", "latest_settlement", "created_at", "updated_at"]}),
        (_("Explanations"), {"fields": ["explanations"]}),
    ]
    readonly_fields = [
        "reward_link", "trader_uid", "trader_nickname", "reward_state", "status", "closed", "resolved_at", "note_text", "reason_text",
        "ledger_amount", "computed", "difference_signed", "latest_settlement", "created_at", "updated_at", "explanations",
    ]  # fmt: skip
    inlines = [ReviewComputationInline]
    actions = ["accept", "keep"]

    def has_approve_permission(self, request):
        return request.user.has_perm(APPROVE_PERMISSION)

    # --- columns and fields ---

    @admin.display(description=_("review item"), ordering="pk")
    def item(self, obj):
        return str(obj)

    # Written in English by the settlement, read in the reader's language.
    @admin.display(description=_("reason"))
    def reason_text(self, obj):
        return review_reason_display(obj.reason)

    @admin.display(description=_("note"))
    def note_text(self, obj):
        return review_reason_display(obj.resolution_note)

    @admin.display(description=_("UID"), ordering="reward__trader__uid")
    def trader_uid(self, obj):
        return obj.reward.trader.uid

    @admin.display(description=_("nickname"), ordering="reward__trader__nickname")
    def trader_nickname(self, obj):
        return obj.reward.trader.nickname

    @admin.display(description=_("reward state"), ordering="reward__state")
    def reward_state(self, obj):
        return format_html('<b style="color:{}">{}</b>', STATE_COLOURS[obj.reward.state], obj.reward.get_state_display())

    @admin.display(description=_("amount in the ledger"), ordering="stored_amount")
    def ledger_amount(self, obj):
        return f"{format_money(obj.stored_amount)} {obj.reward.asset}"

    @admin.display(description=_("amount computed now"), ordering="computed_amount")
    def computed(self, obj):
        return f"{format_money(obj.computed_amount)} {obj.reward.asset}"

    @admin.display(description=_("difference"))
    def difference_signed(self, obj):
        return signed_html(obj.difference)

    @admin.display(description=_("closed by"), ordering="resolution")
    def closed(self, obj):
        if obj.status == ReviewItem.Status.OPEN:
            return "—"
        return f"{obj.get_resolution_display()} ({review_reason_display(obj.resolved_by)})" if obj.resolved_by else obj.get_resolution_display()

    @admin.display(description=_("latest settlement"), ordering="settlement_run")
    def latest_settlement(self, obj):
        return run_link(obj.settlement_run)

    @admin.display(description=_("reward"))
    def reward_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:rewards_reward_change", args=[obj.reward_id]), obj.reward)

    @admin.display(description=_("explanations"))
    def explanations(self, obj):
        return explanations_html(reward=obj.reward, item=obj)

    # --- closing from the item's own page ---

    def get_urls(self):
        return [
            path("<path:object_id>/close/", self.admin_site.admin_view(self.close_view), name="rewards_reviewitem_close"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        item = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if item is not None and item.status == ReviewItem.Status.OPEN and self.has_approve_permission(request):
            extra["close"] = self._close_buttons(item, review_item_close_options(item=item))
        return super().change_view(request, object_id, form_url, extra)

    @staticmethod
    def _close_buttons(item, options) -> dict:
        """The close form of an open item's page, its buttons labelled with what each would do."""
        asset = item.reward.asset
        voids = _("Accept %(amount)s %(asset)s: the reward becomes void")
        back_to_calculated = _("Accept %(amount)s %(asset)s: the reward goes back to calculated, to be approved again")
        accept = voids if options.accept_voids else back_to_calculated
        held = {"held": format_money(item.stored_amount), "asset": asset}
        keep = (
            _("Keep %(held)s %(asset)s and record an adjustment of %(difference)s %(asset)s for finance") % {**held, "difference": signed_text(options.keep_adjustment)}
            if options.keep_adjustment is not None
            else _("Keep %(held)s %(asset)s in the ledger") % held
        )
        return {
            "form": NoteForm(),
            "url": reverse("admin:rewards_reviewitem_close", args=[item.pk]),
            "can_accept": options.can_accept,
            "accept_label": accept % {"amount": format_money(item.computed_amount), "asset": asset},
            "keep_label": keep,
        }

    def close_view(self, request, object_id):
        """Accept or keep one item with a note (POST, CSRF-checked by the admin view)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_approve_permission(request):
            raise PermissionDenied
        item = get_object_or_404(ReviewItem, pk=unquote(object_id))
        back = redirect(reverse("admin:rewards_reviewitem_change", args=[item.pk]))
        action, form = request.POST.get("action"), NoteForm(request.POST)
        if action not in (ACCEPT, KEEP):
            self.message_user(request, _("Choose Accept or Keep."), messages.ERROR)
            return back
        if not form.is_valid():
            self.message_user(request, _("A note is required to close a review item; nothing was changed."), messages.ERROR)
            return back
        try:
            done, refused = review_items_close(item_ids=[item.pk], action=action, user=request.user, note=form.cleaned_data["note"])
        except RewardError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return back
        for refused_item, code in refused:
            self.message_user(request, close_refusal_text(refused_item, code), messages.WARNING)
        if done:
            closed = done[0]
            self.message_user(request, _("Review item #%(item)s closed: %(resolution)s.") % {"item": closed.pk, "resolution": closed.get_resolution_display()}, messages.SUCCESS)
            adjustment = review_item_adjustment_get(item=closed)
            if adjustment is not None:
                self.message_user(request, _("Adjustment recorded for finance: %(amount)s %(asset)s.") % {"amount": signed_text(adjustment.amount), "asset": adjustment.asset}, messages.SUCCESS)
        return back

    # --- bulk actions ---

    def _close(self, request, queryset, action, title, verb):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                done, refused = review_items_close(item_ids=list(queryset.values_list("pk", flat=True)), action=action, user=request.user, note=form.cleaned_data["note"])
            except RewardError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            for refused_item, code in refused:
                self.message_user(request, close_refusal_text(refused_item, code), messages.WARNING)
            self.message_user(request, _("%(verb)s: %(n)d review item(s).") % {"verb": verb, "n": len(done)}, messages.SUCCESS if done else messages.WARNING)
            return None
        preview = review_items_close_preview(items=queryset, action=action)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "items": [
                (item, format_money(item.stored_amount), format_money(item.computed_amount), signed_text(item.difference)) for item in preview.items
            ],
            "differences": [(asset, signed_text(total)) for asset, total in preview.differences],
            "adjustments": [(asset, signed_text(total)) for asset, total in preview.adjustments],
            "paid_refused": preview.paid_refused,
            "closed": preview.closed,
            "action": request.POST.get("action"),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/rewards/reviewitem/confirm_close.html", context)

    @admin.action(description=_("Accept the computed amount (approved or void rewards)"), permissions=["approve"])
    def accept(self, request, queryset):
        return self._close(request, queryset, ACCEPT, _("Accept the computed amount"), _("Accepted"))

    @admin.action(description=_("Keep the ledger amount (paid rewards: record the adjustment)"), permissions=["approve"])
    def keep(self, request, queryset):
        return self._close(request, queryset, KEEP, _("Keep the ledger amount"), _("Kept"))


@admin.register(Adjustment)
class AdjustmentAdmin(TraderColumns, RewardColumns, ReadOnlyAdmin):
    """What finance tops up (+) or claws back (-) per trader, read-only: adjustments are recorded by
    keeping a review item of a paid reward, never typed in."""

    list_display = [
        "trader_uid", "trader_nickname", "campaign", "kind", "period", "asset", "signed_amount", "paid_amount", "computed_amount",
        "review_item_link", "created_by", "created_at", "note",
    ]  # fmt: skip
    list_filter = ["campaign", "asset", "reward__kind"]
    search_fields = ["=trader__uid", "trader__nickname"]
    list_select_related = ["trader", "campaign", "reward", "review_item"]
    date_hierarchy = "created_at"
    fields = ["trader_uid", "trader_nickname", "campaign", "reward_link", "kind", "period", "asset", "signed_amount", "paid_amount", "computed_amount",
              "review_item_link", "created_by", "created_at", "note"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("adjustment (+ top up, - claw back)"), ordering="amount")
    def signed_amount(self, obj):
        return signed_html(obj.amount)

    @admin.display(description=_("paid"), ordering="reward__amount")
    def paid_amount(self, obj):
        return format_money(obj.reward.amount)

    @admin.display(description=_("computed"), ordering="review_item__computed_amount")
    def computed_amount(self, obj):
        return format_money(obj.review_item.computed_amount)

    @admin.display(description=_("review item"), ordering="review_item")
    def review_item_link(self, obj):
        return item_link(obj.review_item_id, f"#{obj.review_item_id}")

    @admin.display(description=_("reward"))
    def reward_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:rewards_reward_change", args=[obj.reward_id]), obj.reward)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl")
        if cl is not None:
            response.context_data["totals"] = [
                {"asset": t.asset, "n": t.n, "top_up": format_money(t.top_up), "claw_back": format_money(t.claw_back), "net": signed_text(t.net)}
                for t in adjustment_totals(adjustments=cl.queryset)
            ]
            response.context_data["reports"] = self._reports(request)
        return response

    def _reports(self, request) -> list[tuple[Campaign, str, str]]:
        """The report of the campaign selected in the filter, or one report per campaign: a report
        never mixes campaigns, whose rows it could not tell apart."""
        campaigns = adjustment_report_campaigns(campaign_id=request.GET.get("campaign__id__exact", ""))
        return [(campaign, *(reverse("admin:rewards_adjustment_report", args=[campaign.pk, fmt]) for fmt in REPORT_FORMATS)) for campaign in campaigns]

    def get_urls(self):
        return [
            path("report/<int:campaign_id>/<str:fmt>/", self.admin_site.admin_view(self.report_view), name="rewards_adjustment_report"),
            *super().get_urls(),
        ]

    def report_view(self, request, campaign_id, fmt):
        """The adjustments report of one campaign, as CSV or XLSX, to whoever may see adjustments."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        if fmt not in REPORT_FORMATS:
            return HttpResponse(status=404)
        report = adjustment_report_get(campaign=campaign, fmt=fmt)
        response = HttpResponse(report.content, content_type=report.content_type)
        response["Content-Disposition"] = f'attachment; filename="{report.name}"'
        return response

