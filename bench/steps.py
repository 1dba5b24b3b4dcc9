"""The measured steps. Each figure is taken beside its raw-PostgreSQL (or trivial-view) baseline in
the same run, so the ratios hold on a noisy machine even when the absolute numbers do not.

Every step runs inside `Meter`: wall time, and peak RSS of this process during the step (the
kernel's high-water mark, reset before the step through /proc/self/clear_refs; gunicorn's
processes are read separately). PostgreSQL's own memory is not counted.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from django.db import connection, transaction
from django.test.utils import override_settings

from bench import data as bench_data
from bench import load as bench_load

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_SLUG = "star-lead-traders-2"
RAW_TABLE = "bench_raw_post"

# Issue 7, at 10,000 traders and 1,000,000 posts.
TARGETS = {
    "ingest_vs_copy": 0.3,
    "import_end_to_end_s_at_1m": 300.0,
    "judge_workers_2_vs_1": 1.6,
    "qualify_scratch_s_at_1m": 300.0,
    "qualify_incremental_s": 5.0,
    "settlement_s": 10.0,
    "status_vs_ping": 0.5,
    "status_p99_ms": 50.0,
    "peak_rss_mb": 2048.0,
}


# --- memory and time -------------------------------------------------------------------------


def _status_kb(field: str, pid="self") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: the lifetime peak is the best there is
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024, 1)


class Meter:
    """Collects per-step figures into `results["steps"]`; a failing step is recorded, not fatal."""

    def __init__(self, results: dict, log, profile_dir: Path | None = None):
        self.results, self.log, self.profile_dir = results, log, profile_dir
        self.checkpoint = None
        self.exact_peaks = _reset_peak()
        results["meta"]["peak_rss_method"] = "VmHWM reset per step (/proc/self/clear_refs)" if self.exact_peaks else "ru_maxrss (lifetime peak)"

    @contextmanager
    def step(self, name: str):
        rec = {}
        self.results["steps"][name] = rec
        self.log(f"--- {name}")
        _reset_peak()
        profiler = None
        if self.profile_dir is not None:
            try:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.005)
                profiler.start()
            except ImportError:
                profiler = None
        t0 = time.perf_counter()
        try:
            yield rec
        except Exception as exc:  # noqa: BLE001 - a benchmark records the failure and goes on
            rec["error"] = f"{type(exc).__name__}: {exc}"
            self.log(traceback.format_exc())
        finally:
            rec.setdefault("seconds", round(time.perf_counter() - t0, 3))
            rec["peak_rss_mb"] = _peak_mb()
            if profiler is not None:
                profiler.stop()
                self.profile_dir.mkdir(parents=True, exist_ok=True)
                out = self.profile_dir / f"profile-{name}.txt"
                out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
                rec["profile"] = str(out)
            if self.checkpoint is not None:
                self.checkpoint()
            self.log(f"    {name}: {rec.get('seconds')} s, peak RSS {rec['peak_rss_mb']} MiB" + (f"  ERROR {rec['error']}" if "error" in rec else ""))


def _rate(rec: dict, count: int, key: str):
    rec[key] = round(count / rec["seconds"], 1) if rec.get("seconds") else None


# --- the steps ---------------------------------------------------------------------------------


def _records(path: Path):
    """Source records of a JSON Lines file, streamed, as the bench has always read them (its figures
    stay comparable); posts_import_file streams too, with the line limits of core/reading.py."""
    from core.reading import SourceRecord

    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            raw = raw.rstrip("\n")
            if raw.strip():
                yield SourceRecord(number, raw, json.loads(raw))


def step_setup(ds, campaign, rec):
    from campaign.services import campaign_import_file, signups_import
    from core.models import ImportRun

    command = ImportRun.Source.COMMAND
    reports = [
        campaign_import_file(campaign=campaign, kind=ImportRun.Kind.REGISTRATIONS, data=ds.registrations.read_bytes(), filename="bench", source=command),
        signups_import(campaign=campaign, data=ds.signups.read_bytes(), filename="bench"),
        campaign_import_file(campaign=campaign, kind=ImportRun.Kind.TRADER_STATS, data=ds.trader_stats.read_bytes(), filename="bench", source=command),
    ]
    rec["imported"] = {r.run.kind: r.run.accepted for r in reports}
    rec["rejected"] = sum(r.run.rejected for r in reports)


def step_copy_raw(ds, rec):
    """Baseline of a.: binary COPY of the same rows (read and parsed from the same file)."""
    with connection.cursor() as c:
        c.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        c.execute(
            f"CREATE TABLE {RAW_TABLE} (post_id text, author_uid bigint, created_at timestamptz, text text, "
            "likes integer, comments integer, shares integer, views bigint, deleted boolean)"
        )
    t0 = time.perf_counter()
    rows = 0
    parse = datetime.fromisoformat
    with transaction.atomic(), connection.cursor() as c:
        with c.cursor.copy(f"COPY {RAW_TABLE} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int8", "timestamptz", "text", "int4", "int4", "int4", "int8", "bool"])
            with open(ds.posts, encoding="utf-8") as f:
                for line in f:
                    o = json.loads(line)
                    copy.write_row((o["post_id"], o["author_uid"], parse(o["created_at"]), o["text"], o["likes"], o["comments"], o["shares"], o["views"], o["deleted"]))
                    rows += 1
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    rec["rows"] = rows
    _rate(rec, rows, "rows_per_s")
    with connection.cursor() as c:
        c.execute(f"DROP TABLE {RAW_TABLE}")


def step_copy_upsert(ds, campaign, rec):
    """Not a target: the bulk path the issue suggests (COPY into a staging table, then one
    INSERT ... ON CONFLICT per chunk) into a table shaped like campaign_post with its indexes and
    unique key, so the report can show what the database side of `posts_ingest` could cost.
    Signatures, band keys and judging are not in it."""
    chunk = 100_000
    given = ["campaign_id", "post_id", "author_id", "created_at", "text", "likes", "comments", "shares", "views", "deleted",
             "content_hash", "first_seen_at", "last_seen_at", "signature"]  # fmt: skip
    zero = {"boolean": "false", "integer": "0", "bigint": "0", "text": "''", "character varying": "''", "bytea": "'\\x'::bytea", "timestamp with time zone": "now()"}
    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_proto_post")
        c.execute("CREATE TABLE bench_proto_post (LIKE campaign_post INCLUDING ALL)")
        # Every other NOT NULL column without a default gets a zero value (the schema evolves).
        c.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'campaign_post' "
            "AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' ORDER BY ordinal_position"
        )
        extra = [(name, zero.get(kind, "DEFAULT")) for name, kind in c.fetchall() if name not in given]
    extra_cols = "".join(f", {name}" for name, _ in extra)
    extra_vals = "".join(f", {value}" for _, value in extra)
    t0 = time.perf_counter()
    rows = 0
    parse = datetime.fromisoformat

    def flush(batch):
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "CREATE TEMP TABLE bench_stage (post_id text, author_uid bigint, created_at timestamptz, text text, "
                "likes integer, comments integer, shares integer, views bigint, deleted boolean) ON COMMIT DROP"
            )
            with c.cursor.copy("COPY bench_stage FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["text", "int8", "timestamptz", "text", "int4", "int4", "int4", "int8", "bool"])
                for row in batch:
                    copy.write_row(row)
            c.execute(
                f"""
                INSERT INTO bench_proto_post (campaign_id, post_id, author_id, created_at, text, likes, comments, shares,
                    views, deleted, content_hash, first_seen_at, last_seen_at, signature{extra_cols})
                SELECT DISTINCT ON (s.post_id) %s, s.post_id, t.id, s.created_at, s.text, s.likes, s.comments, s.shares,
                    s.views, s.deleted, encode(sha256(convert_to(s.text, 'UTF8')), 'hex'), now(), now(), '\\x'::bytea{extra_vals}
                FROM bench_stage s JOIN traders_trader t ON t.uid = s.author_uid
                ON CONFLICT (campaign_id, post_id) DO UPDATE SET text = EXCLUDED.text, likes = EXCLUDED.likes,
                    comments = EXCLUDED.comments, shares = EXCLUDED.shares, views = EXCLUDED.views,
                    deleted = EXCLUDED.deleted, content_hash = EXCLUDED.content_hash, last_seen_at = EXCLUDED.last_seen_at
                """,
                [campaign.pk],
            )

    batch = []
    with open(ds.posts, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            batch.append((o["post_id"], o["author_uid"], parse(o["created_at"]), o["text"], o["likes"], o["comments"], o["shares"], o["views"], o["deleted"]))
            rows += 1
            if len(batch) >= chunk:
                flush(batch)
                batch = []
    if batch:
        flush(batch)
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    rec["rows"] = rows
    _rate(rec, rows, "rows_per_s")
    with connection.cursor() as c:
        c.execute("DROP TABLE bench_proto_post")


def import_timed(campaign, path, rec):
    """A posts file's import in its two steps, timed into `rec`; returns the import's report. The
    write (`posts_ingest(bulk=True, wait=False)`, the path `posts_import_file` takes: COPY into a
    staging table and one upsert a chunk, posts stored unsigned, the judging queued) is the
    acknowledged figure (`write_seconds`); then the judging job, taken here by this process alone
    as the import command does with no worker running (`judge_seconds`, and the instant each
    stage ended: `judge_stage_seconds`). `seconds` is the two together."""
    from campaign.services.import_judging import judging_job_progress, judging_job_wait
    from campaign.services.posts import posts_ingest

    rec["mode"] = "two steps: write (acknowledged), then the queued judging taken by this process"
    t0 = time.perf_counter()
    report = posts_ingest(campaign=campaign, records=_records(path), filename="bench", bulk=True, wait=False)
    rec["write_seconds"] = round(time.perf_counter() - t0, 3)
    job = report.followup
    if job is not None:
        t1 = time.perf_counter()
        job = judging_job_wait(job=job)
        rec["judge_seconds"] = round(time.perf_counter() - t1, 3)
        rec["judge_stage_seconds"] = _stage_seconds(job)
        rec["judging"] = {"job": job.pk, "stage": job.stage, "progress": judging_job_progress(job)}
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    rec["rows"] = report.run.total
    rec["accepted"] = report.run.accepted
    rec["rejected"] = report.run.rejected
    return report


def step_ingest(ds, campaign, rec, path=None):
    """a. (and the incremental half of b.): a posts file's import in its two steps (`import_timed`),
    then its rates, what it stored and the verdicts."""
    from campaign.models import Post
    from campaign.near_duplicates.db import BAND_TABLES

    report = import_timed(campaign, path or ds.posts, rec)
    _rate(rec, report.run.total, "rows_per_s")
    rec["acknowledged_rows_per_s"] = round(report.run.total / rec["write_seconds"], 1) if rec["write_seconds"] else None
    rec["posts_stored"] = Post.objects.filter(campaign=campaign).count()
    rec["band_rows"] = sum(model.objects.filter(campaign=campaign).count() for model in BAND_TABLES)
    rec["verdicts"] = _verdicts(campaign)


def _stage_seconds(job) -> dict:
    """Seconds from the job's start to the last chunk of each stage done (cumulative)."""
    from django.db.models import Max

    from campaign.models import JudgingChunk

    ends = dict(JudgingChunk.objects.filter(job=job).values_list("stage").annotate(end=Max("done_at")))
    return {stage: round((end - job.created_at).total_seconds(), 3) for stage, end in ends.items() if end}


