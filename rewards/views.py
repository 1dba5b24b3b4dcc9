"""HTML pages: the trader status page (personal signed link) and the public campaign page.

Thin shells over `rewards.selectors`. Language: `?lang=<code>` wins for the response and is
remembered in Django's language cookie; otherwise LocaleMiddleware's cookie or Accept-Language.
The switch is a plain link, not a POST to `set_language`: the status page is served with
`Referrer-Policy: no-referrer`, under which browsers send `Origin: null` with a form POST, and
Django's CSRF check refuses that.
"""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views import View

from rewards.selectors import campaign_page_get, status_link_from_token, trader_status_get

LANGUAGE_PARAM = "lang"
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


class TraderStatusView(View):
    """`GET /s/<token>/`: one trader's steps, posts, rewards and rank; 404 with no data for a link
    that is forged, mangled, expired or rotated (all alike, so a prober learns nothing)."""

    http_method_names = ["get", "head"]

    def get(self, request, token):
        code = _language_from_query(request)
        link = status_link_from_token(token=token)
        if link is None:
            response = render(request, "rewards/status_invalid.html", status=404)
            # Django logs every 4xx response with its path, and this path is a credential.
            # `_has_been_logged` is the flag Django's own log_response checks to skip it.
            response._has_been_logged = True
        else:
            response = render(request, "rewards/status.html", {"status": trader_status_get(link=link, now=timezone.now())})
        # The page is personal: no shared cache may keep it, and no link on it may leak its URL.
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return _remember_language(response, code)


class CampaignPageView(View):
    """`GET /c/<slug>/`: the public page of a campaign; the same for every visitor of a language."""

    http_method_names = ["get", "head"]

    def get(self, request, slug):
        code = _language_from_query(request)
        page = campaign_page_get(slug=slug, now=timezone.now())
        response = render(request, "rewards/campaign.html", {"page": page})
        patch_vary_headers(response, ["Accept-Language", "Cookie"])
        if code:
            # It sets a cookie: a shared cache must not hand it to anyone else.
            patch_cache_control(response, private=True, max_age=0)
        else:
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        return _remember_language(response, code)
