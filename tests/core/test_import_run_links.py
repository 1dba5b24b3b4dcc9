"""An import run names the campaign it brought records into by a key (campaign.CampaignImport),
whichever door the records came by; a run of no campaign has no link, and a campaign's pages and
admin find its runs through the key."""

import json

import pytest

from campaign.models import CampaignImport, WebhookDelivery
from campaign.services import campaign_import_file, posts_ingest, reference_texts_import, signups_import
from campaign.services.webhook import webhook_deliveries_process
from core.models import ImportRun, RejectedRecord
from core.reading import item_records
from tests.factories import TRADING_TEXT, CampaignFactory, enrolled_trader, post_item
from traders.services import registrations_import

pytestmark = pytest.mark.django_db

REGISTRATIONS = b"uid,nickname,market,status,applied_at,approved_at\n7,n,futures,approved,2026-02-01T10:00:00Z,\n"
TRADER_STATS = b"uid,as_of,new_copiers,copier_pnl_usdt\n7,2026-02-20T00:00:00Z,3,10.5\n"
SIGNUPS = b"uid,submitted_at,square_handle,contact\n7,2026-02-13T10:00:00Z,h,\n"


def test_every_import_into_a_campaign_links_its_run_to_that_campaign(campaign):
    other = CampaignFactory()
    enrolled_trader(uid=1)
    reports = [
        campaign_import_file(campaign=campaign, kind=ImportRun.Kind.REGISTRATIONS, data=REGISTRATIONS, source=ImportRun.Source.COMMAND),
        campaign_import_file(campaign=campaign, kind=ImportRun.Kind.TRADER_STATS, data=TRADER_STATS, source=ImportRun.Source.COMMAND),
        signups_import(campaign=campaign, data=SIGNUPS),
        posts_ingest(campaign=campaign, records=item_records([post_item("p1", 1)]), source=ImportRun.Source.API),
        reference_texts_import(campaign=campaign, data=TRADING_TEXT.encode()),
        signups_import(campaign=other, data=SIGNUPS),
    ]
    assert all(report.ok for report in reports)
    assert [report.run.campaign_link.campaign for report in reports] == [campaign] * 5 + [other]
    assert set(ImportRun.objects.filter(campaign_link__campaign=campaign)) == {report.run for report in reports[:5]}


def test_a_batch_of_trader_records_through_the_api_is_a_run_of_no_campaign():
    report = registrations_import(records=item_records([{"uid": 7, "market": "futures", "status": "approved", "applied_at": "2026-02-01T10:00:00Z"}]))
    assert report.ok and not CampaignImport.objects.filter(run=report.run).exists()


def test_a_webhook_delivery_that_cannot_be_stored_is_a_finished_run_of_its_campaign_with_the_reason(campaign, monkeypatch):
    items = [post_item("p1", 1)]
    WebhookDelivery.objects.create(delivery_id="d-1", campaign=campaign, body=json.dumps({"items": items}).encode(), items=len(items))

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("campaign.services.webhook.posts_ingest", broken)
    assert webhook_deliveries_process(campaign=campaign) == 1
    run = WebhookDelivery.objects.get().import_run
    assert (run.campaign_link.campaign, run.state, run.total, run.rejected) == (campaign, "finished", 1, 1)
    assert "RuntimeError: disk full" in RejectedRecord.objects.get(run=run).reason


def test_deleting_a_campaign_keeps_its_import_runs_without_a_campaign():
    gone = CampaignFactory()
    report = signups_import(campaign=gone, data=SIGNUPS)
    gone.delete()
    assert ImportRun.objects.filter(pk=report.run.pk).exists() and not CampaignImport.objects.exists()