def step_judge_workers(campaign, rec, *, workers: int, redis_url: str, log=print):
    """The queued judging of the whole file again, taken by `workers` Celery worker processes
    alone (this process only watches), from the state the import's write leaves: every post
    unsigned, waiting for the index and unjudged, no band rows. That state is set by SQL first
    (timed apart). The verdicts and links must come out as before."""
    from campaign.models import IndexMark, Post
    from campaign.near_duplicates.db import BAND_TABLES
    from campaign.services.import_judging import judging_job_progress, judging_job_start, judging_job_wait

    before = _verdicts(campaign)
    t0 = time.perf_counter()
    with transaction.atomic():
        Post.objects.filter(campaign=campaign).update(
            signature=b"", text_length=None, trading_term=None, lexicon_key="", index_stale=True, judged_at=None,
            verdict=Post.Verdict.PENDING, score=0, duplicate_of=None, duplicate_of_reference=None,
        )  # fmt: skip
        for model in BAND_TABLES:
            model.objects.filter(campaign=campaign).delete()
        IndexMark.objects.filter(campaign=campaign).delete()
    with connection.cursor() as c:
        c.execute(f"VACUUM (ANALYZE) {Post._meta.db_table}")
    rec["reset_seconds"] = round(time.perf_counter() - t0, 3)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": _database_url(), "REDIS_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "false"}
    logs = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "INFO", "--without-mingle", "--without-gossip", "-n", f"bench{n}-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=open(logs / f"worker{n}.log", "w"), stderr=subprocess.STDOUT,
        )
        for n in range(workers)
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all("ready" in (logs / f"worker{n}.log").read_text() for n in range(workers)):
            time.sleep(0.2)
        t1 = time.perf_counter()
        job = judging_job_start(campaign=campaign)  # not eager here: its chunks go to the workers
        job = judging_job_wait(job=job, work=False, poll=0.1)
        rec["seconds"] = round(time.perf_counter() - t1, 3)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    rec["workers"] = workers
    rec["stage"] = job.stage
    rec["stage_seconds"] = _stage_seconds(job)
    rec["progress"] = judging_job_progress(job)
    rec["worker_logs"] = str(logs)
    rec["same_verdicts"] = _verdicts(campaign) == before
    _rate(rec, sum(before.values()), "posts_per_s")


