"""`python -m bench.status_pages`: the trader status page of a top trader and of a median one,
on a miss and on a hit, beside the trivial view, in one run (issue 17).

Builds one campaign on PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/bench_status17; like `python -m bench`, only a database named
bench* is accepted, and it is dropped and created afresh unless --reuse-db): a top trader with
3,161 posts (the top trader of the 1,000,000-post run), a median trader with 30, and 60 other
traders so that the content pool and the leaderboard have competitors; imported through
`posts_import_file` (judged, near-duplicates and all) and settled as of the final due instant.

Then, with REDIS_URL (default redis://127.0.0.1:6379/9) as the page cache, as in production:

- in process (Django's test Client on this settings module): per page, the HTML's size, the
  queries of a miss, and the time of a miss (the campaign's page version moved before each
  request, as a settlement does) and of a hit;
- under gunicorn (bench/load.py, the same server and load client as step e. of `python -m bench`):
  a miss per request, sequentially (the version moved before each), and the hits at
  --connections connections for --seconds, each page right after `/bench/ping/` measured the
  same way (its ratio is to that run: the load of a shared machine moves within minutes).

Pages: the median trader's page 1, the top trader's page 1 and a middle page of posts. Writes the
figures as JSON to --output and prints a table.
"""

import argparse
import csv
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_status17"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
CAMPAIGN_SLUG = "star-lead-traders-2"
TOP_UID, MEDIAN_UID, OTHERS_BASE = 81_000_001, 81_000_002, 81_000_100
TOP_POSTS, MEDIAN_POSTS, OTHERS = 3161, 30, 60


# --- the data ----------------------------------------------------------------------------------


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _authors(rng: random.Random) -> list[tuple[int, int]]:
    """(uid, number of posts): the top and the median trader, then the others (3 to 200 posts)."""
    return [(TOP_UID, TOP_POSTS), (MEDIAN_UID, MEDIAN_POSTS), *((OTHERS_BASE + i, rng.randint(3, 200)) for i in range(OTHERS))]


def _posts_file(rng: random.Random, campaign, authors) -> bytes:
    """JSON Lines as bench/data.py writes them (texts, near-copies, engagement), per author."""
    from bench.data import PostFactory

    factory = PostFactory(rng)
    start, end = campaign.starts_at.astimezone(timezone.utc), campaign.ends_at.astimezone(timezone.utc)
    span = (end - start).total_seconds()
    lines = []
    for uid, count in authors:
        for i in range(count):
            roll = rng.random()
            if roll < 0.02:
                created = start - timedelta(seconds=rng.uniform(60, 3 * 86400))
            elif roll < 0.04:
                created = end + timedelta(seconds=rng.uniform(0, 2 * 86400))
            else:
                created = start + timedelta(seconds=rng.uniform(0, span))
            if factory.recent and rng.random() < 0.05:
                text = factory.near_copy(factory.recent[rng.randrange(len(factory.recent))][0])
            else:
                text = factory.original(chinese=rng.random() < 0.25, trading=rng.random() >= 0.03)
                factory.remember(text, created)
            lines.append(json.dumps({
                "post_id": f"s{uid}-{i:05d}", "author_uid": uid, "created_at": _iso(created.replace(microsecond=0)), "text": text,
                "likes": int(rng.expovariate(1 / 8)), "comments": int(rng.expovariate(1 / 2)), "shares": int(rng.expovariate(1 / 0.7)),
                "views": int(rng.lognormvariate(6, 1.3)), "deleted": rng.random() < 0.01,
            }, ensure_ascii=False))  # fmt: skip
    rng.shuffle(lines)
    return "\n".join(lines).encode()


