"""One body limit for the webhook and the API (config/middleware.py): over settings.MAX_BODY_BYTES
is 413 JSON, decided before the body is kept; at the limit is taken. The real-server tests run
gunicorn, as production does, because Django's own test server reads every body to its end and
would hide a server that resets the connection on a sender still writing."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaign import signing
from campaign.models import Post, WebhookDelivery
from tests.factories import post_item

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
SLUG = "star-lead-traders-2"
LIMIT = 5 * 1024 * 1024
OVER = 6_000_000
TOO_LARGE = {"error": "too_large", "detail": "the body is 6,000,000 bytes; the limit is 5,242,880 bytes"}


def padded(document: bytes, size: int) -> bytes:
    """`document` followed by JSON whitespace up to exactly `size` bytes (cheap to parse, any size)."""
    assert len(document) <= size
    return document + b" " * (size - len(document))


def webhook_headers(body, delivery):
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id=delivery)
    return {**headers, "Content-Type": "application/json"}


def test_the_default_limit_is_five_mib_for_both_doors_and_django_alike():
    assert settings.MAX_BODY_BYTES == LIMIT == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.mark.parametrize("path", ["/hooks/posts/", "/api/v1/hooks/posts/", f"/api/v1/campaigns/{SLUG}/posts/", "/api/v1/registrations/"])
def test_a_body_over_the_limit_is_a_json_413_at_every_door(client, campaign, path):
    # No credentials at all: the size is answered first, before the signature or the token is looked at.
    response = client.post(path, data=b"[" + b" " * (OVER - 2) + b"]", content_type="application/json")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json() == TOO_LARGE


def test_a_body_one_byte_over_the_limit_is_refused_and_one_at_the_limit_is_taken(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    document = json.dumps({"campaign": SLUG, "items": [post_item("at-limit", 1)]}).encode()
    over = padded(document, LIMIT + 1)
    response = client.post("/hooks/posts/", data=over, content_type="application/json", headers=webhook_headers(over, "over-1"))
    assert response.status_code == 413
    assert response.json()["detail"] == "the body is 5,242,881 bytes; the limit is 5,242,880 bytes"
    at_limit = padded(document, LIMIT)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/hooks/posts/", data=at_limit, content_type="application/json", headers=webhook_headers(at_limit, "at-limit-1"))
    assert response.status_code == 202, response.content[:300]
    assert Post.objects.filter(post_id="at-limit").exists()
    assert not WebhookDelivery.objects.filter(delivery_id="over-1").exists()


def test_an_api_batch_at_the_limit_is_taken(ingest_client, campaign):
    body = padded(json.dumps([post_item("api-at-limit", 1)]).encode(), LIMIT)
    response = ingest_client.post(f"/api/v1/campaigns/{SLUG}/posts/", data=body, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    assert Post.objects.filter(post_id="api-at-limit").exists()


def test_the_limit_follows_the_setting(client, campaign, settings):
    settings.MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/hooks/posts/", data=b"{" + b" " * 1000 + b"}", content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"] == "the body is 1,002 bytes; the limit is 1,000 bytes"


def test_pages_outside_the_two_doors_are_not_limited_by_it(client, settings):
    # The admin's file imports have their own limits (multipart files are not held in memory).
    settings.MAX_BODY_BYTES = 10
    assert client.post("/admin/login/", data={"username": "x" * 100, "password": "y"}).status_code != 413


# --- against gunicorn --------------------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(tmp_path_factory):
    """The test database where gunicorn can reach it (PostgreSQL); on SQLite the test database is
    in memory, so gunicorn gets an empty file: enough for the answers that read no table."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'empty.sqlite3'}"