def _verdicts(campaign) -> dict:
    from django.db.models import Count

    from campaign.models import Post

    return dict(Post.objects.filter(campaign=campaign).values_list("verdict").annotate(n=Count("id")).order_by("verdict"))


def step_qualify_scratch(campaign, rec):
    """b. from scratch: forget every verdict and duplicate link, then the project's own full path:
    `duplicates_rebuild` (relink every post from the stored band index) and `posts_judge` (all).
    Signatures and band rows are written at ingest, so they are in figure a., not here."""
    from campaign.models import Post
    from campaign.services import posts_judge
    from campaign.services.duplicates import duplicates_rebuild

    Post.objects.filter(campaign=campaign).update(verdict=Post.Verdict.PENDING, score=0, judged_at=None, duplicate_of=None, duplicate_of_reference=None)
    posts = Post.objects.filter(campaign=campaign).count()
    t0 = time.perf_counter()
    relinked = duplicates_rebuild(campaign=campaign)
    t1 = time.perf_counter()
    changed = posts_judge(campaign=campaign)
    t2 = time.perf_counter()
    rec.update(seconds=round(t2 - t0, 3), relink_seconds=round(t1 - t0, 3), judge_seconds=round(t2 - t1, 3), posts=posts, relinked=len(relinked), judged=changed)
    _rate(rec, posts, "posts_per_s")
    rec["verdicts"] = _verdicts(campaign)


