"""Signal receivers of the campaign app (connected in `CampaignConfig.ready`)."""

from django.db.models import QuerySet
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from campaign.models import Campaign, Post, ReferenceText


def _campaign_deleted(origin) -> bool:
    return isinstance(origin, Campaign) or (isinstance(origin, QuerySet) and origin.model is Campaign)


@receiver(pre_delete, sender=Post, dispatch_uid="campaign.post_deleting")
@receiver(pre_delete, sender=ReferenceText, dispatch_uid="campaign.reference_deleting")
def linked_posts_relink_on_delete(sender, instance, origin=None, **kwargs):
    """The posts linked to a post or reference text about to be deleted wait for the index again.

    Their link is cleared with it (SET_NULL), but RULES.md section 3, check 6 still asks for
    their earliest earlier near-duplicate among the texts that stay: another copy may be one. So
    they are marked as waiting for the index (`index_stale`) and for a verdict (`judged_at`
    empty), and the next judging of the campaign (the five-minute beat, any settlement) relinks
    and judges them, as it would a changed text."""
    if _campaign_deleted(origin):
        return
    linked = Post.objects.filter(duplicate_of=instance) if sender is Post else Post.objects.filter(duplicate_of_reference=instance)
    linked.update(index_stale=True, judged_at=None)


@receiver(post_delete, sender=Post, dispatch_uid="campaign.post_deleted")
@receiver(post_delete, sender=ReferenceText, dispatch_uid="campaign.reference_deleted")
def judging_state_forget_on_delete(sender, instance, origin=None, **kwargs):
    """A deleted post or reference clears the duplicate links that pointed at it (SET_NULL)
    without judging the posts that had them: the next settlement must judge every post."""
    if _campaign_deleted(origin):  # the campaign goes with all of it, its judging state included
        return
    from campaign.services.qualify import judging_state_forget

    judging_state_forget(campaign_id=instance.campaign_id)
