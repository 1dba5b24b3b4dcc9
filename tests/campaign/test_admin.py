"""The admin pages ops use: import with a report of rejected rows, enrolment, moderation."""

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile

from campaign.models import ModerationDecision, Post, Signup
from campaign.services import posts_import_file
from core.models import ImportRun, RejectedRecord
from tests.factories import enrolled_trader, post_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client):
    user = User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)  # the upload's import task is enqueued once the request commits
def test_importing_a_file_from_the_admin_reports_the_rejected_rows(ops, campaign, eager_tasks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("signups.csv", b"uid,submitted_at,square_handle,contact\n1,2026-02-13T10:00:00Z,a,\n2,yesterday,b,\n")
    response = ops.post(f"/admin/campaign/campaign/{campaign.pk}/import/", {"kind": "signups", "file": upload}, follow=True)
    run = ImportRun.objects.get()
    assert response.redirect_chain[-1][0] == f"/admin/core/importrun/{run.pk}/change/"
    page = response.content.decode()
    assert "1 imported, 1 rejected" in page
    assert "submitted_at is not an ISO 8601 instant: &#x27;yesterday&#x27;" in page
    assert Signup.objects.count() == 1 and RejectedRecord.objects.get().line == 3


def test_the_enrolment_page_lists_each_trader_with_the_reason(ops, campaign):
    enrolled_trader(uid=11, nickname="ok_trader")
    Signup.objects.create(campaign=campaign, trader=enrolled_trader(uid=12).__class__.objects.create(uid=13), submitted_at=campaign.starts_at)
    page = ops.get(f"/admin/campaign/campaign/{campaign.pk}/enrolment/").content.decode()
    assert "ok_trader" in page and "enrolled" in page and "no lead-trader registration" in page
    filtered = ops.get(f"/admin/campaign/campaign/{campaign.pk}/enrolment/?reason=no_registration").content.decode()
    assert "<td>13</td>" in filtered and "<td>11</td>" not in filtered


def test_admin_lists_search_by_uid_and_nickname(ops, campaign):
    enrolled_trader(uid=4242, nickname="needle")
    assert "needle" in ops.get("/admin/traders/trader/?q=4242").content.decode()
    assert "4242" in ops.get("/admin/campaign/signup/?q=needle").content.decode()
    assert "enrolled" in ops.get("/admin/campaign/signup/").content.decode()


def test_moderating_from_the_admin_needs_a_note_and_leaves_an_audit_row(ops, campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=json.dumps(post_item("s", 1, text="$BTC long")).encode())
    post = Post.objects.get()
    form = {"action": "approve_posts", "_selected_action": [post.pk]}
    first = ops.post("/admin/campaign/post/", form)
    assert first.status_code == 200 and "Note (required" in first.content.decode()
    ops.post("/admin/campaign/post/", {**form, "apply": "1", "note": ""})
    assert not ModerationDecision.objects.exists()
    ops.post("/admin/campaign/post/", {**form, "apply": "1", "note": "short but useful"})
    assert Post.objects.get().verdict == "qualified"
    assert ModerationDecision.objects.get().decided_by == "ops"


def test_staff_without_the_moderation_permission_cannot_moderate(client, campaign):
    user = User.objects.create_user("viewer", password="pw-viewer-123456", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_post", "change_post"]))
    client.force_login(user)
    page = client.get("/admin/campaign/post/").content.decode()
    assert "approve_posts" not in page


def test_the_sign_ups_list_shows_each_row_the_traders_enrolment_in_the_campaign(ops, campaign):
    """A sign-up outside the window shows the trader enrolled when another of theirs is inside;
    a trader whose only sign-up is outside shows why not."""
    from datetime import timedelta

    both = enrolled_trader(uid=21)  # enrolled_trader signs up inside the window
    Signup.objects.create(campaign=campaign, trader=both, submitted_at=campaign.ends_at + timedelta(days=1))
    late = enrolled_trader(uid=22)
    Signup.objects.filter(trader=late).update(submitted_at=campaign.ends_at + timedelta(days=2))
    page = ops.get("/admin/campaign/signup/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    rows = [row for row in page.split("<tr")[1:] if 'class="field-enrolment"' in row]
    badge = {uid: {row.split('class="field-enrolment"')[1].split("</td>")[0] for row in rows if f'change/">{uid} ' in row} for uid in (21, 22)}
    assert len(badge[21]) == 1 and len(badge[22]) == 1, badge  # one verdict per trader, whichever sign-up row
    assert "enrolled" in next(iter(badge[21])) and "outside" not in next(iter(badge[21]))
    assert "outside" in next(iter(badge[22]))
