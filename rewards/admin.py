import json
from collections import defaultdict
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from campaign.admin import CampaignAdmin, action_form_response
from campaign.models import Campaign
from campaign.page_cache import campaign_pages_changed
from rewards.admin_dashboard import DashboardAdminMixin
from rewards.budgets import pool_budget_conflicts
from rewards.admin_whatif import WhatIfAdminMixin
from rewards.exceptions import RewardError
from rewards.services.schedule import settlement_schedule_sync
from rewards.models import Adjustment, PayoutBatch, PayoutReport, Reward, RewardEvent, ReviewComputation, ReviewItem, SettlementRun
from rewards.rules.money import format_money
from rewards.services import review_items_close, rewards_approve, rewards_mark_paid, rewards_void
from rewards.services.ledger import ACCEPT, KEEP
from rewards.services.reports import XLSX_TYPE, adjustment_rows, render_adjustments_csv, render_adjustments_xlsx
from traders.admin import ReadOnlyAdmin

APPROVE_PERMISSION = "rewards.approve_reward"
STATE_COLOURS = {"calculated": "#9a6700", "approved": "#0969da", "paid": "#1a7f37", "void": "#999"}


# --- Ledger pages: money, instants and settlements as every page shows them ----------------------


def _local(instant) -> str:
    """An instant in the screens' time zone with its offset spelled out ("2026-02-26 00:00 UTC+8")."""
    local = timezone.localtime(instant)
    minutes = int(local.utcoffset().total_seconds()) // 60
    offset = f"{minutes // 60:+d}" + (f":{abs(minutes) % 60:02d}" if minutes % 60 else "")
    return f"{local:%Y-%m-%d %H:%M} UTC{offset}"


def _signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + format_money(amount)


def _signed_html(amount: Decimal):
    """A difference or adjustment: + (top up) in green, - (claw back) in red, 0.00 plain."""
    colour = "#1a7f37" if amount > 0 else "#cf222e" if amount < 0 else "inherit"
    return format_html('<b style="color:{}" data-amount="{}">{}</b>', colour, _signed(amount), _signed(amount))


def _per_asset(pairs) -> list[tuple[str, Decimal]]:
    """Totals of (asset, amount) pairs per asset, summed in Python (SQLite adds decimals as floats)
    and never across assets, by asset."""
    totals: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for asset, amount in pairs:
        totals[asset] += amount
    return sorted(totals.items())


def _run_text(run: SettlementRun) -> str:
    return _("settlement #%(run)s (%(at)s)") % {"run": run.pk, "at": _local(run.at)}


def _run_link(run: SettlementRun | None):
    if run is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("admin:rewards_settlementrun_change", args=[run.pk]), _run_text(run))


def _item_link(item_id: int, text: str):
    return format_html('<a href="{}">{}</a>', reverse("admin:rewards_reviewitem_change", args=[item_id]), text)


