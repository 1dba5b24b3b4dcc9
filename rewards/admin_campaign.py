"""The campaign's admin as this layer shows it: the campaign app's CampaignAdmin with the pool
budget check on its form, the dashboard (rewards/admin_dashboard.py) and the what-if page
(rewards/admin_whatif.py). rewards/admin.py registers it in place of the campaign app's admin,
which may not import this layer.
"""

from django.db import transaction

from campaign import admin_forms
from campaign.admin import CampaignAdmin
from campaign.history import CHANGED_IN_ADMIN
from campaign.models import Campaign
from campaign.page_cache import campaign_pages_changed
from campaign.services.campaigns import campaign_update
from rewards.admin_dashboard import DashboardAdminMixin
from rewards.admin_whatif import WhatIfAdminMixin
from rewards.budgets import pool_budget_conflicts
from rewards.services.schedule import settlement_schedule_sync


class CampaignForm(admin_forms.CampaignForm):
    """The campaign's change form (its lists as lines), refusing an edit that would take a pool
    below the money already approved or paid in it, or change the asset of a pool that holds
    rewards (RULES.md section 8)."""

    def _post_clean(self):
        super()._post_clean()  # the instance now carries the edited values
        if self.instance.pk and not self.errors:
            stored = Campaign.objects.get(pk=self.instance.pk)
            for field, messages_ in pool_budget_conflicts(campaign=stored, proposed=self.instance).items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)


class RewardsCampaignAdmin(DashboardAdminMixin, WhatIfAdminMixin, CampaignAdmin):
    # The campaign's own change form plus a link to the what-if page.
    change_form_template = "admin/rewards/campaign_change_form.html"
    form = CampaignForm

    def save_model(self, request, obj, form, change):
        if change:
            # The campaign's one write: locked, validated, only the edited fields, audited.
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            campaign_update(campaign=obj, changes=changes, by=request.user, note="", action=CHANGED_IN_ADMIN)
        else:
            super().save_model(request, obj, form, change)
        # The settlement clocks follow the window and grace as saved, once the save commits.
        transaction.on_commit(lambda: settlement_schedule_sync(campaign=obj))
        campaign_pages_changed(campaign_id=obj.pk)  # the window, rules and texts show on the pages

    def log_change(self, request, obj, message):
        """Nothing: campaign_update wrote the change's audit entry, field by field, old -> new."""

    def get_urls(self):
        return [*self.dashboard_urls(), *self.whatif_urls(), *super().get_urls()]
