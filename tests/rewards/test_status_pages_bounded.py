"""The status page of a prolific trader costs what a page shows, not what the trader wrote (issue 17).

Posts and the long lists of a breakdown are paged; counts come from the database; a page reads
only the posts it shows. What a trader sees is the same as before, but a page at a time: these
tests compare the pages, line by line, with the whole lists the API and the admin still read
(`trader_status_get` without a page, `reward_breakdown_get`).
"""

import json
import random
import re
import string
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaign.models import Campaign, Post
from campaign.page_cache import page_campaign_get
from campaign.services import posts_import_file
from rewards.models import ReviewFlag, Reward
from rewards.selectors.breakdown import reward_breakdown, reward_breakdown_get
from rewards.selectors.breakdown_pages import BREAKDOWN_LINES_PER_PAGE
from rewards.selectors.links import status_link_token
from rewards.selectors.posts import exclusions_of
from rewards.selectors.status import STATUS_BREAKDOWN_LINES, STATUS_POSTS_PER_PAGE, trader_status_get
from rewards.selectors.status_posts import post_counts_and_lines
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from rewards.services.traffic import traffic_refresh
from tests.factories import enrolled_trader

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
START = datetime.fromisoformat("2026-02-12T18:00:00+08:00")  # the preloaded campaign's window start


def posts_of(campaign, uid, n, *, first=0, odd=False, likes=None):
    """n posts of random words (no near-duplicates), numbered from `first`, spread over the window;
    with `odd`, some are too short, some outside the window, some deleted: several verdicts show."""
    rnd = random.Random(uid * 100_000 + first)
    lines = []
    for i in range(first, first + n):
        created = START + timedelta(minutes=97 * i % (12 * 24 * 60 - 10))
        text = "BTC futures long " + " ".join("".join(rnd.choices(string.ascii_lowercase, k=7)) for _ in range(20))
        deleted = False
        if odd and i % 11 == 3:
            text = "BTC long"
        elif odd and i % 13 == 5:
            created = START - timedelta(hours=1 + i)
        elif odd and i % 17 == 7:
            deleted = True
        lines.append(json.dumps({"post_id": f"{uid}-{i:05d}", "author_uid": uid, "created_at": created.isoformat(), "text": text,
                                 "likes": rnd.randint(0, 60) if likes is None else likes, "comments": rnd.randint(0, 5), "shares": rnd.randint(0, 3),
                                 "views": rnd.randint(0, 3000), "deleted": deleted}))  # fmt: skip
    assert posts_import_file(campaign=campaign, data="\n".join(lines).encode()).ok


def url_of(campaign, trader):
    return f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"


def html_of(client, url, lang="en"):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def post_ids(html):
    return re.findall(r'data-post-id="([^"]+)"', html)


def breakdown_lines(html, kind, new=False):
    """(post id, "counted" or the reason it did not count) of every line of one breakdown, in order."""
    testid = f"{'review-breakdown' if new else 'breakdown'}-{kind}"
    part = html.split(f'data-testid="{testid}"', 1)[1].split("</details>", 1)[0]
    found = re.findall(r'data-testid="(counted|not-counted)-post" data-breakdown-post="([^"]+)"(?: data-reason="([^"]*)")?', part)
    return [(post_id, "counted" if what == "counted" else reason) for what, post_id, reason in found]


def all_breakdown_pages(client, status_url, kind, period, new=False):
    """Every line of a breakdown, read page after page on its own pages, following the pager."""
    url = f"{status_url}breakdown/{kind}/{period}/{'new/' if new else ''}"
    lines, seen = [], 0
    html = html_of(client, url)
    while True:
        seen += 1
        lines += breakdown_lines(html, kind, new)
        nxt = re.search(r'<a href="\?page=(\d+)" rel="next"', html)
        if not nxt:
            return lines, seen
        html = html_of(client, f"{url}?page={nxt.group(1)}")


def full_lines(breakdown):
    return [(line.post_id, "counted") for line in breakdown.counted] + [(line.post_id, line.reason) for line in breakdown.not_counted]