def build(*, seed: int, log) -> dict:
    """The campaign's traders, their posts (imported and judged) and one due settlement."""
    from campaign.models import Campaign, Post
    from campaign.services import campaign_import_file, posts_import_file, signups_import
    from core.database import analyze
    from core.models import ImportRun
    from rewards.services.settlement import settle_campaign
    from rewards.services.traffic import traffic_refresh

    rng = random.Random(seed)
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    authors = _authors(rng)
    before = campaign.starts_at - timedelta(days=10)
    inside = campaign.starts_at + timedelta(hours=2)
    registrations = _csv(
        ("uid", "nickname", "market", "status", "applied_at", "approved_at"),
        [(uid, f"trader{uid % 1000}", "futures", "approved", _iso(before), _iso(before + timedelta(hours=6))) for uid, _ in authors],
    )
    signups = _csv(("uid", "submitted_at", "square_handle", "contact"), [(uid, _iso(inside), f"@sq{uid}", f"t{uid}@example.com") for uid, _ in authors])
    stats = _csv(("uid", "as_of", "new_copiers", "copier_pnl_usdt"),
                 [(uid, _iso(campaign.ends_at - timedelta(days=1)), rng.randint(0, 80), f"{rng.gauss(500, 3000):.2f}") for uid, _ in authors])  # fmt: skip
    command = ImportRun.Source.COMMAND
    campaign_import_file(campaign=campaign, kind=ImportRun.Kind.REGISTRATIONS, data=registrations, filename="bench", source=command)
    signups_import(campaign=campaign, data=signups, filename="bench")
    campaign_import_file(campaign=campaign, kind=ImportRun.Kind.TRADER_STATS, data=stats, filename="bench", source=command)
    t0 = time.perf_counter()
    report = posts_import_file(campaign=campaign, data=_posts_file(rng, campaign, authors))
    log(f"posts: {report.run.accepted} imported in {time.perf_counter() - t0:.1f} s")
    at = campaign.ends_at + campaign.grace + timedelta(hours=1)
    settle_campaign(campaign=campaign, at=at, triggered_by="bench", full_judge=True)
    traffic_refresh(campaign=campaign, at=at)
    analyze(Post._meta.db_table)  # what autovacuum does minutes later; this server runs without it
    return {"posts": Post.objects.filter(campaign=campaign).count(), "authors": len(authors)}


# --- the measures ------------------------------------------------------------------------------


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


def _summary(ms: list[float]) -> dict:
    return {"requests": len(ms), "p50_ms": round(statistics.median(ms), 2), "p99_ms": _pct(ms, 0.99), "max_ms": round(max(ms), 2)}


def _paths(campaign) -> dict:
    """name -> path of each page measured."""
    from django.urls import reverse

    from rewards.selectors.links import status_link_token
    from rewards.services.status_links import status_link_get_or_create
    from traders.models import Trader

    def status(uid):
        return reverse("rewards:status", args=[status_link_token(status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=uid)))])

    top, median = status(TOP_UID), status(MEDIAN_UID)
    middle = (TOP_POSTS + 49) // 50 // 2
    return {"median_p1": median, "top_p1": top, f"top_p{middle}": f"{top}?page={middle}"}


def _bump(campaign) -> None:
    from campaign.page_cache import campaign_pages_changed

    campaign_pages_changed(campaign_id=campaign.pk)


