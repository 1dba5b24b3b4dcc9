"""A task round trip through a real worker on the real Redis broker (never eager)."""

import pytest

from campaign.models import Signup
from campaign.tasks import campaign_import_file

pytestmark = [pytest.mark.redis]


def test_an_import_task_runs_on_a_real_worker_and_its_result_comes_back(celery_worker, campaign, tmp_path):
    path = tmp_path / "signups.csv"
    path.write_text("uid,submitted_at,square_handle,contact\n42,2026-02-13T10:00:00Z,h,\nbad,2026-02-13T10:00:00Z,h,\n")
    result = campaign_import_file.delay(campaign.pk, "signups", str(path)).get(timeout=30)
    assert result["total"] == 2 and result["accepted"] == 1 and result["rejected"] == 1
    assert Signup.objects.get().trader.uid == 42


def test_a_task_for_a_campaign_that_is_gone_returns_quietly(celery_worker, tmp_path):
    assert campaign_import_file.delay(999999, "signups", str(tmp_path / "x.csv")).get(timeout=30) == {"skipped": "campaign is gone"}
