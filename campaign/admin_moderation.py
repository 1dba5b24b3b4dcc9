"""Moderating posts in the admin: from the posts list (three bulk actions, in campaign/admin.py) and
from a post's own page (three buttons with a note, here). Both go through `posts_moderate`, the one
door of moderation, and both need campaign.moderate_post: a user without it sees no button, and a
forged request is refused.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from campaign.models import Post
from campaign.services import posts_moderate

# The page's buttons: name -> (the service's action, the button's label, the message once done).
PAGE_DECISIONS = {
    "approve": ("approved", _("Approve"), _("Post %(post_id)s is approved, with your note. Its verdict is now: %(verdict)s.")),
    "reject": ("rejected", _("Reject"), _("Post %(post_id)s is rejected, with your note. Its verdict is now: %(verdict)s.")),
    "clear": ("", _("Clear moderation"), _("The moderation of post %(post_id)s is cleared, with your note. Its verdict is now: %(verdict)s.")),
}


# An approval refused by the rules: the reason is the verdict of the check the post fails, in words.
REFUSED = _("Post %(post_id)s was not approved: %(reason)s, which ops may not override.")


def refusal_text(post: Post, reason: str) -> str:
    """What ops read when `posts_moderate` refuses to approve `post` for `reason` (a verdict code)."""
    words = Post.Verdict(reason).label if reason in Post.Verdict.values else reason
    return REFUSED % {"post_id": post.post_id, "reason": words}


class ModerationForm(forms.Form):
    note = forms.CharField(label=_("Note (required, kept in the audit trail)"), widget=forms.Textarea(attrs={"rows": 3}))


def posts_moderation_apply(modeladmin, request, posts, *, action: str, note: str) -> list[Post]:
    """Moderate posts of any campaigns with one note: one `posts_moderate` call per campaign, each
    refusal shown as a warning. Returns the posts moderated."""
    by_campaign = {}
    for post in posts:
        by_campaign.setdefault(post.campaign, []).append(post.id)
    moderated = []
    for campaign, ids in by_campaign.items():
        done, refused = posts_moderate(campaign=campaign, post_ids=ids, action=action, note=note, user=request.user.get_username())
        moderated.extend(done)
        for post, reason in refused:
            modeladmin.message_user(request, refusal_text(post, reason), messages.WARNING)
    return moderated


class PostModerationPageMixin:
    """The post's change page with Approve / Reject / Clear moderation buttons and a note field,
    for a ModelAdmin of Post that defines `has_moderate_permission` (as its list actions use)."""

    change_form_template = "admin/campaign/post/change_form.html"

    def get_urls(self):
        moderate = path("<path:object_id>/moderate/", self.admin_site.admin_view(self.moderate_view), name="campaign_post_moderate")
        return [moderate, *super().get_urls()]

    def may_moderate(self, request, post) -> bool:
        return self.has_moderate_permission(request) and self.has_view_or_change_permission(request, post)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        post = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if post is not None and self.may_moderate(request, post):
            extra["moderate"] = self._moderation_buttons(post)
        return super().change_view(request, object_id, form_url, extra)

    @staticmethod
    def _moderation_buttons(post) -> dict:
        """The buttons that would change something: no Approve on an approved post, no Clear on
        a post nobody moderated."""
        buttons = [(name, label) for name, (action, label, _done) in PAGE_DECISIONS.items() if action != post.moderation]
        return {"url": reverse("admin:campaign_post_moderate", args=[post.pk]), "form": ModerationForm(), "buttons": buttons}

    def moderate_view(self, request, object_id):
        """Approve, reject or clear the moderation of this one post with a note (POST,
        CSRF-checked by the admin view), through the same service as the list's actions."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        post = self.get_object(request, unquote(object_id))
        if post is None:
            raise Http404
        if not self.may_moderate(request, post):
            raise PermissionDenied
        back = redirect(reverse("admin:campaign_post_change", args=[post.pk]))
        decision, form = PAGE_DECISIONS.get(request.POST.get("decision", "")), ModerationForm(request.POST)
        if decision is None:
            self.message_user(request, _("Choose Approve, Reject or Clear moderation."), messages.ERROR)
            return back
        if not form.is_valid():
            self.message_user(request, _("Nothing was done: a note is required, it is kept in the audit trail."), messages.ERROR)
            return back
        action, _label, done = decision
        if posts_moderation_apply(self, request, [post], action=action, note=form.cleaned_data["note"]):
            post.refresh_from_db(fields=["verdict"])
            self.message_user(request, done % {"post_id": post.post_id, "verdict": post.get_verdict_display()}, messages.SUCCESS)
        return back
