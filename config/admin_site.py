"""The admin site of the Gate Square campaign manager: its own header and title (not Django's
"Django administration"), and a home that leads to each campaign's dashboard and to the day's work.

The counts come from `rewards.selectors.ops_home`; each links to the admin list it counts, filtered
as the dashboard filters it, so the number on the home is the number of rows the list shows.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from rewards.selectors.ops_home import IMPORT_UNFINISHED, ops_home_get


def _changelist(name: str, **filters) -> str:
    return reverse(name) + "?" + urlencode(filters)


def campaign_panel(work) -> dict:
    """One campaign on the home: its dashboard, and each count the user may see with its list."""
    pk = work.campaign.pk
    counts = [
        (_("Open review items"), work.open_review_items, "review-items",
         _changelist("admin:rewards_reviewitem_changelist", reward__campaign__id__exact=pk, status__exact="open")),
        (_("Rewards to approve"), work.rewards_to_approve, "to-approve",
         _changelist("admin:rewards_reward_changelist", campaign__id__exact=pk, state__exact="calculated", preview__exact="0")),
        (_("Imports running or queued"), work.imports_unfinished, "imports",
         _changelist("admin:core_importrun_changelist", campaign_link__campaign__id__exact=pk, status__in=",".join(IMPORT_UNFINISHED))),
    ]  # fmt: skip
    return {
        "campaign": work.campaign,
        "dashboard": reverse("admin:campaign_campaign_dashboard", args=[pk]),
        "counts": [{"label": label, "n": n, "key": key, "url": url} for label, n, key, url in counts if n is not None],
    }


class OpsAdminSite(admin.AdminSite):
    site_header = _("Gate Square campaign manager")
    site_title = _("Gate Square campaign manager")

    def index(self, request, extra_context=None):
        panels = [campaign_panel(work) for work in ops_home_get(fetched_by=request.user)]
        return super().index(request, {**(extra_context or {}), "campaign_panels": panels})
