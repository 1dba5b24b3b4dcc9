"""The posts' admin: every action names the permission it needs."""

import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User

from campaign.models import Post
from campaign.services import posts_import_file
from tests.factories import RegistrationFactory, SignupFactory, TraderFactory, post_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def stale_post(campaign):
    """A post judged `not_enrolled` whose author has since enrolled: re-judging qualifies it."""
    trader = TraderFactory(uid=4711)
    assert posts_import_file(campaign=campaign, data=json.dumps(post_item("p1", trader.uid)).encode()).ok
    post = Post.objects.get()
    assert post.verdict == Post.Verdict.NOT_ENROLLED
    RegistrationFactory(trader=trader)
    SignupFactory(trader=trader, campaign=campaign)  # written directly: nothing judges it again
    return post


def staff(client, *codenames):
    user = User.objects.create_user("staff", "staff@example.com", "pw-staff-123456", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="campaign", codename__in=codenames))
    client.force_login(user)
    return client


def rejudge(client, post):
    return client.post("/admin/campaign/post/", {"action": "rejudge_posts", "_selected_action": [post.pk], "index": "0"}, follow=True)


def test_a_staff_user_who_may_only_view_posts_cannot_rejudge_them(client, stale_post):
    viewer = staff(client, "view_post")
    page = viewer.get("/admin/campaign/post/")
    assert page.status_code == 200 and "rejudge_posts" not in page.content.decode()
    rejudge(viewer, stale_post)  # forged: the form never offered it
    stale_post.refresh_from_db()
    assert stale_post.verdict == Post.Verdict.NOT_ENROLLED


def test_a_moderator_without_the_change_permission_cannot_rejudge_either(client, stale_post):
    moderator = staff(client, "view_post", "moderate_post")
    page = moderator.get("/admin/campaign/post/").content.decode()
    assert 'value="approve_posts"' in page and 'value="rejudge_posts"' not in page
    response = rejudge(moderator, stale_post)
    assert "No action selected." in response.content.decode()
    stale_post.refresh_from_db()
    assert stale_post.verdict == Post.Verdict.NOT_ENROLLED


def test_a_staff_user_who_may_change_posts_rejudges_them(client, stale_post):
    editor = staff(client, "view_post", "change_post")
    assert 'value="rejudge_posts"' in editor.get("/admin/campaign/post/").content.decode()
    response = rejudge(editor, stale_post)
    assert "1 verdict(s) changed." in response.content.decode()
    stale_post.refresh_from_db()
    assert stale_post.verdict == Post.Verdict.QUALIFIED


@pytest.mark.parametrize("app_label", ["traders", "campaign", "rewards", "django_celery_beat"])
def test_every_admin_action_of_our_apps_names_its_permission(app_label):
    unguarded = [
        f"{model.__name__}.{name}"
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == app_label
        for name in (model_admin.actions or [])
        if not getattr(getattr(model_admin, name) if isinstance(name, str) else name, "allowed_permissions", None)
    ]
    assert unguarded == []
