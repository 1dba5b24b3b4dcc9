"""HTTP client for the exchange's Square post feed (contract: docs/feed-contract.md).

Pure `requests`, no Django: the ingestion service owns persistence and validation. The client only
guarantees the envelope (`items` list, `next_cursor` string or null); each post is handed on as
received so that one malformed post becomes a rejected row in the import, never a stalled feed.

Resuming: `iter_pages` yields every page before it asks for the next one, so a caller that stores
the page's posts and `page.resume_cursor` in one transaction restarts after a crash at exactly the
saved position, with nothing lost and nothing read twice.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class FeedError(Exception):
    """Any failure to read the feed; `url` and `status` say where and how, when known."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class FeedAuthError(FeedError):
    """401/403: the token is wrong or revoked. Never retried, since retrying cannot fix it."""


class FeedRequestError(FeedError):
    """Another 4xx: our request is wrong (bad `since`, unknown cursor). Not retried."""


class FeedUnavailableError(FeedError):
    """5xx, 429 or network errors that outlasted `max_retries`."""


class FeedResponseError(FeedError):
    """A 200 whose body breaks the contract: not JSON, missing keys, a cursor that does not move."""


@dataclass(frozen=True)
class FeedPage:
    items: list[dict]
    next_cursor: str | None
    cursor: str | None

    @property
    def resume_cursor(self) -> str | None:
        """The cursor to store with this page: where the next poll starts.

        A null `next_cursor` means "caught up", so the next poll re-reads from the cursor that
        fetched this page; that re-delivers the last page, which the idempotent upsert absorbs.
        """
        return self.next_cursor if self.next_cursor is not None else self.cursor


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FeedClient:
    """Reads `GET {base_url}/posts` page by page with timeouts, retries and backoff.

    Retries cover transient failures only (5xx, 429, connection errors, timeouts): attempt n waits
    `min(backoff_max, backoff_base * 2**n)`, with full jitter unless `jitter=False`; a 429's
    Retry-After replaces that delay, still capped at `backoff_max`. `sleep` and `clock` are
    injectable so tests neither wait nor depend on the wall clock.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | tuple[float, float] = (3.05, 10),
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        page_size: int = 200,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: bool = True,
        clock: Callable[[], datetime] = _utc_now,
    ):
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.page_size = page_size
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.sleep = sleep
        self.jitter = jitter
        self.clock = clock

    @property
    def posts_url(self) -> str:
        return f"{self.base_url}/posts"

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def fetch_page(self, *, since: datetime | None = None, cursor: str | None = None) -> FeedPage:
        """One page. A cursor carries the position and filter of its sequence, so `since` is
        only sent when starting a new sequence (no cursor)."""
        params: dict[str, str | int] = {"limit": self.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        elif since is not None:
            if since.tzinfo is None or since.utcoffset() is None:
                raise ValueError("since must be an aware datetime; the feed refuses naive instants")
            params["since"] = since.isoformat()
        response = self._get_with_retries(params)
        return self._parse_page(response, cursor)

    def iter_pages(
        self, *, since: datetime | None = None, cursor: str | None = None
    ) -> Iterator[FeedPage]:
        """Pages from `cursor` (or from `since`) until the feed says it is caught up.

        Lazy on purpose: the next request is made only when the caller asks for the next page,
        i.e. after it has stored the current one.
        """
        while True:
            page = self.fetch_page(since=since, cursor=cursor)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _get_with_retries(self, params: dict) -> requests.Response:
        # Named in every error and log line, so ops can replay the exact request.
        url = requests.Request("GET", self.posts_url, params=params).prepare().url
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        attempt = 0
        while True:
            try:
                response = self.session.get(url, headers=headers, timeout=self.timeout)
            except _TRANSIENT_ERRORS as exc:
                failure, delay, status = f"{type(exc).__name__}: {exc}", None, None
            else:
                status = response.status_code
                if status == 200:
                    return response
                if status in (401, 403):
                    raise FeedAuthError(
                        f"feed refused the token ({status}) at {response.url}",
                        url=response.url,
                        status=status,
                    )
                if status not in RETRYABLE_STATUSES and status < 500:
                    raise FeedRequestError(
                        f"feed answered {status} at {response.url}: {response.text[:200]}",
                        url=response.url,
                        status=status,
                    )
                failure = f"HTTP {status}"
                delay = self._retry_after(response) if status == 429 else None
            if attempt >= self.max_retries:
                raise FeedUnavailableError(
                    f"feed still failing after {attempt + 1} attempts at {url}: {failure}",
                    url=url,
                    status=status,
                )
            if delay is None:
                delay = self._backoff(attempt)
            attempt += 1
            logger.warning(
                "feed request failed (%s) at %s; retry %d/%d in %.2fs",
                failure, url, attempt, self.max_retries, delay,
            )
            self.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # The exponent is bounded so a huge max_retries cannot overflow the float.
        delay = min(self.backoff_max, self.backoff_base * (2 ** min(attempt, 32)))
        # Full jitter spreads the retries of many workers that failed together.
        return random.uniform(0, delay) if self.jitter else delay

    def _retry_after(self, response: requests.Response) -> float | None:
        """Seconds asked by Retry-After (delta-seconds or HTTP-date), capped at backoff_max.

        An unreadable header falls back to the exponential backoff rather than failing the read.
        """
        raw = (response.headers.get("Retry-After") or "").strip()
        if not raw:
            return None
        if raw.isdigit():
            seconds = float(raw)
        else:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)  # RFC 9110 dates are always GMT
            seconds = (when - self.clock()).total_seconds()
        return min(self.backoff_max, max(0.0, seconds))

    def _parse_page(self, response: requests.Response, cursor: str | None) -> FeedPage:
        url = response.url
        try:
            body = response.json()
        except ValueError as exc:
            raise FeedResponseError(
                f"feed body is not JSON at {url}: {exc}", url=url, status=200
            ) from exc
        if not isinstance(body, dict) or "items" not in body or "next_cursor" not in body:
            raise FeedResponseError(
                f"feed body lacks 'items' or 'next_cursor' at {url}", url=url, status=200
            )
        items, next_cursor = body["items"], body["next_cursor"]
        if not isinstance(items, list):
            raise FeedResponseError(f"feed 'items' is not a list at {url}", url=url, status=200)
        if next_cursor is not None and (not isinstance(next_cursor, str) or not next_cursor):
            raise FeedResponseError(
                f"feed 'next_cursor' is not a non-empty string or null at {url}",
                url=url,
                status=200,
            )
        if next_cursor is not None and next_cursor == cursor:
            # Following it would loop forever on the same page.
            raise FeedResponseError(f"feed cursor did not advance at {url}", url=url, status=200)
        return FeedPage(items=items, next_cursor=next_cursor, cursor=cursor)
