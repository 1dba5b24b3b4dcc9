"""What the rewards admin pages share: instants, signed amounts, settlement and review item links,
the trader and reward columns, the note form, the changelist tool buttons, and the two labelled
explanations of a reward (RULES.md section 8). Display only: no query beyond what a column shows.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.screen_time import screen_time
from rewards.models import ReviewItem, Reward, SettlementRun
from rewards.rules.money import format_money
from rewards.rules.types import ALL
from rewards.selectors.breakdown import review_breakdown_get, reward_breakdown_get

APPROVE_PERMISSION = "rewards.approve_reward"
STATE_COLOURS = {"calculated": "#9a6700", "approved": "#0969da", "paid": "#1a7f37", "void": "#999"}


def local_text(instant) -> str:
    """An instant as screens show it ("2026-02-26 00:00 UTC+8"): core.screen_time's one format."""
    return screen_time(instant)


def signed_text(amount: Decimal) -> str:
    """An amount with its sign: "+1.50", "-0.25", "0.00"."""
    return ("+" if amount > 0 else "") + format_money(amount)


def signed_html(amount: Decimal):
    """A difference or adjustment: + (top up) in green, - (claw back) in red, 0.00 plain."""
    colour = "#1a7f37" if amount > 0 else "#cf222e" if amount < 0 else "inherit"
    return format_html('<b style="color:{}" data-amount="{}">{}</b>', colour, signed_text(amount), signed_text(amount))



def run_text(run: SettlementRun) -> str:
    return _("settlement #%(run)s (%(at)s)") % {"run": run.pk, "at": local_text(run.at)}


def run_link(run: SettlementRun | None):
    if run is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("admin:rewards_settlementrun_change", args=[run.pk]), run_text(run))


def item_link(item_id: int, text: str):
    return format_html('<a href="{}">{}</a>', reverse("admin:rewards_reviewitem_change", args=[item_id]), text)


def period_text(period: str) -> str:
    """A reward's period as ops read it: the whole campaign named, not coded "ALL"; "P1" as is."""
    return str(_("whole campaign")) if period == ALL else period


class PeriodFilter(admin.AllValuesFieldListFilter):
    """The period filter, the whole campaign named as in the columns."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            yield {**choice, "display": period_text(choice["display"])} if choice["display"] == ALL else choice


def titled_filter(title, base=admin.ChoicesFieldListFilter):
    """A list filter of a field under another title (a reward's "state" is the "reward state" there)."""

    class Filter(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return Filter


def explanations_html(*, reward: Reward, item: ReviewItem | None) -> str:
    """The reward's stored explanation and, when there is a review item, the item's computation
    beside it: two labelled columns, never one breakdown mixing both (RULES.md section 8)."""
    context = {
        "stored": reward_breakdown_get(reward=reward),
        "stored_label": _("In the ledger: %(amount)s %(asset)s, as computed by %(run)s")
        % {"amount": format_money(reward.amount), "asset": reward.asset, "run": run_text(reward.settlement_run)},
    }
    if item is not None:
        values = {"amount": format_money(item.computed_amount), "asset": reward.asset, "run": run_text(item.settlement_run), "item": item.pk}
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
        return period_text(obj.reward.period)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (required, kept in the audit trail)"), widget=forms.Textarea(attrs={"rows": 3}))



class ToolsMixin:
    """Changelist buttons that POST to an admin view (work on no selection, unlike actions)."""

    change_list_template = "rewards/admin/change_list_tools.html"
    tools: list[tuple[str, str, str]] = []  # (url name suffix, label, method name)
    tools_help = ""

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        extra = [path(f"{slug}/", self.admin_site.admin_view(self._tool(method)), name=f"%s_%s_{slug}" % info) for slug, _label, method in self.tools]
        return [*extra, *super().get_urls()]

    def _tool(self, method):
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
        info = self.model._meta.app_label, self.model._meta.model_name
        tools = [(reverse(f"admin:%s_%s_{slug}" % info), label) for slug, label, _method in self.tools] if self.has_change_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "extra_tools": tools, "tools_help": self.tools_help})
