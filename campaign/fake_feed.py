"""A real local HTTP server that plays the exchange's post feed (docs/feed-contract.md).

Tests and the demo talk to it over a socket with the production `FeedClient`, so retries,
timeouts and pagination are exercised for real instead of through mocks of our own code.

The stream is append-only: `add_posts` with a known `post_id` appends the new version, which a
reader meets again later in the stream, as the contract promises for updates.

    python -m campaign.fake_feed --port 8765 --file campaign/fixtures/feed_posts.jsonl
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import threading
import time
from collections import deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

FIXTURE_PATH = Path(__file__).resolve().parent / "fixtures" / "feed_posts.jsonl"


def load_posts(path: str | Path = FIXTURE_PATH) -> list[dict]:
    """Posts from a JSON Lines file, one object a line; blank lines are skipped."""
    posts = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                posts.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
    return posts


def encode_cursor(offset: int, since: str | None) -> str:
    # The filter rides in the cursor so every page of a sequence applies the same `since`.
    raw = json.dumps({"o": offset, "s": since}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        offset, since = data["o"], data["s"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unknown cursor {cursor!r}") from exc
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError(f"unknown cursor {cursor!r}")
    return offset, since


def _parse_since(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    if parsed.utcoffset() is None:
        raise ValueError("since must carry an offset (Z or +HH:MM)")
    return parsed


class _Fault:
    def __init__(self, status: int, retry_after: int | str | None, body: bytes | None):
        self.status = status
        self.retry_after = retry_after
        self.body = body


class FakeFeedServer:
    """`GET /posts?since=&cursor=&limit=` over a list of posts, in a background thread.

    Use as a context manager (or `start()`/`stop()`). `requests` records every query received,
    `fail_next` scripts error responses and `stall_next` delays responses to provoke timeouts.
    """

    def __init__(
        self,
        posts: list[dict] | None = None,
        *,
        page_size: int = 50,
        token: str = "fake-token",
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.page_size = page_size
        self.token = token
        self.host = host
        self.port = port
        self.requests: list[dict] = []
        self._stream: list[dict] = []
        self._faults: deque[_Fault] = deque()
        self._stalls: deque[float] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add_posts(load_posts() if posts is None else posts)

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake feed is not started")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> FakeFeedServer:
        handler = type("Handler", (_FeedHandler,), {"feed": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        # Daemon handler threads let stop() return while a stalled request is still sleeping.
        self._httpd.daemon_threads = True
        # A short poll interval keeps stop() fast: shutdown() waits for the loop's next poll.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-feed",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = None

    def __enter__(self) -> FakeFeedServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def posts(self) -> list[dict]:
        """Copy of the stream, in order, updates included."""
        with self._lock:
            return [dict(post) for post in self._stream]

    def add_posts(self, posts: list[dict]) -> None:
        with self._lock:
            self._stream.extend(dict(post) for post in posts)

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: int | str | None = None,
        body: bytes | str | None = None,
    ) -> None:
        """The next `count` requests get `status` (and Retry-After, or a raw `body`) instead of a
        page; `fail_next(200, body="not json")` serves a malformed page."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self._lock:
            self._faults.extend(_Fault(status, retry_after, body) for _ in range(count))

    def stall_next(self, seconds: float, count: int = 1) -> None:
        """The next `count` requests wait `seconds` before being answered normally."""
        with self._lock:
            self._stalls.extend([seconds] * count)

    def _handle(self, path: str, query: dict, authorization: str | None):
        """(status, headers, body) for one request; runs on a handler thread."""
        with self._lock:
            self.requests.append(query)
            stall = self._stalls.popleft() if self._stalls else 0
            fault = self._faults.popleft() if self._faults else None
        if stall:
            time.sleep(stall)
        if fault is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            body = fault.body
            if body is None:
                body = _json({"error": f"scripted {fault.status}"})
            return fault.status, headers, body
        if path.rstrip("/") != "/posts":
            return 404, {}, _json({"error": "not found"})
        if authorization != f"Bearer {self.token}":
            return 401, {"WWW-Authenticate": "Bearer"}, _json({"error": "invalid or missing token"})
        try:
            return 200, {}, _json(self._page(query))
        except ValueError as exc:
            return 400, {}, _json({"error": str(exc)})

    def _page(self, query: dict) -> dict:
        limit_text = query.get("limit", str(self.page_size))
        if not limit_text.isdigit() or int(limit_text) < 1:
            raise ValueError(f"limit must be a positive integer, got {limit_text!r}")
        limit = min(int(limit_text), self.page_size)
        if "cursor" in query:
            offset, since_text = decode_cursor(query["cursor"])
        else:
            offset, since_text = 0, query.get("since")
        since = _parse_since(since_text) if since_text else None

        def wanted(post: dict) -> bool:
            if since is None:
                return True
            try:
                return datetime.fromisoformat(post["created_at"]) >= since
            except (KeyError, TypeError, ValueError):
                return True  # let the importer reject a broken post; the feed only relays it

        with self._lock:
            stream = list(self._stream)
        items, position = [], offset
        while position < len(stream) and len(items) < limit:
            if wanted(stream[position]):
                items.append(stream[position])
            position += 1
        more = any(wanted(post) for post in stream[position:])
        next_cursor = encode_cursor(position, since_text) if more else None
        return {"items": items, "next_cursor": next_cursor}


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


class _FeedHandler(BaseHTTPRequestHandler):
    feed: FakeFeedServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        status, headers, body = self.feed._handle(
            parts.path, query, self.headers.get("Authorization")
        )
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing left to tell it

    def log_message(self, format: str, *args) -> None:
        logger.debug("fake feed: " + format, *args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve posts as the exchange's feed would.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--file", default=str(FIXTURE_PATH), help="posts, JSON Lines")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--token", default="fake-token")
    args = parser.parse_args(argv)
    server = FakeFeedServer(
        load_posts(args.file),
        page_size=args.page_size,
        token=args.token,
        host=args.host,
        port=args.port,
    )
    with server:
        print(
            f"fake feed: {len(server.posts)} posts at {server.url}/posts "
            f"(Authorization: Bearer {args.token}); Ctrl-C to stop",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