def step_settlement(campaign, rec, *, full_judge=False):
    """c. `settle_campaign` as of the final due instant. With `full_judge` every post is judged
    again (the scheduled settlements, or the first one); without, only what changed since the
    last whole judging (a re-settlement by ops: here right after the whole one)."""
    from rewards.services.settlement import settle_campaign

    at = campaign.ends_at + campaign.grace + timedelta(hours=1)
    t0 = time.perf_counter()
    run = settle_campaign(campaign=campaign, at=at, triggered_by="bench", full_judge=full_judge)
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    rec["full_judge"] = full_judge
    s = run.summary
    rec["qualified_posts"] = s.get("qualified_posts")
    rec["ledger"] = s.get("ledger")
    rec["first_post_traders"] = s.get("first_post", {}).get("traders")
    rec["leaderboard_ranked"] = s.get("leaderboard", {}).get("ranked")
    rec["content_pool_creators"] = {code: p.get("creators") for code, p in s.get("content_pool", {}).items()}


def step_vacuum(rec):
    """`VACUUM (ANALYZE)` of the posts, what autovacuum does after a bulk change on a server with
    its default configuration (minutes after the bulk judging, long before ops re-settle): it
    marks the pages all-visible, which lets the re-settlement read the qualifying posts from the
    covering index alone. Timed apart; this machine's server runs with autovacuum off."""
    from campaign.models import Post
    from core.database import sql_text

    with connection.cursor() as c:
        c.execute("SHOW autovacuum")
        rec["server_autovacuum"] = c.fetchone()[0]
    t0 = time.perf_counter()
    with connection.cursor() as c:
        c.execute(sql_text("VACUUM (ANALYZE) {table}", table=Post._meta.db_table))
    rec["seconds"] = round(time.perf_counter() - t0, 3)


def step_settlement_sql(campaign, rec):
    """Baseline of c.: the bare SQL aggregate of the scores (qualifying posts per author)."""
    sql = (
        "SELECT author_id, count(*), sum(score) FROM campaign_post "
        "WHERE campaign_id = %s AND verdict = 'qualified' GROUP BY author_id"
    )
    with connection.cursor() as c:
        c.execute(sql, [campaign.pk])  # warm-up, as the settlement had its own reads warm
        c.fetchall()
        t0 = time.perf_counter()
        c.execute(sql, [campaign.pk])
        rows = c.fetchall()
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    rec["authors"] = len(rows)
    rec["sql"] = sql


def step_payout(campaign, rec):
    from rewards.services.reports import payout_report_store, payout_rows, render_csv

    t0 = time.perf_counter()
    rows = payout_rows(campaign=campaign)
    csv_text = render_csv(rows)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        report = payout_report_store(campaign=campaign, created_by="bench", email=False)
    t2 = time.perf_counter()
    rec.update(rows=len(rows), csv_seconds=round(t1 - t0, 4), csv_bytes=len(csv_text.encode()), seconds=round(t2 - t1, 3), stored_rows=report.rows)
    _rate(rec, len(rows), "rows_per_s")
    rec["csv_rows_per_s"] = round(len(rows) / (t1 - t0), 1) if t1 > t0 else None