@pytest.fixture
def prolific(campaign):
    """A trader with 136 posts (some that do not qualify, two excluded by ops after the settlement,
    six new since) and a few others, settled when due: three pages of posts, breakdowns longer than a page."""
    trader = enrolled_trader(uid=8100, nickname="prolific")
    posts_of(campaign, trader.uid, 130, odd=True)
    for uid in (8101, 8102, 8103):
        enrolled_trader(uid=uid)
        posts_of(campaign, uid, 4)
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    posts_of(campaign, trader.uid, 6, first=130)  # qualifying since the settlement: listed after what it counted
    for post_id in ("8100-00020", "8100-00021"):
        post = Post.objects.get(campaign=campaign, post_id=post_id)
        ReviewFlag.objects.create(campaign=campaign, trader=trader, post=post, kind=ReviewFlag.Kind.BURST, status=ReviewFlag.Status.EXCLUDED,
                                  excludes=ReviewFlag.Excludes.POST, note="bought likes", decided_at=timezone.now())  # fmt: skip
    return trader


# --- The page of posts ----------------------------------------------------------------------------


def test_page_two_shows_the_next_posts_newest_first_and_a_page_past_the_end_shows_the_last(client, campaign, prolific):
    url = url_of(campaign, prolific)
    newest_first = list(Post.objects.filter(campaign=campaign, author=prolific).order_by("-created_at", "-post_id").values_list("post_id", flat=True))
    pages = [post_ids(html_of(client, f"{url}?page={n}")) for n in (1, 2, 3)]
    assert pages == [newest_first[:50], newest_first[50:100], newest_first[100:]]
    last = html_of(client, f"{url}?page=3")
    assert "Newest first: posts 101–136 of 136." in last and "Page 3 of 3" in last and 'href="?page=2"' in last and "My posts (136)" in last
    assert post_ids(html_of(client, f"{url}?page=4")) == pages[2] == post_ids(html_of(client, f"{url}?page=9999"))


def test_the_counts_and_steps_are_over_every_post_as_the_api_reads_them(campaign, prolific):
    link = status_link_get_or_create(campaign=campaign, trader=prolific)
    whole, paged = trader_status_get(link=link, now=timezone.now()), trader_status_get(link=link, now=timezone.now(), page=2)
    assert len(whole.posts) == paged.post_count == 136 and paged.posts == []
    for name in ("qualifying", "featured", "homepage", "posts_to_rank", "steps", "standing", "stars", "enrolled", "over"):
        assert getattr(whole, name) == getattr(paged, name), name
    assert 0 < paged.qualifying < 136 and paged.featured > 0
    assert [p.post_id for p in paged.page] == [p.post_id for p in whole.posts[50:100]]
    assert all(p.text for p in paged.page) and [(p.verdict, p.score, p.excluded_note) for p in paged.page] == [
        (p.verdict, p.score, p.excluded_note) for p in whole.posts[50:100]
    ]


def test_switching_language_keeps_the_page_and_the_pager_keeps_the_language(client, campaign, prolific):
    url = url_of(campaign, prolific)
    html = html_of(client, f"{url}?page=2&lang=zh-hans")
    assert 'href="?page=2&amp;lang=en"' in html and 'href="?page=3&amp;lang=zh-hans"' in html and "第 2 页，共 3 页" in html
    assert post_ids(html) == post_ids(html_of(client, f"{url}?page=2&lang=en"))


# --- The breakdowns: the first lines on the status page, all of them on their own pages ------------


