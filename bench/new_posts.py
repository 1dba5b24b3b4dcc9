"""`python -m bench.new_posts`: step b.'s 1,000 new posts again, on the campaign a `python -m bench`
run left, as many times as asked (issue 17, "1,000 new posts with two band tables").

Each round deletes the new posts (`new_posts.jsonl` of `--data-dir`; deleting them marks their
near-copies for the index, as in production), judges what that left, then imports them again as
the harness does (`posts_ingest(bulk=True, wait=False)`, then the judging job taken by this
process) and prints the write, the judging and its stage ends. With `--scratch` the campaign's
verdicts and links are first recomputed from scratch (the harness's step before b.: 1,000,000
wide rows written twice, and the band table's pages left to go cold); with `--profile DIR` the
import is profiled (pyinstrument, HTML and text). `--code DIR` runs another tree's code (a
`git worktree` of an older commit) on the same database, so old and new alternate.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python -m bench.new_posts \\
        --data-dir /tmp/bench-data-1m --rounds 2

Writes to the database (the new posts, their verdicts, band rows): use a bench database.
"""

import argparse
import json
import os
import sys
from pathlib import Path

CAMPAIGN_SLUG = "star-lead-traders-2"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1]
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="a `python -m bench` data directory (its new_posts.jsonl is used)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--scratch", action="store_true", help="a qualification from scratch before each round")
    parser.add_argument("--profile", type=Path, default=None, help="a directory for pyinstrument profiles of each round's import")
    parser.add_argument("--code", type=Path, default=None, help="the tree whose code runs (default: this one)")
    args = parser.parse_args(argv)
    if args.code is not None:
        sys.path.insert(0, str(args.code.resolve()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    paths = sorted(args.data_dir.glob("**/new_posts.jsonl"))
    if len(paths) != 1:
        parser.error(f"{args.data_dir}: expected one new_posts.jsonl, found {len(paths)}")
    for number, rec in enumerate(measure(paths[0], rounds=args.rounds, scratch=args.scratch, profile=args.profile), start=1):
        scratch = f"qualification from scratch {rec['scratch_seconds']} s, " if "scratch_seconds" in rec else ""
        print(
            f"round {number}: {scratch}{rec['rows']} posts, write {rec['write_seconds']} s, judging {rec['judge_seconds']} s, "
            f"stage ends {rec['judge_stage_seconds']}, verdicts {rec['verdicts']}",
            flush=True,
        )
    return 0


def measure(path: Path, *, rounds: int = 1, scratch: bool = False, profile: Path | None = None):
    """Each round's figures (a dict: `bench.steps.import_timed`'s, the verdicts after it), the new
    posts of `path` deleted and imported again."""
    from django.db import transaction

    from bench.steps import _verdicts, import_timed, step_qualify_scratch
    from campaign.models import Campaign, Post
    from campaign.services.qualify import posts_judge_pending

    post_ids = [json.loads(line)["post_id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    for number in range(1, rounds + 1):
        rec = {}
        with transaction.atomic():
            Post.objects.filter(campaign=campaign, post_id__in=post_ids).delete()
        posts_judge_pending(campaign=campaign)
        if scratch:
            step_qualify_scratch(campaign, done := {})
            rec["scratch_seconds"] = done["seconds"]
        profiler = None
        if profile is not None:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.002)
            profiler.start()
        import_timed(campaign, path, rec)
        if profiler is not None:
            profiler.stop()
            profile.mkdir(parents=True, exist_ok=True)
            (profile / f"new-posts-{number}.html").write_text(profiler.output_html())
            (profile / f"new-posts-{number}.txt").write_text(profiler.output_text(unicode=False, color=False))
        rec["verdicts"] = _verdicts(campaign)
        yield rec


if __name__ == "__main__":
    sys.exit(main())
