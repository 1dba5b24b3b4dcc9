"""What the trader's pages say, in English and Chinese (issue 18): no advice a trader can no longer
follow once the window closed, asset codes and figures written for people, a language switch
that keeps the page of posts, a star colour readable by WCAG's measure, a skip link and a favicon."""

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.staticfiles import finders

from campaign.services import posts_import_file
from rewards.selectors.links import status_link_token
from rewards.selectors.status import trader_status_get
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from rewards.services.traffic import traffic_refresh
from tests.factories import WINDOW_END, RegistrationFactory, SignupFactory, TraderFactory, enrolled_trader
from tests.rewards.scenario import scenario_load
from traders.models import Trader
from traders.services import trader_stats_import

pytestmark = pytest.mark.django_db
OPEN = datetime.fromisoformat("2026-02-20T12:00:00+08:00")  # inside the window (2026-02-12 18:00 - 02-25 00:00)
CLOSED = datetime.fromisoformat("2026-02-25T12:00:00+08:00")  # after the window, before the final settlement
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")  # the final settlement (window end + 24 h grace)
AFTER = datetime.fromisoformat("2026-03-01T00:00:00+08:00")
EN, ZH = "en", "zh-hans"


@pytest.fixture
def settled(campaign):
    """The scenario of tests/rewards/scenario.py, with the copier PnL of the issue for 1001, settled finally."""
    scenario_load(campaign)
    assert trader_stats_import(data=b"uid,as_of,new_copiers,copier_pnl_usdt\n1001,2026-02-24T23:30:00+08:00,10,1250.4\n").ok
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    return campaign


def url_of(campaign, trader):
    return f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"


def html_at(client, url, lang, at=AFTER):
    with time_machine.travel(at, tick=False):
        response = client.get(url, {"lang": lang})
    assert response.status_code == 200
    return response.content.decode()


