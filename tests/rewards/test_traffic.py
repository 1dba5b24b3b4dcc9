"""Traffic support (RULES.md section 7): the pure rules at their boundaries, the refresh service
with ops' overrides, the Celery tasks and their beat entries, and the admin overrides."""

import random
import string
from datetime import date, datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask
from hypothesis import given
from hypothesis import strategies as st

from campaign.models import Post
from campaign.periods import slice_window
from campaign.services import posts_import_file
from rewards.models import FeaturedPost, WeeklyStar
from rewards.rules.traffic import day_end, featured_posts_by_day, local_day, weekly_stars
from rewards.rules.types import QualifiedPost
from rewards.services.traffic import featured_posts_refresh, posts_feature, traffic_refresh, weekly_star_set, weekly_stars_automatic, weekly_stars_refresh
from rewards.tasks import featured_posts_daily_task, weekly_stars_task
from tests.factories import enrolled_trader

UTC8 = timezone(timedelta(hours=8))
START = datetime(2026, 2, 12, 18, 0, tzinfo=UTC8)
END = datetime(2026, 2, 25, 0, 0, tzinfo=UTC8)
WEEKS = slice_window(START, END, days=7, prefix="W")
AFTER = END + timedelta(hours=1)


def qp(post_id, uid, created_at, score):
    return QualifiedPost(post_id=post_id, uid=uid, created_at=created_at, score=score)


# --- Rules: featured posts --------------------------------------------------------------------


def test_a_day_is_a_utc8_calendar_day_whatever_offset_the_instant_carries():
    assert local_day(datetime(2026, 2, 13, 23, 59, 59, tzinfo=UTC8)) == date(2026, 2, 13)
    assert local_day(datetime(2026, 2, 14, 0, 0, tzinfo=UTC8)) == date(2026, 2, 14)
    # 16:00 UTC is midnight in Shanghai: the next day there, although still the 13th in London.
    assert local_day(datetime(2026, 2, 13, 16, 0, tzinfo=timezone.utc)) == date(2026, 2, 14)
    assert local_day(datetime(2026, 2, 13, 15, 59, 59, tzinfo=timezone.utc)) == date(2026, 2, 13)
    assert day_end(date(2026, 2, 13)) == datetime(2026, 2, 14, 0, 0, tzinfo=UTC8)


def test_posts_either_side_of_midnight_utc8_compete_on_different_days():
    late = qp("late", 1, datetime(2026, 2, 13, 23, 59, 59, tzinfo=UTC8), 5)
    early = qp("early", 2, datetime(2026, 2, 13, 16, 0, tzinfo=timezone.utc), 1)  # 00:00 on the 14th in UTC+8
    weak = [qp(f"w{i}", 3, datetime(2026, 2, 13, 10, i, tzinfo=UTC8), 10) for i in range(3)]
    picks = featured_posts_by_day([late, early, *weak], n=3)
    assert [p.post_id for p in picks[date(2026, 2, 13)]] == ["w0", "w1", "w2"]  # late (score 5) falls out
    assert [p.post_id for p in picks[date(2026, 2, 14)]] == ["early"]


def test_featured_ties_go_to_the_earlier_post_then_the_lower_post_id():
    t = datetime(2026, 2, 15, 12, 0, tzinfo=UTC8)
    posts = [
        qp("b", 1, t, 7),
        qp("a", 2, t, 7),  # same score and instant as b: "a" < "b"
        qp("c", 3, t - timedelta(seconds=1), 7),  # same score, a second earlier: first
        qp("top", 4, t + timedelta(hours=1), 8),
    ]
    assert [p.post_id for p in featured_posts_by_day(posts, n=3)[date(2026, 2, 15)]] == ["top", "c", "a"]


def test_post_ids_compare_as_strings_not_numbers():
    t = datetime(2026, 2, 15, 12, 0, tzinfo=UTC8)
    picks = featured_posts_by_day([qp("9", 1, t, 1), qp("10", 2, t, 1)], n=1)
    assert [p.post_id for p in picks[date(2026, 2, 15)]] == ["10"]


