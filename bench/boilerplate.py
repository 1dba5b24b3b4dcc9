"""Benchmark: 1,000 new posts into a judged campaign, repeatable, with the band lookup's counts
(issue 17: band keys shared by very many posts, bench/README.md "Boilerplate band keys").

Usage, from the project root, on the database a harness run left (`python -m bench ... --data-dir D`,
same --traders/--posts/--seed/--data-dir):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_h1 .venv/bin/python -m bench.boilerplate \\
        --traders 10000 --posts 100000 --data-dir /tmp/bench-data-h1 --runs 3 --label after \\
        --output bench/results/2026-12-07-h1-boilerplate-after.json

The posts are fresh ones from the same generator: the data set is written again with twice
`--count` new posts, the first half being the harness's own new posts (already stored), and the
second half is ingested, `posts_ingest(bulk=True)` as step b. does (`bench.steps.step_ingest`).
Each run is rolled back, so every run, and a run of another copy of the code on the same database
(the code before a change, from a copy of the tree), measures the same campaign. Besides the
times it counts, by wrapping the names `campaign.services.duplicates` calls, the band rows the
lookups returned (and how many carried a sketch) and the owners whose stored entry was read.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _counting(module, counts: dict):
    """Wrap the lookups and reads `module` (campaign.services.duplicates) calls, whichever exist."""
    originals = {}

    def wrap(name, count):
        original = getattr(module, name, None)
        if original is None:
            return
        originals[name] = original

        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            count(args, result)
            return result

        setattr(module, name, wrapper)

    def lookup(args, result):
        counts["lookups"] += 1
        counts["lookup_rows"] += len(result)
        counts["lookup_sketched"] += sum(1 for row in result if len(row) > 2 and row[2] is not None)

    def read(args, result):
        counts["entries_read"] += len(result)

    wrap("bands_lookup", lookup)
    wrap("bands_lookup_sketched", lookup)
    wrap("entries_read", read)
    return originals


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--traders", type=int, default=10_000)
    p.add_argument("--posts", type=int, default=100_000)
    p.add_argument("--count", type=int, default=1000, help="fresh posts ingested per run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--label", default="")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--append", action="store_true", help="add the runs to those --output holds (paired runs taken in turns)")
    p.add_argument("--profile", type=Path, help="cProfile the first run into this file (.prof)")
    args = p.parse_args(argv)

    url = os.environ.get("DATABASE_URL", "")
    if not url.rsplit("/", 1)[-1].startswith("bench"):
        raise SystemExit("DATABASE_URL must name a database whose name starts with bench (a harness run's)")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)

    from bench import data as bench_data
    from bench import steps
    from campaign.models import Campaign, DuplicateBand
    from campaign.services import duplicates as duplicates_module

    ds = bench_data.build(args.data_dir, traders=args.traders, posts=args.posts, new=2 * args.count, seed=args.seed, log=lambda m: None)
    fresh = Path(tempfile.mkdtemp(prefix="bench-boilerplate-")) / "fresh.jsonl"
    with open(ds.new_posts, encoding="utf-8") as src, open(fresh, "w", encoding="utf-8") as out:
        for number, line in enumerate(src):
            if number >= args.count:
                out.write(line)
    campaign = Campaign.objects.get(slug=steps.CAMPAIGN_SLUG)
    sketch_field = any(f.name == "sketch" for f in DuplicateBand._meta.get_fields())
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM campaign_post WHERE campaign_id = %s", [campaign.pk])
        posts_stored = c.fetchone()[0]
        c.execute("SELECT count(*), pg_total_relation_size('campaign_duplicateband') FROM campaign_duplicateband")
        band_rows, band_bytes = c.fetchone()
        sketched = None
        if sketch_field:
            c.execute("SELECT count(*) FROM campaign_duplicateband WHERE sketch IS NOT NULL")
            sketched = c.fetchone()[0]
    results = {
        "meta": {
            "label": args.label,
            "code": str(ROOT),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "python -m bench.boilerplate " + " ".join(argv if argv is not None else sys.argv[1:]),
            "database": connection.settings_dict.get("NAME"),
            "posts_stored": posts_stored,
            "band_rows": band_rows,
            "band_table_mb": round(band_bytes / 2**20, 1),
            "sketched_rows": sketched,
            "fresh_posts": str(fresh),
        },
        "runs": [],
    }
    for number in range(args.runs):
        counts = {"lookups": 0, "lookup_rows": 0, "lookup_sketched": 0, "entries_read": 0}
        originals = _counting(duplicates_module, counts)
        rec = {"load_before": [round(x, 2) for x in os.getloadavg()]}
        profiler = None
        if args.profile and number == 0:
            import cProfile

            profiler = cProfile.Profile()
        try:
            with transaction.atomic():
                if profiler:
                    profiler.enable()
                started = time.process_time()
                steps.step_ingest(ds, campaign, rec, path=fresh)
                rec["cpu_seconds"] = round(time.process_time() - started, 3)
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(args.profile)
                transaction.set_rollback(True)  # the next run finds the same campaign
        finally:
            for name, original in originals.items():
                setattr(duplicates_module, name, original)
        rec.update(counts)
        rec["load_after"] = [round(x, 2) for x in os.getloadavg()]
        for key in ("posts_stored", "band_rows", "verdicts"):
            rec.pop(key, None)
        results["runs"].append(rec)
        print(
            f"run {number + 1}: {rec['seconds']:.3f} s (qualify {rec.get('qualify_seconds', 0):.3f} s, CPU {rec['cpu_seconds']:.2f} s), "
            f"band rows {counts['lookup_rows']:,} ({counts['lookup_sketched']:,} sketched), entries read {counts['entries_read']:,}, "
            f"load {rec['load_before'][0]}",
            flush=True,
        )
    if args.append and args.output.exists():
        earlier = json.loads(args.output.read_text())
        results["meta"] = {**earlier["meta"], "appended": [*earlier["meta"].get("appended", []), results["meta"]]}
        results["runs"] = earlier["runs"] + results["runs"]
    seconds = sorted(run["seconds"] for run in results["runs"])
    results["median_seconds"] = seconds[len(seconds) // 2]
    results["median_qualify_seconds"] = sorted(run.get("qualify_seconds", 0) for run in results["runs"])[len(seconds) // 2]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"median {results['median_seconds']:.3f} s; written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
