"""`python -m bench --traders 10000 --posts 1000000` (from the project root, in the venv).

Builds a synthetic campaign on PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/bench; a database whose name starts with `bench` is dropped and
created afresh unless --reuse-db), measures every step beside its baseline in one run, prints a
table and writes bench/results/<date>.json.
"""

import argparse
import os
import shlex
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench"


def _prepare_database(url: str, *, fresh: bool, log):
    import psycopg
    from psycopg import sql

    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.get("dbname")
    if not name or not name.startswith("bench"):
        raise SystemExit(f"refusing to run on database {name!r}: the harness only uses a database named bench* (it drops it)")
    with psycopg.connect(url, dbname="postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            log(f"database {name}: dropping it for a fresh run")
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"database {name}: created")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--traders", type=int, default=10_000)
    p.add_argument("--posts", type=int, default=1_000_000)
    p.add_argument("--new-posts", type=int, default=1000, help="posts added to the judged campaign (figure b., incremental)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("BENCH_DATA_DIR", "/tmp/bench-data")), help="where generated files are cached")
    p.add_argument("--output", type=Path, default=None, help="JSON results (default bench/results/<date>.json)")
    p.add_argument("--reuse-db", action="store_true", help="keep the database instead of dropping and re-creating it")
    p.add_argument("--no-load", action="store_true", help="skip step e. (gunicorn)")
    p.add_argument("--no-proto", action="store_true", help="skip the COPY+upsert prototype (not a target)")
    p.add_argument("--load-seconds", type=float, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers (README's production shape: 3)")
    p.add_argument("--threads", type=int, default=4, help="gthread threads per worker")
    p.add_argument("--only-load", action="store_true", help="with --reuse-db: re-measure step e. on the database a run left and merge it into --output")
    p.add_argument("--only-settlement", action="store_true", help="with --reuse-db: re-measure steps c. (with its SQL baseline) and d. likewise")
    p.add_argument(
        "--judge-workers", default="1,2", help="after the settlements, the queued judging again on N Celery worker processes, for each N (needs REDIS_URL; '' skips)"
    )
    p.add_argument("--profile", type=Path, default=None, metavar="DIR", help="pyinstrument each step into DIR/profile-<step>.txt (pip install pyinstrument)")
    args = p.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(ROOT))
    if (args.only_load or args.only_settlement) and not args.reuse_db:
        raise SystemExit("--only-load and --only-settlement need --reuse-db (they measure the campaign a previous run left)")
    _prepare_database(url, fresh=not args.reuse_db, log=log)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from bench import steps

    output = args.output or ROOT / "bench" / "results" / f"{date.today().isoformat()}.json"
    if args.only_settlement:
        results = steps.rerun_settlement(output=output, log=log)
        print(steps.table(results))
        return 0
    if args.only_load:
        results = steps.rerun_load(
            output=output, server_database_url=url, log=log, connections=args.connections, seconds=args.load_seconds,
            client=args.client, workers=args.workers, threads=args.threads,
        )  # fmt: skip
        print(steps.table(results))
        return 0
    results = steps.run(
        traders=args.traders,
        posts=args.posts,
        new_posts=args.new_posts,
        seed=args.seed,
        data_dir=args.data_dir,
        output=output,
        load=not args.no_load,
        load_seconds=args.load_seconds,
        connections=args.connections,
        client=args.client,
        workers=args.workers,
        threads=args.threads,
        server_database_url=url,
        proto=not args.no_proto,
        profile_dir=args.profile,
        judge_workers=tuple(int(n) for n in args.judge_workers.split(",") if n.strip()) if os.environ.get("REDIS_URL") else (),
        command="python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:]),
        log=log,
    )
    print(steps.table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
