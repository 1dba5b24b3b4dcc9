"""HTML pages: the trader status page (personal signed link) and the public campaign page.

Thin shells over `rewards.selectors`. Language: `?lang=<code>` wins for the response and is
remembered in Django's language cookie; otherwise LocaleMiddleware's cookie or Accept-Language.
The switch is a plain link to the same page (the status page's page of posts kept), not a POST
to `set_language`: the status page is served with `Referrer-Policy: no-referrer`, under which
browsers send `Origin: null` with a form POST, and Django's CSRF check refuses that.

Both pages are kept rendered in the server's cache (`campaign.page_cache`), each stored with the
campaign's data version it was rendered under, so most requests cost one cache read (the page and
the current version together). The status link is always checked first: a rotated or expired link
never reaches a cached page. What goes into a key is everything else the HTML depends on: the
page's owner (link and its version), the language, the `?lang=` switch (the pager's links keep
it), the page number, the phase of the window. A breakdown's page (its long lists of posts, a page
at a time) is keyed by the same, plus the reward's kind and period and which computation.
"""

import re

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views import View

from campaign.page_cache import page_cache_lookup, page_cache_set, page_campaign_get
from campaign.selectors import campaign_get
from rewards.models import Reward
from rewards.selectors.board import window_phase
from rewards.selectors.breakdown_pages import reward_breakdown_page_get
from rewards.selectors.links import status_link_from_token, status_token_claims
from rewards.selectors.public import campaign_page_get
from rewards.selectors.status import trader_status_get

LANGUAGE_PARAM = "lang"
PAGE_PARAM = "page"
MAX_PAGE = 10_000  # far beyond any trader's posts; bounds the keys a valid link can make
PERIOD_RE = re.compile(r"[A-Z0-9]{1,10}")  # "ALL", "P1", ...: bounds the keys too
PUBLIC_MAX_AGE = 300


def _language_from_query(request) -> str | None:
    code = request.GET.get(LANGUAGE_PARAM, "")
    if code not in dict(settings.LANGUAGES):
        return None
    translation.activate(code)
    request.LANGUAGE_CODE = code
    return code


def _remember_language(response, code: str | None):
    if code:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response


def _page_number(request) -> int:
    raw = request.GET.get(PAGE_PARAM, "")
    return min(int(raw), MAX_PAGE) if raw.isdigit() and int(raw) > 0 else 1


def _cached(campaign, key: str | None, render_page) -> HttpResponse:
    """The page stored under `key` for the campaign's current data version, or `render_page()`
    stored there (a 200 only) for the next visitor. One cache round trip on a hit."""
    if key is None:
        return render_page()
    version, content = page_cache_lookup(campaign.pk, key)
    if content is not None:
        return HttpResponse(content)
    response = render_page()
    if version is not None and response.status_code == 200:
        page_cache_set(key, version, response.content)
    return response


def _page_key(kind: str, campaign, *parts) -> str:
    """The key of a page; the data version it was rendered under is kept with it, not in it."""
    phase = window_phase(campaign, timezone.now())
    return ":".join(str(part) for part in ("pages", kind, campaign.pk, phase, translation.get_language(), *parts))


def _status_key(campaign, claims: tuple[int, str, int], code: str | None, number: int) -> str:
    uid, _slug, link_version = claims
    return _page_key("status", campaign, uid, link_version, code or "", number)


def _refused(request) -> HttpResponse:
    """The answer to a link that is not valid, or to a breakdown the trader does not have."""
    response = render(request, "rewards/status_invalid.html", status=404)
    # Django logs every 4xx response with its path, and this path is a credential.
    # `_has_been_logged` is the flag Django's own log_response checks to skip it.
    response._has_been_logged = True
    return response


def _private(response: HttpResponse, code: str | None) -> HttpResponse:
    # The page is personal: no shared cache may keep it, and no link on it may leak its URL.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return _remember_language(response, code)