def test_a_day_with_fewer_posts_than_places_features_them_all_and_n_zero_features_none():
    t = datetime(2026, 2, 15, 12, 0, tzinfo=UTC8)
    posts = [qp("x", 1, t, 1), qp("y", 2, t, 2)]
    assert [p.post_id for p in featured_posts_by_day(posts, n=3)[date(2026, 2, 15)]] == ["y", "x"]
    assert featured_posts_by_day(posts, n=0) == {date(2026, 2, 15): ()}
    with pytest.raises(ValueError):
        featured_posts_by_day(posts, n=-1)


def test_a_post_given_twice_is_refused_rather_than_counted_twice():
    t = datetime(2026, 2, 15, 12, 0, tzinfo=UTC8)
    with pytest.raises(ValueError):
        featured_posts_by_day([qp("x", 1, t, 1), qp("x", 1, t, 1)])


posts_strategy = st.lists(
    st.builds(
        qp,
        post_id=st.text(alphabet="abc123", min_size=1, max_size=4),
        uid=st.integers(min_value=1, max_value=6),
        created_at=st.integers(min_value=0, max_value=12 * 24 * 60).map(lambda m: START + timedelta(minutes=m)),
        score=st.integers(min_value=0, max_value=20),
    ),
    max_size=40,
    unique_by=lambda p: p.post_id,
)


@given(posts_strategy, st.randoms(use_true_random=False))
def test_the_picks_do_not_depend_on_input_order_and_are_each_days_best(posts, rnd):
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    picks = featured_posts_by_day(posts, n=3)
    assert picks == featured_posts_by_day(shuffled, n=3)
    for day, chosen in picks.items():
        same_day = [p for p in posts if local_day(p.created_at) == day]
        assert len(chosen) == min(3, len(same_day))
        left_out = [p for p in same_day if p not in chosen]
        assert all(p.score <= min(c.score for c in chosen) for p in left_out)


# --- Rules: weekly stars ----------------------------------------------------------------------


def test_a_week_ends_exclusive_and_its_stars_are_the_highest_week_scores():
    w1_end = WEEKS[0].ends_at
    posts = [
        qp("a1", 1, w1_end - timedelta(seconds=1), 5),
        qp("a2", 1, START, 5),  # uid 1: 10 in W1
        qp("b1", 2, START + timedelta(hours=1), 9),  # uid 2: 9 in W1
        qp("b2", 2, w1_end, 50),  # the first instant of W2
        qp("c1", 3, START + timedelta(hours=2), 8),
        qp("d1", 4, START + timedelta(hours=3), 1),
        qp("late", 5, END, 99),  # outside every week: ignored
    ]
    stars = weekly_stars(posts, WEEKS, n=3)
    assert [(s.uid, s.rank, s.score) for s in stars["W1"]] == [(1, 1, 10), (2, 2, 9), (3, 3, 8)]
    assert [(s.uid, s.score, s.posts) for s in stars["W2"]] == [(2, 50, 1)]


def test_star_ties_go_to_the_earlier_first_post_of_the_week_then_the_lower_uid():
    t = START + timedelta(days=1)
    posts = [
        qp("x", 30, t, 6),
        qp("y", 20, t, 6),  # same total and first instant as uid 30: lower uid first
        qp("z1", 40, t - timedelta(minutes=1), 3),
        qp("z2", 40, t + timedelta(hours=2), 3),  # 6 too, but the earliest first post
    ]
    assert [s.uid for s in weekly_stars(posts, WEEKS[:1], n=3)["W1"]] == [40, 20, 30]


def test_every_week_given_appears_even_when_empty():
    assert weekly_stars([], WEEKS) == {"W1": (), "W2": ()}


# --- Service ----------------------------------------------------------------------------------


def unique_text(seed):
    """A trading post of random words: no two share enough 5-grams to be near-duplicates."""
    rnd = random.Random(seed)
    words = " ".join("".join(rnd.choices(string.ascii_lowercase, k=7)) for _ in range(20))
    return f"BTC futures long setup {seed}: {words}"


