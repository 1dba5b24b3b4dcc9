"""The admin's "Import a file" leaves the request: the upload is stored, a queued run created and
the task enqueued; the run's page shows its state, a progress bar that refreshes itself while the
run is unfinished, the counts and the rejected rows, and starts an interrupted run again.

Tasks run eagerly here (on commit of the request); tests/integration/test_import_task.py runs
them on a real worker."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaign.models import Signup
from campaign.services import signups_import
from campaign.tasks import campaign_import_file
from core.models import ImportRun, RejectedRecord
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
SIGNUPS = b"uid,submitted_at,square_handle,contact\n1,2026-02-13T10:00:00Z,a,\n2,yesterday,b,\n3,2026-02-13T10:00:00Z,c,\n"
REFRESH = '<meta http-equiv="refresh" content="2">'


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def login(client, *, perms=(), superuser=False, name="ops"):
    if superuser:
        user = User.objects.create_superuser(name, f"{name}@example.com", "pw-ops-123456")
    else:
        user = User.objects.create_user(name, password="pw-ops-123456", is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label="core", codename__in=perms))
    client.force_login(user)
    return client


def state(page):
    """The state the run's page shows."""
    return re.search(r'id="import-run-state">[^<]*<b[^>]*>([^<]*)</b>', page).group(1)


def upload(client, campaign, content=SIGNUPS, kind="signups", name="signups.csv"):
    return client.post(f"/admin/campaign/campaign/{campaign.pk}/import/", {"kind": kind, "file": SimpleUploadedFile(name, content)})


def test_the_upload_is_stored_queued_and_imported_by_the_task_after_the_request(client, campaign, settings, eager_tasks, django_capture_on_commit_callbacks):
    login(client, superuser=True)
    with django_capture_on_commit_callbacks() as enqueued:
        response = upload(client, campaign)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/core/importrun/{run.pk}/change/"
    # Nothing imported inside the request: the run waits for its task, with the file's line count.
    assert (run.status, run.state, run.expected_lines, run.source, run.created_by) == ("queued", "queued", 4, "admin", "ops")
    assert not Signup.objects.exists() and len(enqueued) == 1
    stored = Path(run.file_path)
    assert stored.parent == Path(settings.MEDIA_ROOT) / "imports" and stored.read_bytes() == SIGNUPS and run.filename == "signups.csv"
    page = client.get(response["Location"]).content.decode()
    assert REFRESH in page and state(page) == "queued"
    assert '<progress max="4" value="0"' in page and "0 of 4 lines done" in page

    enqueued[0]()  # the worker
    run.refresh_from_db()
    assert (run.state, run.total, run.accepted, run.rejected, run.last_line) == ("finished", 3, 2, 1, 4)
    page = client.get(response["Location"]).content.decode()
    assert REFRESH not in page and state(page) == "finished"
    assert '<progress max="4" value="4"' in page and "3 records, 2 imported, 1 rejected" in page
    assert "submitted_at is not an ISO 8601 instant: &#x27;yesterday&#x27;" in page and "2,yesterday,b," in page
    assert sorted(Signup.objects.values_list("trader__uid", flat=True)) == [1, 3]


