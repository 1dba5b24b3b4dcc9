"""`{% campaign_change entry as change %}`: a campaign's admin log entry as the History page says
it (campaign/history.py `campaign_change_read`), or None for an entry shown as Django shows it."""

from django import template

from campaign.history import campaign_change_read

register = template.Library()


@register.simple_tag
def campaign_change(entry):
    return campaign_change_read(entry=entry)
