"""A task round trip through a real worker on the real Redis broker (never eager)."""

import pytest

from campaign.models import Signup
from campaign.services import campaign_import_run_create
from campaign.tasks import campaign_import_file
from core.imports import import_run_create
from core.models import ImportRun

pytestmark = [pytest.mark.redis]


def test_an_import_task_runs_on_a_real_worker_and_its_result_comes_back(celery_worker, campaign, tmp_path):
    path = tmp_path / "signups.csv"
    path.write_text("uid,submitted_at,square_handle,contact\n42,2026-02-13T10:00:00Z,h,\nbad,2026-02-13T10:00:00Z,h,\n")
    run = campaign_import_run_create(campaign=campaign, kind="signups", source=ImportRun.Source.ADMIN, status=ImportRun.Status.QUEUED, file_path=str(path))
    result = campaign_import_file.delay(run.pk).get(timeout=30)
    assert result["total"] == 2 and result["accepted"] == 1 and result["rejected"] == 1
    assert Signup.objects.get().trader.uid == 42


def test_a_task_for_a_run_whose_campaign_is_gone_fails_the_run_quietly(celery_worker, tmp_path):
    run = import_run_create(kind="signups", source=ImportRun.Source.ADMIN, status=ImportRun.Status.QUEUED, file_path=str(tmp_path / "x.csv"))  # linked to no campaign
    assert campaign_import_file.delay(run.pk).get(timeout=30) == {"run": run.pk, "skipped": "the campaign is gone"}
    run.refresh_from_db()
    assert (run.state, run.error) == ("failed", "the campaign is gone")
