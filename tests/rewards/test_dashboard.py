"""The ops dashboard: its numbers add up, its charts are valid SVG, and its buttons run the
campaign through the same services and tasks as every other door."""

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.contrib.auth.models import Permission, User

from campaign.fake_feed import FakeFeedServer
from campaign.models import Post
from campaign.services import posts_import_file
from rewards.charts import Bar, Reference, Series, horizontal_bars, nice_scale, stacked_columns
from rewards.dashboard import STATE_COLUMNS, campaign_dashboard_charts, campaign_dashboard_get, campaign_days
from rewards.models import PayoutReport, Reward, SettlementRun
from rewards.services import rewards_approve, settle_campaign
from tests.factories import enrolled_trader, post_item

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
    assert "Rejected import rows (0)" in page and "/admin/traders/rejectedrecord/?run__campaign_slug__exact=star-lead-traders-2" in page
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
def test_a_preview_from_the_dashboard_settles_as_of_now(ops, loaded, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime.fromisoformat("2026-02-20T12:00:00+08:00"), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            ops.post(url(loaded, "preview"))
    run = SettlementRun.objects.get()
    assert run.at == datetime.fromisoformat("2026-02-20T12:00:00+08:00") and run.triggered_by == "admin preview: ops"
    assert set(Reward.objects.values_list("preview", flat=True)) == {True}


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
    assert "Preview as of now" not in page and "settle-form" not in page
    for action in ("settle", "preview", "report", "pull"):
        assert client.get(url(loaded, action)).status_code == 405
        assert client.post(url(loaded, action), {"at": "2026-02-26T00:00:00+08:00"}).status_code == 403
    assert not SettlementRun.objects.exists() and not PayoutReport.objects.exists()
    viewer.user_permissions.add(Permission.objects.get(codename="add_settlementrun"))
    client.force_login(User.objects.get(pk=viewer.pk))
    assert "settle-form" in client.get(url(loaded)).content.decode()


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