def _titled(title, base=admin.ChoicesFieldListFilter):
    """A list filter of a field under another title (a reward's "state" is the "reward state" there)."""

    class Filter(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return Filter


def _explanations(*, reward: Reward, item: ReviewItem | None) -> str:
    """The reward's stored explanation and, when there is a review item, the item's computation
    beside it: two labelled columns, never one breakdown mixing both (RULES.md section 8)."""
    from rewards.selectors import review_breakdown_get, reward_breakdown_get

    context = {
        "stored": reward_breakdown_get(reward=reward),
        "stored_label": _("In the ledger: %(amount)s %(asset)s, as computed by %(run)s")
        % {"amount": format_money(reward.amount), "asset": reward.asset, "run": _run_text(reward.settlement_run)},
    }
    if item is not None:
        values = {"amount": format_money(item.computed_amount), "asset": reward.asset, "run": _run_text(item.settlement_run), "item": item.pk}
        if item.status == ReviewItem.Status.OPEN:
            context["proposed_label"] = _("New computation (review item #%(item)s, not in the ledger): %(amount)s %(asset)s, by %(run)s") % values
        else:
            values["resolution"] = item.get_resolution_display()
            context["proposed_label"] = _("Computation of review item #%(item)s (closed, %(resolution)s): %(amount)s %(asset)s, by %(run)s") % values
        context["proposed"] = review_breakdown_get(item=item)
        context["proposed_gives_nothing"] = not item.computed_detail
    return render_to_string("admin/rewards/reviewitem/_explanations.html", context)


class TraderColumns:
    """The trader's UID and nickname as list columns, for a model with a `trader`."""

    @admin.display(description=_("UID"), ordering="trader__uid")
    def trader_uid(self, obj):
        return obj.trader.uid

    @admin.display(description=_("nickname"), ordering="trader__nickname")
    def trader_nickname(self, obj):
        return obj.trader.nickname


class RewardColumns:
    """The reward's kind and period as list columns, for a model with a `reward`."""

    @admin.display(description=_("kind"), ordering="reward__kind")
    def kind(self, obj):
        return obj.reward.get_kind_display()

    @admin.display(description=_("period"), ordering="reward__period")
    def period(self, obj):
        return obj.reward.period


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


def _reward_totals(rows) -> list[dict]:
    """Count and total per asset and state, summed in Python with exactly two decimals; assets are
    never added together."""
    totals: dict[tuple[str, str], list] = {}
    for asset, state, amount in rows:
        entry = totals.setdefault((asset, state), [0, Decimal("0.00")])
        entry[0] += 1
        entry[1] += amount
    order = {state: i for i, state in enumerate(Reward.State.values)}
    states = dict(Reward.State.choices)
    return [
        {"asset": asset, "state": state, "state_label": states.get(state, state), "n": n, "total": format_money(total)}
        for (asset, state), (n, total) in sorted(totals.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99)))
    ]


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
        item = obj.review_items.filter(status=ReviewItem.Status.OPEN).select_related("settlement_run").first()
        return _explanations(reward=obj, item=item)

    @admin.display(description=_("settlement"))
    def settlement(self, obj):
        """The settlement that computed the stored amount and its explanation."""
        return _run_link(obj.settlement_run)

    @admin.display(description=_("open review item"))
    def open_review(self, obj):
        item_id = getattr(obj, "open_review_id", None)
        if item_id is None:
            return "—"
        text = _("#%(item)s: computed %(amount)s") % {"item": item_id, "amount": format_money(obj.open_review_computed)}
        return _item_link(item_id, text)

    @admin.display(description=_("adjustments"))
    def adjustments(self, obj):
        rows = list(obj.adjustments.order_by("created_at", "pk")) if obj.pk else []
        if not rows:
            return "—"
        lines = format_html_join(
            "", "<li>{} {} · {} · {} {} · {}</li>",
            ((_signed_html(a.amount), a.asset, _item_link(a.review_item_id, _("review item #%(item)s") % {"item": a.review_item_id}),
              _local(a.created_at), a.created_by, a.note) for a in rows),
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
            response.context_data["totals"] = _reward_totals(cl.queryset.values_list("asset", "state", "amount").order_by())
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


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):  # a run is the record of what the ledger was written from
    list_display = ["id", "campaign", "at", "started_at", "finished_at", "triggered_by", "qualified", "unallocated"]
    list_filter = ["campaign", "triggered_by"]
    search_fields = ["=id", "triggered_by"]
    list_select_related = ["campaign"]
    date_hierarchy = "started_at"
    fields = ["campaign", "settled_as_of", "started_at", "finished_at", "triggered_by", "qualified", "unallocated", "ledger", "budgets", "other_summary", "config"]
    readonly_fields = fields

    @admin.display(description=_("settled as of"), ordering="at")
    def settled_as_of(self, obj):
        return _local(obj.at)

    @admin.display(description=_("qualified posts"))
    def qualified(self, obj):
        return obj.summary.get("qualified_posts", "—")

    @admin.display(description=_("unallocated"))
    def unallocated(self, obj):
        """Per pool, with its asset: content pools are never added to each other or to the board."""
        parts = [
            _("content pool %(period)s: %(amount)s %(asset)s") % {"period": code, "amount": format_money(Decimal(pool["unallocated"])), "asset": obj.config.get("pool_asset", "")}
            for code, pool in sorted(obj.summary.get("content_pool", {}).items())
            if "unallocated" in pool
        ]  # fmt: skip
        board = obj.summary.get("leaderboard", {}).get("unallocated")
        if board is not None:
            parts.append(_("leaderboard: %(amount)s %(asset)s") % {"amount": format_money(Decimal(board)), "asset": obj.config.get("leaderboard_asset", "")})
        return " · ".join(str(part) for part in parts) or "—"

    @admin.display(description=_("ledger changes"))
    def ledger(self, obj):
        ledger = obj.summary.get("ledger")
        if not ledger:
            return "—"
        return _(
            "Rewards: %(created)d created, %(updated)d updated, %(deleted)d deleted. "
            "Review items: %(opened)d opened, %(items_updated)d updated, %(withdrawn)d withdrawn."
        ) % {
            "created": ledger.get("created", 0), "updated": ledger.get("updated", 0), "deleted": ledger.get("deleted", 0),
            "opened": ledger.get("review_items", 0), "items_updated": ledger.get("review_items_updated", 0),
            "withdrawn": ledger.get("review_items_withdrawn", 0),
        }  # fmt: skip

    @admin.display(description=_("pool budgets after this settlement"))
    def budgets(self, obj):
        budgets = obj.summary.get("budgets")
        if budgets is None:
            return _("This settlement ran before the budget view existed.")
        kinds = dict(Reward.Kind.choices)
        rows = [
            {**b, "name": kinds.get(b["kind"], b["kind"]), "over": Decimal(b.get("excess") or "0") > 0}
            for b in budgets
        ]  # fmt: skip
        return render_to_string("admin/rewards/settlementrun/_budgets.html", {"rows": rows})

    @admin.display(description=_("rest of the summary"))
    def other_summary(self, obj):
        rest = {key: value for key, value in obj.summary.items() if key not in {"ledger", "budgets"}}
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', json.dumps(rest, indent=2, ensure_ascii=False))


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
        return _run_link(obj.settlement_run)