def load(campaign, rows):
    """rows: (post_id, trader, created_at ISO, likes). Every post qualifies; score = 1 + likes."""
    data = "\n".join(
        __import__("json").dumps(
            {"post_id": pid, "author_uid": trader.uid, "created_at": created, "text": unique_text(pid), "likes": likes,
             "comments": 0, "shares": 0, "views": 0, "deleted": False}
        )  # fmt: skip
        for pid, trader, created, likes in rows
    )
    report = posts_import_file(campaign=campaign, data=data.encode())
    assert report.ok, report.errors
    assert set(Post.objects.filter(campaign=campaign).values_list("verdict", flat=True)) == {"qualified"}


def featured(campaign):
    return sorted(FeaturedPost.objects.filter(campaign=campaign).values_list("day", "rank", "source", "post__post_id"), key=str)


@pytest.fixture
def traders(campaign):
    return [enrolled_trader(uid=9000 + i, nickname=f"t{i}") for i in range(5)]


@pytest.mark.django_db
def test_only_ended_days_get_automatic_picks(campaign, traders):
    t = traders[0]
    load(campaign, [("d1", t, "2026-02-13T10:00:00+08:00", 1), ("d2", t, "2026-02-14T10:00:00+08:00", 1)])
    featured_posts_refresh(campaign=campaign, at=datetime(2026, 2, 14, 23, 59, tzinfo=UTC8))
    assert featured(campaign) == [(date(2026, 2, 13), 1, "auto", "d1")]
    featured_posts_refresh(campaign=campaign, at=datetime(2026, 2, 15, 0, 0, tzinfo=UTC8))
    assert [row[3] for row in featured(campaign)] == ["d1", "d2"]


@pytest.mark.django_db
def test_hand_overrides_are_kept_and_the_next_post_moves_up(campaign, traders):
    day = "2026-02-15T{}:00:00+08:00"
    load(campaign, [(f"p{i}", traders[i], day.format(10 + i), 10 - i) for i in range(5)])  # scores 11, 10, 9, 8, 7
    assert featured_posts_refresh(campaign=campaign, at=AFTER) == {"created": 3, "updated": 0, "deleted": 0}
    assert [(r[1], r[3]) for r in featured(campaign)] == [(1, "p0"), (2, "p1"), (3, "p2")]

    Post.objects.filter(post_id="p0").update(featured=False)  # never featured
    Post.objects.filter(post_id="p4").update(featured=True)  # featured by hand, on top of the 3
    featured_posts_refresh(campaign=campaign, at=AFTER)
    rows = featured(campaign)
    assert [(r[1], r[2], r[3]) for r in rows] == [(1, "auto", "p1"), (2, "auto", "p2"), (3, "auto", "p3"), (None, "manual", "p4")]
    assert {r[0] for r in rows} == {date(2026, 2, 15)}


@pytest.mark.django_db
def test_a_refresh_run_twice_writes_nothing_the_second_time_and_keeps_the_rows(campaign, traders):
    load(campaign, [(f"p{i}", traders[i], f"2026-02-1{3 + i}T12:00:00+08:00", i) for i in range(4)])
    featured_posts_refresh(campaign=campaign, at=AFTER)
    pks = set(FeaturedPost.objects.values_list("pk", flat=True))
    assert featured_posts_refresh(campaign=campaign, at=AFTER) == {"created": 0, "updated": 0, "deleted": 0}
    assert set(FeaturedPost.objects.values_list("pk", flat=True)) == pks


@pytest.mark.django_db
def test_a_deleted_post_leaves_the_featured_list_at_the_next_refresh(campaign, traders):
    load(campaign, [("p0", traders[0], "2026-02-15T10:00:00+08:00", 5), ("p1", traders[1], "2026-02-15T11:00:00+08:00", 1)])
    Post.objects.filter(post_id="p1").update(featured=True)
    featured_posts_refresh(campaign=campaign, at=AFTER)
    Post.objects.filter(post_id__in=["p0", "p1"]).update(deleted=True)
    featured_posts_refresh(campaign=campaign, at=AFTER)
    assert featured(campaign) == []