def _page_paths(campaign) -> dict:
    """The status page and public leaderboard paths, when the project has them; else a flagged
    stand-in that exists (/admin/login/, a template-rendered page)."""
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    from rewards.models import Reward

    fallback = "/admin/login/"
    found = {}
    public = None
    for name in ("rewards:public", "rewards:leaderboard", "rewards:public-leaderboard", "rewards:public_leaderboard", "rewards:campaign"):
        try:
            public = reverse(name, kwargs={"slug": campaign.slug})
            break
        except NoReverseMatch:
            continue
    if public is None:
        try:
            resolve(f"/c/{campaign.slug}/", urlconf="config.urls")
            public = f"/c/{campaign.slug}/"
        except Resolver404:
            pass
    found["public"] = {"path": public, "stand_in": False} if public else {"path": fallback, "stand_in": True, "reason": "no /c/<slug>/ route yet"}

    # The status page of two traders: the median one by post count (the target) and the
    # top-ranked one (a prolific trader: the heaviest page).
    from django.db.models import Count

    from campaign.models import Post

    counts = list(Post.objects.filter(campaign=campaign).values_list("author").annotate(n=Count("id")).order_by("n", "author"))
    median_id = counts[len(counts) // 2][0] if counts else None
    reward = Reward.objects.filter(campaign=campaign, kind=Reward.Kind.LEADERBOARD).order_by("-amount", "trader__uid").first()
    traders = {"status": median_id, "status_top": reward.trader_id if reward else None}
    for name, trader_id in traders.items():
        status = None
        try:
            from rewards.selectors.links import status_link_token
            from rewards.services.status_links import status_link_get_or_create
            from traders.models import Trader

            if trader_id is not None:
                link = status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(pk=trader_id))
                status = reverse("rewards:status", args=[status_link_token(link)])
        except (ImportError, NoReverseMatch) as exc:
            found[name] = {"path": fallback, "stand_in": True, "reason": f"no status page yet ({exc})"}
            continue
        if status:
            found[name] = {"path": status, "stand_in": False, "trader_posts": dict(counts).get(trader_id)}
        else:
            found[name] = {"path": fallback, "stand_in": True, "reason": "no trader to show"}
    return found


def step_load(campaign, rec, *, database_url, connections, seconds, client, workers, threads):
    paths = _page_paths(campaign)
    client = bench_load.pick_client(client)
    rec.update(client=client, connections=connections, seconds_per_url=seconds, gunicorn={"workers": workers, "threads": threads, "worker_class": "gthread"})
    with bench_load.Server(database_url=database_url, workers=workers, threads=threads) as server:
        for name, path in (("ping", "/bench/ping/"), *((n, paths[n]["path"]) for n in ("status", "status_top", "public"))):
            status, body = bench_load.get(server.port, path)
            entry = {"path": path, "http_status": status, "bytes": len(body)}
            if name != "ping":
                entry.update({k: v for k, v in paths[name].items() if k != "path"})
            entry.update(bench_load.measure(server.port, path, connections=connections, seconds=seconds, client=client))
            rec[name] = entry
        rec["gunicorn_peak_rss"] = server.peak_rss_mb()
    for name in ("status", "status_top", "public"):
        rec[f"{name}_vs_ping"] = round(rec[name]["rps"] / rec["ping"]["rps"], 3) if rec["ping"]["rps"] else None


# --- the run -----------------------------------------------------------------------------------


