"""The admin in Chinese shows no English in what names things: column headers, filter titles, field
labels, fieldset and inline headings, the sidebar and the home's app list, breadcrumbs and the page
title (issue 18). Those come from msgids of ours (field and model verbose names, app names) and of
the packages (Django, django-celery-beat, django-axes); a field without a verbose_name shows its
English attribute name, which no catalogue test of ours would notice.

Every registered model gets rows first (the scenario settled and paid, plus a row of each kind the
scenario leaves empty): Django's changelist prints no header row for an empty list, so a model
without rows would pass unseen. What the rows themselves say (a campaign's name, a post's ID, a
periodic task's name) is data, not interface: on a change page the object's own name is taken out
of the breadcrumbs, the title and the heading before the check.
"""

import gettext
import json
import re
from datetime import datetime
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import Truncator

from campaign.models import FeedCursor, Post
from campaign.services import posts_import_file, posts_moderate, reference_texts_import
from campaign.services.webhook import webhook_delivery_receive
from core.api.tokens import api_token_create
from rewards.models import FarmingThresholds, ReviewFlag, ReviewItem, Reward, WhatIfRun
from rewards.services import payout_report_store, review_items_close, rewards_approve, rewards_mark_paid, settle_campaign
from rewards.services.schedule import settlement_schedule_sync
from rewards.services.status_links import status_links_ensure
from rewards.services.traffic import traffic_refresh
from tests.rewards.scenario import posts_jsonl, scenario_load
from tests.test_translations import ROOT, messages, po_entries, translations
from traders.services import registrations_import

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
PASSWORD = "pw-root-123456"
THIRDPARTY = ROOT / "locale_thirdparty" / "zh_Hans" / "LC_MESSAGES"

# Words Chinese-speaking ops write in Latin letters themselves; each is kept as it is in the
# translations of the catalogue, so a page showing it is translated.
ALLOWED = {
    "Gate",  # the exchange's brand name, in the site title ("Gate 广场活动管理")
    "UID",  # Gate's user ID, the name traders and ops use for it
    "USDT",  # the asset's ticker
    "UTC",  # the offset label "UTC+8" that every time on our screens carries
    "API",  # "API 令牌": the REST API and its tokens
    "CSV",  # the payout report's file formats, as the files are named
    "XLSX",
    "SHA",  # "SHA-256", the name of the hash algorithm stored with a post
    "Jaccard",  # the similarity measure of the near-duplicate check, a proper name ("Jaccard 阈值")
    "Webhook",  # "Webhook 投递": the catalogue keeps the word, as Chinese developer docs do
    "slug",  # "标识（slug）": the catalogue names the field and keeps the word ops see in URLs
    "AMQP",  # "AMQP消息头", django-celery-beat's own translation: the protocol's name
}
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


class AdminTexts(HTMLParser):
    """The texts of an admin page that name things, each as (place, text).

    A place is the innermost element that starts it: a `thead th`, a heading or summary inside
    `#changelist-filter`, a `label`, an `h1`/`h2`/`legend` of the content, a caption or cell of the
    app list (the sidebar, or the home's list), the breadcrumbs, the `<title>`. Texts inside an
    inline's `.inline_label` (the inline row's object) are data and left out.
    """

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, id, classes, serial)
        self.serial = 0
        self.found = {}  # (place, serial) -> [text pieces]

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        self.serial += 1
        self.stack.append((tag, attrs.get("id") or "", set((attrs.get("class") or "").split()), self.serial))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def _place(self):
        tags = [entry[0] for entry in self.stack]
        ids = {entry[1] for entry in self.stack}
        if any("inline_label" in entry[2] for entry in self.stack):
            return None
        in_app_list = any(any(c.startswith("app-") for c in entry[2]) and "module" in entry[2] for entry in self.stack)
        for tag, _id, classes, serial in reversed(self.stack):
            if tag == "title":
                return "title", serial
            if "breadcrumbs" in classes:
                return "breadcrumbs", serial
            if tag == "th" and "thead" in tags:
                return "column header", serial
            if tag in ("h2", "h3", "summary") and "changelist-filter" in ids:
                return "filter title", serial
            if tag == "label":
                return "label", serial
            if tag in ("caption", "th", "td") and ("nav-sidebar" in ids or in_app_list):
                return "app list", serial
            if tag in ("h1", "h2", "legend") and "content" in ids:
                return "heading", serial
        return None

    def handle_data(self, data):
        place = self._place()
        if place is not None and data.strip():
            self.found.setdefault(place, []).append(data)

    def texts(self):
        return [(place, " ".join(" ".join(pieces).split())) for (place, _serial), pieces in self.found.items()]