def in_process(campaign, paths: dict, *, repeat: int, log) -> dict:
    """Django's test Client: size, queries and time of a miss, time of a hit, per page."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    out = {}
    for name, path in paths.items():
        client.get(path)  # imports, templates, the campaign the keys need
        misses, hits = [], []
        for _ in range(repeat):
            _bump(campaign)
            t0 = time.perf_counter()
            response = client.get(path)
            misses.append(1000 * (time.perf_counter() - t0))
            assert response.status_code == 200, (path, response.status_code)
            t0 = time.perf_counter()
            client.get(path)
            hits.append(1000 * (time.perf_counter() - t0))
        _bump(campaign)
        with CaptureQueriesContext(connection) as queries:
            body = client.get(path).content
        with CaptureQueriesContext(connection) as hit_queries:
            client.get(path)
        out[name] = {"bytes": len(body), "miss_queries": len(queries), "hit_queries": len(hit_queries), "miss": _summary(misses), "hit": _summary(hits)}
        log(
            f"in process {name}: {len(body):,} bytes, {len(queries)} queries, miss p50 {out[name]['miss']['p50_ms']} ms, hit p50 {out[name]['hit']['p50_ms']} ms"
        )
    return out


def under_gunicorn(campaign, paths: dict, *, database_url: str, connections: int, seconds: float, misses: int, workers: int, threads: int, log) -> dict:
    """gunicorn as step e. runs it: sequential misses, then hits under load beside /bench/ping/."""
    from django.db import connection

    from bench import load as bench_load

    client = bench_load.pick_client("auto")
    connection.close()
    out = {"client": client, "connections": connections, "seconds_per_url": seconds, "gunicorn": {"workers": workers, "threads": threads}}
    with bench_load.Server(database_url=database_url, workers=workers, threads=threads) as server:
        for path in paths.values():  # every worker renders each page once before anything is timed
            for _ in range(2 * workers):
                bench_load.get(server.port, path)
        for name, path in paths.items():
            ms = []
            for _ in range(misses):
                _bump(campaign)
                t0 = time.perf_counter()
                status, _body = bench_load.get(server.port, path, timeout=30)
                ms.append(1000 * (time.perf_counter() - t0))
                assert status == 200, (path, status)
            out[f"{name}_miss"] = _summary(ms)
            log(f"gunicorn {name} miss: p50 {out[f'{name}_miss']['p50_ms']} ms, p99 {out[f'{name}_miss']['p99_ms']} ms")
        # Each page right after a run of the trivial view: on a machine whose load moves, each
        # ratio compares two runs a few seconds apart.
        for name, path in paths.items():
            pings = out.setdefault("pings", [])
            pings.append(_hit(bench_load, server.port, "/bench/ping/", "/bench/ping/", connections=connections, seconds=seconds, client=client))
            entry = _hit(bench_load, server.port, path, path.split("/s/")[0] + "/s/<token>/" + path.rsplit("/", 1)[1], connections=connections,
                         seconds=seconds, client=client)  # fmt: skip
            entry["ping_rps"] = pings[-1]["rps"]
            entry["vs_ping"] = round(entry["rps"] / pings[-1]["rps"], 3) if pings[-1]["rps"] else None
            out[f"{name}_hit"] = entry
            log(f"gunicorn {name}: {entry['rps']} req/s ({entry['vs_ping']} x ping), p50 {entry['p50_ms']} ms, p99 {entry['p99_ms']} ms, {entry['bytes']:,} bytes")
        out["ping"] = out["pings"][0]
    return out


def _hit(bench_load, port: int, path: str, shown: str, **options) -> dict:
    status, body = bench_load.get(port, path)
    return {"path": shown, "http_status": status, "bytes": len(body), **bench_load.measure(port, path, **options)}


def table(results: dict) -> str:
    g, p = results["gunicorn"], results["in_process"]
    rows = [
        "| page | bytes | queries (miss) | in process miss / hit p50 | gunicorn miss p50 / p99 | hits under load: req/s, p50 / p99 | ping just before | x ping |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in p:
        hit, miss, ip = g[f"{name}_hit"], g[f"{name}_miss"], p[name]
        rows.append(
            f"| {name} | {ip['bytes']:,} | {ip['miss_queries']} | {ip['miss']['p50_ms']} / {ip['hit']['p50_ms']} ms | {miss['p50_ms']} / {miss['p99_ms']} ms "
            f"| {hit['rps']:,.0f}, {hit['p50_ms']} / {hit['p99_ms']} ms | {hit['ping_rps']:,.0f} | {hit['vs_ping']} |"
        )
    return "\n".join(rows)


def _git() -> str:
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.status_pages", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output", type=Path, default=None, help="JSON results (default bench/results/<date>-status-pages.json)")
    p.add_argument("--label", default="", help="what this run measures (e.g. before, after), kept in the JSON")
    p.add_argument("--reuse-db", action="store_true", help="measure the campaign a previous run built instead of building it again")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--repeat", type=int, default=20, help="in-process misses and hits per page")
    p.add_argument("--misses", type=int, default=30, help="sequential misses per page under gunicorn")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(ROOT))
    from bench.__main__ import _prepare_database

    _prepare_database(url, fresh=not args.reuse_db, log=log)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.core.cache import cache

    from campaign.models import Campaign

    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    results = {"meta": {"date": date.today().isoformat(), "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "label": args.label,
                        "command": "python -m bench.status_pages " + " ".join(argv if argv is not None else sys.argv[1:]), "git": _git(),
                        "database": url.rsplit("/", 1)[-1], "redis": os.environ["REDIS_URL"], "cpus": os.cpu_count()}}  # fmt: skip
    if not args.reuse_db:
        t0 = time.perf_counter()
        results["meta"]["data"] = build(seed=args.seed, log=log)
        results["meta"]["build_seconds"] = round(time.perf_counter() - t0, 1)
    from django.db.models import Count

    from campaign.models import Post

    results["meta"]["trader_posts"] = dict(
        Post.objects.filter(campaign=campaign, author__uid__in=[TOP_UID, MEDIAN_UID]).values_list("author__uid").annotate(n=Count("id")).order_by()
    )
    cache.delete_many([f"pages:campaign:{campaign.slug}"])
    paths = _paths(campaign)
    results["in_process"] = in_process(campaign, paths, repeat=args.repeat, log=log)
    results["gunicorn"] = under_gunicorn(campaign, paths, database_url=url, connections=args.connections, seconds=args.seconds, misses=args.misses,
                                         workers=args.workers, threads=args.threads, log=log)  # fmt: skip
    output = args.output or ROOT / "bench" / "results" / f"{date.today().isoformat()}-status-pages.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    log(f"results written to {output}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
