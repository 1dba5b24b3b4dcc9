"""Load and exactly-once run of issue 8 item 5: pages under 100 clients, the webhook at 200/s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loadtest .venv/bin/python bench/reliability_load.py \
        [--clients 100 --seconds 60 --webhook-rate 200 --webhook-seconds 60]

1. Prepares the PostgreSQL database of DATABASE_URL (created when missing; `--fresh` drops and
   re-creates a database named loadtest*): `manage.py migrate`, `manage.py demo` (the demo files,
   a feed pull of campaign/fixtures/feed_posts.jsonl, a settlement, the status links), then a few
   hundred synthetic traders and posts (bench.data) through the real import services, a settlement
   as of the window end + grace and `status_links_ensure`.
2. Starts gunicorn `config.wsgi` (gthread) on 127.0.0.1:<free port> with the production settings
   (DEBUG unset; only SSL redirect and the static manifest off, as for a loopback run).
3. Phase A: N closed-loop clients (keep-alive, one request in flight each) for S seconds, each
   alternating the status page of a random trader and the public page; any non-200 or exception
   is an error. Bounded by the deadline and a total request cap.
4. Phase B: an open-loop paced sender (a thread pool) posts R signed deliveries/s for S seconds to
   /hooks/posts/, each with a unique delivery id and one post with a unique post_id; a delivery
   the pool could not start within --drain-seconds after the schedule is "not sent" (the server
   fell behind), apart from errors. The webhook answers 202 (queued); a real Celery worker on its
   own Redis database stores the posts and judges them. gunicorn is then stopped (graceful:
   in-flight requests finish), the worker is given time to store and judge everything, and the
   database is checked: the posts of this run's deliveries are exactly the posts of the
   deliveries answered 202, each stored once, one WebhookDelivery row per 202, every one
   processed, no item refused by the worker, and no post left unjudged.
   While each phase runs, pg_stat_activity is sampled (sessions running, waiting on a lock).
5. Prints a table, writes bench/results/reliability-<date>.json (or --output), exits 0 only when
   both phases had zero errors, storage was exactly once and the webhook rate was sustained
   (everything sent, 200s at >= 95% of the target rate).

Traffic goes to 127.0.0.1 only. Every loop is bounded in time and in count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import free_port  # noqa: E402  (the other harness's helper, reused as is)

HOST = "127.0.0.1"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loadtest"
SLUG = "star-lead-traders-2"
SECRET_KEY = "reliability-load-only-secret-key-never-used-in-production-0123456789abcdef"
REQUEST_TIMEOUT = 30.0


def log(message: str) -> None:
    print(f"[{datetime.now(timezone.utc).strftime('%H:%M:%S')}Z] {message}", flush=True)


# --- environment and database -------------------------------------------------------------------


def child_env(database_url: str, webhook_secret: str, media_root: str, redis_url: str = "") -> dict:
    """The production environment for gunicorn, the Celery worker and manage.py: DEBUG unset,
    loopback-only tweaks; with `redis_url`, tasks go through that broker to a real worker."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE"}}
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        STATIC_MANIFEST="false",
        WEBHOOK_SECRET=webhook_secret,
        DATABASE_URL=database_url,
        MEDIA_ROOT=media_root,
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
        PYTHONPATH=str(ROOT),
    )
    return env


def ensure_database(url: str, *, fresh: bool) -> dict:
    import psycopg
    from psycopg import sql

    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.get("dbname")
    if not name:
        raise SystemExit(f"DATABASE_URL {url!r} names no database")
    if fresh and not name.startswith("loadtest"):
        raise SystemExit(f"--fresh drops the database: refusing on {name!r} (only loadtest*)")
    with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and fresh:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = False
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = admin.execute("SHOW server_version").fetchone()[0]
    return {"name": name, "created": not exists or fresh, "server_version": version}


def manage(env: dict, *args: str, timeout: float = 900) -> str:
    out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out.stdout