def english_left(html, data=()):
    """(place, text, words) for each naming text with Latin words outside ALLOWED, once the
    strings of `data` (what the rows say) are taken out of it."""
    parser = AdminTexts()
    parser.feed(html)
    left = []
    for place, text in parser.texts():
        for value in data:
            text = text.replace(value, " ")
        words = sorted(set(LATIN_WORD.findall(text)) - ALLOWED)
        if words:
            left.append((place, text, words))
    return left


def test_the_reader_finds_english_in_each_place_and_leaves_the_data_out():
    html = (
        "<html><head><title>alpha | 修改 奖励 | Gate 广场活动管理</title></head><body>"
        '<nav id="nav-sidebar"><div class="app-rewards module"><table><caption><a>Rewards</a></caption>'
        '<tr><th scope="row"><a>奖励</a></th><td><a class="addlink">增加</a></td></tr></table></div></nav>'
        '<div class="breadcrumbs"><a>首页</a> &rsaquo; alpha</div><div id="content"><h1>修改 奖励</h1><h2>alpha</h2>'
        '<fieldset><h2 class="fieldset-heading">Money</h2><label>settlement run:</label><div class="readonly">Star Lead Traders</div>'
        '<h3><b>事件:</b> <span class="inline_label">approve by root</span></h3>'
        "<table><thead><tr><th>created at</th><th>日期（UTC+8）</th></tr></thead><tbody><tr><td>some data</td></tr></tbody></table></fieldset>"
        '<div id="changelist-filter"><h2>过滤器</h2><details><summary> 以 payout batch </summary><ul><li>BATCH-7</li></ul></details></div>'
        "</div></body></html>"
    )
    assert english_left(html, data=["alpha"]) == [
        ("app list", "Rewards", ["Rewards"]),
        ("heading", "Money", ["Money"]),
        ("label", "settlement run:", ["run", "settlement"]),
        ("column header", "created at", ["created"]),
        ("filter title", "以 payout batch", ["batch", "payout"]),
    ]
    assert {place for place, _text, _words in english_left(html)} >= {"title", "breadcrumbs", "heading"}


@pytest.fixture
def full_admin(campaign, settings, tmp_path):
    """The scenario settled, approved, paid, settled again without trader 1001's posts, a review
    item kept (an adjustment), and one row at least of every other model the admin lists."""
    settings.MEDIA_ROOT = tmp_path
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    Group.objects.create(name="finance")
    scenario_load(campaign)
    registrations_import(data=b"uid,nickname,market,status,applied_at,approved_at\nnot-a-uid,x,futures,approved,2026-02-01T10:00:00Z,\n")
    first = json.loads(posts_jsonl().splitlines()[0])
    assert posts_import_file(campaign=campaign, data=(json.dumps({**first, "likes": 40}) + "\n").encode()).ok  # an engagement snapshot
    reference_texts_import(campaign=campaign, data="Desk letter: flat funding, a small hedge kept, nothing else moved this week at all.\n".encode())
    posts_moderate(campaign=campaign, post_ids=[Post.objects.get(post_id="b3").pk], action="rejected", note="copy of a chart note", user="root")
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    ids = list(Reward.objects.values_list("pk", flat=True))
    rewards_approve(reward_ids=ids, user=root)
    rewards_mark_paid(reward_ids=ids, reference="BATCH-7", user=root)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=campaign, at=DUE)
    item = ReviewItem.objects.filter(reward__trader__uid=1001, reward__kind=Reward.Kind.LEADERBOARD, status=ReviewItem.Status.OPEN).get()
    assert review_items_close(item_ids=[item.pk], action="keep", user=root, note="paid as ranked then")[0]
    status_links_ensure(campaign=campaign)
    payout_report_store(campaign=campaign, created_by="root")
    settlement_schedule_sync(campaign=campaign)
    api_token_create(user=root, name="CRM sync", scopes=["read"], created_by="root")
    webhook_delivery_receive(campaign=campaign, delivery_id="delivery-1", body=b"[]", items=[])
    # Rows no service of ours writes in a test without a feed, a worker or farming signals.
    FeedCursor.objects.create(campaign=campaign, cursor="page-2", pages=2, items=40, last_pulled_at=timezone.now())
    FarmingThresholds.objects.create(campaign=campaign)
    post = Post.objects.get(post_id="b1")
    ReviewFlag.objects.create(
        campaign=campaign, trader=post.author, post=post, kind=ReviewFlag.Kind.BURST, evidence={"count": 6, "minutes": 30, "posts": ["b1", "b2"]}
    )
    WhatIfRun.objects.create(campaign=campaign, kind=WhatIfRun.Kind.PREVIEW, changes={"score_cap": 400}, at=DUE, created_by=root)
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, SolarSchedule

    IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0", hour="9")
    SolarSchedule.objects.create(event="sunrise", latitude="31.23", longitude="121.47")
    return campaign