def text_of(html):
    """The page's words without its tags, spaces collapsed (a sentence may span an element)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- 1. After the window closed: what was missing, without advice --------------------------------

NOT_ENROLLED_OVER = {
    EN: ["The campaign window has closed. The final settlement has run: the results below are final.",
         "The campaign is over and you were not enrolled: below is what was not completed.", "Not completed",
         "You were registered as a spot lead trader; the campaign needed a futures lead-trader registration.",
         "You were not enrolled in the campaign, so it does not count.", "No rewards: the final settlement gave you none."],
    ZH: ["活动已结束。 最终结算已完成：以下结果为最终结果。", "活动已结束，你未具备参与资格：未完成的步骤见下方。", "未完成（已截止）",
         "你注册的是现货带单交易员；本活动要求的是合约带单交易员注册。", "你未具备本次活动的参与资格，因此该帖不计入。", "无奖励：最终结算没有给你分配奖励。"],
}  # fmt: skip
# The advice of the open window, which the trader can no longer follow.
ADVICE = {
    EN: ["Finish steps 1 and 2", "You are not enrolled yet.", "the campaign needs a futures", "Sign up again", "Register as a futures",
         "Publish original trading content", "more to go", "No rewards yet."],
    ZH: ["请完成第 1 步和第 2 步", "你尚不具备参与资格。", "本活动要求注册合约带单交易员", "请在活动期间内重新报名", "请注册成为合约跟单带单交易员",
         "请在 Gate 广场发布原创交易内容", "还差", "暂无奖励。"],
}  # fmt: skip


@pytest.mark.parametrize("lang", [EN, ZH])
def test_after_the_final_settlement_a_trader_who_was_not_enrolled_is_told_the_campaign_is_over_and_what_was_missing(client, settled, lang):
    text = text_of(html_at(client, url_of(settled, Trader.objects.get(uid=1004)), lang))
    for sentence in NOT_ENROLLED_OVER[lang]:
        assert sentence in text, sentence
    for advice in ADVICE[lang]:
        assert advice not in text, advice


NO_POSTS_OVER = {
    EN: ["You published no posts in the campaign window.", "We have no post of yours from this campaign."],
    ZH: ["你在活动期间内没有发布帖子。", "我们没有收到你在本次活动中的帖子。"],
}


@pytest.mark.parametrize("lang", [EN, ZH])
def test_after_the_window_closed_a_trader_without_posts_is_told_they_published_none(client, settled, lang):
    url = url_of(settled, enrolled_trader(uid=5005, nickname="eve"))
    for at in (CLOSED, AFTER):  # before the final settlement too: a post written now would not count
        text = text_of(html_at(client, url, lang, at=at))
        for sentence in NO_POSTS_OVER[lang]:
            assert sentence in text, (at, sentence)
        assert ADVICE[lang][5] not in text and ("Publish" if lang == EN else "请在") not in text


@pytest.mark.parametrize("lang", [EN, ZH])
def test_while_the_window_is_open_the_missing_steps_still_say_what_to_do(client, campaign, lang):
    scenario_load(campaign)
    spot, silent = Trader.objects.get(uid=1004), enrolled_trader(uid=5005, nickname="eve")
    text = text_of(html_at(client, url_of(campaign, spot), lang, at=OPEN))
    assert ADVICE[lang][0] in text and ADVICE[lang][1] in text and ADVICE[lang][2] in text
    assert NOT_ENROLLED_OVER[lang][1] not in text and NOT_ENROLLED_OVER[lang][2] not in text
    text = text_of(html_at(client, url_of(campaign, silent), lang, at=OPEN))
    assert ADVICE[lang][5] in text and NO_POSTS_OVER[lang][0] not in text


def test_a_registration_still_counts_at_the_final_settlement_so_until_then_its_step_is_not_final(campaign):
    """Enrolment is evaluated at settlement time (RULES.md section 2): after the window, a spot
    trader who signed up in time can still be approved on futures before the final settlement;
    the sign-up and the posts can no longer change."""
    scenario_load(campaign)
    link = status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=1004))
    closed = trader_status_get(link=link, now=CLOSED)
    assert [(s.key, s.done, s.final) for s in closed.steps] == [("registration", False, False), ("signup", True, True), ("posts", False, False)]
    assert (closed.phase, closed.over, closed.enrolment_over) == ("closed", False, False)
    settle_campaign(campaign=campaign, at=DUE)
    over = trader_status_get(link=link, now=AFTER)
    assert [(s.key, s.done, s.final) for s in over.steps] == [("registration", False, True), ("signup", True, True), ("posts", False, True)]
    assert (over.over, over.enrolment_over) == (True, True)
    opened = trader_status_get(link=link, now=OPEN)
    assert not any(step.final for step in opened.steps) and not opened.over and not opened.enrolment_over


def test_without_a_sign_up_in_the_window_the_registration_is_final_as_soon_as_the_window_closed(campaign):
    trader = TraderFactory(uid=5006)
    RegistrationFactory(trader=trader, status="pending")
    SignupFactory(trader=trader, campaign=campaign, submitted_at=WINDOW_END)  # the window excludes its end
    status = trader_status_get(link=status_link_get_or_create(campaign=campaign, trader=trader), now=CLOSED)
    assert [(s.key, s.reason, s.final) for s in status.steps] == [
        ("registration", "registration_pending", True), ("signup", "signup_outside_window", True), ("posts", "no_posts", True)]
    assert status.enrolment_over and not status.over


# --- 2. Asset names and figures -------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "trial"), [(EN, "30.00 trial fund"), (ZH, "30.00 体验金")])
def test_asset_codes_read_as_words_on_the_status_and_public_pages(client, settled, lang, trial):
    status = html_at(client, url_of(settled, Trader.objects.get(uid=1001)), lang)
    public = html_at(client, f"/c/{settled.slug}/", lang)
    for html in (status, public):
        assert trial in text_of(html) and "TRIAL_FUND" not in html
    assert "USDT" in status and "USDT" in public  # USDT stays USDT


@pytest.mark.parametrize(("lang", "pnl"), [(EN, "1,250.40 × 0.01 = 12.504"), (ZH, "1250.40 × 0.01 = 12.504")])  # Chinese groups digits by 4
def test_a_breakdown_shows_amounts_to_the_cent_and_weights_with_few_decimals(client, settled, lang, pnl):
    html = html_at(client, url_of(settled, Trader.objects.get(uid=1001)), lang)
    board = html.split('data-testid="breakdown-leaderboard"', 1)[1].split("</details>", 1)[0]
    assert re.search(r'data-testid="pnl-points">([^<]*)<', board).group(1) == pnl
    assert re.search(r'data-testid="copier-points">([^<]*)<', board).group(1) == "10 × 5.00 = 50"  # 10 new copiers, 5 points each
    assert "1250.40000000" not in html and "0.0100" not in html
    thousands = "4,000.00" if lang == EN else "4000.00"
    assert re.search(r'data-testid="breakdown-tier">([^<]*)<', board).group(1) == thousands
    assert re.search(r'data-testid="breakdown-amount"><strong>([^<]*)<', board).group(1) == f"{thousands} USDT"
    pool = html.split('data-testid="breakdown-content_pool"', 1)[1].split("</details>", 1)[0]
    assert re.search(r'data-testid="breakdown-amount"><strong>([^<]*)<', pool).group(1) == "100.00 USDT"


# --- 3. The language switch keeps the page ----------------------------------------------------------

def test_switching_language_on_page_2_stays_on_page_2(client, campaign):
    trader = enrolled_trader(uid=7002, nickname="many")
    lines = [json.dumps({"post_id": f"m{i}", "author_uid": 7002, "created_at": f"2026-02-{13 + i % 10}T10:{i % 60:02d}:00+08:00",
                         "text": f"BTC futures long {i} " + "word " * 30 + f"{i * 7919}", "likes": i, "comments": 0, "shares": 0,
                         "views": 0, "deleted": False}) for i in range(60)]  # fmt: skip
    assert posts_import_file(campaign=campaign, data="\n".join(lines).encode()).ok
    url = url_of(campaign, trader)
    with time_machine.travel(AFTER, tick=False):
        second = client.get(url, {"page": "2", "lang": EN}).content.decode()
        links = dict(re.findall(r'<a href="\?([^"]*)" hreflang="[^"]+" lang="[^"]+" data-lang="([^"]+)"', second.replace("&amp;", "&")))
        assert links == {"page=2&lang=en": "en", "page=2&lang=zh-hans": "zh-hans"}
        switched = client.get(url + "?" + "page=2&lang=zh-hans").content.decode()  # the link followed
        first = client.get(url, {"lang": EN}).content.decode()

    def shown(html):
        return re.findall(r'data-post-id="([^"]+)"', html)

    assert 'lang="zh-hans"' in switched and shown(switched) == shown(second) and len(shown(second)) == 10  # still page 2 (of 60, 50 a page)
    assert set(shown(first)).isdisjoint(shown(second))
    assert 'href="?lang=zh-hans"' in first  # page 1 needs no page in its links


# --- 4. Contrast, skip link, favicon -------------------------------------------------------------

SITE_CSS = Path(settings.BASE_DIR) / "static" / "rewards" / "site.css"


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour "#rrggbb" or "#rgb"."""
    digits = hex_colour.lstrip("#")
    digits = "".join(c * 2 for c in digits) if len(digits) == 3 else digits
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def css_rules(css: str) -> dict[str, dict[str, str]]:
    """Selector -> declarations of the stylesheet's plain rules (comments dropped, media queries ignored)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = dict(
            (name.strip(), value.strip()) for name, value in (part.split(":", 1) for part in body.split(";") if ":" in part)
        )
        for one in selector.split(","):
            rules.setdefault(one.strip(), {}).update(declarations)
    return rules


def resolved(value: str, variables: dict[str, str]) -> str:
    while (match := re.fullmatch(r"var\((--[\w-]+)\)", value.strip())) is not None:
        value = variables[match.group(1)]
    return value.strip()


def test_the_wcag_formula_gives_the_contrast_the_issue_measured():
    assert round(contrast_ratio("#bf8700", "#fff"), 2) == 3.14  # the old gold on a white card
    assert round(contrast_ratio("#bf8700", "#fff1c2"), 2) == 2.79  # on the star badge
    assert round(contrast_ratio("#000", "#fff"), 0) == 21


@pytest.mark.parametrize(("selector", "on"), [(".badge.star", None), (".stars li", ".card")])
def test_the_star_trader_gold_text_contrasts_at_least_4_5_to_1_with_its_background(selector, on):
    rules = css_rules(SITE_CSS.read_text(encoding="utf-8"))
    variables = {name: value for name, value in rules[":root"].items() if name.startswith("--")}
    text = resolved(rules[selector]["color"], variables)
    background = resolved(rules[on or selector]["background"], variables)
    assert re.fullmatch(r"#[0-9a-fA-F]{3,6}", text) and re.fullmatch(r"#[0-9a-fA-F]{3,6}", background), (text, background)
    assert contrast_ratio(text, background) >= 4.5, (selector, text, background)


class Focusables(HTMLParser):
    """The focusable elements of a page's body, in document order, and every id."""

    def __init__(self):
        super().__init__()
        self.in_body, self.focusable, self.ids = False, [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "body":
            self.in_body = True
        elif self.in_body and ((tag == "a" and "href" in attrs) or tag in ("button", "input", "select", "textarea", "summary")
                               or attrs.get("tabindex", "-1").isdigit()):  # tabindex="-1" is focusable by script only  # fmt: skip
            self.focusable.append((tag, attrs))


def trader_pages(client, campaign, lang):
    return {
        "status": html_at(client, url_of(campaign, Trader.objects.get(uid=1001)), lang),
        "public": html_at(client, f"/c/{campaign.slug}/", lang),
        "invalid link": client.get("/s/not-a-token/", {"lang": lang}).content.decode(),
    }


@pytest.mark.parametrize(("lang", "words"), [(EN, "Skip to content"), (ZH, "跳到正文")])
def test_a_skip_link_to_the_content_is_the_first_focusable_element_of_every_trader_page(client, settled, lang, words):
    for name, html in trader_pages(client, settled, lang).items():
        parser = Focusables()
        parser.feed(html)
        tag, attrs = parser.focusable[0]
        assert (tag, attrs.get("href"), attrs.get("class")) == ("a", "#content", "skip-link"), name
        assert f'class="skip-link" href="#content">{words}</a>' in html and "content" in parser.ids, name


def test_every_trader_page_links_a_favicon_that_the_content_security_policy_allows(client, settled):
    for name, html in trader_pages(client, settled, EN).items():
        icons = re.findall(r'<link rel="icon" href="([^"]+)"', html)
        assert icons and all(href.startswith("/static/rewards/favicon.") for href in icons), name  # same origin
    csp = client.get(f"/c/{settled.slug}/")["Content-Security-Policy"]
    assert "img-src 'self'" in csp  # same-origin icons load under it
    svg = Path(finders.find("rewards/favicon.svg")).read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "<script" not in svg and "<style" not in svg and "href" not in svg
    assert Path(finders.find("rewards/favicon.ico")).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO header


def test_favicon_ico_answers_with_a_redirect_to_the_static_icon_not_a_404(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("rewards/favicon.ico") and finders.find("rewards/favicon.ico")
