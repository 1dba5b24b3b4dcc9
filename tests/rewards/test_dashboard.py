"""The ops dashboard: its numbers add up, its charts are valid SVG, and its buttons run the
campaign through the same services and tasks as every other door."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.urls import NoReverseMatch, reverse

from campaign.fake_feed import FakeFeedServer
from campaign.models import JudgingState, Post
from campaign.services import posts_import_file, posts_moderate, reference_texts_import, signups_import
from rewards.budgets import pool_budgets_get
from rewards.charts import Bar, Reference, Series, horizontal_bars, nice_scale, stacked_columns
from rewards.dashboard.charts import campaign_dashboard_charts
from rewards.dashboard.ledger import STATE_COLUMNS
from rewards.dashboard.page import campaign_dashboard_get, campaign_days
from rewards.dashboard.preview import settlement_preview_get
from rewards.dashboard.since import since_settlement_get
from rewards.models import PayoutReport, ReviewComputation, ReviewFlag, ReviewItem, Reward, SettlementRun
from rewards.services import rewards_approve, settle_campaign
from rewards.services.farming import EXCLUDE_TRADER, review_flags_decide
from tests.factories import OTHER_TEXTS, enrolled_trader, post_item
from traders.services import registrations_import, trader_stats_import

SVG = "{http://www.w3.org/2000/svg}"
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
BEFORE_DUE = datetime.fromisoformat("2026-02-25T23:59:59+08:00")
HOSTILE = "<script>alert('x')</script> & \"=cmd|' /C calc'!A0"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def titles(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}title")]


@pytest.fixture(autouse=True)
def eager_tasks(settings, tmp_path):
    """Run enqueued tasks in-process even when REDIS_URL is set (the worker path has its own
    tests in tests/integration), and keep generated reports out of var/media."""
    from config.celery import app

    settings.MEDIA_ROOT = tmp_path
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


# --- charts: pure, no database -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "top", "step"),
    [(0, 1, 1), (1, 1, Fraction(1, 2)), (4, 4, 1), (7, 8, 2), (13, 15, 5), (500, 600, 200), (Decimal("84.005"), 100, 50), (Decimal("0.3"), Decimal("0.3"), Decimal("0.1"))],
)
def test_the_axis_scale_is_round_and_covers_the_maximum(maximum, top, step):
    assert nice_scale(maximum) == (top, step)


def test_an_axis_of_counts_never_steps_by_less_than_one():
    assert nice_scale(1, whole=True) == (1, 1) and nice_scale(3, whole=True) == (3, 1)


def test_a_stacked_column_chart_is_valid_svg_with_a_title_for_the_chart_and_each_bar():
    svg = stacked_columns(
        chart_id="c",
        title="Posts per day",
        categories=["02-12", "02-13", HOSTILE],
        series=[Series("qualified", "#1a7f37", [2, 0, 1]), Series(HOSTILE, "#afb8c1", [1, 3, 0])],
    )
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Posts per day"
    rects = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(rects) == 4  # one per non-zero segment
    assert "02-13: 3 " + HOSTILE in titles(root)
    assert "<script>" not in svg and HOSTILE in "".join(root.itertext())


def test_column_heights_are_proportional_to_the_values():
    root = parse(stacked_columns(chart_id="c", title="t", categories=["a", "b"], series=[Series("s", "#000", [1, 4])]))
    heights = [Decimal(r.get("height")) for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert heights[1] == 4 * heights[0]


def test_a_bar_chart_draws_money_without_floats_and_marks_the_reference_line():
    svg = horizontal_bars(
        chart_id="pool",
        title="Content pool P1",
        bars=[Bar("1001 alpha", Decimal("100.00"), "100.00 USDT"), Bar(HOSTILE, Decimal("33.33"))],
        reference=Reference(Decimal("100.00"), "cap 100.00"),
    )
    root = parse(svg)
    assert {"1001 alpha: 100.00 USDT", f"{HOSTILE}: 33.33", "cap 100.00"} <= set(titles(root))
    widths = [Decimal(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 470 and widths[1] == Decimal("156.7")  # 470 px for the whole scale
    with pytest.raises(TypeError):
        horizontal_bars(chart_id="x", title="t", bars=[Bar("float", 1.5)])


def test_an_empty_chart_says_so_and_is_still_valid_svg():
    for svg in (
        stacked_columns(chart_id="a", title="t", categories=["d"], series=[Series("s", "#000", [0])], empty_text="No posts."),
        horizontal_bars(chart_id="b", title="t", bars=[], empty_text="No posts."),
    ):
        assert "No posts." in "".join(parse(svg).itertext())


# --- the selector ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_of_a_settled_campaign_adds_up(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    d = campaign_dashboard_get(loaded, at=DUE)
    assert d.phase == "closed" and [p.due for p in d.periods] == [True]
    assert d.registrations_total == 4 == sum(m.n for m in d.markets) == sum(r.total for r in d.registrations)
    approved = next(r for r in d.registrations if r.status == "approved")
    assert dict(zip([m.code for m in d.markets], approved.by_market)) == {"futures": 3, "spot": 1}
    assert (d.signup_rows, d.signup_traders, d.signup_traders_in_window) == (4, 4, 4)
    assert d.enrolled == 3 and d.known_traders == 4 == sum(t.n for t in d.enrolment)
    assert {t.code: t.n for t in d.enrolment} == {"enrolled": 3, "spot_market": 1}

    assert d.posts_total == 9 == sum(t.n for t in d.posts_by_verdict) == Post.objects.count()
    assert d.qualified_posts == 8 and {t.code: t.n for t in d.posts_by_verdict}["not_enrolled"] == 1
    assert len(d.posts_per_day) == len(campaign_days(loaded)) == 13  # 12 to 24 February, UTC+8
    assert sum(day.total for day in d.posts_per_day) == 9
    assert sum(day.qualified for day in d.posts_per_day) == 8
    by_day = {day.day.isoformat(): (day.qualified, day.not_qualified) for day in d.posts_per_day}
    assert by_day["2026-02-13"] == (2, 0) and by_day["2026-02-20"] == (1, 1)  # b1 at 09:00+08 is the 13th

    run = d.latest_run
    assert run.run == SettlementRun.objects.get() and run.qualified_posts == 8
    (pool,) = run.pools
    assert (pool.code, pool.allocated, pool.unallocated) == ("P1", Decimal("200.00"), Decimal("300.00"))
    assert pool.allocated + pool.unallocated == pool.pool == loaded.pool_amount
    board = run.leaderboard
    assert board.allocated + board.unallocated == Decimal("20000.00")
    assert [(e.rank, e.uid, e.nickname, e.score) for e in board.top] == [(1, 1001, "alpha", Decimal("84.005")), (2, 1002, "=cmd|' /C calc'!A0", Decimal("36"))]
    assert (run.first_post_traders, run.first_post_total) == (3, Decimal("90.00"))

    (period, shares) = d.pool_shares[0]
    assert period == "P1" and [(s.uid, s.amount) for s in shares] == [(1001, Decimal("100.00")), (1002, Decimal("100.00"))]
    totals = {row.asset: row for row in d.reward_totals}
    calculated = STATE_COLUMNS.index("calculated")
    for asset, row in totals.items():
        ledger = Reward.objects.filter(campaign=loaded, asset=asset)
        assert row.cells[calculated].n == ledger.count()
        assert row.cells[calculated].total == sum(r.amount for r in ledger) == row.payable.total
    assert totals["USDT"].payable.total == Decimal("7200.00") and totals["TRIAL_FUND"].payable.total == Decimal("90.00")
    assert sum(r.payable.total for r in d.rewards if r.asset == "USDT") == Decimal("7200.00")
    assert d.approvable == 7 and d.payable_unpaid == 0 and d.open_review_items == 0


@pytest.mark.django_db
def test_previews_and_approved_rewards_land_in_their_own_columns(loaded):
    settle_campaign(campaign=loaded, at=BEFORE_DUE)
    d = campaign_dashboard_get(loaded, at=BEFORE_DUE)
    (usdt,) = [r for r in d.reward_totals if r.asset == "USDT"]
    assert usdt.cells[STATE_COLUMNS.index("preview")].total == Decimal("7200.00")
    assert usdt.payable.n == 0 and d.approvable == 0 and d.phase == "grace"
    assert not d.latest_run.pools[0].due and not d.latest_run.leaderboard.due

    settle_campaign(campaign=loaded, at=DUE)
    approver = User.objects.create_superuser("boss", "b@example.com", "pw-boss-123456")
    rewards_approve(reward_ids=Reward.objects.filter(kind="leaderboard").values_list("pk", flat=True), user=approver)
    d = campaign_dashboard_get(loaded, at=DUE)
    (usdt,) = [r for r in d.reward_totals if r.asset == "USDT"]
    assert usdt.cells[STATE_COLUMNS.index("approved")].total == Decimal("7000.00")
    assert usdt.cells[STATE_COLUMNS.index("calculated")].total == Decimal("200.00")
    assert usdt.payable.total == Decimal("7200.00") and d.payable_unpaid == 2 and d.approvable == 5


@pytest.mark.django_db
def test_an_untouched_campaign_has_an_empty_dashboard_with_valid_charts(campaign):
    d = campaign_dashboard_get(campaign)
    assert d.latest_run is None and d.posts_total == 0 and d.rewards == () and d.pool_shares == ()
    charts = campaign_dashboard_charts(d)
    assert set(charts) == {"posts_per_day", "leaderboard"}
    for svg in charts.values():
        parse(svg)


@pytest.mark.django_db
def test_the_charts_of_a_settled_campaign_parse_and_carry_the_numbers(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    charts = campaign_dashboard_charts(campaign_dashboard_get(loaded))
    assert set(charts) == {"posts_per_day", "pool_P1", "leaderboard"}
    roots = {name: parse(svg) for name, svg in charts.items()}
    assert "#1 1001 alpha: 84.005" in titles(roots["leaderboard"])
    assert "1002 =cmd|' /C calc'!A0: 100.00 USDT" in titles(roots["pool_P1"])
    assert "02-13: 2 qualified, 0 not qualified" in titles(roots["posts_per_day"])


# --- the admin views ------------------------------------------------------------------------------


@pytest.fixture
def ops(client, db):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


def url(campaign, action=""):
    return f"/admin/campaign/campaign/{campaign.pk}/dashboard/" + (f"{action}/" if action else "")


@pytest.mark.django_db
def test_the_campaign_page_links_to_the_dashboard_which_shows_numbers_and_charts(ops, loaded):
    settle_campaign(campaign=loaded, at=DUE)
    assert url(loaded) in ops.get(f"/admin/campaign/campaign/{loaded.pk}/change/").content.decode()
    page = ops.get(url(loaded)).content.decode()
    assert page.count('class="chart"') == 3 and 'id="chart-leaderboard"' in page
    assert "Rejected import rows (0)" in page and f"/admin/core/rejectedrecord/?run__campaign_link__campaign__id__exact={loaded.pk}" in page
    assert f"/admin/rewards/reward/?campaign__id__exact={loaded.pk}&amp;state__exact=calculated&amp;preview__exact=0" in page
    assert "Approve 7 calculated rewards" in page



def enqueued(callbacks):
    """The on-commit callbacks other than the page cache's version bumps (campaign.page_cache)."""
    return [c for c in callbacks if "campaign_pages_changed" not in getattr(c, "__qualname__", "")]