def login(client):
    """Log in through the login page, as ops do: django-axes records a stranger's failed attempt
    (kept: a success resets only its own user's) and the login."""
    from axes.models import AccessFailureLog

    assert client.post("/admin/login/", {"username": "stranger", "password": "guess"}).status_code == 200
    AccessFailureLog.objects.create(username="stranger", ip_address="127.0.0.1", user_agent="curl", path_info="/admin/login/", locked_out=False)
    assert client.post("/admin/login/", {"username": "root", "password": PASSWORD}).status_code == 302


def english_report(english):
    """Each English text once, with its place and the pages that show it (the sidebar repeats on
    every page)."""
    pages = {}
    for url, place, text, words in english:
        pages.setdefault((place, text, ", ".join(words)), []).append(url)
    return "\n".join(
        f"[{place}] {text!r} ({words}) on {len(urls)} page(s): {' '.join(urls[:3])}{' ...' if len(urls) > 3 else ''}"
        for (place, text, words), urls in sorted(pages.items())
    )


def row_names(obj):
    with translation.override("zh-hans"):
        name = str(obj)
    return [name, Truncator(name).words(18, truncate="…")]


def test_every_admin_page_in_chinese_names_everything_in_chinese(full_admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    login(client)
    pages = [(anonymous, "/admin/login/", ()), (client, "/admin/", ())]
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="root")
    empty = []
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append((client, reverse(f"{name}_changelist"), ()))
        if model_admin.has_add_permission(request):
            pages.append((client, reverse(f"{name}_add"), ()))
        first = model._default_manager.order_by("pk").first()
        if first is None:
            empty.append(model._meta.label)
        else:
            pages.append((client, reverse(f"{name}_change", args=[quote(first.pk)]), row_names(first)))
    assert empty == [], f"models with no row: their lists print no column headers, so nothing of them is checked: {empty}"
    english, checked = [], 0
    for reader, url, data in pages:
        response = reader.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.headers["Content-Language"] == "zh-hans", url
        html = response.content.decode()
        checked += 1
        english += [(url, place, text, words) for place, text, words in english_left(html, data)]
    report = english_report(english)
    print(report)
    assert checked == len(pages) > 2 * len(admin.site._registry)
    assert not english, f"{len(english)} texts of the Chinese admin still in English:\n{report}"


def test_the_packages_catalogue_is_translated_and_its_compiled_files_are_current():
    """locale_thirdparty/ holds what the packages' own catalogues lack; its .mo files are what
    Django reads, so each must hold every entry of its .po as written there."""
    for domain in ("django", "djangojs"):
        po = THIRDPARTY / f"{domain}.po"
        entries = messages(po_entries(po))
        assert entries, po
        assert [e["msgid"] for e in entries if "fuzzy" in e["flags"] or not all(t.strip() for t in translations(e))] == []
        with open(po.with_suffix(".mo"), "rb") as mo:
            compiled = gettext.GNUTranslations(mo)._catalog
        written = {(e["msgid"], 0) if "msgid_plural" in e else e["msgid"]: e.get("msgstr", e.get("msgstr_0")) for e in entries}
        assert {key: compiled.get(key) for key in written} == written, (
            f"{po.name} changed since it was compiled: msgfmt -o {po.with_suffix('.mo').name} {po.name}"
        )


def test_the_admin_reads_the_packages_messages_in_chinese():
    """Second in LOCALE_PATHS: Django's newest admin messages, django-axes' and django-celery-beat's,
    in the server's catalogue and in the admin's script catalogue."""
    with translation.override("zh-hans"):
        assert [translation.gettext(m) for m in ("Model name", "Attempt Time", "Execution Options")] == ["模型名称", "尝试时间", "执行选项"]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    script = client.get("/admin/jsi18n/").content.decode()
    assert json.dumps({"Choose all %s": "选择全部 %s"})[1:-1] in script  # the script's catalogue is JSON


def test_the_check_would_see_a_field_shown_under_its_english_name(full_admin):
    """The check is not blind: the reward list in English has English headers where it finds them."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    login(client)
    left = english_left(client.get("/admin/rewards/reward/").content.decode())
    assert ("column header", "Trader", ["Trader"]) in left
    assert ("app list", "Rewards", ["Rewards"]) in left