@pytest.fixture(scope="module")
def gunicorn_url(django_db_setup, tmp_path_factory):
    """gunicorn config.wsgi (gthread, as the README's production shape) on a free local port,
    production settings, the test database; stopped by its own process group."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(tmp_path_factory),
        "SECRET_KEY": settings.SECRET_KEY,
        "WEBHOOK_SECRET": settings.WEBHOOK_SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "MAX_BODY_BYTES": str(settings.MAX_BODY_BYTES),
    }
    log = open(tmp_path_factory.mktemp("gunicorn-log") / "gunicorn.log", "w+")
    cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", "1", "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"gunicorn exited: {Path(log.name).read_text()[-2000:]}"
            try:
                if requests.get(f"{url}/hooks/posts/", timeout=5).status_code == 405:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start within 60 s"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        log.close()


@pytest.mark.parametrize("path", ["/hooks/posts/", f"/api/v1/campaigns/{SLUG}/posts/"])
def test_a_client_sending_6_mb_reads_the_413_json_from_gunicorn(gunicorn_url, path):
    body = b"[" + b" " * (OVER - 2) + b"]"
    headers = {"Content-Type": "application/json", "Authorization": "Bearer not-checked-before-the-size"}
    response = requests.post(f"{gunicorn_url}{path}", data=body, headers=headers, timeout=60)
    assert response.status_code == 413 and response.headers["Content-Type"] == "application/json"
    assert response.json() == TOO_LARGE


def _read_response(sock):
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.read()


def test_a_sender_that_writes_all_6_mb_before_reading_gets_the_413_and_its_connection_stays_usable(gunicorn_url):
    """The server reads the refused body to its end (drained, never kept): the sender's writes all
    succeed, the 413 is there to read, and the same connection takes the next request. A server
    that answered without draining would reset it (gunicorn itself drains only 64 KiB)."""
    port = int(gunicorn_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        head = f"POST /hooks/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {OVER}\r\n\r\n"
        sock.sendall(head.encode("ascii"))
        for _ in range(OVER // 100_000):
            sock.sendall(b" " * 100_000)
        status, answer = _read_response(sock)
        assert (status, json.loads(answer)) == (413, TOO_LARGE)
        sock.sendall(b"GET /hooks/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, answer = _read_response(sock)
        assert status == 405 and json.loads(answer)["error"] == "method_not_allowed"


def test_a_body_under_the_limit_refused_before_it_is_read_still_leaves_the_connection_usable(gunicorn_url):
    """A 401 for a bad token is decided before the body is parsed; the rest of the body is still
    read (bounded by the limit), so the sender reads the 401 and may send its next request."""
    port = int(gunicorn_url.rsplit(":", 1)[1])
    size = 4_000_000
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        head = (
            f"POST /api/v1/campaigns/{SLUG}/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode("ascii") + b"[" + b" " * (size - 2) + b"]")
        status, answer = _read_response(sock)
        assert status == 401 and json.loads(answer)["error"] == "authentication_failed"
        sock.sendall(b"GET /hooks/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _read_response(sock)[0] == 405


def test_a_chunked_body_over_the_limit_is_a_413_with_its_size(gunicorn_url):
    def chunks():  # a generator: requests sends it chunked, with no Content-Length
        for _ in range(OVER // 100_000):
            yield b" " * 100_000

    response = requests.post(f"{gunicorn_url}/hooks/posts/", data=chunks(), headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 413 and response.json() == TOO_LARGE


def test_a_chunked_body_under_the_limit_reaches_the_view_whole(gunicorn_url):
    """Django alone reads a body without Content-Length as empty, so the signature (over the real
    body) would not match; read whole, it matches, and the body is then judged as JSON."""
    body = b"not json, but signed"
    headers = webhook_headers(body, "chunked-1")
    response = requests.post(f"{gunicorn_url}/hooks/posts/", data=iter([body[:7], body[7:]]), headers=headers, timeout=60)
    assert response.status_code == 400 and response.json()["error"] == "bad_json", response.content[:300]


@pytest.mark.postgres
def test_deliveries_at_the_limit_are_taken_by_gunicorn_with_or_without_content_length(gunicorn_url, transactional_db, campaign):
    document = json.dumps({"campaign": SLUG, "items": [post_item("g-at-limit", 1)]}).encode()
    at_limit = padded(document, LIMIT)
    response = requests.post(f"{gunicorn_url}/hooks/posts/", data=at_limit, headers=webhook_headers(at_limit, "g-at-limit"), timeout=60)
    assert response.status_code == 202, response.content[:300]
    chunked = padded(json.dumps({"campaign": SLUG, "items": [post_item("g-chunked", 1)]}).encode(), LIMIT)
    pieces = (chunked[i : i + 1_000_000] for i in range(0, len(chunked), 1_000_000))
    response = requests.post(f"{gunicorn_url}/hooks/posts/", data=pieces, headers=webhook_headers(chunked, "g-chunked"), timeout=60)
    assert response.status_code == 202, response.content[:300]
    assert set(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == {"g-at-limit", "g-chunked"}
    assert all(len(bytes(d.body)) == LIMIT for d in WebhookDelivery.objects.all())


@pytest.mark.parametrize(
    "chunked",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nabc", b"3\r\nabcXX0\r\n\r\n"],
    ids=["bad-size", "cut-short", "no-terminator"],
)
def test_a_broken_chunked_body_is_a_json_answer_not_a_server_error(gunicorn_url, chunked):
    port = int(gunicorn_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        head = b"POST /hooks/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock.sendall(head + chunked)
        sock.shutdown(socket.SHUT_WR)  # the sender stops there
        status, answer = _read_response(sock)
    assert status in {400, 401} and json.loads(answer)["error"] in {"bad_body", "missing_signature"}, (status, answer[:300])