def prepare(env: dict, *, traders: int, posts: int, seed: int, data_dir: Path) -> dict:
    """migrate + demo as child processes, then synthetic data, settlement and links in-process."""
    started = time.perf_counter()
    t0 = time.perf_counter()
    manage(env, "migrate", "--no-input")
    rec = {"migrate_seconds": round(time.perf_counter() - t0, 2)}
    t0 = time.perf_counter()
    demo_out = manage(env, "demo")
    rec["demo_seconds"] = round(time.perf_counter() - t0, 2)
    rec["demo_output"] = [line for line in demo_out.splitlines() if "/s/" not in line]  # a status URL is a credential

    # The parent joins the same production settings for the synthetic data and the checks.
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "STATIC_MANIFEST", "WEBHOOK_SECRET", "DATABASE_URL", "MEDIA_ROOT", "LOG_LEVEL")})
    for key in ("DEBUG", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER"):
        os.environ.pop(key, None)
    import django

    django.setup()
    from django.db import connection

    from bench import data as bench_data
    from campaign.models import Campaign, Post
    from campaign.services import campaign_import_file, posts_import_file, signups_import
    from core.models import ImportRun
    from rewards.models import StatusLink
    from rewards.services import settle_campaign
    from rewards.services.status_links import status_links_ensure

    campaign = Campaign.objects.get(slug=SLUG)
    t0 = time.perf_counter()
    ds = bench_data.build(data_dir, traders=traders, posts=posts, new=0, seed=seed, log=lambda _: None)
    reports = [
        campaign_import_file(campaign=campaign, kind=ImportRun.Kind.REGISTRATIONS, data=ds.registrations.read_bytes(), filename="reliability-load registrations.csv", source=ImportRun.Source.COMMAND),
        signups_import(campaign=campaign, data=ds.signups.read_bytes(), filename="reliability-load signups.csv", source=ImportRun.Source.COMMAND),
        campaign_import_file(campaign=campaign, kind=ImportRun.Kind.TRADER_STATS, data=ds.trader_stats.read_bytes(), filename="reliability-load trader_stats.csv", source=ImportRun.Source.COMMAND),
        posts_import_file(campaign=campaign, data=ds.posts.read_bytes(), filename="reliability-load posts.jsonl", source=ImportRun.Source.COMMAND),
    ]
    rec["synthetic"] = {
        "traders": traders,
        "posts": posts,
        "seed": seed,
        "imported": {r.run.kind: r.run.accepted for r in reports},
        "rejected": {r.run.kind: r.run.rejected for r in reports},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    t0 = time.perf_counter()
    run = settle_campaign(campaign=campaign, at=campaign.ends_at + campaign.grace, triggered_by="reliability-load")
    rec["settlement"] = {
        "at": run.at.isoformat(),
        "qualified_posts": run.summary.get("qualified_posts"),
        "ledger": run.summary.get("ledger"),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    rec["status_links_created"] = status_links_ensure(campaign=campaign)
    rec["status_links"] = StatusLink.objects.filter(campaign=campaign).count()
    rec["posts_in_campaign"] = Post.objects.filter(campaign=campaign).count()
    rec["seconds"] = round(time.perf_counter() - started, 2)
    connection.close()
    return rec


def status_paths(limit: int) -> list[str]:
    from django.db import connection
    from django.urls import reverse

    from rewards.models import StatusLink
    from rewards.selectors.links import status_link_token

    links = StatusLink.objects.filter(campaign__slug=SLUG).select_related("campaign", "trader").order_by("pk")[:limit]
    paths = [reverse("rewards:status", args=[status_link_token(link)]) for link in links]
    connection.close()
    return paths


# --- gunicorn -----------------------------------------------------------------------------------


def stop_process_group(proc, log, *, grace: float):
    """SIGTERM to the process group, SIGKILL after `grace` seconds; then close its log."""
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    if log is not None and not log.closed:
        log.close()


def log_summary(path: Path, markers: tuple[str, ...]) -> dict:
    """How many lines of a child's log hold one of `markers`, with the first ten."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {"path": str(path), "error_lines": None}
    errors = [line for line in lines if any(marker in line for marker in markers)]
    return {"path": str(path), "lines": len(lines), "error_lines": len(errors), "first_errors": errors[:10]}


class Gunicorn:
    """gunicorn config.wsgi on 127.0.0.1:<free port>, gthread workers, stopped by its own pid."""

    def __init__(self, env: dict, *, workers: int, threads: int, log_path: Path, ready_path: str):
        self.env, self.workers, self.threads = env, workers, threads
        self.port = free_port()
        self.log_path, self.ready_path = log_path, ready_path
        self.proc = None
        self.log = None

    def start(self):
        cmd = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"{HOST}:{self.port}", "--workers", str(self.workers),
            "--worker-class", "gthread", "--threads", str(self.threads),
            "--backlog", "2048", "--timeout", "60", "--graceful-timeout", "60", "--log-level", "warning",
        ]  # fmt: skip
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _ = request(self.port, "GET", self.ready_path, timeout=5)
                if status == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer 200 on {self.ready_path} within 60 s; see {self.log_path}")

    def stop(self):
        """SIGTERM: gunicorn finishes the requests in flight (graceful timeout), then exits."""
        stop_process_group(self.proc, self.log, grace=90)

    def log_summary(self) -> dict:
        return log_summary(self.log_path, (" ERROR ", "Traceback", "[CRITICAL]", "WORKER TIMEOUT"))


class CeleryWorker:
    """`celery -A config worker` (prefork) on the run's own Redis database, stopped by its pid.

    The webhook answers once a delivery's posts are stored; this worker judges them
    (`posts_judge_pending_task`), as in production. The broker database is purged first, so no
    message of an earlier run is consumed."""

    def __init__(self, env: dict, *, concurrency: int, log_path: Path):
        self.env, self.concurrency, self.log_path = env, concurrency, log_path
        self.proc = None
        self.log = None

    def start(self):
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        subprocess.run([*celery, "purge", "-f"], cwd=ROOT, env=self.env, capture_output=True, timeout=60, check=True)
        self.log = open(self.log_path, "w")
        cmd = [*celery, "worker", "--pool", "prefork", "--concurrency", str(self.concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {self.proc.returncode}; see {self.log_path}")
            ping = subprocess.run([*celery, "inspect", "ping", "--timeout", "2"], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=30)
            if ping.returncode == 0 and "pong" in ping.stdout:
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the Celery worker did not answer a ping within 60 s; see {self.log_path}")

    def stop(self):
        stop_process_group(self.proc, self.log, grace=120)  # warm shutdown: the task in hand finishes

    def log_summary(self) -> dict:
        return log_summary(self.log_path, ("ERROR", "Traceback", "CRITICAL"))


def wait_until_judged(run_id: str, *, timeout: float) -> dict:
    """After the last answer: poll until every delivery of this run is processed (its posts stored)
    and every post has a verdict and an up-to-date duplicate index (the worker's job), bounded by
    `timeout`."""
    from django.db import connection
    from django.db.models import Count

    from campaign.models import Post, WebhookDelivery

    prefix = f"rl-{run_id}-"
    posts = Post.objects.filter(campaign__slug=SLUG, post_id__startswith=prefix)
    queued = WebhookDelivery.objects.filter(delivery_id__startswith=prefix, processed_at__isnull=True)
    started = time.monotonic()
    samples = []
    while True:
        unprocessed = queued.count()
        pending = posts.filter(verdict=Post.Verdict.PENDING).count()
        stale = posts.filter(index_stale=True).count()
        waited = time.monotonic() - started
        samples.append((round(waited, 1), unprocessed, pending))
        if (unprocessed == 0 and pending == 0 and stale == 0) or waited > timeout:
            break
        time.sleep(1)
    verdicts = dict(posts.values_list("verdict").annotate(n=Count("id")))
    connection.close()
    return {
        "judged_all": unprocessed == 0 and pending == 0 and stale == 0,
        "unprocessed_left": unprocessed,
        "pending_left": pending,
        "index_stale_left": stale,
        "seconds_after_last_answer": round(time.monotonic() - started, 1),
        "pending_samples": samples[:: max(1, len(samples) // 20)],
        "verdicts": verdicts,
    }


def request(port: int, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None, timeout: float = REQUEST_TIMEOUT):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# --- figures ------------------------------------------------------------------------------------


def percentiles(seconds: list[float]) -> dict:
    """Nearest-rank p50/p90/p99 and max, in milliseconds."""
    if not seconds:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    s = sorted(seconds)

    def rank(p):
        return round(1000 * s[min(len(s) - 1, max(0, int(-(-p * len(s) // 1)) - 1))], 2)

    return {"p50_ms": rank(0.50), "p90_ms": rank(0.90), "p99_ms": rank(0.99), "max_ms": round(1000 * s[-1], 2), "mean_ms": round(1000 * sum(s) / len(s), 2)}


def timeline(offsets: list[float], bucket: float) -> list[int]:
    """How many events fell in each `bucket`-second slice from the start (offsets in seconds)."""
    if not offsets:
        return []
    counts = [0] * (int(max(offsets) // bucket) + 1)
    for x in offsets:
        counts[int(max(0.0, x) // bucket)] += 1
    return counts


class Errors:
    """Counts of errors by kind (`http 500`, `ConnectionResetError`...) with a few samples."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kinds: dict[str, int] = {}
        self.samples: list[str] = []

    def add(self, kind: str, sample: str = "", count: int = 1):
        with self.lock:
            self.kinds[kind] = self.kinds.get(kind, 0) + count
            if len(self.samples) < 10:
                self.samples.append(f"{kind}: {sample[:300]}")

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


class PgSampler:
    """Samples pg_stat_activity of the load database every `every` s while a phase runs: how many
    server sessions are running, and how many wait on a lock (and on which wait event). Bounded
    by `max_seconds` whatever happens to the phase."""

    def __init__(self, url: str, *, every: float = 0.5, max_seconds: float = 600):
        self.url, self.every, self.max_seconds = url, every, max_seconds
        self.stop_event = threading.Event()
        self.samples: list[tuple[int, int]] = []
        self.waits: dict[str, int] = {}
        self.error = None

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True, name="pg-sampler")
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(10)

    def _run(self):
        import psycopg

        deadline = time.monotonic() + self.max_seconds
        query = (
            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                while not self.stop_event.is_set() and time.monotonic() < deadline:
                    rows = conn.execute(query).fetchall()
                    active = [r for r in rows if r[0] == "active"]
                    locked = [r for r in active if r[1] == "Lock"]
                    self.samples.append((len(active), len(locked)))
                    for _, kind, event in active:
                        if kind:
                            self.waits[f"{kind}:{event}"] = self.waits.get(f"{kind}:{event}", 0) + 1
                    self.stop_event.wait(self.every)
        except Exception as exc:  # noqa: BLE001 -- a diagnostic: never fails the run
            self.error = f"{type(exc).__name__}: {exc}"

    def summary(self) -> dict:
        n = len(self.samples)
        if not n:
            return {"samples": 0, "error": self.error}
        return {
            "samples": n,
            "active_sessions_mean": round(sum(a for a, _ in self.samples) / n, 2),
            "active_sessions_max": max(a for a, _ in self.samples),
            "waiting_on_lock_mean": round(sum(w for _, w in self.samples) / n, 2),
            "waiting_on_lock_max": max(w for _, w in self.samples),
            "wait_events": dict(sorted(self.waits.items(), key=lambda kv: -kv[1])[:8]),
            "error": self.error,
        }


# --- phase A: pages -----------------------------------------------------------------------------


def phase_pages(port: int, *, clients: int, seconds: float, max_requests: int, status: list[str], public: str, seed: int) -> dict:
    """Closed loop: each client keeps one connection and one request in flight, alternating a random
    trader's status page and the public page, until the deadline or the total cap."""
    errors = Errors()
    lat = {"status": [[] for _ in range(clients)], "public": [[] for _ in range(clients)]}
    issued = [0] * clients
    budget = threading.Semaphore(max_requests)  # the total cap, shared by every client
    capped = threading.Event()
    start_gate = threading.Barrier(clients + 1)
    deadline_box = [0.0]

    def client(i: int):
        rng = random.Random(seed * 1000 + i)
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        kind = "status" if i % 2 == 0 else "public"
        start_gate.wait(60)
        deadline = deadline_box[0]
        while time.monotonic() < deadline:
            if not budget.acquire(blocking=False):
                capped.set()
                break
            path = rng.choice(status) if kind == "status" else public
            issued[i] += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - t0
                if resp.status != 200:
                    errors.add(f"http {resp.status}", f"{kind} {body[:200]!r}")
                else:
                    lat[kind][i].append(elapsed)
                if resp.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            except (OSError, http.client.HTTPException) as exc:
                errors.add(type(exc).__name__, f"{kind} {exc}")
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            kind = "public" if kind == "status" else "status"
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True, name=f"client-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    deadline_box[0] = time.monotonic() + seconds
    load_before = loadavg()
    started = time.perf_counter()
    start_gate.wait(60)
    for t in threads:
        t.join(max(0.0, deadline_box[0] - time.monotonic()) + REQUEST_TIMEOUT + 10)
    elapsed = time.perf_counter() - started
    stuck = sum(t.is_alive() for t in threads)
    ok = {k: [x for part in v for x in part] for k, v in lat.items()}
    all_ok = ok["status"] + ok["public"]
    total = sum(issued)
    return {
        "clients": clients,
        "seconds_target": seconds,
        "seconds": round(elapsed, 2),
        "max_requests": max_requests,
        "cap_reached": capped.is_set(),
        "requests": total,
        "ok_200": len(all_ok),
        "errors": errors.total + stuck,
        "error_kinds": errors.kinds | ({"client thread stuck": stuck} if stuck else {}),
        "error_samples": errors.samples,
        "rps": round(total / elapsed, 1) if elapsed else None,
        **percentiles(all_ok),
        "by_page": {
            "status": {"requests": len(ok["status"]), "distinct_traders": len(status), **percentiles(ok["status"])},
            "public": {"requests": len(ok["public"]), "path": public, **percentiles(ok["public"])},
        },
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
    }


# --- phase B: webhook ---------------------------------------------------------------------------


def webhook_bodies(count: int, *, run_id: str, traders: int, seed: int, window: tuple[datetime, datetime]) -> list[tuple[str, str, bytes]]:
    """(delivery id, post_id, body) for every delivery, built before the clock starts."""
    from bench import data as bench_data

    rng = random.Random(seed + 1)
    factory = bench_data.PostFactory(rng)
    start, end = window
    span = (end - start).total_seconds()
    out = []
    for i in range(count):
        post_id = f"rl-{run_id}-{i:06d}"
        created = start + timedelta(seconds=rng.uniform(0, span))
        post = {
            "post_id": post_id,
            "author_uid": bench_data.UID_BASE + rng.randrange(traders),
            "created_at": created.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "text": factory.original(chinese=rng.random() < 0.25, trading=True),
            "likes": rng.randint(0, 40),
            "comments": rng.randint(0, 8),
            "shares": rng.randint(0, 3),
            "views": rng.randint(10, 5000),
            "deleted": False,
        }
        body = json.dumps({"campaign": SLUG, "items": [post]}, ensure_ascii=False).encode("utf-8")
        out.append((f"rl-{run_id}-d{i:06d}", post_id, body))
    return out


def phase_webhook(port: int, *, rate: float, seconds: float, threads: int, secret: str, deliveries: list[tuple[str, str, bytes]], drain_seconds: float) -> dict:
    """Open loop: delivery i is due at t0 + i/rate whatever the answers so far; a pool of `threads`
    senders (keep-alive each) sends them. A delivery not started by the send deadline is counted
    counted as not sent (the sender gave up: the server fell behind), apart from the errors (a
    non-200 answer or an exception). Latency is from the send to the full answer; lag is send -
    due; due_to_answer (the open-loop latency a sender sees) is both."""
    from campaign.signing import signed_headers

    count = len(deliveries)
    errors = Errors()
    latencies: list[float] = []
    lags: list[float] = []
    due_to_answer: list[float] = []
    answer_times: list[float] = []
    ok_ids: list[tuple[str, str]] = []
    rejected_in_200: list[str] = []
    not_sent = [0]
    lock = threading.Lock()
    local = threading.local()
    t0 = time.monotonic() + 0.5
    send_deadline = t0 + seconds + drain_seconds
    last_answer = [t0]

    def conn():
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        return c

    def deliver(i: int, due: float):
        delivery_id, post_id, body = deliveries[i]
        start = time.monotonic()
        if start > send_deadline:
            with lock:
                not_sent[0] += 1
            return
        headers = signed_headers(secret, body, now=datetime.now(timezone.utc), delivery_id=delivery_id)
        headers["Content-Type"] = "application/json"
        t_send = time.perf_counter()
        try:
            c = conn()
            c.request("POST", "/hooks/posts/", body=body, headers=headers)
            resp = c.getresponse()
            answer = resp.read()
            elapsed = time.perf_counter() - t_send
            if resp.will_close:
                c.close()
                local.conn = None
        except (OSError, http.client.HTTPException) as exc:
            errors.add(type(exc).__name__, f"{delivery_id} {exc}")
            if getattr(local, "conn", None) is not None:
                local.conn.close()
                local.conn = None
            return
        finally:
            with lock:
                last_answer[0] = max(last_answer[0], time.monotonic())
        if resp.status != 202:  # queued: the worker stores it (webhook_deliveries_process)
            errors.add(f"http {resp.status}", f"{delivery_id} {answer[:200]!r}")
            return
        with lock:
            latencies.append(elapsed)
            lags.append(start - due)
            answered = time.monotonic()
            due_to_answer.append(answered - due)
            answer_times.append(answered - t0)
            ok_ids.append((delivery_id, post_id))
        try:
            data = json.loads(answer)
            if data.get("accepted") != 1 or data.get("rejected"):
                with lock:
                    rejected_in_200.append(f"{delivery_id}: {answer[:200]!r}")
        except ValueError:
            with lock:
                rejected_in_200.append(f"{delivery_id}: not JSON")

    load_before = loadavg()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook") as pool:
        for i in range(count):
            due = t0 + i / rate
            now = time.monotonic()
            if now > send_deadline:
                remaining = count - i
                with lock:
                    not_sent[0] += remaining
                break
            if due > now:
                time.sleep(due - now)
            pool.submit(deliver, i, due)
        submitted_at = time.monotonic()
        # Leaving the block waits for the pool: every delivery is answered, timed out or skipped,
        # and each one is bounded by the send deadline plus the request timeout.
    elapsed = last_answer[0] - t0
    lost = count - not_sent[0] - len(latencies) - errors.total  # a sender that died of anything unexpected
    if lost > 0:
        errors.add("unaccounted (sender raised)", "", count=lost)
    return {
        "rate_target": rate,
        "seconds_target": seconds,
        "deliveries_planned": count,
        "sender_threads": threads,
        "deliveries_sent": count - not_sent[0],
        "not_sent": not_sent[0],
        "ok_200": len(latencies),
        "errors": errors.total,
        "error_kinds": errors.kinds,
        "error_samples": errors.samples,
        "answered_200_with_rejection": len(rejected_in_200),
        "rejection_samples": rejected_in_200[:5],
        "schedule_seconds": round(submitted_at - t0, 2),
        "seconds_to_last_answer": round(elapsed, 2),
        "achieved_rate_200_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else None,
        **percentiles(latencies),
        "rate_sustained": not_sent[0] == 0 and elapsed > 0 and len(latencies) / elapsed >= 0.95 * rate,
        "send_lag": percentiles(lags),
        "due_to_answer": percentiles(due_to_answer),
        "answers_200_per_10s": timeline(answer_times, 10),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "_ok_ids": ok_ids,
    }


def verify_exactly_once(run_id: str, ok_ids: list[tuple[str, str]]) -> dict:
    """After gunicorn stopped: this run's posts and deliveries in the database against the 200s."""
    from django.db import connection
    from django.db.models import Count

    from campaign.models import Post, WebhookDelivery
    from core.models import ImportRun, RejectedRecord

    prefix = f"rl-{run_id}-"
    posts = Post.objects.filter(campaign__slug=SLUG, post_id__startswith=prefix)
    rows = posts.count()
    distinct = posts.values("post_id").distinct().count()
    duplicated = list(posts.values("post_id").annotate(n=Count("id")).filter(n__gt=1).values_list("post_id", flat=True)[:10])
    stored = set(posts.values_list("post_id", flat=True))
    deliveries = WebhookDelivery.objects.filter(delivery_id__startswith=prefix)
    delivery_rows = deliveries.count()
    stored_deliveries = set(deliveries.values_list("delivery_id", flat=True))
    without_run = deliveries.filter(import_run__isnull=True).count()
    unprocessed = deliveries.filter(processed_at__isnull=True).count()
    # Batches share an import run: every item of this run's deliveries must have been taken.
    runs = ImportRun.objects.filter(pk__in=deliveries.values("import_run"))
    run_rejections = RejectedRecord.objects.filter(run__in=runs, raw__startswith=f"delivery {prefix}").count()
    ok_posts = {p for _, p in ok_ids}
    ok_deliveries = {d for d, _ in ok_ids}
    connection.close()
    result = {
        "ok_200": len(ok_ids),
        "post_rows": rows,
        "distinct_post_ids": distinct,
        "duplicate_post_ids": duplicated,
        "webhook_delivery_rows": delivery_rows,
        "deliveries_without_import_run": without_run,
        "deliveries_unprocessed": unprocessed,
        "items_refused_by_the_worker": run_rejections,
        "posts_of_200s_missing": len(ok_posts - stored),
        "posts_stored_without_a_200": len(stored - ok_posts),
        "deliveries_of_200s_missing": len(ok_deliveries - stored_deliveries),
        "deliveries_stored_without_a_200": len(stored_deliveries - ok_deliveries),
    }
    result["exactly_once"] = (
        rows == distinct == len(ok_ids) == delivery_rows
        and not duplicated
        and stored == ok_posts
        and stored_deliveries == ok_deliveries
        and without_run == 0
        and unprocessed == 0
        and run_rejections == 0
    )
    return result


# --- output -------------------------------------------------------------------------------------


def table(results: dict) -> str:
    a, b = results.get("phase_a") or {}, results.get("phase_b") or {}
    v = b.get("verify") or {}

    def f(x):
        if isinstance(x, bool):
            return "yes" if x else "NO"
        return "-" if x is None else (f"{x:,.1f}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x))

    rows = [
        ("", "A: pages", "B: webhook"),
        ("target", f"{f(a.get('clients'))} clients x {f(a.get('seconds_target'))} s", f"{f(b.get('rate_target'))}/s x {f(b.get('seconds_target'))} s"),
        ("requests / deliveries", f(a.get("requests")), f(b.get("deliveries_sent"))),
        ("200", f(a.get("ok_200")), f(b.get("ok_200"))),
        ("errors", f(a.get("errors")), f(b.get("errors"))),
        ("rate (/s)", f(a.get("rps")), f(b.get("achieved_rate_200_per_s"))),
        ("p50 ms", f(a.get("p50_ms")), f(b.get("p50_ms"))),
        ("p90 ms", f(a.get("p90_ms")), f(b.get("p90_ms"))),
        ("p99 ms", f(a.get("p99_ms")), f(b.get("p99_ms"))),
        ("max ms", f(a.get("max_ms")), f(b.get("max_ms"))),
        ("status page p99 ms", f((a.get("by_page") or {}).get("status", {}).get("p99_ms")), ""),
        ("public page p99 ms", f((a.get("by_page") or {}).get("public", {}).get("p99_ms")), ""),
        ("send lag p99 ms", "", f((b.get("send_lag") or {}).get("p99_ms"))),
        ("due-to-answer p99 ms", "", f((b.get("due_to_answer") or {}).get("p99_ms"))),
        ("not sent (sender gave up)", "", f(b.get("not_sent"))),
        ("rate sustained", "", f(b.get("rate_sustained"))),
        ("pg sessions waiting on a lock (mean)", f((a.get("postgres_sessions") or {}).get("waiting_on_lock_mean")), f((b.get("postgres_sessions") or {}).get("waiting_on_lock_mean"))),
        ("stored posts / distinct / deliveries", "", f"{f(v.get('post_rows'))} / {f(v.get('distinct_post_ids'))} / {f(v.get('webhook_delivery_rows'))}"),
        ("exactly once", "", f(v.get("exactly_once"))),
        ("judged by the worker (s after last answer)", "", f"{f((b.get('judging') or {}).get('judged_all'))} ({f((b.get('judging') or {}).get('seconds_after_last_answer'))})"),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(width[i]) if i == 0 else c.rjust(width[i]) for i, c in enumerate(r)) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(
        f"verdict: {'PASS' if results.get('passed') else 'FAIL'} (zero errors A: {results.get('zero_errors_a')}, B: {results.get('zero_errors_b')}; "
        f"exactly once: {v.get('exactly_once')}; webhook rate sustained: {results.get('webhook_rate_sustained')}; judged all: {results.get('judged_all')})"
    )
    return "\n".join(lines)


def git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def write(results: dict, output: Path):
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-requests", type=int, default=0, help="total request cap of phase A (default 200 per client-second)")
    p.add_argument("--webhook-rate", type=float, default=200)
    p.add_argument("--webhook-seconds", type=float, default=60)
    p.add_argument("--webhook-threads", type=int, default=64)
    p.add_argument("--drain-seconds", type=float, default=180, help="phase B: deliveries not started this long after the schedule ends are not sent")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--traders", type=int, default=300, help="synthetic traders (bench.data)")
    p.add_argument("--posts", type=int, default=900, help="synthetic posts (bench.data)")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/reliability-load-data"))
    p.add_argument("--redis-url", default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/7"), help="broker of the run's Celery worker (purged first: use a database of its own)")
    p.add_argument("--celery-concurrency", type=int, default=2)
    p.add_argument("--judge-timeout", type=float, default=600, help="phase B: how long to wait for the worker to judge every post after the last answer")
    p.add_argument("--fresh", action="store_true", help="drop and re-create the database first (loadtest* only)")
    p.add_argument("--output", type=Path, default=None, help="default bench/results/reliability-<date>.json")
    args = p.parse_args(argv)
    for name in ("clients", "seconds", "webhook_rate", "webhook_seconds", "webhook_threads", "workers", "threads", "traders"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")

    database_url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"DATABASE_URL must be PostgreSQL, got {database_url!r}")
    output = args.output or ROOT / "bench" / "results" / f"reliability-{datetime.now(timezone.utc).date().isoformat()}.json"
    run_id = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
    webhook_secret = "reliability-load-" + secrets.token_hex(24)
    media_root = f"/tmp/reliability-load-media-{run_id}"
    env = child_env(database_url, webhook_secret, media_root, args.redis_url)
    max_requests = args.max_requests or int(200 * args.clients * args.seconds)

    results: dict = {
        "issue": "8 item 5",
        "run_id": run_id,
        "started_at": datetime.now(timezone.utc).isoformat(),
        "command": " ".join([Path(sys.executable).name, "bench/reliability_load.py", *(argv if argv is not None else sys.argv[1:])]),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {"max_requests": max_requests},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "loadavg_at_start": loadavg()},
        "code": git_commit(),
        "settings": {"DEBUG": "unset (production)", "SECURE_SSL_REDIRECT": "false", "STATIC_MANIFEST": "false", "REDIS_URL": args.redis_url, "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "60 (default)")},
        "gunicorn": {"app": "config.wsgi:application", "worker_class": "gthread", "workers": args.workers, "threads": args.threads, "bind": HOST},
    }
    server = worker = None
    try:
        log(f"database {database_url.rsplit('/', 1)[-1]}: preparing")
        results["database"] = ensure_database(database_url, fresh=args.fresh)
        results["prepare"] = prepare(env, traders=args.traders, posts=args.posts, seed=args.seed, data_dir=args.data_dir)
        log(f"prepared in {results['prepare']['seconds']} s: {results['prepare']['posts_in_campaign']} posts, {results['prepare']['status_links']} status links")
        status = status_paths(limit=100_000)
        if not status:
            raise RuntimeError("no status link to load")
        public = f"/c/{SLUG}/"

        from campaign.models import Campaign

        campaign = Campaign.objects.get(slug=SLUG)
        window = (campaign.starts_at, campaign.ends_at)
        count = int(round(args.webhook_rate * args.webhook_seconds))
        deliveries = webhook_bodies(count, run_id=run_id, traders=args.traders, seed=args.seed, window=window)
        from django.db import connection

        connection.close()

        worker = CeleryWorker(env, concurrency=args.celery_concurrency, log_path=Path(f"/tmp/reliability-load-celery-{run_id}.log")).start()
        results["celery_worker"] = {"pool": "prefork", "concurrency": args.celery_concurrency, "broker": args.redis_url}
        server = Gunicorn(env, workers=args.workers, threads=args.threads, log_path=Path(f"/tmp/reliability-load-gunicorn-{run_id}.log"), ready_path=public)
        server.start()
        results["gunicorn"]["port"] = server.port
        for path in (public, status[0]):  # warm-up: every worker imports and connects
            for _ in range(2 * args.workers):
                request(server.port, "GET", path)

        log(f"phase A: {args.clients} clients x {args.seconds:g} s on 127.0.0.1:{server.port}")
        with PgSampler(database_url, max_seconds=args.seconds + 120) as sampler:
            results["phase_a"] = phase_pages(server.port, clients=args.clients, seconds=args.seconds, max_requests=max_requests, status=status, public=public, seed=args.seed)
        a = results["phase_a"]
        a["postgres_sessions"] = sampler.summary()
        log(f"phase A: {a['requests']:,} requests, {a['errors']} errors, {a['rps']}/s, p99 {a['p99_ms']} ms")
        write(results, output)

        log(f"phase B: {args.webhook_rate:g} deliveries/s x {args.webhook_seconds:g} s ({count:,} deliveries)")
        with PgSampler(database_url, max_seconds=args.webhook_seconds + args.drain_seconds + 120) as sampler:
            b = phase_webhook(server.port, rate=args.webhook_rate, seconds=args.webhook_seconds, threads=args.webhook_threads, secret=webhook_secret, deliveries=deliveries, drain_seconds=args.drain_seconds)
        b["postgres_sessions"] = sampler.summary()
        ok_ids = b.pop("_ok_ids")
        results["phase_b"] = b
        log(f"phase B: {b['ok_200']:,} x 202, {b['errors']} errors, {b['achieved_rate_200_per_s']}/s, p99 {b['p99_ms']} ms")
        server.stop()  # graceful: anything still in flight commits (or not) before the count
        results["gunicorn"]["log"] = server.log_summary()
        log("phase B: waiting for the worker to store and judge every post")
        b["judging"] = wait_until_judged(run_id, timeout=args.judge_timeout)
        b["verify"] = verify_exactly_once(run_id, ok_ids)
        worker.stop()
        results["celery_worker"]["log"] = worker.log_summary()
        log(f"phase B: judged all: {b['judging']['judged_all']} ({b['judging']['seconds_after_last_answer']} s after the last answer)")
    except Exception as exc:  # noqa: BLE001 -- recorded in the JSON, then re-raised as a failure
        import traceback

        results["failure"] = f"{type(exc).__name__}: {exc}"
        results["traceback"] = traceback.format_exc()
        log(results["traceback"])
    finally:
        if server is not None:
            server.stop()
            results["gunicorn"].setdefault("log", server.log_summary())
        if worker is not None:
            worker.stop()
            results.setdefault("celery_worker", {}).setdefault("log", worker.log_summary())
    a, b = results.get("phase_a") or {}, results.get("phase_b") or {}
    results["zero_errors_a"] = a.get("errors") == 0 and a.get("ok_200", 0) > 0
    results["zero_errors_b"] = b.get("errors") == 0 and b.get("answered_200_with_rejection") == 0 and b.get("ok_200", 0) > 0
    results["exactly_once"] = bool((b.get("verify") or {}).get("exactly_once"))
    results["webhook_rate_sustained"] = bool(b.get("rate_sustained"))
    results["judged_all"] = bool((b.get("judging") or {}).get("judged_all"))
    results["passed"] = (
        "failure" not in results
        and results["zero_errors_a"]
        and results["zero_errors_b"]
        and results["exactly_once"]
        and results["webhook_rate_sustained"]
        and results["judged_all"]
    )
    results["finished_at"] = datetime.now(timezone.utc).isoformat()
    write(results, output)
    print()
    print(table(results))
    print(f"\nresults: {output}")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
