"""Signal receivers of the campaign app (connected in `CampaignConfig.ready`)."""

from django.db.models import QuerySet
from django.db.models.signals import post_delete
from django.dispatch import receiver

from campaign.models import Campaign, Post, ReferenceText


def _campaign_deleted(origin) -> bool:
    return isinstance(origin, Campaign) or (isinstance(origin, QuerySet) and origin.model is Campaign)


@receiver(post_delete, sender=Post, dispatch_uid="campaign.post_deleted")
@receiver(post_delete, sender=ReferenceText, dispatch_uid="campaign.reference_deleted")
def judging_state_forget_on_delete(sender, instance, origin=None, **kwargs):
    """A deleted post or reference clears the duplicate links that pointed at it (SET_NULL)
    without judging the posts that had them: the next settlement must judge every post."""
    if _campaign_deleted(origin):  # the campaign goes with all of it, its judging state included
        return
    from campaign.services.qualify import judging_state_forget

    judging_state_forget(campaign_id=instance.campaign_id)
