"""Moving import runs, rejected records and API tokens from `traders` to `core` changes no row
(core 0001-0002, traders 0004, campaign 0018): a database at the state before keeps its runs,
their rejected records, the keys to them and its tokens; a run's campaign slug becomes a key to
the campaign, and the permissions granted on the old models are the same rows under `core`.
Migrating back puts the slugs back from the keys."""

import importlib

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from campaign.models import CampaignImport, Signup
from core.models import ApiToken, ImportRun, RejectedRecord
from traders.models import LeadTraderRegistration

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("core", None), ("traders", "0003_importrun_progress"), ("campaign", "0017_campaign_max_text_length")]
SLUG = "star-lead-traders-2"


def migrate(targets):
    """Migrate the test database to `targets`; the apps of that state."""
    state = MigrationExecutor(connection).migrate(targets)
    ContentType.objects.clear_cache()
    return state.apps


@pytest.fixture
def before():
    """The apps of the state before the move; the database goes back to the newest state after."""
    apps = migrate(BEFORE)
    try:
        yield apps
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def old_rows(apps):
    """Rows written as the code before the move wrote them: runs of the campaign, of a campaign
    since deleted and of none, with the rows that point to them; a token; a granted permission."""
    importlib.import_module("campaign.migrations.0002_preload_star_lead_traders_2").create_campaign(apps, None)
    campaign = apps.get_model("campaign", "Campaign").objects.get(slug=SLUG)
    Run = apps.get_model("traders", "ImportRun")
    ours = Run.objects.create(kind="signups", source="admin", campaign_slug=SLUG, filename="signups.csv", total=2, accepted=1, rejected=1, status="finished")
    gone = Run.objects.create(kind="posts", source="webhook", campaign_slug="deleted-campaign", status="finished")
    none = Run.objects.create(kind="registrations", source="api", status="finished")
    apps.get_model("traders", "RejectedRecord").objects.create(run=ours, line=3, reason="uid must be a positive integer", raw="abc,...")
    trader = apps.get_model("traders", "Trader").objects.create(uid=42, nickname="n")
    apps.get_model("traders", "LeadTraderRegistration").objects.create(
        trader=trader, market="futures", status="approved", applied_at="2026-02-01T10:00:00Z", import_run=none, source_line=2
    )
    apps.get_model("campaign", "Signup").objects.create(campaign=campaign, trader=trader, submitted_at="2026-02-13T10:00:00Z", import_run=ours, source_line=2)
    user = apps.get_model("auth", "User").objects.create(username="ops", is_staff=True)
    apps.get_model("traders", "ApiToken").objects.create(name="CRM sync", user=user, scopes=["ingest"], prefix="abc123", key_hash="0" * 64)
    Permission = apps.get_model("auth", "Permission")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="traders", codename="add_importrun"))
    group = apps.get_model("auth", "Group").objects.create(name="viewers")
    group.permissions.add(Permission.objects.get(content_type__app_label="traders", codename="view_apitoken"))
    user.groups.add(group)
    return ours.pk, gone.pk, none.pk


def test_a_database_at_the_state_before_the_move_keeps_its_rows_and_grants_and_links_runs_to_their_campaign(before):
    ours, gone, none = old_rows(before)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert sorted(ImportRun.objects.values_list("pk", flat=True)) == sorted([ours, gone, none])
    run = ImportRun.objects.get(pk=ours)
    assert (run.kind, run.filename, run.total, run.accepted, run.rejected) == ("signups", "signups.csv", 2, 1, 1)
    assert run.campaign_link.campaign.slug == SLUG
    # A slug of no campaign, and no slug, make no link.
    assert list(CampaignImport.objects.values_list("run_id", flat=True)) == [ours]
    assert RejectedRecord.objects.get().run_id == ours
    assert Signup.objects.get().import_run_id == ours and LeadTraderRegistration.objects.get().import_run_id == none
    assert ApiToken.objects.get().name == "CRM sync"
    # The permissions granted on the old models are the same rows, now of `core`.
    assert not ContentType.objects.filter(app_label="traders", model__in=["importrun", "rejectedrecord", "apitoken"]).exists()
    user = User.objects.get(username="ops")
    assert user.has_perm("core.add_importrun") and user.has_perm("core.view_apitoken")
    assert not user.has_perm("core.change_apitoken")


def test_migrating_back_puts_the_campaign_slugs_back_from_the_links(before):
    ours, gone, none = old_rows(before)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    apps = migrate(BEFORE)

    slugs = dict(apps.get_model("traders", "ImportRun").objects.values_list("pk", "campaign_slug"))
    # The slug of a deleted campaign had no key to keep it: it is lost, as the campaign was.
    assert slugs == {ours: SLUG, gone: "", none: ""}
    assert apps.get_model("auth", "User").objects.get(username="ops").user_permissions.get().content_type.app_label == "traders"