def test_each_breakdown_shows_its_first_lines_and_its_own_pages_hold_every_line_in_order(client, campaign, prolific):
    url = url_of(campaign, prolific)
    status_html = html_of(client, url)
    kinds = dict(Reward.objects.filter(campaign=campaign, trader=prolific).values_list("kind", "period"))
    assert set(kinds) == {"first_post", "content_pool", "leaderboard"}
    for kind, period in kinds.items():
        whole = full_lines(reward_breakdown_get(reward=Reward.objects.get(campaign=campaign, trader=prolific, kind=kind)))
        assert breakdown_lines(status_html, kind) == whole[:STATUS_BREAKDOWN_LINES]
        paged, pages = all_breakdown_pages(client, url, kind, period)
        assert paged == whole and pages == max(1, -(-len(whole) // BREAKDOWN_LINES_PER_PAGE))
    board = status_html.split('data-testid="breakdown-leaderboard"', 1)[1].split("</details>", 1)[0]
    # More than a page: the status page says so and leads to the rest, keeping no token in the link.
    assert 'data-testid="breakdown-more"' in board and 'href="breakdown/leaderboard/ALL/?page=2"' in board
    first_post = status_html.split('data-testid="breakdown-first_post"', 1)[1].split("</details>", 1)[0]
    assert 'data-testid="breakdown-more"' not in first_post


def test_a_leaderboard_detail_from_before_settlements_stored_its_posts_is_paged_the_same(client, campaign, prolific):
    reward = Reward.objects.get(campaign=campaign, trader=prolific, kind="leaderboard")
    Reward.objects.filter(pk=reward.pk).update(detail={key: value for key, value in reward.detail.items() if key != "posts"})
    whole = full_lines(reward_breakdown_get(reward=Reward.objects.get(pk=reward.pk)))
    assert len(whole) == 136 and whole[0][1] == "counted" and whole[-1][1] != "counted"
    url = url_of(campaign, prolific)
    assert breakdown_lines(html_of(client, url), "leaderboard") == whole[:STATUS_BREAKDOWN_LINES]
    assert all_breakdown_pages(client, url, "leaderboard", "ALL")[0] == whole


def test_a_breakdown_page_says_where_it_is_and_keeps_the_language(client, campaign, prolific):
    url = f"{url_of(campaign, prolific)}breakdown/leaderboard/ALL/"
    html = html_of(client, f"{url}?page=2&lang=zh-hans")
    assert "第 2 页，共 3 页" in html and 'href="?page=1&amp;lang=zh-hans"' in html and 'href="?page=3&amp;lang=zh-hans"' in html
    assert 'href="?page=2&amp;lang=en"' in html and 'href="../../../?lang=zh-hans"' in html  # the switch, and the way back
    html = html_of(client, f"{url}?page=3")  # the language chosen above is remembered
    assert "第 3 页，共 3 页" in html and 'rel="next"' not in html
    html = html_of(client, f"{url}?page=3&lang=en")
    assert "Posts 101–136 of 136 in this breakdown." in html and 'rel="next"' not in html
    assert breakdown_lines(html, "leaderboard") == breakdown_lines(html_of(client, f"{url}?page=77"), "leaderboard")


def test_a_breakdown_the_trader_does_not_have_is_a_404_like_a_bad_link(client, campaign, prolific):
    url = url_of(campaign, prolific)
    for path in ("breakdown/leaderboard/P1/", "breakdown/content_pool/P9/", "breakdown/nonsense/ALL/", "breakdown/leaderboard/ALL/new/"):
        response = client.get(url + path)
        assert response.status_code == 404 and "prolific" not in response.content.decode(), path
    assert client.get(url[:-5] + "zz/breakdown/leaderboard/ALL/").status_code == 404


def test_the_new_computation_under_review_has_its_own_pages(client, campaign, prolific):
    from django.contrib.auth.models import Permission, User

    from rewards.services import rewards_approve

    user = User.objects.create_user("approver", password="pw-approver-123456")
    user.user_permissions.add(Permission.objects.get(codename="approve_reward"))
    ids = list(Reward.objects.filter(campaign=campaign, trader=prolific).values_list("pk", flat=True))
    assert len(rewards_approve(reward_ids=ids, user=User.objects.get(pk=user.pk))[0]) == 3
    rival = enrolled_trader(uid=8109)
    posts_of(campaign, rival.uid, 30, likes=900)  # each post at the score cap: the rival passes 8100 on the leaderboard
    settle_campaign(campaign=campaign, at=DUE + timedelta(days=1))
    reward = Reward.objects.get(campaign=campaign, trader=prolific, kind="leaderboard")
    from rewards.selectors.breakdown import review_breakdown_get

    item = reward.review_items.get(status="open")
    whole = full_lines(review_breakdown_get(item=item))
    url = url_of(campaign, prolific)
    assert breakdown_lines(html_of(client, url), "leaderboard", new=True) == whole[:STATUS_BREAKDOWN_LINES]
    assert all_breakdown_pages(client, url, "leaderboard", "ALL", new=True)[0] == whole
    html = html_of(client, f"{url}breakdown/leaderboard/ALL/new/")
    assert 'data-testid="review-amount"' in html and 'href="../../../../"' in html


def test_the_first_lines_read_from_the_database_are_those_of_the_whole_lists(campaign, prolific):
    """`post_counts_and_lines` reads, for any number of lines, the posts that fill each breakdown's
    first lines, whatever the plan: stored posts, a leaderboard detail without them, no reward, a
    content period of its own, an unknown period; with ops' exclusions."""
    Campaign.objects.filter(pk=campaign.pk).update(content_period_days=4)
    campaign = Campaign.objects.get(pk=campaign.pk)
    link = status_link_get_or_create(campaign=campaign, trader=prolific)
    everything = trader_status_get(link=link, now=timezone.now()).posts
    _exclusion, excluded = exclusions_of(campaign=campaign, trader=prolific)
    details = [(row.kind, row.period, row.detail) for row in Reward.objects.filter(campaign=campaign, trader=prolific)]
    board = next(detail for kind, _period, detail in details if kind == "leaderboard")
    qualifying = [p for p in sorted(everything, key=lambda p: (p.created_at, p.post_id)) if p.qualifies]
    details += [
        ("leaderboard", "ALL", {key: value for key, value in board.items() if key != "posts"}),  # from before settlements stored the posts
        ("leaderboard", "ALL", {}), ("first_post", "ALL", {}), ("content_pool", "P2", {}), ("content_pool", "P9", {}),
        ("content_pool", "P2", {"posts": [{"post_id": p.post_id, "score": p.score} for p in qualifying[:5]], "creator_score": 1}),
        ("content_pool", "P9", {"posts": [{"post_id": p.post_id, "score": p.score} for p in qualifying[5:7]], "creator_score": 1}),
    ]  # fmt: skip
    for lines in (1, 2, 3, 7, 50):
        ids = set()
        for _kind, _period, detail in details:
            ids.update(entry["post_id"] for entry in (detail.get("posts") or [])[:lines])
            ids.update([detail["post_id"]] if detail.get("post_id") else [])
        counts, known = post_counts_and_lines(campaign=campaign, trader=prolific, excluded_posts=excluded, counted_ids=ids, lines=lines)
        # At most lines + 1 posts of each class (content period or none, counts now or not), besides
        # the counted ones fetched by id.
        classes = (len(campaign.content_periods()) + 1) * 2
        assert counts.posts == 136 and len(known) <= (lines + 1) * classes + len(ids) and (lines > 3 or len(known) < 136)
        for kind, period, detail in details:
            args = {"campaign": campaign, "kind": kind, "period": period, "amount": 0, "detail": detail}
            whole = reward_breakdown(**args, posts=everything)
            first = reward_breakdown(**args, posts=known, lines=lines)
            assert first.counted == whole.counted[:lines], (kind, period, lines)
            assert first.not_counted == whole.not_counted[: lines - len(first.counted)], (kind, period, lines)
            assert first.more == (len(whole.counted) + len(whole.not_counted) > lines), (kind, period, lines)


# --- What a page costs ----------------------------------------------------------------------------


def test_a_page_costs_the_same_queries_and_about_the_same_bytes_for_300_posts_as_for_3000(client, campaign, django_assert_max_num_queries):
    few, many = enrolled_trader(uid=8200), enrolled_trader(uid=8201)
    posts_of(campaign, few.uid, 300)
    posts_of(campaign, many.uid, 3000)
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    page_campaign_get(campaign.slug)  # the campaign the cache keys need, looked up once for both
    cost = {}
    for trader in (few, many):
        url = url_of(campaign, trader)
        for path in (url, f"{url}?page=3", f"{url}breakdown/leaderboard/ALL/?page=3"):
            with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as queries:
                html = html_of(client, path)
            cost[trader.uid, path.replace(url, "")] = (len(queries), len(html))
            with CaptureQueriesContext(connection) as again:
                assert html_of(client, path) == html  # cached: one cache read, no query
            assert len(again) == 0
    for path in ("", "?page=3", "breakdown/leaderboard/ALL/?page=3"):
        (q_few, bytes_few), (q_many, bytes_many) = cost[8200, path], cost[8201, path]
        assert q_few == q_many and 0.8 < bytes_many / bytes_few < 1.25, (path, cost)
    status = trader_status_get(link=status_link_get_or_create(campaign=campaign, trader=many), now=timezone.now(), page=3)
    assert status.post_count == 3000 and len(status.page) == STATUS_POSTS_PER_PAGE


def test_each_page_is_cached_under_its_own_key(client, campaign, prolific):
    url = url_of(campaign, prolific)
    pages = {path: html_of(client, url + path) for path in ("", "?page=2", "breakdown/leaderboard/ALL/", "breakdown/leaderboard/ALL/?page=2")}
    assert len(set(pages.values())) == 4
    with CaptureQueriesContext(connection) as queries:
        assert {path: html_of(client, url + path) for path in pages} == pages
    assert len(queries) == 0
