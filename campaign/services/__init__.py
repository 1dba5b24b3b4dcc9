"""Writes for the campaign app, one module per use case; import the functions from here."""

from campaign.services.feed import feed_pull
from campaign.services.judging import posts_judge
from campaign.services.locks import campaign_lock, campaigns_lock
from campaign.services.moderation import ModerationError, post_feature, posts_moderate
from campaign.services.posts import posts_import_file, posts_ingest
from campaign.services.qualify import posts_judge_pending, posts_qualify
from campaign.services.reference_texts import reference_texts_import
from campaign.services.signups import (
    SIGNUP_HEADER,
    campaign_import_file,
    campaign_import_queue,
    campaign_import_restart,
    campaign_import_run,
    campaign_import_run_create,
    signup_parse,
    signups_import,
)

__all__ = [
    "SIGNUP_HEADER",
    "ModerationError",
    "campaign_import_file",
    "campaign_import_queue",
    "campaign_import_restart",
    "campaign_import_run",
    "campaign_import_run_create",
    "campaign_lock",
    "campaigns_lock",
    "feed_pull",
    "posts_import_file",
    "posts_ingest",
    "posts_judge",
    "posts_judge_pending",
    "post_feature",
    "posts_moderate",
    "posts_qualify",
    "reference_texts_import",
    "signup_parse",
    "signups_import",
]