@pytest.mark.django_db
def test_posts_feature_sets_the_override_and_shows_at_once(campaign, traders):
    load(campaign, [(f"p{i}", traders[i], "2026-02-15T1{}:00:00+08:00".format(i), 10 - i) for i in range(4)])
    featured_posts_refresh(campaign=campaign, at=AFTER)
    p0 = Post.objects.get(post_id="p0")
    assert posts_feature(post_ids=[p0.pk], featured=False, at=AFTER) == 1
    assert [r[3] for r in featured(campaign)] == ["p1", "p2", "p3"]
    assert posts_feature(post_ids=[p0.pk], featured=None, at=AFTER) == 1
    assert [r[3] for r in featured(campaign)] == ["p0", "p1", "p2"]


@pytest.mark.django_db
def test_weekly_stars_keep_manual_rows_and_the_rule_skips_those_traders(campaign, traders):
    rows = [(f"p{i}", traders[i], "2026-02-14T1{}:00:00+08:00".format(i), 10 - i) for i in range(5)]  # W1: t0 > t1 > ... > t4
    load(campaign, rows)
    weekly_stars_refresh(campaign=campaign, at=AFTER)
    stars = lambda: list(WeeklyStar.objects.order_by("week", "source", "rank", "trader__uid").values_list("week", "trader__uid", "rank", "source", "removed"))  # noqa: E731
    assert stars() == [("W1", 9000, 1, "auto", False), ("W1", 9001, 2, "auto", False), ("W1", 9002, 3, "auto", False)]

    weekly_star_set(campaign=campaign, week="W1", trader=traders[0], star=False, by="ops")  # removed by hand
    weekly_star_set(campaign=campaign, week="W2", trader=traders[4], star=True, by="ops")  # added by hand
    for _ in range(2):
        weekly_stars_refresh(campaign=campaign, at=AFTER)
    assert stars() == [
        ("W1", 9001, 1, "auto", False),
        ("W1", 9002, 2, "auto", False),
        ("W1", 9003, 3, "auto", False),
        ("W1", 9000, None, "manual", True),
        ("W2", 9004, None, "manual", False),
    ]
    dropped = weekly_stars_automatic(star_ids=WeeklyStar.objects.filter(source="manual").values_list("pk", flat=True), at=AFTER)
    assert dropped == 2
    assert [s[1] for s in stars()] == [9000, 9001, 9002]


@pytest.mark.django_db
def test_only_ended_weeks_get_stars(campaign, traders):
    load(campaign, [("p0", traders[0], "2026-02-14T10:00:00+08:00", 1), ("p1", traders[1], "2026-02-20T10:00:00+08:00", 1)])
    weekly_stars_refresh(campaign=campaign, at=WEEKS[0].ends_at - timedelta(seconds=1))
    assert not WeeklyStar.objects.exists()
    weekly_stars_refresh(campaign=campaign, at=WEEKS[0].ends_at)
    assert list(WeeklyStar.objects.values_list("week", "trader__uid")) == [("W1", 9000)]


@pytest.mark.django_db
def test_a_star_set_by_hand_needs_a_week_of_the_campaign(campaign, traders):
    with pytest.raises(ValidationError):
        weekly_star_set(campaign=campaign, week="W9", trader=traders[0], star=True, by="ops")