@pytest.mark.django_db
def test_settling_from_the_dashboard_enqueues_the_task_after_commit(ops, loaded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = ops.post(url(loaded, "settle"), {"at": "2026-02-26T00:00:00+08:00"})
    assert response.status_code == 302 and response["Location"].endswith("/dashboard/#settlement")
    assert len(enqueued(callbacks)) == 1
    run = SettlementRun.objects.get()
    assert run.at == DUE and run.triggered_by == "admin settle: ops"
    assert Reward.objects.filter(preview=False).count() == 7


@pytest.mark.django_db
def test_the_preview_page_after_the_window_writes_nothing_though_everything_is_due(ops, loaded):
    # The old "Preview as of now" queued a settlement as of now, which after the window wrote
    # payable rows (issue 14, item 7). The preview page only reads.
    before = ledger_snapshot(loaded)
    with time_machine.travel(datetime.fromisoformat("2026-03-01T12:00:00+08:00"), tick=False):
        response = ops.get(url(loaded, "preview"))
    assert response.status_code == 200
    assert ledger_snapshot(loaded) == before and not SettlementRun.objects.exists() and not Reward.objects.exists()
    page = response.content.decode()
    assert "2026-03-01 12:00:00" in page and "This page writes nothing" in page
    totals = {t.asset: t for t in response.context["p"].totals}
    assert (totals["USDT"].ledger_now, totals["USDT"].ledger_after, totals["USDT"].payable_after) == (Decimal("0.00"), Decimal("7200.00"), Decimal("7200.00"))
    assert totals["TRIAL_FUND"].payable_after == Decimal("90.00")
    assert '<tr data-asset="USDT"><td>USDT</td><td class="num">7200.00</td><td class="num">0.00</td><td class="num">7200.00</td>' in page
    assert page.count('data-action="create"') == 7 and 'id="settle-now-form"' in page


@pytest.mark.django_db
def test_a_settlement_instant_without_an_offset_is_refused_with_the_form_shown_again(ops, loaded):
    response = ops.post(url(loaded, "settle"), {"at": "2026-02-26T00:00:00"})
    assert response.status_code == 400 and "Enter an instant with its offset" in response.content.decode()
    assert not SettlementRun.objects.exists()


@pytest.mark.django_db
def test_dashboard_actions_need_post_and_the_permission(client, loaded):
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(viewer)
    page = client.get(url(loaded)).content.decode()
    assert "preview-link" not in page and "settle-form" not in page
    for action in ("settle", "report", "pull"):
        assert client.get(url(loaded, action)).status_code == 405
        assert client.post(url(loaded, action), {"at": "2026-02-26T00:00:00+08:00"}).status_code == 403
    assert client.post(url(loaded, "settle"), {"now": "1"}).status_code == 403
    assert client.get(url(loaded, "preview")).status_code == 403  # it shows money: view_settlementrun
    assert not SettlementRun.objects.exists() and not PayoutReport.objects.exists()
    viewer.user_permissions.add(Permission.objects.get(codename="view_settlementrun"))
    client.force_login(User.objects.get(pk=viewer.pk))
    assert "preview-link" in client.get(url(loaded)).content.decode()
    preview = client.get(url(loaded, "preview")).content.decode()
    assert "settle-now-form" not in preview and "You do not have the permission to settle" in preview
    viewer.user_permissions.add(Permission.objects.get(codename="add_settlementrun"))
    client.force_login(User.objects.get(pk=viewer.pk))
    assert "settle-form" in client.get(url(loaded)).content.decode()
    assert "settle-now-form" in client.get(url(loaded, "preview")).content.decode()


@pytest.mark.django_db
def test_generating_the_report_stores_it_and_links_its_downloads(ops, loaded):
    settle_campaign(campaign=loaded, at=DUE)
    page = ops.post(url(loaded, "report"), follow=True).content.decode()
    report = PayoutReport.objects.get()
    assert f"/admin/rewards/payoutreport/{report.pk}/download/csv/" in page and report.rows == 7
    download = ops.get(f"/admin/rewards/payoutreport/{report.pk}/download/csv/")
    assert b"".join(download.streaming_content).decode().startswith("uid,nickname,kind,period,asset,amount,status\n1001,alpha,")


@pytest.mark.django_db
def test_pulling_posts_without_a_feed_says_what_is_missing(ops, loaded, settings):
    settings.GATE_FEED_BASE_URL = ""
    page = ops.post(url(loaded, "pull"), follow=True).content.decode()
    assert "GATE_FEED_BASE_URL is not set" in page


@pytest.mark.django_db
def test_pulling_posts_after_the_grace_time_is_refused_with_the_reason(ops, loaded, settings):
    settings.GATE_FEED_BASE_URL = "http://127.0.0.1:9/"
    with time_machine.travel(datetime.fromisoformat("2026-03-01T00:00:00+08:00"), tick=False):
        page = ops.post(url(loaded, "pull"), follow=True).content.decode()
    assert "only while a campaign collects posts" in page


@pytest.mark.django_db
def test_pulling_posts_while_the_campaign_is_open_queues_the_feed_pull(ops, campaign, settings, django_capture_on_commit_callbacks):
    enrolled_trader(uid=77)
    with FakeFeedServer([post_item("f1", 77), post_item("f2", 77, created_at="2026-02-15T09:00:00+08:00")], page_size=1) as server:
        settings.GATE_FEED_BASE_URL, settings.GATE_FEED_TOKEN = server.url, server.token
        with time_machine.travel(datetime.fromisoformat("2026-02-20T12:00:00+08:00"), tick=True):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                page = ops.post(url(campaign, "pull"), follow=True).content.decode()
    assert len(enqueued(callbacks)) == 1 and "A feed pull was queued" in page
    assert set(Post.objects.values_list("post_id", flat=True)) == {"f1", "f2"}


@pytest.mark.django_db
def test_pulling_posts_from_a_dashboard_pulls_that_campaign_only(ops, campaign, settings, django_capture_on_commit_callbacks):
    from tests.factories import CampaignFactory

    other = CampaignFactory(slug="other-open", starts_at=campaign.starts_at, ends_at=campaign.ends_at)
    enrolled_trader(uid=77)
    with FakeFeedServer([post_item("f1", 77)], page_size=1) as server:
        settings.GATE_FEED_BASE_URL, settings.GATE_FEED_TOKEN = server.url, server.token
        with time_machine.travel(datetime.fromisoformat("2026-02-20T12:00:00+08:00"), tick=True):
            with django_capture_on_commit_callbacks(execute=True):
                ops.post(url(campaign, "pull"), follow=True)
    assert list(Post.objects.values_list("campaign__slug", "post_id")) == [(campaign.slug, "f1")]
    assert not Post.objects.filter(campaign=other).exists()


@pytest.mark.django_db
def test_posts_can_be_filtered_by_trader_and_show_their_verdict_in_words(ops, campaign):
    enrolled_trader(uid=5, nickname="five")
    enrolled_trader(uid=6, nickname="six")
    lines = [json.dumps(post_item("p5", 5, text="$BTC long")), json.dumps(post_item("p6", 6))]
    posts_import_file(campaign=campaign, data="\n".join(lines).encode())
    page = ops.get("/admin/campaign/post/?author__uid__exact=5").content.decode()
    assert ">p5<" in page and ">p6<" not in page and ">5 five<" in page
    assert ">too short<" in page  # the verdict in words, not its code
    assert ">p6<" in ops.get("/admin/campaign/post/?author__uid__exact=6").content.decode()
    assert ops.get("/admin/campaign/post/?author__uid__exact=x").status_code == 302  # ?e=1: a bad value


# --- what changed since the latest settlement -----------------------------------------------------

LATER = datetime.fromisoformat("2026-03-01T12:00:00+08:00")
KINDS = ("posts", "registrations", "signups", "stats", "moderation", "reference_texts", "exclusions", "configuration")


def ledger_snapshot(campaign):
    """Every row a settlement writes, and the verdicts its judging would stamp: a read leaves them all."""
    return (
        list(Reward.objects.filter(campaign=campaign).order_by("pk").values()),
        list(ReviewItem.objects.order_by("pk").values()),
        list(ReviewComputation.objects.order_by("pk").values()),
        list(SettlementRun.objects.order_by("pk").values()),
        list(Post.objects.filter(campaign=campaign).order_by("pk").values("pk", "verdict", "score", "judged_at", "index_stale")),
        list(JudgingState.objects.values()),
    )


def jsonl(*items):
    return ("\n".join(json.dumps(item, ensure_ascii=False) for item in items) + "\n").encode()


def more_posts_of_1003():
    """Two more qualifying posts of uid 1003 (one post of score 6 before): 3 posts, content score
    60, so 1003 is ranked: 2nd (3000.00) before 1002 (36, now 2500.00); and 1003 takes a share of
    the content pool (every share capped at 100.00)."""
    return jsonl(
        post_item("c2", 1003, created_at="2026-02-21T09:00:00+08:00", text=OTHER_TEXTS[0], likes=50),
        post_item("c3", 1003, created_at="2026-02-22T09:00:00+08:00", text=OTHER_TEXTS[1], likes=2),
    )


def changed(since):
    return {c.code: c.changed for c in since.changes}


def no_change(**changes):
    return {code: changes.get(code, 0) for code in KINDS}


@pytest.mark.django_db
def test_right_after_a_settlement_nothing_changed_and_the_dashboard_says_the_ledger_agrees(ops, loaded):
    settle_campaign(campaign=loaded, at=DUE)
    since = since_settlement_get(campaign=loaded)
    assert not since.stale and changed(since) == no_change() and since.fallen_due == ()
    assert since.posts_at_run == since.posts_now == 9 and since.posts_awaiting_judging == 0
    totals = {c.code: c.total for c in since.changes}
    assert totals == {"posts": 9, "registrations": 4, "signups": 4, "stats": 3, "moderation": 0, "reference_texts": 0, "exclusions": 0, "configuration": None}
    page = ops.get(url(loaded)).content.decode()
    assert 'id="ledger-current"' in page and "the ledger agrees with the latest settlement" in page
    assert 'id="ledger-stale"' not in page and "settle-now-form" not in page


@pytest.mark.django_db
def test_an_unsettled_campaign_never_says_that_the_ledger_agrees(ops, loaded):
    assert since_settlement_get(campaign=loaded) is None
    page = ops.get(url(loaded)).content.decode()
    assert "the ledger agrees" not in page and "Not settled yet" in page and 'id="since-settlement"' not in page


@pytest.mark.django_db
def test_posts_imported_after_the_settlement_make_the_dashboard_say_the_ledger_may_be_out_of_date_and_offer_to_settle(
    ops, loaded, django_capture_on_commit_callbacks
):
    from campaign.services import posts_ingest
    from core.reading import item_records

    settle_campaign(campaign=loaded, at=DUE)
    assert posts_import_file(campaign=loaded, data=more_posts_of_1003()).ok
    # A webhook delivery is written first and judged by a task after commit: not judged yet here.
    posts_ingest(campaign=loaded, records=item_records([post_item("c4", 1003, created_at="2026-02-23T09:00:00+08:00", text=OTHER_TEXTS[2])]), judge_later=True)
    since = since_settlement_get(campaign=loaded)
    assert since.stale and changed(since) == no_change(posts=3)
    assert (since.posts_at_run, since.posts_now, since.posts_awaiting_judging) == (9, 12, 1)

    page = ops.get(url(loaded)).content.decode()
    assert 'id="ledger-stale"' in page and "The ledger may be out of date." in page and "posts: 9 at that settlement, 12 now." in page.lower()
    assert "the ledger agrees with the latest settlement" not in page
    assert 'id="settle-now-form"' in page and url(loaded, "preview") in page
    assert '<tr data-change="posts">' in page and "(1 awaits judging)" in page
    assert '<td class="num dash-bad">3</td><td class="num">12</td>' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(url(loaded, "settle"), {"now": "1"})
    assert response.status_code == 302 and response["Location"].endswith("/dashboard/#settlement")
    run = SettlementRun.objects.order_by("-started_at", "-id").first()
    assert run.triggered_by == "admin settle now: ops" and run.at > LATER  # as of now: December 2026
    assert Reward.objects.filter(kind="leaderboard", trader__uid=1003, preview=False).exists()
    assert not since_settlement_get(campaign=loaded).stale
    assert "the ledger agrees with the latest settlement" in ops.get(url(loaded)).content.decode()


@pytest.mark.django_db
def test_registrations_sign_ups_and_stats_imported_after_the_settlement_count_as_changes(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    before = dict(Post.objects.filter(campaign=loaded).values_list("post_id", "verdict"))
    # 1004 moves from spot to futures: enrolled from now on. The bulk upsert rewrites updated_at.
    registrations_import(data=b"uid,nickname,market,status,applied_at,approved_at\n1004,delta,futures,approved,2026-02-01T10:00:00Z,\n")
    signups_import(campaign=loaded, data=b"uid,submitted_at,square_handle,contact\n1005,2026-02-15T10:00:00+08:00,epsilon,\n")
    trader_stats_import(data=b"uid,as_of,new_copiers,copier_pnl_usdt\n1002,2026-02-24T23:00:00+08:00,7,0\n")
    since = since_settlement_get(campaign=loaded)
    assert since.stale and changed(since) == no_change(registrations=1, signups=1, stats=1)
    assert {c.code: c.total for c in since.changes if c.code in ("registrations", "signups", "stats")} == {"registrations": 4, "signups": 5, "stats": 3}
    # Nothing judged the posts yet: the verdicts move only when the settlement judges them.
    assert dict(Post.objects.filter(campaign=loaded).values_list("post_id", "verdict")) == before

    settle_campaign(campaign=loaded, at=DUE)
    assert Post.objects.get(post_id="d1").verdict == "qualified" and not since_settlement_get(campaign=loaded).stale


@pytest.mark.django_db
def test_moderation_reference_texts_exclusions_and_configuration_edits_count_as_changes(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    boss = User.objects.create_superuser("boss", "b@example.com", "pw-boss-123456")
    posts_moderate(campaign=loaded, post_ids=[Post.objects.get(post_id="b3").pk], action="rejected", note="copied", user="boss")
    assert reference_texts_import(campaign=loaded, data=OTHER_TEXTS[2].encode()).ok
    flag = ReviewFlag.objects.create(campaign=loaded, trader=Post.objects.get(post_id="c1").author, kind=ReviewFlag.Kind.BURST)
    assert changed(since_settlement_get(campaign=loaded))["exclusions"] == 0  # raised, not decided: no money moves
    review_flags_decide(flag_ids=[flag.pk], action=EXCLUDE_TRADER, note="farming", user=boss)
    loaded.pool_cap = Decimal("150.00")
    loaded.save()

    since = since_settlement_get(campaign=loaded)
    # b3's verdict moved (rejected): a post changed too.
    assert changed(since) == no_change(posts=1, moderation=1, reference_texts=1, exclusions=1, configuration=1)
    assert since.configuration_edited_at == loaded.updated_at


@pytest.mark.django_db
def test_pools_that_fell_due_after_a_settlement_at_an_earlier_instant_make_the_ledger_out_of_date(ops, loaded):
    settle_campaign(campaign=loaded, at=BEFORE_DUE)
    assert not since_settlement_get(campaign=loaded, at=BEFORE_DUE).stale
    since = since_settlement_get(campaign=loaded, at=DUE)
    assert since.fallen_due == ("P1", "leaderboard", "first_post") and since.stale and changed(since) == no_change()
    page = ops.get(url(loaded)).content.decode()  # now: December 2026
    assert "Due now but a preview in that settlement: content pool P1, leaderboard, first-post bonus." in page


@pytest.mark.django_db
def test_a_post_deleted_after_the_settlement_shows_as_a_posts_total_other_than_the_settlements(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    Post.objects.filter(post_id="d1").delete()
    since = since_settlement_get(campaign=loaded)
    assert (since.posts_at_run, since.posts_now) == (9, 8) and since.posts_count_moved and since.stale


# --- the budget view, review items and adjustments -------------------------------------------------

MONEY_CELL = re.compile(r'<td class="num[^"]*">(?:<span[^>]*>)?([-+]?\d[\d.,]*)')


def section(page, element_id):
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</table>", start)]


@pytest.mark.django_db
def test_the_budget_view_shows_every_pool_after_approvals_with_two_decimals_and_the_excess_in_red(ops, loaded):
    settle_campaign(campaign=loaded, at=DUE)
    boss = User.objects.get(username="ops")
    rewards_approve(reward_ids=Reward.objects.filter(kind__in=["leaderboard", "content_pool"]).values_list("pk", flat=True), user=boss)
    d = campaign_dashboard_get(loaded)
    figures = {(b.pool.kind, b.pool.period): (b.pool.budget, b.committed, b.calculated, b.approvable, b.excess) for b in d.budgets}
    assert figures == {
        ("first_post", "ALL"): (None, Decimal("0.00"), Decimal("90.00"), None, Decimal("0.00")),
        ("content_pool", "P1"): (Decimal("500.00"), Decimal("200.00"), Decimal("0.00"), Decimal("300.00"), Decimal("0.00")),
        ("leaderboard", "ALL"): (Decimal("20000.00"), Decimal("7000.00"), Decimal("0.00"), Decimal("13000.00"), Decimal("0.00")),
    }
    budgets = section(ops.get(url(loaded)).content.decode(), "budgets")
    first = budgets[budgets.index('data-pool="first_post-ALL"') :]
    assert "no limit" in first[: first.index("</tr>")]
    assert '<tr data-pool="leaderboard-ALL"><td>leaderboard</td><td>USDT</td>' in budgets

    loaded.first_post_limit = 2  # 60.00 of bonuses, 90.00 calculated: 30.00 too many
    loaded.save()
    page = ops.get(url(loaded)).content.decode()
    amounts = [n for cell in re.findall(r'<t[dh] class="num[^"]*">(.*?)</t[dh]>', page, re.S) for n in re.findall(r"\d+\.\d+", re.sub("<[^>]+>", "", cell))]
    assert len(amounts) > 30 and all(re.fullmatch(r"\d+\.\d{2}", n) for n in amounts), amounts  # every amount on the page
    budgets = section(page, "budgets")
    first = budgets[budgets.index('data-pool="first_post-ALL"') :]
    first = first[: first.index("</tr>")]
    assert "60.00" in first and "(2 bonuses)" in first and '<td class="num dash-bad">30.00</td>' in first
    cells = MONEY_CELL.findall(budgets)
    assert len(cells) == 15 and all(re.fullmatch(r"\d+\.\d{2}", cell) for cell in cells), cells


@pytest.mark.django_db
def test_open_review_items_are_listed_by_name_with_both_amounts_and_links_and_adjustments_per_asset(ops, loaded):
    from rewards.services import review_items_close, rewards_mark_paid

    settle_campaign(campaign=loaded, at=DUE)
    boss = User.objects.get(username="ops")
    leaderboard = Reward.objects.filter(kind="leaderboard").values_list("pk", flat=True)
    rewards_approve(reward_ids=leaderboard, user=boss)
    rewards_mark_paid(reward_ids=leaderboard, reference="GATE-1", user=boss)
    assert posts_import_file(campaign=loaded, data=more_posts_of_1003()).ok
    settle_campaign(campaign=loaded, at=LATER)
    item = ReviewItem.objects.get(status="open")
    page = ops.get(url(loaded)).content.decode()
    listed = section(page, "review-items")
    assert f'href="/admin/rewards/reviewitem/{item.pk}/change/">#{item.pk} 1002 =cmd|&#x27; /C calc&#x27;!A0 · leaderboard</a>' in listed
    assert "3000.00 → 2500.00 USDT" in listed and '<td class="num dash-bad">-500.00</td>' in listed
    assert f"/admin/rewards/reward/{item.reward_id}/change/" in listed
    try:
        adjustments = reverse("admin:rewards_adjustment_changelist") + f"?campaign__id__exact={loaded.pk}"
    except NoReverseMatch:  # registered by another change; until then the link is left out
        adjustments = None
    assert (adjustments is not None and adjustments in listed) or (adjustments is None and "adjustments-link" not in listed)

    review_items_close(item_ids=[item.pk], action="keep", user=boss, note="paid already, finance claws back")
    listed = section(ops.get(url(loaded)).content.decode(), "review-items")
    assert "1 adjustment in USDT: +0.00 underpaid, -500.00 overpaid" in listed
    # What 1002 holds is now 2500.00, what the rules give: settling again opens nothing.
    assert [line.uid for line in settlement_preview_get(campaign=loaded, at=LATER).lines] == []


# --- the settlement preview -----------------------------------------------------------------------


def assert_settlement_wrote(preview, run):
    """The settlement `run` wrote exactly what `preview` said it would."""
    ledger = {(r.kind, r.period, r.trader.uid): r for r in Reward.objects.filter(campaign=run.campaign).select_related("trader")}
    for line in preview.lines:
        reward = ledger.get((line.kind, line.period, line.uid))
        if line.action == "remove":
            assert reward is None, line
        elif line.action in ("create", "change", "due"):
            assert (reward.state, reward.amount, reward.preview) == ("calculated", line.computed, line.preview_after), line
        elif line.action == "review_withdraw":
            assert ReviewItem.objects.get(pk=line.review_item_id).resolution == "withdrawn", line
        else:
            item = ReviewItem.objects.get(reward=reward, status="open")
            assert (item.stored_amount, item.computed_amount, item.settlement_run) == (line.ledger, line.computed, run), line
            assert line.action == "review_open" or item.pk == line.review_item_id
    written = run.summary["ledger"]
    assert (written["created"], written["deleted"]) == (preview.count("create"), preview.count("remove"))
    assert (written["review_items"], written["review_items_updated"], written["review_items_withdrawn"]) == (
        preview.count("review_open"), preview.count("review_update"), preview.count("review_withdraw"),
    )  # fmt: skip
    assert run.summary["budgets"] == [pool.budget_after.as_json() for pool in preview.pools]
    assert [b.as_json() for b in pool_budgets_get(campaign=run.campaign)] == run.summary["budgets"]
    for total in preview.totals:
        rows = [r for r in ledger.values() if r.asset == total.asset and r.state != "void"]
        assert total.ledger_after == sum((r.amount for r in rows), Decimal("0.00"))
        assert total.payable_after == sum((r.amount for r in rows if not r.preview), Decimal("0.00"))


def preview_of(campaign):
    """The preview as of LATER, and a check that computing it wrote nothing."""
    before = ledger_snapshot(campaign)
    preview = settlement_preview_get(campaign=campaign, at=LATER)
    assert ledger_snapshot(campaign) == before
    assert not preview.verdicts_may_move  # every verdict is current: settling writes these figures
    return preview


def actions(preview):
    return {(line.kind, line.uid): (line.action, line.ledger, line.computed) for line in preview.lines}


@pytest.mark.django_db
def test_the_settlement_preview_writes_nothing_and_settling_then_writes_what_it_showed(ops, loaded):
    settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=Reward.objects.filter(kind="leaderboard").values_list("pk", flat=True), user=User.objects.get(username="ops"))
    assert posts_import_file(campaign=loaded, data=more_posts_of_1003()).ok
    assert set(Post.objects.filter(post_id__in=["c2", "c3"]).values_list("verdict", flat=True)) == {"qualified"}

    # 1. 1003 enters the Top 10 at rank 2 and the content pool; 1002's approved 3000.00 would be 2500.00.
    preview = preview_of(loaded)
    assert actions(preview) == {
        ("content_pool", 1003): ("create", None, Decimal("100.00")),
        ("leaderboard", 1003): ("create", None, Decimal("3000.00")),
        ("leaderboard", 1002): ("review_open", Decimal("3000.00"), Decimal("2500.00")),
    }
    pools = {(p.pool.kind, p.pool.period): p for p in preview.pools}
    assert (pools[("content_pool", "P1")].allocated, pools[("content_pool", "P1")].unallocated) == (Decimal("300.00"), Decimal("200.00"))
    board = pools[("leaderboard", "ALL")]
    assert (board.allocated, board.unallocated, board.budget_after.calculated, board.budget_after.approvable) == (
        Decimal("9500.00"), Decimal("10500.00"), Decimal("3000.00"), Decimal("13000.00"),
    )  # fmt: skip
    totals = {t.asset: (t.computed, t.ledger_now, t.ledger_after, t.payable_after) for t in preview.totals}
    assert totals == {"TRIAL_FUND": (Decimal("90.00"),) * 4, "USDT": (Decimal("9800.00"), Decimal("7200.00"), Decimal("10300.00"), Decimal("10300.00"))}

    before = ledger_snapshot(loaded)
    page = ops.get(url(loaded, "preview")).content.decode()  # the admin page, as of now
    assert ledger_snapshot(loaded) == before
    assert '<tr data-action="review_open" data-uid="1002">' in page and '<td class="num pv-bad">-500.00</td>' in page
    assert "<td>1003 gamma</td>" in page and "review item opened: <strong>1</strong>" in page

    run = settle_campaign(campaign=loaded, at=LATER)
    assert_settlement_wrote(preview, run)
    assert preview_of(loaded).lines == ()

    # 2. 1002 climbs to rank 1: its open item is updated (2500.00 -> 4000.00), 1001's approved
    # 4000.00 would be 3000.00, and 1003's calculated 3000.00 becomes 2500.00.
    item = ReviewItem.objects.get(status="open")
    assert posts_import_file(campaign=loaded, data=jsonl(post_item("b2", 1002, created_at="2026-02-17T09:00:00+08:00", text=Post.objects.get(post_id="b2").text, likes=400))).ok
    preview = preview_of(loaded)
    assert actions(preview) == {
        ("leaderboard", 1001): ("review_open", Decimal("4000.00"), Decimal("3000.00")),
        ("leaderboard", 1002): ("review_update", Decimal("3000.00"), Decimal("4000.00")),
        ("leaderboard", 1003): ("change", Decimal("3000.00"), Decimal("2500.00")),
    }
    assert next(line for line in preview.lines if line.uid == 1002).review_item_id == item.pk
    run = settle_campaign(campaign=loaded, at=LATER)
    assert_settlement_wrote(preview, run)
    assert list(item.computations.values_list("computed_amount", flat=True)) == [Decimal("2500.00"), Decimal("4000.00")]

    # 3. 1002 falls back to rank 2: both approved rewards get their own amounts again, so both
    # items are withdrawn; 1003 stays third.
    assert posts_import_file(campaign=loaded, data=jsonl(post_item("b2", 1002, created_at="2026-02-17T09:00:00+08:00", text=Post.objects.get(post_id="b2").text, likes=30))).ok
    preview = preview_of(loaded)
    assert actions(preview) == {
        ("leaderboard", 1001): ("review_withdraw", Decimal("4000.00"), Decimal("4000.00")),
        ("leaderboard", 1002): ("review_withdraw", Decimal("3000.00"), Decimal("3000.00")),
    }
    run = settle_campaign(campaign=loaded, at=LATER)
    assert_settlement_wrote(preview, run)
    assert not ReviewItem.objects.filter(status="open").exists()


@pytest.mark.django_db
def test_a_preview_after_a_settlement_of_previews_shows_them_becoming_payable(loaded):
    settle_campaign(campaign=loaded, at=BEFORE_DUE)
    preview = preview_of(loaded)
    assert {line.action for line in preview.lines} == {"due"} and preview.count("due") == 7
    assert all(line.ledger == line.computed and line.preview_before and line.preview_after is False for line in preview.lines)
    totals = {t.asset: (t.payable_now, t.payable_after) for t in preview.totals}
    assert totals == {"TRIAL_FUND": (Decimal("0.00"), Decimal("90.00")), "USDT": (Decimal("0.00"), Decimal("7200.00"))}
    assert_settlement_wrote(preview, settle_campaign(campaign=loaded, at=LATER))


@pytest.mark.django_db
def test_the_preview_says_when_settling_would_judge_posts_it_has_not_judged_yet(loaded):
    from campaign.services import posts_ingest
    from core.reading import item_records

    settle_campaign(campaign=loaded, at=DUE)
    posts_ingest(campaign=loaded, records=item_records([post_item("c2", 1003, created_at="2026-02-21T09:00:00+08:00", text=OTHER_TEXTS[0])]), judge_later=True)
    registrations_import(data=b"uid,nickname,market,status,applied_at,approved_at\n1004,delta,futures,approved,2026-02-01T10:00:00Z,\n")
    preview = settlement_preview_get(campaign=loaded, at=LATER)
    assert preview.posts_awaiting_judging == 1 and preview.judging_inputs_moved and preview.verdicts_may_move
    assert preview.lines == ()  # the stored verdicts give what the ledger holds; settling will not