def _server_settings() -> dict:
    """The PostgreSQL settings the figures depend on most, as the server reports them."""
    out = {}
    with connection.cursor() as c:
        for name in ("shared_buffers", "work_mem", "maintenance_work_mem", "autovacuum", "synchronous_commit", "max_wal_size"):
            c.execute("SELECT current_setting(%s)", [name])
            out[name] = c.fetchone()[0]
    return out


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(
    *,
    traders: int,
    posts: int,
    new_posts: int = 1000,
    seed: int = 1,
    data_dir: Path,
    output: Path | None,
    load: bool = True,
    load_seconds: float = 10,
    connections: int = 32,
    client: str = "auto",
    workers: int = 3,
    threads: int = 4,
    server_database_url: str | None = None,
    proto: bool = True,
    profile_dir: Path | None = None,
    command: str = "",
    judge_workers: tuple[int, ...] = (),
    log=print,
) -> dict:
    """Run every step on the current default database and return (and write) the results."""
    from campaign.models import Campaign

    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute("SHOW server_version")
        pg_version = c.fetchone()[0]
    results = {
        "meta": {
            "date": date.today().isoformat(),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "traders": traders,
            "posts": posts,
            "new_posts": new_posts,
            "seed": seed,
            "python": platform.python_version(),
            "postgresql": pg_version,
            "cpus": os.cpu_count(),
            "git": _git_commit(),
            "database": connection.settings_dict.get("NAME"),
            "server_settings": _server_settings(),
        },
        "steps": {},
        "targets": {},
    }
    meter = Meter(results, log, profile_dir)

    def write():
        results["ratios"] = ratios(results)
        results["targets"] = targets(results)
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")

    # Written after every step too, so a run stopped half-way still leaves its figures.
    meter.checkpoint = write
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)

    with meter.step("generate") as rec:
        ds = bench_data.build(data_dir, traders=traders, posts=posts, new=new_posts, seed=seed, log=log)
        rec["directory"] = str(ds.directory)
        rec["posts_mib"] = round(os.path.getsize(ds.posts) / 2**20, 1)
    with meter.step("setup_traders") as rec:
        step_setup(ds, campaign, rec)
    with meter.step("copy_raw") as rec:
        step_copy_raw(ds, rec)
    if proto:
        with meter.step("copy_upsert_proto") as rec:
            step_copy_upsert(ds, campaign, rec)
    with meter.step("ingest") as rec:
        step_ingest(ds, campaign, rec)
        log(f"    write (acknowledged) {rec.get('write_seconds')} s, judging {rec.get('judge_seconds')} s {rec.get('judge_stage_seconds')}")
    with meter.step("qualify_scratch") as rec:
        step_qualify_scratch(campaign, rec)
    with meter.step("qualify_incremental") as rec:
        step_ingest(ds, campaign, rec, path=ds.new_posts)
        _rate(rec, rec.get("rows", 0), "posts_per_s")
    _settlement_steps(meter, campaign)
    for n in judge_workers:
        with meter.step(f"judge_workers_{n}") as rec:
            step_judge_workers(campaign, rec, workers=n, redis_url=os.environ["REDIS_URL"], log=log)
    if load:
        url = server_database_url or _database_url()
        connection.close()  # gunicorn's workers open their own
        with meter.step("load") as rec:
            step_load(campaign, rec, database_url=url, connections=connections, seconds=load_seconds, client=client, workers=workers, threads=threads)
    results["meta"]["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["meta"]["complete"] = True
    write()
    if output is not None:
        log(f"results written to {output}")
    return results


def _rerun(output: Path, log, measure) -> dict:
    """Re-measure some steps on the database a previous run left (`--reuse-db`), merging them
    into that run's JSON; `measure(meter, campaign)` runs the steps."""
    from campaign.models import Campaign

    results = json.loads(output.read_text())
    meter = Meter(results, log)
    measure(meter, Campaign.objects.get(slug=CAMPAIGN_SLUG))
    results["ratios"] = ratios(results)
    results["targets"] = targets(results)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    return results


def rerun_load(*, output: Path, server_database_url: str | None = None, log=print, **load_options) -> dict:
    """Step e. alone (`--only-load`), e.g. after the load step failed or the pages changed."""

    def measure(meter, campaign):
        url = server_database_url or _database_url()
        connection.close()
        with meter.step("load") as rec:
            step_load(campaign, rec, database_url=url, **load_options)
            rec["rerun_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")

    return _rerun(output, log, measure)


def rerun_settlement(*, output: Path, log=print) -> dict:
    """Steps c. and d. alone (`--only-settlement`): both settlements beside their SQL baseline,
    then the payout report, on the campaign a run left."""

    return _rerun(output, log, lambda meter, campaign: _settlement_steps(meter, campaign, rerun=True))


def _settlement_steps(meter, campaign, *, rerun=False):
    """Steps c. and d.: the settlement judging every post, the vacuum, the re-settlement beside
    its SQL baseline, the payout report. A rerun stamps what it re-measured."""

    def stamp(rec):
        if rerun:
            rec["rerun_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")

    with meter.step("settlement_full") as rec:
        step_settlement(campaign, rec, full_judge=True)
        stamp(rec)
    with meter.step("vacuum") as rec:
        step_vacuum(rec)
    with meter.step("settlement") as rec:
        step_settlement(campaign, rec)
        stamp(rec)
    with meter.step("settlement_sql") as rec:
        step_settlement_sql(campaign, rec)
    with meter.step("payout_report") as rec:
        step_payout(campaign, rec)
        stamp(rec)


def _database_url() -> str:
    s = connection.settings_dict
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += ":" + s["PASSWORD"]
    return f"postgres://{auth + '@' if auth else ''}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def _get(results, step, key):
    return results["steps"].get(step, {}).get(key)


def ratios(results) -> dict:
    def div(a, b):
        return round(a / b, 4) if a is not None and b else None

    load = results["steps"].get("load", {})
    return {
        "ingest_vs_copy": div(_get(results, "ingest", "rows_per_s"), _get(results, "copy_raw", "rows_per_s")),
        "acknowledged_vs_copy": div(_get(results, "ingest", "acknowledged_rows_per_s"), _get(results, "copy_raw", "rows_per_s")),
        "judge_workers_2_vs_1": div(_get(results, "judge_workers_1", "seconds"), _get(results, "judge_workers_2", "seconds")),
        "proto_upsert_vs_copy": div(_get(results, "copy_upsert_proto", "rows_per_s"), _get(results, "copy_raw", "rows_per_s")),
        "settlement_vs_sql": div(_get(results, "settlement", "seconds"), _get(results, "settlement_sql", "seconds")),
        "status_vs_ping": load.get("status_vs_ping"),
        "status_top_vs_ping": load.get("status_top_vs_ping"),
        "public_vs_ping": load.get("public_vs_ping"),
    }


def targets(results) -> dict:
    """Each target of the issue with the measured value; `met` is None when not measurable."""
    r = results["ratios"]
    posts = results["meta"]["posts"]
    scratch = _get(results, "qualify_scratch", "posts_per_s")
    # The qualification target is for 1,000,000 posts; at another scale the rate is projected
    # linearly (optimistic for super-linear code) and flagged as such.
    projected = round(1_000_000 / scratch, 1) if scratch else None
    load = results["steps"].get("load", {})
    status = load.get("status", {})
    peaks = {name: s.get("peak_rss_mb") for name, s in results["steps"].items()}
    gunicorn_peak = load.get("gunicorn_peak_rss", {}).get("max_process_mb")

    def t(value, limit, *, at_least=False, note=""):
        met = None if value is None else (value >= limit if at_least else value < limit)
        out = {"value": value, "target": (">= " if at_least else "< ") + str(limit), "met": met}
        if note:
            out["note"] = note
        return out

    return {
        "import acknowledged >= 0.3 x raw COPY": t(r.get("acknowledged_vs_copy"), TARGETS["ingest_vs_copy"], at_least=True, note="the write: posts stored, judging queued"),
        "import to every verdict < 300 s at 1,000,000": t(
            _get(results, "ingest", "seconds"), TARGETS["import_end_to_end_s_at_1m"], note="" if posts == 1_000_000 else f"at {posts:,} posts"
        ),
        "judging, 2 worker processes >= 1.6 x 1": t(r.get("judge_workers_2_vs_1"), TARGETS["judge_workers_2_vs_1"], at_least=True),
        "qualification of 1,000,000 posts < 300 s": t(
            _get(results, "qualify_scratch", "seconds") if posts == 1_000_000 else projected,
            TARGETS["qualify_scratch_s_at_1m"],
            note="" if posts == 1_000_000 else f"projected linearly from {posts:,} posts",
        ),
        "1,000 new posts judged < 5 s": t(_get(results, "qualify_incremental", "seconds"), TARGETS["qualify_incremental_s"]),
        "settlement < 10 s": t(
            _get(results, "settlement", "seconds"),
            TARGETS["settlement_s"],
            note="re-settlement, judging what changed" + ("" if posts == 1_000_000 else f"; at {posts:,} posts"),
        ),
        "status page >= 0.5 x trivial view rps": t(r.get("status_vs_ping"), TARGETS["status_vs_ping"], at_least=True, note="STAND-IN page" if status.get("stand_in") else ""),
        "status page p99 < 50 ms at 32 connections": t(status.get("p99_ms"), TARGETS["status_p99_ms"], note="STAND-IN page" if status.get("stand_in") else ""),
        "peak RSS < 2 GiB at every step": t(max([p for p in [*peaks.values(), gunicorn_peak] if p is not None], default=None), TARGETS["peak_rss_mb"]),
    }


# --- the table ---------------------------------------------------------------------------------


def table(results) -> str:
    s = results["steps"]
    r = results["ratios"]

    def g(step, key, fmt="{:,.1f}"):
        v = s.get(step, {}).get(key)
        return "-" if v is None else fmt.format(v)

    lines = []
    m = results["meta"]
    lines.append(f"bench: {m['traders']:,} traders, {m['posts']:,} posts (+{m['new_posts']:,} new), PostgreSQL {m['postgresql']}, {m['cpus']} CPUs, git {m['git']}")
    lines.append(f"{'step':<22}{'seconds':>10}{'rate':>16}  {'baseline':<34}{'ratio':>8}{'peak RSS MiB':>14}")

    def row(name, step, rate, baseline, ratio, seconds="seconds"):
        err = "  ERROR " + s[step]["error"] if "error" in s.get(step, {}) else ""
        lines.append(f"{name:<22}{g(step, seconds, '{:,.2f}'):>10}{rate:>16}  {baseline:<34}{ratio:>8}{g(step, 'peak_rss_mb'):>14}{err}")

    fmt_ratio = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    row("a. raw binary COPY", "copy_raw", g("copy_raw", "rows_per_s", "{:,.0f} rows/s"), "(baseline)", "")
    if "copy_upsert_proto" in s:
        row("   COPY+upsert proto", "copy_upsert_proto", g("copy_upsert_proto", "rows_per_s", "{:,.0f} rows/s"), "vs raw COPY", fmt_ratio(r.get("proto_upsert_vs_copy")))
    ing = s.get("ingest", {})
    row("a. import, end to end", "ingest", g("ingest", "rows_per_s", "{:,.0f} rows/s"),
        f"vs raw COPY (write {ing.get('write_seconds', '-')} s + judge {ing.get('judge_seconds', '-')} s)", fmt_ratio(r.get("ingest_vs_copy")))  # fmt: skip
    row("a. acknowledged", "ingest", g("ingest", "acknowledged_rows_per_s", "{:,.0f} rows/s"), "write alone vs raw COPY", fmt_ratio(r.get("acknowledged_vs_copy")), seconds="write_seconds")
    q = s.get("qualify_scratch", {})
    row("b. qualify (scratch)", "qualify_scratch", g("qualify_scratch", "posts_per_s", "{:,.0f} posts/s"),
        f"relink {q.get('relink_seconds', '-')} s + judge {q.get('judge_seconds', '-')} s", "")  # fmt: skip
    row("b. 1,000 new posts", "qualify_incremental", g("qualify_incremental", "posts_per_s", "{:,.0f} posts/s"), "ingest+index+judge", "")
    row("c. settle, judge all", "settlement_full", "", "every post judged again", "")
    for name in sorted(n for n in s if n.startswith("judge_workers_")):
        row(f"a'. judging, {s[name].get('workers')} proc.", name, g(name, "posts_per_s", "{:,.0f} posts/s"), f"queued judging on workers {s[name].get('stage_seconds')}"[:34], "")
    if r.get("judge_workers_2_vs_1") is not None:
        lines.append(f"   2 worker processes vs 1: {r['judge_workers_2_vs_1']:.2f}x")
    row("c. settlement", "settlement", "", f"SQL GROUP BY {g('settlement_sql', 'seconds', '{:.4f}')} s", fmt_ratio(r.get("settlement_vs_sql")) + "x")
    row("d. payout report", "payout_report", g("payout_report", "rows_per_s", "{:,.0f} rows/s"), f"CSV only {g('payout_report', 'csv_rows_per_s', '{:,.0f}')} rows/s", "")
    load = s.get("load", {})
    if load:
        row("e. load", "load", "", f"{load.get('client')} {load.get('connections')} conns {load.get('seconds_per_url')} s", "")
        for name in ("ping", "status", "status_top", "public"):
            e = load.get(name)
            if not e:
                continue
            flag = " STAND-IN" if e.get("stand_in") else ""
            ratio = "" if name == "ping" else fmt_ratio(load.get(f"{name}_vs_ping"))
            lines.append(f"   {name + flag:<19}{'':>10}{e['rps']:>12,.0f} r/s  p50 {e['p50_ms']} ms p99 {e['p99_ms']} ms {e['path'][:18]:<6}{ratio:>8}")
        gp = load.get("gunicorn_peak_rss", {})
        lines.append(f"   gunicorn peak RSS: {gp.get('max_process_mb')} MiB per process, {gp.get('sum_mb')} MiB over {gp.get('processes')} processes")
    lines.append("targets (issue 7, at 10,000 traders / 1,000,000 posts):")
    for name, t in results["targets"].items():
        mark = {True: "MET", False: "MISSED", None: "n/a"}[t["met"]]
        lines.append(f"  {mark:<7}{name:<46} value {t['value']}  target {t['target']}" + (f"  ({t['note']})" if t.get("note") else ""))
    return "\n".join(lines)
