"""The ops dashboard of a campaign in the admin: numbers, charts, and the buttons that run it;
and its settlement preview, a page that shows what settling now would do and writes nothing.

The campaign's admin lives in a lower layer that knows nothing of rewards; `RewardsCampaignAdmin`
(rewards.admin) gains these pages through `DashboardAdminMixin`, as it gains the what-if page.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from campaign.admin import ENROLMENT_LABELS
from campaign.models import Campaign
from campaign.selectors import campaigns_collecting
from campaign.tasks import feed_pull_task
from core.parsing import parse_instant
from core.screen_time import screen_time
from rewards.dashboard.charts import campaign_dashboard_charts
from rewards.dashboard.ledger import STATE_COLUMNS
from rewards.dashboard.page import campaign_dashboard_get
from rewards.dashboard.preview import (
    CHANGE,
    CREATE,
    DUE,
    PREVIEW_ACTIONS,
    REMOVE,
    REVIEW_OPEN,
    REVIEW_UPDATE,
    REVIEW_WITHDRAW,
    settlement_preview_get,
)
from rewards.models import Reward
from rewards.rules.types import ALL
from rewards.services import payout_report_store
from rewards.services.settlement import settlement_enqueue

# What each dashboard button needs; a superuser holds every permission.
SETTLE_PERMISSION = "rewards.add_settlementrun"
REPORT_PERMISSION = "rewards.add_payoutreport"
PULL_PERMISSION = "core.add_importrun"
APPROVE_PERMISSION = "rewards.approve_reward"
PAY_PERMISSION = "rewards.pay_reward"
# The preview shows what settlement would pay: the right to read settlement runs, as the what-if.
PREVIEW_PERMISSION = "rewards.view_settlementrun"
PREVIEW_LINES = 200  # per pool: a first settlement creates a row per trader


class SettleForm(forms.Form):
    at = forms.CharField(
        label=_("As of"),
        max_length=64,
        help_text=_("An ISO 8601 instant with its offset, e.g. 2026-02-26T00:00:00+08:00. A period not yet due then is settled as a preview."),
    )

    def clean_at(self):
        try:
            return parse_instant(self.cleaned_data["at"], "at")
        except ValueError:
            raise forms.ValidationError(_("Enter an instant with its offset, e.g. 2026-02-26T00:00:00+08:00.")) from None


def _now_text():
    return timezone.localtime().replace(microsecond=0).isoformat()


def _changelist(name, **filters):
    """The URL of an admin list, filtered."""
    return reverse(name) + ("?" + urlencode(filters) if filters else "")


def _kind_labels():
    return {kind.value: kind.label for kind in Reward.Kind}


def _action_labels():
    return {
        CREATE: _("new calculated reward"),
        CHANGE: _("calculated amount changes"),
        DUE: _("preview becomes payable"),
        REMOVE: _("calculated reward removed"),
        REVIEW_OPEN: _("review item opened"),
        REVIEW_UPDATE: _("review item updated"),
        REVIEW_WITHDRAW: _("review item withdrawn"),
    }


def _pool_label(kind_labels, pool):
    return kind_labels.get(pool.kind, pool.kind) + ("" if pool.period == ALL else f" {pool.period}")


def _since_links(campaign, base):
    """Where each input counted in "since the latest settlement" is listed, by its code."""
    return {
        "posts": _changelist("admin:campaign_post_changelist", **base),
        "registrations": _changelist("admin:traders_leadtraderregistration_changelist"),
        "signups": _changelist("admin:campaign_signup_changelist", **base),
        "stats": _changelist("admin:traders_tradingstats_changelist"),
        "moderation": _changelist("admin:campaign_moderationdecision_changelist"),
        "reference_texts": _changelist("admin:campaign_referencetext_changelist", **base),
        "exclusions": _changelist("admin:rewards_reviewflag_changelist", **base),
        "configuration": reverse("admin:campaign_campaign_change", args=[campaign.pk]),
    }


def _dashboard_links(campaign, base):
    """The dashboard's links to the admin lists of the campaign's rows, and to its preview."""
    return {
        "approve": reverse("admin:rewards_reward_changelist") + "?" + urlencode({**base, "state__exact": "calculated", "preview__exact": "0"}),
        "pay": reverse("admin:rewards_reward_changelist") + "?" + urlencode({**base, "state__exact": "approved"}),
        "rewards": reverse("admin:rewards_reward_changelist") + "?" + urlencode(base),
        "posts": reverse("admin:campaign_post_changelist") + "?" + urlencode(base),
        "review_items": reverse("admin:rewards_reviewitem_changelist") + "?" + urlencode({"reward__campaign__id__exact": campaign.pk, "status__exact": "open"}),
        "rejected_rows": reverse("admin:core_rejectedrecord_changelist") + "?" + urlencode({"run__campaign_link__campaign__id__exact": campaign.pk}),
        "import_runs": reverse("admin:core_importrun_changelist") + "?" + urlencode({"campaign_link__campaign__id__exact": campaign.pk}),
        "runs": reverse("admin:rewards_settlementrun_changelist") + "?" + urlencode(base),
        "reports": reverse("admin:rewards_payoutreport_changelist") + "?" + urlencode(base),
        "signups": reverse("admin:campaign_signup_changelist") + "?" + urlencode(base),
        "registrations": reverse("admin:traders_leadtraderregistration_changelist"),
        "adjustments": _changelist("admin:rewards_adjustment_changelist", campaign__id__exact=campaign.pk),
        "preview": reverse("admin:campaign_campaign_dashboard_preview", args=[campaign.pk]),
    }


class DashboardAdminMixin:
    """Adds the dashboard and its buttons to the campaign's ModelAdmin (see `RewardsCampaignAdmin`)."""

    def dashboard_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/dashboard/", view(self.dashboard_view), name="campaign_campaign_dashboard"),
            path("<int:pk>/dashboard/pull/", view(self.dashboard_pull), name="campaign_campaign_dashboard_pull"),
            path("<int:pk>/dashboard/preview/", view(self.dashboard_preview), name="campaign_campaign_dashboard_preview"),
            path("<int:pk>/dashboard/settle/", view(self.dashboard_settle), name="campaign_campaign_dashboard_settle"),
            path("<int:pk>/dashboard/report/", view(self.dashboard_report), name="campaign_campaign_dashboard_report"),
        ]

    def dashboard_view(self, request, pk, settle_form=None):
        """How the campaign is going, and the buttons that run it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        dashboard = campaign_dashboard_get(campaign)
        user = request.user
        base = {"campaign__id__exact": campaign.pk}
        kinds = _kind_labels()
        since_links = _since_links(campaign, base)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dashboard: %(name)s") % {"name": campaign.name},
            "opts": self.model._meta,
            "campaign": campaign,
            "d": dashboard,
            # Every text in the charts is escaped by rewards.charts, so the markup is safe.
            "charts": {name: mark_safe(svg) for name, svg in campaign_dashboard_charts(dashboard).items()},  # noqa: S308
            "enrolment": [(ENROLMENT_LABELS.get(t.code, t.code), t) for t in dashboard.enrolment],
            "state_columns": [(c, Reward.State(c).label if c in Reward.State.values else _("preview")) for c in STATE_COLUMNS],
            "settle_form": settle_form or SettleForm(initial={"at": _now_text()}),
            "now": _now_text(),
            "feed_configured": bool(settings.GATE_FEED_BASE_URL),
            "can_settle": user.has_perm(SETTLE_PERMISSION),
            "can_report": user.has_perm(REPORT_PERMISSION),
            "can_pull": user.has_perm(PULL_PERMISSION),
            "can_approve": user.has_perm(APPROVE_PERMISSION),
            "can_pay": user.has_perm(PAY_PERMISSION),
            "can_preview": user.has_perm(PREVIEW_PERMISSION),
            "budgets": [(_pool_label(kinds, b.pool), b) for b in dashboard.budgets],
            "fallen_due": [kinds[code] if code in kinds else f"{kinds[Reward.Kind.CONTENT_POOL]} {code}" for code in dashboard.since.fallen_due] if dashboard.since else [],
            "links": _dashboard_links(campaign, base),
            "since_rows": [(change, since_links.get(change.code)) for change in dashboard.since.changes] if dashboard.since else [],
        }
        return TemplateResponse(request, "admin/rewards/dashboard.html", context, status=400 if settle_form else 200)

    def _dashboard_post(self, request, pk, permission):
        if request.method != "POST":
            return None, HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return get_object_or_404(Campaign, pk=pk), None

    def _back(self, campaign, anchor=""):
        return redirect(reverse("admin:campaign_campaign_dashboard", args=[campaign.pk]) + anchor)

    def dashboard_pull(self, request, pk):
        """Queue the feed pull (the beat task, which pulls every campaign still collecting posts)."""
        campaign, refused = self._dashboard_post(request, pk, PULL_PERMISSION)
        if refused:
            return refused
        if not settings.GATE_FEED_BASE_URL:
            self.message_user(
                request,
                _("Posts cannot be pulled: the Gate Square feed is not configured (GATE_FEED_BASE_URL is not set). Import a posts file instead."),
                messages.WARNING,
            )
        elif campaign not in campaigns_collecting():
            self.message_user(
                request,
                _("The feed is pulled only while a campaign collects posts: from its start to the end of its grace time (%(until)s).")
                % {"until": screen_time(campaign.ends_at + campaign.grace)},
                messages.WARNING,
            )
        else:
            campaign_id = campaign.pk
            transaction.on_commit(lambda: feed_pull_task.delay(campaign_id))  # this campaign's pull, not every campaign's
            self.message_user(request, _("A feed pull was queued; new posts show here once it has run (see Feed cursors for its progress)."), messages.SUCCESS)
        return self._back(campaign)

    def _settle(self, request, campaign, at, label):
        settlement_enqueue(campaign=campaign, at=at, by=f"admin {label}: {request.user.get_username()}")
        self.message_user(
            request,
            _("Settlement as of %(at)s was queued. Reload this page to see the run when it has finished.")
            % {"at": screen_time(at, seconds=True)},
            messages.SUCCESS,
        )
        return self._back(campaign, "#settlement")

    def dashboard_preview(self, request, pk):
        """What settling now would do to the ledger, beside what it holds. Writes nothing (no run,
        no reward, no review item, no judging), so a GET; the settle button posts elsewhere."""
        if not (self.has_view_permission(request) and request.user.has_perm(PREVIEW_PERMISSION)):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        preview = settlement_preview_get(campaign=campaign)
        kinds, labels, states = _kind_labels(), _action_labels(), dict(Reward.State.choices)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Settlement preview: %(name)s") % {"name": campaign.name},
            "opts": self.model._meta,
            "campaign": campaign,
            "p": preview,
            "pools": [
                (_pool_label(kinds, pool.pool), pool, [(labels[line.action], states.get(line.state, ""), line) for line in pool.lines[:PREVIEW_LINES]], [(labels[a], n) for a, n in pool.counts if n])
                for pool in preview.pools
            ],
            "counts": [(labels[a], preview.count(a)) for a in PREVIEW_ACTIONS],
            "max_lines": PREVIEW_LINES,
            "can_settle": request.user.has_perm(SETTLE_PERMISSION),
            "links": {
                "dashboard": reverse("admin:campaign_campaign_dashboard", args=[campaign.pk]),
                "review_items": reverse("admin:rewards_reviewitem_changelist") + "?" + urlencode({"reward__campaign__id__exact": campaign.pk, "status__exact": "open"}),
            },
        }
        return TemplateResponse(request, "admin/rewards/dashboard/preview.html", context)

    def dashboard_settle(self, request, pk):
        """Settle as of the instant ops typed (with its offset), or as of now (`now`: the
        "Settle now" buttons of the dashboard and the preview)."""
        campaign, refused = self._dashboard_post(request, pk, SETTLE_PERMISSION)
        if refused:
            return refused
        if request.POST.get("now"):
            return self._settle(request, campaign, timezone.now(), "settle now")
        form = SettleForm(request.POST)
        if not form.is_valid():
            return self.dashboard_view(request, pk, settle_form=form)
        return self._settle(request, campaign, form.cleaned_data["at"], "settle")

    def dashboard_report(self, request, pk):
        """Generate and store the payout report (CSV and XLSX), then offer its downloads."""
        campaign, refused = self._dashboard_post(request, pk, REPORT_PERMISSION)
        if refused:
            return refused
        report = payout_report_store(campaign=campaign, created_by=request.user.get_username())
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">CSV</a> · <a href="{}">XLSX</a>',
                _("Payout report #%(id)d generated (%(rows)d rows).") % {"id": report.pk, "rows": report.rows},
                reverse("admin:rewards_payoutreport_download", args=[report.pk, "csv"]),
                reverse("admin:rewards_payoutreport_download", args=[report.pk, "xlsx"]),
            ),
            messages.SUCCESS,
        )
        return self._back(campaign, "#reports")