@admin.register(ReviewItem)
class ReviewItemAdmin(RewardColumns, ReadOnlyAdmin):
    """Read-only pages of the review items; ops close an open item with accept or keep, from the
    list (bulk) or from the item's own page, both through `review_items_close`."""

    list_display = [
        "item", "trader_uid", "trader_nickname", "kind", "period", "reward_state", "ledger_amount", "computed", "difference_signed",
        "status", "closed", "created_at", "updated_at", "latest_settlement",
    ]  # fmt: skip
    list_filter = ["status", ("resolution", _titled(_("resolution"))), "reward__campaign", "reward__kind", ("reward__state", _titled(_("reward state")))]
    search_fields = ["=reward__trader__uid", "reward__trader__nickname"]
    list_select_related = ["reward", "reward__trader", "reward__campaign", "settlement_run"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["reward_link", "trader_uid", "trader_nickname", "reward_state", "status", "closed", "resolved_at", "resolution_note", "reason"]}),
        (_("Amounts"), {"fields": ["ledger_amount", "computed", "difference_signed", "latest_settlement", "created_at", "updated_at"]}),
        (_("Explanations"), {"fields": ["explanations"]}),
    ]
    readonly_fields = [
        "reward_link", "trader_uid", "trader_nickname", "reward_state", "status", "closed", "resolved_at", "resolution_note", "reason",
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
        return _signed_html(obj.difference)

    @admin.display(description=_("closed by"), ordering="resolution")
    def closed(self, obj):
        if obj.status == ReviewItem.Status.OPEN:
            return "—"
        return f"{obj.get_resolution_display()} ({obj.resolved_by})" if obj.resolved_by else obj.get_resolution_display()

    @admin.display(description=_("latest settlement"), ordering="settlement_run")
    def latest_settlement(self, obj):
        return _run_link(obj.settlement_run)

    @admin.display(description=_("reward"))
    def reward_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:rewards_reward_change", args=[obj.reward_id]), obj.reward)

    @admin.display(description=_("explanations"))
    def explanations(self, obj):
        return _explanations(reward=obj.reward, item=obj)

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
            reward, values = item.reward, {"amount": format_money(item.computed_amount), "asset": item.reward.asset}
            paid = reward.state == Reward.State.PAID
            extra["close"] = {
                "form": NoteForm(),
                "url": reverse("admin:rewards_reviewitem_close", args=[item.pk]),
                "can_accept": not paid,
                "accept_label": (_("Accept %(amount)s %(asset)s: the reward becomes void") if item.computed_amount == 0
                                 else _("Accept %(amount)s %(asset)s: the reward goes back to calculated, to be approved again")) % values,
                "keep_label": (_("Keep %(held)s %(asset)s and record an adjustment of %(difference)s %(asset)s for finance") if paid and item.difference
                               else _("Keep %(held)s %(asset)s in the ledger"))
                % {"held": format_money(item.stored_amount), "asset": reward.asset, "difference": _signed(item.difference)},
            }  # fmt: skip
        return super().change_view(request, object_id, form_url, extra)

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
        for _item, reason in refused:
            self.message_user(request, reason, messages.WARNING)
        if done:
            closed = done[0]
            self.message_user(request, _("Review item #%(item)s closed: %(resolution)s.") % {"item": closed.pk, "resolution": closed.get_resolution_display()}, messages.SUCCESS)
            adjustment = Adjustment.objects.filter(review_item=closed).first()
            if adjustment is not None:
                self.message_user(request, _("Adjustment recorded for finance: %(amount)s %(asset)s.") % {"amount": _signed(adjustment.amount), "asset": adjustment.asset}, messages.SUCCESS)
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
            for _item, reason in refused:
                self.message_user(request, reason, messages.WARNING)
            self.message_user(request, _("%(verb)s: %(n)d review item(s).") % {"verb": verb, "n": len(done)}, messages.SUCCESS if done else messages.WARNING)
            return None
        items = list(queryset.select_related("reward", "reward__trader").order_by("pk"))
        open_items = [item for item in items if item.status == ReviewItem.Status.OPEN]
        paid = [item for item in open_items if item.reward.state == Reward.State.PAID]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "items": [
                (item, format_money(item.stored_amount), format_money(item.computed_amount), _signed(item.difference)) for item in items
            ],
            "differences": [(asset, _signed(total)) for asset, total in _per_asset((item.reward.asset, item.difference) for item in open_items)],
            "adjustments": [(asset, _signed(total)) for asset, total in _per_asset((item.reward.asset, item.difference) for item in paid if item.difference)]
            if action == KEEP else [],
            "paid_refused": paid if action == ACCEPT else [],
            "closed": [item for item in items if item.status != ReviewItem.Status.OPEN],
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
        return _signed_html(obj.amount)

    @admin.display(description=_("paid"), ordering="reward__amount")
    def paid_amount(self, obj):
        return format_money(obj.reward.amount)

    @admin.display(description=_("computed"), ordering="review_item__computed_amount")
    def computed_amount(self, obj):
        return format_money(obj.review_item.computed_amount)

    @admin.display(description=_("review item"), ordering="review_item")
    def review_item_link(self, obj):
        return _item_link(obj.review_item_id, f"#{obj.review_item_id}")

    @admin.display(description=_("reward"))
    def reward_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:rewards_reward_change", args=[obj.reward_id]), obj.reward)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl")
        if cl is not None:
            response.context_data["totals"] = _adjustment_totals(cl.queryset.values_list("asset", "amount").order_by())
            response.context_data["reports"] = self._reports(request)
        return response

    def _reports(self, request) -> list[tuple[Campaign, str, str]]:
        """The report of the campaign selected in the filter, or one report per campaign: a report
        never mixes campaigns, whose rows it could not tell apart."""
        selected = request.GET.get("campaign__id__exact", "")
        campaigns = Campaign.objects.filter(pk=selected) if selected.isdigit() else Campaign.objects.order_by("slug")
        return [(campaign, *(reverse("admin:rewards_adjustment_report", args=[campaign.pk, fmt]) for fmt in ("csv", "xlsx"))) for campaign in campaigns]

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
        if fmt not in {"csv", "xlsx"}:
            return HttpResponse(status=404)
        rows = adjustment_rows(campaign=campaign)
        name = f"{campaign.slug}-adjustments-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
        if fmt == "csv":
            response = HttpResponse(render_adjustments_csv(rows).encode("utf-8"), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(render_adjustments_xlsx(rows), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _adjustment_totals(rows) -> list[dict]:
    """Per asset: how many adjustments, the top-ups, the claw-backs and the net, two decimals each."""
    totals: dict[str, list] = {}
    for asset, amount in rows:
        entry = totals.setdefault(asset, [0, Decimal("0.00"), Decimal("0.00")])
        entry[0] += 1
        entry[1 if amount > 0 else 2] += amount
    return [
        {"asset": asset, "n": n, "top_up": format_money(up), "claw_back": format_money(back), "net": _signed(up + back)}
        for asset, (n, up, back) in sorted(totals.items())
    ]


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
        totals = _per_asset((reward.asset, reward.amount) for reward in obj.amounts)
        # Two decimals from format_money (which never rounds), thousands grouped for reading.
        return " · ".join(f"{Decimal(format_money(amount)):,f} {asset}" for asset, amount in totals) or "—"


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
class RewardEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "reward", "action", "from_state", "to_state", "by", "note"]
    list_filter = ["action", "by"]
    search_fields = ["=reward__trader__uid", "by", "note"]
    list_select_related = ["reward", "reward__trader"]
    date_hierarchy = "at"
    readonly_fields = ["reward", "action", "from_state", "to_state", "by", "at", "note"]



# --- The campaign: its change form, dashboard and what-if page ---------------------------------
admin.site.unregister(Campaign)


class CampaignForm(forms.ModelForm):
    """The campaign's change form, refusing an edit that would take a pool below the money already
    approved or paid in it, or change the asset of a pool that holds rewards (RULES.md section 8)."""

    def _post_clean(self):
        super()._post_clean()  # the instance now carries the edited values
        if self.instance.pk and not self.errors:
            stored = Campaign.objects.get(pk=self.instance.pk)
            for field, messages_ in pool_budget_conflicts(campaign=stored, proposed=self.instance).items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)


