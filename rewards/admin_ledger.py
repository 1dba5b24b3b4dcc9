"""The ledger in the admin: rewards with their approve, mark-paid and void actions, their events,
and the payout batches. Each action parses its form, makes one `rewards.services` call and reports
what it returned; the list totals come from `rewards.selectors.ledger`.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin
from core.admin_exports import ChangeListExportMixin
from rewards.admin_display import (
    STATE_COLOURS,
    NoteForm,
    PeriodFilter,
    TraderColumns,
    explanations_html,
    item_link,
    local_text,
    period_text,
    run_link,
    signed_html,
)
from rewards.admin_records import detail_sections, record_html
from rewards.exceptions import RewardError
from rewards.ledger_words import event_note_text, ledger_error_text, refusal_text, state_text
from rewards.models import PayoutBatch, ReviewItem, Reward, RewardEvent
from rewards.rules.money import format_money
from rewards.rules.types import ALL
from rewards.selectors.exports import rewards_export
from rewards.selectors.ledger import amounts_per_asset, review_item_open_get, reward_totals
from rewards.services import rewards_approve, rewards_mark_paid, rewards_void


class EventWords:
    """An event's action and states in words of the reader's language (stored as codes)."""

    @admin.display(description=_("action"), ordering="action")
    def action_text(self, obj):
        return obj.get_action_display()

    @admin.display(description=_("from"), ordering="from_state")
    def from_text(self, obj):
        return state_text(obj.from_state)

    @admin.display(description=_("to"), ordering="to_state")
    def to_text(self, obj):
        return state_text(obj.to_state)

    @admin.display(description=_("note"), ordering="note")
    def note_text(self, obj):
        return event_note_text(action=obj.action, note=obj.note)


class ActionFilter(admin.SimpleListFilter):
    """The action filter in words; the same query string as the field's own filter."""

    title = _("action")
    parameter_name = "action__exact"

    def lookups(self, request, model_admin):
        return list(RewardEvent.ACTIONS.items())

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class RewardEventInline(EventWords, admin.TabularInline):
    model = RewardEvent
    extra = 0
    can_delete = False
    fields = ["at", "by", "action_text", "from_text", "to_text", "note_text"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False



class PaidForm(forms.Form):
    reference = forms.CharField(label=_("Payout batch external reference"), max_length=200)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _report(modeladmin, request, done, refused, verb, *, action):
    for reward, refusal in refused:
        modeladmin.message_user(request, refusal_text(reward, refusal, action=action), messages.WARNING)
    modeladmin.message_user(request, _("%(verb)s: %(n)d reward(s).") % {"verb": verb, "n": len(done)}, messages.SUCCESS if done else messages.WARNING)


def _period_text(period: str) -> str:
    return period_text(period) if period == ALL else str(_("period %(period)s") % {"period": period})


def _grouped(amount: Decimal) -> str:
    # Two decimals from format_money (which never rounds), thousands grouped for reading.
    return f"{Decimal(format_money(amount)):,f}"


BUDGET_NOTE = _("Each pool's budget is checked as the rewards are approved: one that would take its pool over is refused then, with the amount.")


# What each action's service refuses, said on the confirmation page before it is asked (the
# service still decides, and also refuses what only it can see, such as a pool's budget).
def _approve_refusal(reward):
    if reward.preview:
        return _("a preview: its period is not yet due")
    return None if reward.state == Reward.State.CALCULATED else _("%(state)s, not calculated") % {"state": reward.get_state_display()}


def _pay_refusal(reward):
    return None if reward.state == Reward.State.APPROVED else _("%(state)s, not approved") % {"state": reward.get_state_display()}


def _void_refusal(reward):
    if reward.preview:
        return _("a preview: its period is not yet due")
    if reward.state in (Reward.State.CALCULATED, Reward.State.APPROVED):
        return None
    return _("%(state)s: it cannot be voided") % {"state": reward.get_state_display()}


def _will_approve(n):
    return ngettext("%(n)d reward will be approved, in total:", "%(n)d rewards will be approved, in total:", n) % {"n": n}


def _will_pay(n):
    return ngettext("%(n)d reward will be marked paid, in total:", "%(n)d rewards will be marked paid, in total:", n) % {"n": n}


def _will_void(n):
    return ngettext("%(n)d reward will be voided, in total:", "%(n)d rewards will be voided, in total:", n) % {"n": n}


def _confirmation(modeladmin, request, queryset, *, title, refusal, will, confirm, form=None, note="", field="apply"):
    """The intermediate page of a reward action: every selected reward in words, then the count
    and the total per asset of those the action will change (`will(n)` says it), and how many it
    will refuse and why. The button (`confirm`) posts the selection back with `field=yes`."""
    rewards = list(queryset.select_related("trader").order_by("trader__uid", "kind", "period", "pk"))
    refusals = {reward.pk: refusal(reward) for reward in rewards}
    rows = [(reward, reward.get_kind_display(), _period_text(reward.period), _grouped(reward.amount), refusals[reward.pk]) for reward in rewards]
    acting = [reward for reward in rewards if refusals[reward.pk] is None]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "rows": rows,
        "acting": will(len(acting)),
        "totals": [(asset, _grouped(total)) for asset, total in amounts_per_asset((r.asset, r.amount) for r in acting)],
        "refused": len(rows) - len(acting),
        "note": note,
        "form": form,
        "confirm": confirm,
        "confirm_field": field,
        "action": request.POST.get("action"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "back": request.get_full_path(),
    }
    return TemplateResponse(request, "admin/rewards/reward/confirm_action.html", context)




@admin.register(Reward)
class RewardAdmin(TraderColumns, ChangeListExportMixin, admin.ModelAdmin):
    # What ops decide on first (who, how much, in what state), so it shows without scrolling at
    # 1280 px; the campaign, preview flag, approver and payout batch are on the reward's page
    # (campaign and preview also as filters, the batch in the search).
    list_display = ["trader", "amount", "asset", "state_badge", "kind", "period_label", "open_review"]
    list_filter = ["campaign", "kind", "state", ("period", PeriodFilter), "preview", "asset"]
    search_fields = ["=trader__uid", "trader__nickname", "payout_batch__reference"]
    list_select_related = ["trader", "campaign", "payout_batch"]
    raw_id_fields = ["trader", "settlement_run", "payout_batch"]
    date_hierarchy = "created_at"
    # The settlement and "how it was computed" as readable fields; every other field as stored.
    exclude = ["detail", "settlement_run"]  # shown as `detail_record` and `settlement`, never as form fields
    readonly_fields = [*({"settlement_run": "settlement", "detail": "detail_record", "period": "period_label"}.get(f.name, f.name) for f in Reward._meta.fields), "open_review", "adjustments", "breakdown"]
    inlines = [RewardEventInline]
    actions = ["approve", "mark_paid", "void"]

    def get_queryset(self, request):
        # The open review item of each row in the same query (at most one, the database says).
        open_items = ReviewItem.objects.filter(reward=OuterRef("pk"), status=ReviewItem.Status.OPEN)
        return super().get_queryset(request).annotate(
            open_review_id=Subquery(open_items.values("pk")[:1]), open_review_computed=Subquery(open_items.values("computed_amount")[:1])
        )

    @admin.display(description=_("period"), ordering="period")
    def period_label(self, obj):
        return period_text(obj.period)

    @admin.display(description=_("explanation"))
    def breakdown(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return explanations_html(reward=obj, item=review_item_open_get(reward=obj))

    @admin.display(description=_("how it was computed"))
    def detail_record(self, obj):
        return record_html("admin/rewards/reward/_detail.html", detail_sections(obj.detail))

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

    def changelist_export(self, *, queryset, fmt):
        return rewards_export(rewards=queryset, fmt=fmt)

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
        """Approve after a confirmation page shows what is selected, as Django's delete does."""
        if request.POST.get("post") != "yes":
            return _confirmation(
                self, request, queryset, title=_("Approve rewards"), refusal=_approve_refusal, will=_will_approve, confirm=_("Yes, approve"), note=BUDGET_NOTE,
                field="post",
            )  # fmt: skip
        done, refused = rewards_approve(reward_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        _report(self, request, done, refused, _("Approved"), action="approve")

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
                self.message_user(request, ledger_error_text(exc), messages.ERROR)
                return None
            if not done:  # every reward refused: the service created no batch
                for reward, refusal in refused:
                    self.message_user(request, refusal_text(reward, refusal, action="pay"), messages.WARNING)
                self.message_user(request, _("Nothing was marked paid: every selected reward was refused (see why above). No payout batch was created or changed."), messages.ERROR)
                return None
            _report(self, request, done, refused, _("Paid in batch %(ref)s") % {"ref": batch.reference}, action="pay")
            return None
        return _confirmation(self, request, queryset, title=_("Mark paid"), refusal=_pay_refusal, will=_will_pay, confirm=_("Mark paid"), form=form)

    @admin.action(description=_("Void selected rewards"), permissions=["approve"])
    def void(self, request, queryset):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = rewards_void(reward_ids=list(queryset.values_list("pk", flat=True)), user=request.user, note=form.cleaned_data["note"])
            _report(self, request, done, refused, _("Voided"), action="void")
            return None
        return _confirmation(self, request, queryset, title=_("Void"), refusal=_void_refusal, will=_will_void, confirm=_("Void"), form=form)

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
class RewardEventAdmin(EventWords, ReadOnlyAdmin):
    list_display = ["at", "reward", "action_text", "from_text", "to_text", "by", "note_text"]
    list_filter = [ActionFilter, "by"]
    search_fields = ["=reward__trader__uid", "by", "note"]
    list_select_related = ["reward", "reward__trader"]
    date_hierarchy = "at"
    fields = ["reward", "action_text", "from_text", "to_text", "by", "at", "note_text"]
    readonly_fields = fields
