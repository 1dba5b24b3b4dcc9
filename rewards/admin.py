"""The rewards admin, one module per use case. Django's autodiscovery imports only this module, so
it imports each of them, and each registers its own ModelAdmins with `@admin.register`:

- admin_ledger: rewards (approve, mark paid, void), their events, payout batches
- admin_review: review items (accept, keep) and the adjustments they record, with their reports
- admin_reports: settlement runs and stored payout reports with their downloads
- admin_traffic: status links, featured posts, weekly star traders
- admin_farming: anti-farming review flags and their thresholds
- admin_schedule: the beat schedule, with a permission on each action
- admin_campaign: the campaign with its dashboard (admin_dashboard) and what-if page (admin_whatif)
- admin_posts: the posts with featuring by hand
- admin_traders: the trader with their status links, posts and rewards in each campaign

What the pages share (instants, signed amounts, links, columns, the note form, tool buttons) is in
admin_display. Two of the campaign app's admins are replaced here by this layer's, which add what
the campaign app may not import (it sits below rewards): the campaign's and the posts'; so is the
trader's admin (traders and the campaign app sit below rewards).
"""

from django.contrib import admin

from campaign.models import Campaign, Post
from rewards import admin_farming, admin_ledger, admin_reports, admin_review, admin_schedule, admin_traffic  # noqa: F401 (they register)
from rewards.admin_campaign import RewardsCampaignAdmin
from rewards.admin_posts import PostFeaturingAdmin
from rewards.admin_traders import RewardsTraderAdmin
from traders.models import Trader

admin.site.unregister(Campaign)
admin.site.register(Campaign, RewardsCampaignAdmin)
admin.site.unregister(Post)
admin.site.register(Post, PostFeaturingAdmin)
admin.site.unregister(Trader)
admin.site.register(Trader, RewardsTraderAdmin)