@admin.register(Campaign)
class RewardsCampaignAdmin(DashboardAdminMixin, WhatIfAdminMixin, CampaignAdmin):
    # The campaign's own change form plus a link to the what-if page.
    change_form_template = "admin/rewards/campaign_change_form.html"
    form = CampaignForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The settlement clocks follow the window and grace as saved, once the save commits.
        transaction.on_commit(lambda: settlement_schedule_sync(campaign=obj))
        campaign_pages_changed(campaign_id=obj.pk)  # the window, rules and texts show on the pages

    def get_urls(self):
        return [*self.dashboard_urls(), *self.whatif_urls(), *super().get_urls()]


# --- Trader status links and traffic support ---------------------------------------------------
# Imported here, with the section they serve, rather than in the header the other sections share.
from campaign.models import Campaign, Post  # noqa: E402
from rewards.admin_posts import FeaturingActions, PostFeaturingAdmin  # noqa: E402
from rewards.models import FeaturedPost, StatusLink, WeeklyStar  # noqa: E402
from rewards.selectors import status_link_url  # noqa: E402
from rewards.services.status_links import status_links_ensure, status_links_rotate  # noqa: E402
from rewards.services.traffic import traffic_refresh, weekly_star_set, weekly_stars_automatic  # noqa: E402


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
    tools_help = _("Send a trader their own link only. Rotating a link kills every copy sent before; send the new one.")

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

    def featured_post_ids(self, queryset) -> list[int]:
        return list(queryset.values_list("post_id", flat=True))

    def recompute(self, request):
        _traffic_recompute(self, request)


# The beat schedule's actions, each with its permission (rewards/admin_schedule.py).
import rewards.admin_schedule  # noqa: E402, F401

# The posts' admin with featuring by hand through posts_feature (rewards/admin_posts.py).
admin.site.unregister(Post)
admin.site.register(Post, PostFeaturingAdmin)


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
