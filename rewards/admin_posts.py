"""The posts' admin as this layer shows it: the campaign app's PostAdmin, plus featuring by hand.

Featuring a post is traffic support, which this layer owns (FeaturedPost, `posts_feature` rebuilds
the featured posts and moves the pages' version). The campaign app shows `Post.featured`
read-only, since it may not import this layer; here the change form's "featured by hand" field and
three list actions all go through `posts_feature`, as the featured-posts admin does: one door per
intent. rewards/admin.py registers it in place of the campaign app's PostAdmin.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from campaign.admin import PostAdmin
from rewards.services.traffic import posts_feature


class FeaturingActions:
    """The three featuring-by-hand actions, for any admin whose rows lead to posts: each one
    `posts_feature` call. `featured_post_ids(queryset)` says which posts the selected rows are."""

    featuring_actions = ["feature_by_hand", "unfeature", "back_to_automatic"]

    def featured_post_ids(self, queryset) -> list[int]:
        return list(queryset.values_list("pk", flat=True))

    def _feature(self, request, queryset, featured, verb):
        n = posts_feature(post_ids=self.featured_post_ids(queryset), featured=featured)
        self.message_user(request, _("%(verb)s: %(n)d post(s).") % {"verb": verb, "n": n}, messages.SUCCESS)

    @admin.action(description=_("Keep selected posts featured by hand"), permissions=["change"])
    def feature_by_hand(self, request, queryset):
        self._feature(request, queryset, True, _("Featured by hand"))

    @admin.action(description=_("Never feature selected posts (unfeature by hand)"), permissions=["change"])
    def unfeature(self, request, queryset):
        self._feature(request, queryset, False, _("Unfeatured"))

    @admin.action(description=_("Put selected posts back on automatic"), permissions=["change"])
    def back_to_automatic(self, request, queryset):
        self._feature(request, queryset, None, _("Back on automatic"))


class PostFeaturingAdmin(FeaturingActions, PostAdmin):
    actions = [*PostAdmin.actions, *FeaturingActions.featuring_actions]

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name != "featured"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)  # the campaign app's own field (homepage)
        if "featured" in form.changed_data:
            posts_feature(post_ids=[obj.pk], featured=obj.featured)