@pytest.mark.django_db
def test_the_tasks_refresh_campaigns_still_collecting_and_skip_closed_ones(campaign, traders, eager_tasks):
    load(campaign, [("p0", traders[0], "2026-02-14T10:00:00+08:00", 1)])
    # Eager: the beat and the per-campaign tasks it queues run in this process whatever the broker
    # settings; the worker test below goes through Redis.
    assert list(featured_posts_daily_task.apply(kwargs={"at": AFTER.isoformat()}).get()) == [campaign.slug]
    assert list(weekly_stars_task.apply(kwargs={"at": AFTER.isoformat()}).get()) == [campaign.slug]
    assert FeaturedPost.objects.count() == 1 and WeeklyStar.objects.count() == 1
    # After window end + grace nothing changes any more: the campaign is no longer collecting.
    assert featured_posts_daily_task.apply(kwargs={"at": (END + timedelta(days=2)).isoformat()}).get() == {}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_traffic_tasks_run_on_a_real_worker(campaign, traders):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    load(campaign, [("p0", traders[0], "2026-02-14T10:00:00+08:00", 1)])
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            queued = [task.delay(at=AFTER.isoformat()).get(timeout=30) for task in (featured_posts_daily_task, weekly_stars_task)]
            featured, stars = ({slug: app.AsyncResult(task_id).get(timeout=30) for slug, task_id in ids.items()} for ids in queued)
    finally:
        app.conf.task_always_eager = eager
    assert featured[campaign.slug]["created"] == 1 and stars[campaign.slug]["created"] == 1
    assert FeaturedPost.objects.count() == 1 and WeeklyStar.objects.count() == 1


@pytest.mark.django_db
def test_the_beat_entries_exist_in_the_database():
    tasks = dict(PeriodicTask.objects.values_list("name", "task"))
    assert tasks["Daily featured posts"] == "rewards.tasks.featured_posts_daily_task"
    assert tasks["Weekly star traders"] == "rewards.tasks.weekly_stars_task"
    daily = PeriodicTask.objects.get(name="Daily featured posts").crontab
    assert (daily.minute, daily.hour, str(daily.timezone)) == ("5", "0", "Asia/Shanghai")  # 16:05 UTC, as before


# --- Admin ------------------------------------------------------------------------------------


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


@pytest.mark.django_db
def test_ops_add_a_star_by_hand_and_remove_one_from_the_admin(ops, campaign, traders):
    load(campaign, [("p0", traders[0], "2026-02-14T10:00:00+08:00", 1)])
    weekly_stars_refresh(campaign=campaign, at=AFTER)
    response = ops.post("/admin/rewards/weeklystar/add/", {"campaign": campaign.pk, "week": "W1", "trader": traders[0].pk})
    assert response.status_code == 302
    row = WeeklyStar.objects.get(trader=traders[0])
    assert (row.source, row.removed, row.set_by) == ("manual", False, "ops")  # the automatic row became a manual one
    assert ops.post("/admin/rewards/weeklystar/add/", {"campaign": campaign.pk, "week": "W7", "trader": traders[1].pk}).status_code == 200
    ops.post("/admin/rewards/weeklystar/", {"action": "remove_by_hand", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert (row.source, row.removed) == ("manual", True)
    assert ops.get("/admin/rewards/weeklystar/").status_code == 200


@pytest.mark.django_db
def test_ops_unfeature_a_post_and_recompute_from_the_admin(ops, campaign, traders):
    load(campaign, [(f"p{i}", traders[i], "2026-02-15T1{}:00:00+08:00".format(i), 10 - i) for i in range(4)])
    assert ops.post("/admin/rewards/featuredpost/recompute/").status_code == 302
    assert [r[3] for r in featured(campaign)] == ["p0", "p1", "p2"]
    first = FeaturedPost.objects.get(post__post_id="p0")
    ops.post("/admin/rewards/featuredpost/", {"action": "unfeature", "_selected_action": [first.pk]})
    assert Post.objects.get(post_id="p0").featured is False
    assert [r[3] for r in featured(campaign)] == ["p1", "p2", "p3"]
    page = ops.get("/admin/rewards/featuredpost/")
    assert page.status_code == 200 and b"recompute/" in page.content
    assert ops.get("/admin/rewards/featuredpost/recompute/").status_code == 405


@pytest.mark.django_db
def test_traffic_refresh_judges_once_and_does_both(campaign, traders):
    load(campaign, [("p0", traders[0], "2026-02-14T10:00:00+08:00", 1)])
    result = traffic_refresh(campaign=campaign, at=AFTER)
    assert result["featured"]["created"] == 1 and result["stars"]["created"] == 1
