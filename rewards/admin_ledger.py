"""The ledger in the admin: rewards with their approve, mark-paid and void actions, their events,
and the payout batches. Each action parses its form, makes one `rewards.services` call and reports
what it returned; the list totals come from `rewards.selectors.ledger`.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from campaign.admin import action_form_response
from core.admin import ReadOnlyAdmin
from rewards.admin_display import (
    STATE_COLOURS,
    NoteForm,
    TraderColumns,
    explanations_html,
    item_link,
    local_text,
    run_link,
    signed_html,
)
from rewards.exceptions import RewardError
from rewards.models import PayoutBatch, ReviewItem, Reward, RewardEvent
from rewards.rules.money import format_money
from rewards.selectors.ledger import amounts_per_asset, review_item_open_get, reward_totals
from rewards.services import rewards_approve, rewards_mark_paid, rewards_void


class RewardEventInline(admin.TabularInline):
    model = RewardEvent
    extra = 0
    can_delete = False
    fields = ["at", "by", "action", "from_state", "to_state", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False



class PaidForm(forms.Form):
    reference = forms.CharField(label=_("Payout batch external reference"), max_length=200)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _report(modeladmin, request, done, refused, verb):
    for _reward, reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)
    modeladmin.message_user(request, _("%(verb)s: %(n)d reward(s).") % {"verb": verb, "n": len(done)}, messages.SUCCESS if done else messages.WARNING)




@admin.register(Reward)
class RewardAdmin(TraderColumns, admin.ModelAdmin):
    list_display = ["trader", "trader_nickname", "campaign", "kind", "period", "asset", "amount", "state_badge", "open_review", "preview", "approved_by", "payout_batch"]
    list_filter = ["campaign", "kind", "state", "period", "preview", "asset"]
    search_fields = ["=trader__uid", "trader__nickname", "payout_batch__reference"]
    list_select_related = ["trader", "campaign", "payout_batch"]
    raw_id_fields = ["trader", "settlement_run", "payout_batch"]
    date_hierarchy = "created_at"
    readonly_fields = [*("settlement" if f.name == "settlement_run" else f.name for f in Reward._meta.fields), "open_review", "adjustments", "breakdown"]
    inlines = [RewardEventInline]
    actions = ["approve", "mark_paid", "void"]

    def get_queryset(self, request):
        # The open review item of each row in the same query (at most one, the database says).
        open_items = ReviewItem.objects.filter(reward=OuterRef("pk"), status=ReviewItem.Status.OPEN)
        return super().get_queryset(request).annotate(
            open_review_id=Subquery(open_items.values("pk")[:1]), open_review_computed=Subquery(open_items.values("computed_amount")[:1])
        )

    @admin.display(description=_("explanation"))
    def breakdown(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return explanations_html(reward=obj, item=review_item_open_get(reward=obj))

    @admin.display(description=_("settlement"))
    def settlement(self, obj):
        """The settlement that computed the stored amount and its explanation."""
        return run_link(obj.settlement_run)

    @admin.display(description=_("open review item"))
    def open_review(self, obj):
        item_id = getattr(obj, "open_review_id", None)
        if item_id is None:
            return "—"
        text = _("#%(item)s: computed %(amount)s") % {"item": item_id, "amount": format_money(obj.open_review_computed)}
        return item_link(item_id, text)

    @admin.display(description=_("adjustments"))
    def adjustments(self, obj):
        rows = list(obj.adjustments.order_by("created_at", "pk")) if obj.pk else []
        if not rows:
            return "—"
        lines = format_html_join(
            "", "<li>{} {} · {} · {} {} · {}</li>",
            ((signed_html(a.amount), a.asset, item_link(a.review_item_id, _("review item #%(item)s") % {"item": a.review_item_id}),
              local_text(a.created_at), a.created_by, a.note) for a in rows),
        )  # fmt: skip
        return format_html('<ul class="adjustments" data-testid="reward-adjustments">{}</ul>', lines)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl")
        if cl is not None:
            states = dict(Reward.State.choices)
            response.context_data["totals"] = [
                {"asset": t.asset, "state": t.state, "state_label": states.get(t.state, t.state), "n": t.n, "total": format_money(t.total)}
                for t in reward_totals(rewards=cl.queryset)
            ]
        return response

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj):
        return format_html('<b style="color:{}">{}</b>', STATE_COLOURS[obj.state], obj.get_state_display())

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
            if not done:  # every reward refused: the service created no batch
                for _reward, reason in refused:
                    self.message_user(request, reason, messages.WARNING)
                self.message_user(request, _("Nothing was marked paid: every selected reward was refused (see why above). No payout batch was created or changed."), messages.ERROR)
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


@admin.register(PayoutBatch)
class PayoutBatchAdmin(admin.ModelAdmin):
    list_display = ["reference", "campaign", "created_by", "created_at", "reward_count", "total"]
    list_filter = ["campaign"]
    search_fields = ["reference", "note"]
    list_select_related = ["campaign"]
    date_hierarchy = "created_at"
    readonly_fields = ["campaign", "reference", "created_by", "created_at", "note", "reward_count", "total"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        # The amounts of the batch's rewards, to add up per asset in Python (never across assets).
        amounts = Prefetch("rewards", queryset=Reward.objects.order_by().only("pk", "payout_batch", "asset", "amount"), to_attr="amounts")
        return super().get_queryset(request).annotate(n=Count("rewards")).prefetch_related(amounts)

    @admin.display(description=_("rewards"), ordering="n")
    def reward_count(self, obj):
        return obj.n

    @admin.display(description=_("total per asset"))
    def total(self, obj):
        totals = amounts_per_asset((reward.asset, reward.amount) for reward in obj.amounts)
        # Two decimals from format_money (which never rounds), thousands grouped for reading.
        return " · ".join(f"{Decimal(format_money(amount)):,f} {asset}" for asset, amount in totals) or "—"



@admin.register(RewardEvent)
class RewardEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "reward", "action", "from_state", "to_state", "by", "note"]
    list_filter = ["action", "by"]
    search_fields = ["=reward__trader__uid", "by", "note"]
    list_select_related = ["reward", "reward__trader"]
    date_hierarchy = "at"
    readonly_fields = ["reward", "action", "from_state", "to_state", "by", "at", "note"]
