"""Status links: the signed token of a trader's link to the status page, its URL, and the link a
token stands for (refusing forged, mangled, expired and rotated ones alike)."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from rewards.models import StatusLink

STATUS_SALT = "rewards.status"
# A signed token of a UID, a slug and a version is about 100 characters; anything far longer is
# not one of ours and is refused before any work is done on it.
MAX_TOKEN_LENGTH = 400


def status_link_token(link: StatusLink) -> str:
    """The signed token of a link: (UID, campaign slug, version), timestamped by the signer.

    Signed with SECRET_KEY under its own salt, so no other signed value of the site can pass
    for one. Each call gives a fresh timestamp; older tokens stay valid until they expire
    (STATUS_LINK_MAX_AGE_DAYS) or the link is rotated.
    """
    return signing.dumps({"u": link.trader.uid, "c": link.campaign.slug, "v": link.version}, salt=STATUS_SALT)


def status_link_url(link: StatusLink) -> str:
    """The absolute URL ops send to the trader (SITE_URL + /s/<token>/)."""
    return settings.SITE_URL + reverse("rewards:status", args=[status_link_token(link)])


def status_token_claims(*, token: str) -> tuple[int, str, int] | None:
    """(trader uid, campaign slug, link version) signed in a token that is neither forged,
    mangled nor expired; None otherwise. No query: whether the link was rotated since is for
    `status_link_from_token` (or a page cached under the current version) to say."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        data = signing.loads(token, salt=STATUS_SALT, max_age=timedelta(days=settings.STATUS_LINK_MAX_AGE_DAYS))
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict):
        return None
    uid, slug, version = data.get("u"), data.get("c"), data.get("v")
    if not (isinstance(uid, int) and isinstance(slug, str) and isinstance(version, int)):
        return None
    return uid, slug, version


def status_link_from_token(*, token: str) -> StatusLink | None:
    """The link a token stands for, or None when it is forged, mangled, expired or rotated.

    One query (the link with its campaign, trader and the trader's registration). The caller
    must not tell the cases apart to the visitor: every refusal looks the same.
    """
    claims = status_token_claims(token=token)
    if claims is None:
        return None
    uid, slug, version = claims
    # At most one row (one link per campaign and trader): no ORDER BY, which with the model's
    # ordering across the joins cost a quarter of a cached page's time.
    rows = StatusLink.objects.select_related("campaign", "trader", "trader__registration").filter(campaign__slug=slug, trader__uid=uid, version=version)
    return next(iter(rows.order_by()[:1]), None)