def test_two_uploads_of_one_name_are_stored_apart(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    login(client, superuser=True)
    with django_capture_on_commit_callbacks():
        upload(client, campaign)
        upload(client, campaign, content=SIGNUPS.replace(b"yesterday", b"2026-02-13T10:00:00Z"))
    first, second = ImportRun.objects.order_by("pk")
    assert first.file_path != second.file_path
    assert Path(first.file_path).read_bytes() == SIGNUPS


def test_a_delivered_again_task_does_not_import_a_finished_run_twice(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    login(client, superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, campaign)
    run = ImportRun.objects.get()
    assert campaign_import_file.delay(run.pk).get() == {"run": run.pk, "skipped": "the run is finished"}
    run.refresh_from_db()
    assert (run.total, run.accepted, run.rejected) == (3, 2, 1)
    assert RejectedRecord.objects.count() == 1


def test_starting_an_import_needs_the_permission(client, campaign):
    login(client, perms=["view_importrun"], name="viewer")
    assert upload(client, campaign).status_code == 403
    assert not ImportRun.objects.exists()


def test_an_interrupted_run_is_started_again_from_its_page_by_ops_with_the_permission(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    ops = login(client, superuser=True)
    with django_capture_on_commit_callbacks():
        upload(ops, campaign)
    run = ImportRun.objects.get()
    from core.imports import import_run_claim

    assert import_run_claim(run_id=run.pk) is not None  # a worker took it, then was killed
    url = f"/admin/core/importrun/{run.pk}/change/"
    page = ops.get(url).content.decode()
    assert state(page) == "running" and REFRESH in page and "import-run-restart" not in page  # its lease still holds
    ImportRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # ten minutes later

    viewer = login(client.__class__(), perms=["view_importrun"], name="viewer")
    page = viewer.get(url).content.decode()
    assert state(page) == "interrupted" and REFRESH not in page and "import-run-restart" not in page
    assert viewer.post(f"/admin/core/importrun/{run.pk}/restart/").status_code == 403
    assert ImportRun.objects.get().state == "interrupted"

    page = ops.get(url).content.decode()
    assert 'id="import-run-restart"' in page and f'action="/admin/core/importrun/{run.pk}/restart/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(f"/admin/core/importrun/{run.pk}/restart/")
    assert response.status_code == 302 and response["Location"] == url
    run.refresh_from_db()
    assert (run.state, run.total, run.accepted, run.rejected) == ("finished", 3, 2, 1)
    assert Signup.objects.count() == 2
    # A finished run is not started again, even when asked.
    with django_capture_on_commit_callbacks(execute=True):
        ops.post(f"/admin/core/importrun/{run.pk}/restart/")
    assert "cannot be started again" in ops.get(url).content.decode()
    assert ImportRun.objects.get().total == 3


def test_a_run_whose_stored_file_is_gone_fails_with_the_reason(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    login(client, superuser=True)
    with django_capture_on_commit_callbacks() as enqueued:
        upload(client, campaign)
    run = ImportRun.objects.get()
    Path(run.file_path).unlink()
    enqueued[0]()
    run.refresh_from_db()
    assert run.state == "failed" and run.error.startswith("the stored file is gone") and run.finished_at is None
    assert "the stored file is gone" in client.get(f"/admin/core/importrun/{run.pk}/change/").content.decode()


def test_a_refused_file_says_nothing_was_imported(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    login(client, superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, campaign, content=b"uid,name\n1,a\n")
    run = ImportRun.objects.get()
    page = client.get(f"/admin/core/importrun/{run.pk}/change/").content.decode()
    assert "The file was refused: expected the header uid,submitted_at,square_handle,contact, got uid,name. Nothing was imported." in page
    assert "were imported" not in page and "the rest" not in page and run.state == "failed"


def test_the_page_lists_the_first_rejected_rows_and_links_to_all(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    login(client, superuser=True)
    rows = b"".join(b"%d,not a time,h,\n" % uid for uid in range(1, 151))
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, campaign, content=b"uid,submitted_at,square_handle,contact\n" + rows)
    run = ImportRun.objects.get()
    page = client.get(f"/admin/core/importrun/{run.pk}/change/").content.decode()
    assert page.count("submitted_at is not an ISO 8601 instant") == 100
    link = f"/admin/core/rejectedrecord/?run__id__exact={run.pk}"
    assert f'href="{link}"' in page and "All 150 rejected rows" in page
    listing = client.get(link)
    assert listing.status_code == 200 and "150 rejected records" in listing.content.decode()
    runs = client.get("/admin/core/importrun/?status__exact=finished").content.decode()
    assert '<b style="color:#1a7f37">finished</b>' in runs
    recent = client.get(f"/admin/campaign/campaign/{campaign.pk}/import/").content.decode()
    assert "<td>finished</td>" in recent and "imported in the background" in recent


def test_the_progress_bar_reads_in_chinese(client, campaign, django_user_model):
    """The run page's progress line is translated, with what it counts (lines of the file)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("zh-hans"):
        html = render_to_string("admin/includes/progress.html", {"progress_done": 3, "progress_total": 4, "progress_unit": translation.gettext("lines")})
    assert "已完成 3 / 4 行" in html and "此页面每 2 秒自动刷新一次" in html


def test_the_runs_and_rejected_rows_lists_show_and_filter_by_the_campaign_of_each_run(client, campaign):
    login(client, superuser=True)
    other = CampaignFactory(slug="other-campaign")
    ours = signups_import(campaign=campaign, data=SIGNUPS, filename="ours.csv").run
    theirs = signups_import(campaign=other, data=SIGNUPS, filename="theirs.csv").run
    runs = client.get(f"/admin/core/importrun/?campaign_link__campaign__id__exact={campaign.pk}")
    page = runs.content.decode()
    assert runs.status_code == 200 and "ours.csv" in page and "theirs.csv" not in page and f"<td class=\"field-campaign\">{campaign.slug}</td>" in page
    rejected = client.get(f"/admin/core/rejectedrecord/?run__campaign_link__campaign__id__exact={other.pk}")
    assert rejected.status_code == 200 and list(rejected.context["cl"].result_list) == list(RejectedRecord.objects.filter(run=theirs))
    assert RejectedRecord.objects.filter(run=ours).count() == 1  # the filter left it out