def _status_page(request, token: str, code: str | None, number: int) -> HttpResponse:
    """The status page rendered after its link is checked in the database; 404 when it is not valid."""
    link = status_link_from_token(token=token)
    if link is None:
        return _refused(request)
    return render(request, "rewards/status.html", {
        "status": trader_status_get(link=link, now=timezone.now(), page=number),
        "lang_param": f"&{LANGUAGE_PARAM}={code}" if code else "",
        # The language switch keeps the page of posts. Only what the page is keyed by goes into
        # its links (see `_status_key`): a cached page never carries another visitor's query.
        "lang_keep": f"{PAGE_PARAM}={number}&" if number > 1 else "",
    })  # fmt: skip


class TraderStatusView(View):
    """`GET /s/<token>/`: one trader's steps, posts, rewards and rank; 404 with no data for a link
    that is forged, mangled, expired or rotated (all alike, so a prober learns nothing)."""

    http_method_names = ["get", "head"]

    def get(self, request, token):
        code = _language_from_query(request)
        number = _page_number(request)
        # A page is cached only after its link was checked in the database, under the campaign's
        # version of that moment; rotating or deleting a link moves the version. So a cached page
        # under the current version is proof enough, and a hit needs no query at all.
        claims = status_token_claims(token=token)
        campaign = page_campaign_get(claims[1]) if claims else None
        key = _status_key(campaign, claims, code, number) if campaign else None
        response = _cached(campaign, key, lambda: _status_page(request, token, code, number))
        return _private(response, code)


def _breakdown_page(request, token: str, kind: str, period: str, new: bool, code: str | None, number: int) -> HttpResponse:
    """A page of a reward's breakdown, rendered after its link is checked; 404 when the link is not
    valid or the trader has no such reward (or no open review item, with `new`)."""
    link = status_link_from_token(token=token)
    page = None if link is None else reward_breakdown_page_get(link=link, kind=kind, period=period, new=new, number=number)
    if page is None:
        return _refused(request)
    return render(request, "rewards/breakdown.html", {
        "page": page,
        "lang_param": f"&{LANGUAGE_PARAM}={code}" if code else "",
        "lang_query": f"?{LANGUAGE_PARAM}={code}" if code else "",
        "lang_keep": f"{PAGE_PARAM}={number}&" if number > 1 else "",
    })  # fmt: skip


class RewardBreakdownView(View):
    """`GET /s/<token>/breakdown/<kind>/<period>/[new/]`: every line of one reward's breakdown (or
    of its open review item's computation), a page at a time; the status page shows the first.
    The same link check, cache and private headers as the status page."""

    http_method_names = ["get", "head"]

    def get(self, request, token, kind, period, new=False):
        code = _language_from_query(request)
        number = _page_number(request)
        claims = status_token_claims(token=token)
        campaign = page_campaign_get(claims[1]) if claims else None
        key = None
        if campaign and kind in Reward.Kind.values and PERIOD_RE.fullmatch(period):
            key = _status_key(campaign, claims, code, number) + f":breakdown:{kind}:{period}:{int(new)}"
        response = _cached(campaign, key, lambda: _breakdown_page(request, token, kind, period, new, code, number))
        return _private(response, code)


class CampaignPageView(View):
    """`GET /c/<slug>/`: the public page of a campaign; the same for every visitor of a language."""

    http_method_names = ["get", "head"]

    def get(self, request, slug):
        code = _language_from_query(request)
        info = page_campaign_get(slug)
        if info is None:
            raise Http404("no such campaign")
        key = _page_key("public", info)  # a hit needs no query
        response = _cached(info, key, lambda: render(request, "rewards/campaign.html", {"page": campaign_page_get(campaign=campaign_get(slug=slug), now=timezone.now())}))
        patch_vary_headers(response, ["Accept-Language", "Cookie"])
        if code:
            # It sets a cookie: a shared cache must not hand it to anyone else.
            patch_cache_control(response, private=True, max_age=0)
        else:
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        return _remember_language(response, code)
