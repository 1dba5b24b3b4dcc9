"""The admin home leads to each campaign's dashboard and to the day's work: open review items,
rewards to approve and imports still running, each count linked to the list that shows exactly
those rows, and only for staff who may view them. The site is named, not "Django administration"."""

import re
from datetime import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import translation

from campaign.models import Campaign, Post
from campaign.services.signups import campaign_import_run_create
from core.models import ImportRun
from rewards.models import ReviewItem, Reward
from rewards.selectors.ops_home import ops_home_get
from rewards.services import review_items_close, rewards_approve, settle_campaign

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
HOME = "/admin/"
WORK_PERMISSIONS = ("view_campaign", "view_reviewitem", "view_reward", "view_importrun")


def staff(username, *codenames):
    user = User.objects.create_user(username, password=f"pw-{username}-123456", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def ops():
    return staff("ops", *WORK_PERMISSIONS, "approve_reward")


@pytest.fixture
def busy(loaded, ops, ledger_invariants):
    """The scenario settled and approved, then settled again without trader 1001's posts (four
    review items open), one of them accepted (its reward is calculated again, to approve), and a
    posts import waiting for a worker; a second campaign with nothing to do."""
    settle_campaign(campaign=loaded, at=DUE)
    done, refused = rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=ops[0])
    assert done and not refused
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    rising = ReviewItem.objects.get(reward__trader__uid=1002, reward__kind=Reward.Kind.LEADERBOARD, status="open")
    closed, refused = review_items_close(item_ids=[rising.pk], action="accept", user=ops[0], note="rank 1 now")
    assert closed and not refused
    campaign_import_run_create(campaign=loaded, kind=ImportRun.Kind.POSTS, source=ImportRun.Source.ADMIN, status=ImportRun.Status.QUEUED)
    quiet = Campaign.objects.create(slug="quiet", name="Quiet campaign", starts_at=loaded.starts_at, ends_at=loaded.ends_at)
    return loaded, quiet


def panel(html, slug):
    start = html.index(f'data-campaign="{slug}"')
    return html[start : html.index("</table>", start)]


def count_link(html, slug, key):
    """The count shown for `key` in the campaign's panel, and the link it carries."""
    row = re.search(rf'<tr data-count="{key}">.*?</tr>', panel(html, slug), re.S)
    if row is None:
        return None
    href, n = re.search(r'<td[^>]*><a href="([^"]+)">(?:<strong>)?(\d+)', row.group(0)).groups()
    return int(n), href.replace("&amp;", "&")


def test_the_home_counts_each_campaigns_work_and_each_link_lists_exactly_those_rows(busy, ops):
    campaign, quiet = busy
    expected = {
        "review-items": ReviewItem.objects.filter(reward__campaign=campaign, status="open").count(),
        "to-approve": Reward.objects.filter(campaign=campaign, state="calculated", preview=False).count(),
        "imports": ImportRun.objects.filter(campaign_link__campaign=campaign, finished_at__isnull=True).count(),
    }
    assert expected == {"review-items": 3, "to-approve": 1, "imports": 1}
    html = ops[1].get(HOME).content.decode()
    for key, n in expected.items():
        shown, href = count_link(html, campaign.slug, key)
        assert shown == n
        listed = ops[1].get(href)
        assert listed.status_code == 200 and listed.context["cl"].result_count == n, key
        assert count_link(html, quiet.slug, key)[0] == 0
    assert f'href="/admin/campaign/campaign/{campaign.pk}/dashboard/"' in panel(html, campaign.slug)
    assert ops[1].get(f"/admin/campaign/campaign/{campaign.pk}/dashboard/").status_code == 200
    assert 'id="nav-sidebar"' not in html and "app-rewards" in html  # the app list is still there


def test_the_home_puts_the_newest_campaign_first_and_shows_its_chinese_name_in_chinese(busy, ops):
    campaign, quiet = busy
    Campaign.objects.filter(pk=quiet.pk).update(starts_at=campaign.starts_at.replace(year=2027), ends_at=campaign.ends_at.replace(year=2027))
    html = ops[1].get(HOME).content.decode()
    assert html.index(f'data-campaign="{quiet.slug}"') < html.index(f'data-campaign="{campaign.slug}"')
    chinese = ops[1].get(HOME, headers={"accept-language": "zh-hans"}).content.decode()
    assert campaign.name_zh and campaign.name_zh in panel(chinese, campaign.slug)


def test_a_count_is_shown_only_to_staff_who_may_view_what_it_counts(busy):
    campaign, _quiet = busy
    _user, no_rewards = staff("reviewer", "view_campaign", "view_reviewitem")
    html = no_rewards.get(HOME).content.decode()
    assert count_link(html, campaign.slug, "review-items")[0] == 3
    assert count_link(html, campaign.slug, "to-approve") is None and count_link(html, campaign.slug, "imports") is None
    assert "/admin/rewards/reward/" not in html and "/admin/core/importrun/" not in html


def test_staff_who_may_not_view_campaigns_see_no_campaign_panel(busy):
    _user, outsider = staff("outsider", "view_reviewitem", "view_reward", "view_importrun")
    html = outsider.get(HOME).content.decode()
    assert 'data-testid="campaign-panels"' not in html and "/dashboard/" not in html


def test_the_selector_counts_in_a_fixed_number_of_queries_and_hides_what_the_user_may_not_view(busy, django_assert_max_num_queries):
    campaign, _quiet = busy
    may = SimpleNamespace(has_perm=lambda perm: perm != "rewards.view_reward")
    with django_assert_max_num_queries(4):
        work = {w.campaign.slug: w for w in ops_home_get(fetched_by=may)}
    assert (work[campaign.slug].open_review_items, work[campaign.slug].rewards_to_approve, work[campaign.slug].imports_unfinished) == (3, None, 1)
    assert ops_home_get(fetched_by=SimpleNamespace(has_perm=lambda perm: False)) == []


def test_a_finished_import_is_not_work_waiting(busy, ops):
    campaign, _quiet = busy
    ImportRun.objects.filter(status=ImportRun.Status.QUEUED).update(status=ImportRun.Status.FINISHED, finished_at=DUE)
    assert count_link(ops[1].get(HOME).content.decode(), campaign.slug, "imports")[0] == 0


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_header_and_title_name_the_campaign_manager_not_django(ops, language):
    html = ops[1].get(HOME, headers={"accept-language": language}).content.decode()
    with translation.override(language):
        name = translation.gettext("Gate Square campaign manager")
    assert f'<a href="/admin/">{name}</a>' in html and f"| {name}</title>" in html
    assert "Django administration" not in html and "Django 管理" not in html and "Django 站点管理员" not in html
