"""The trader's admin page as this layer shows it: the campaign app's (registration, sign-ups,
enrolment) plus, for each campaign, where the trader's page leads: their status page link, their
posts (a count, and the posts list filtered to them) and their rewards (a count, the total per
asset, and the rewards list filtered to them).

Traders and the campaign app sit below rewards and may not import it, so rewards/admin.py
registers this admin in place of theirs, as it does for the campaign and the posts.
"""

from django.contrib.admin.utils import unquote
from django.urls import reverse
from django.utils.http import urlencode

from campaign.admin import CampaignTraderAdmin
from rewards.models import StatusLink
from rewards.rules.money import format_money
from rewards.selectors.links import status_link_url
from rewards.selectors.traders import trader_campaigns_get
from rewards.services.status_links import status_link_ensure


def _changelist(name: str, **filters) -> str:
    return reverse(name) + "?" + urlencode(filters)


class RewardsTraderAdmin(CampaignTraderAdmin):
    change_form_template = "admin/rewards/trader/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        trader = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if trader is not None:
            extra["campaign_rows"] = self._campaign_rows(request, trader)
        return super().change_view(request, object_id, form_url, extra)

    def _campaign_rows(self, request, trader) -> list[dict]:
        """One row per campaign: the status link (made by `status_link_ensure` when the campaign
        knows the trader and has none yet), the posts and the rewards, each with its list."""
        may_see_links = self.admin_site.get_model_admin(StatusLink).has_view_or_change_permission(request)
        rows = []
        for entry in trader_campaigns_get(trader=trader, fetched_by=request.user):
            campaign = entry.campaign
            link = status_link_ensure(campaign=campaign, uid=trader.uid) if may_see_links else None
            row = {"campaign": campaign, "may_see_links": may_see_links, "link_url": status_link_url(link) if link else ""}
            if entry.posts is not None:
                row["posts"] = {
                    "n": entry.posts,
                    "qualified": entry.qualified_posts,
                    "url": _changelist("admin:campaign_post_changelist", campaign__id__exact=campaign.pk, author__uid__exact=trader.uid),
                }
            if entry.rewards is not None:
                row["rewards"] = {
                    "n": entry.rewards.n,
                    "void": entry.rewards.void,
                    "totals": [(format_money(total), asset) for asset, total in entry.rewards.totals],
                    "url": _changelist("admin:rewards_reward_changelist", campaign__id__exact=campaign.pk, trader__id__exact=trader.pk),
                }
            rows.append(row)
        return rows
