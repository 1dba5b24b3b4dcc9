"""`python -m bench.whatif`: the what-if preview of a threshold change and of a lexicon change on
the campaign a `python -m bench` run left, before and after it ran on the judging engine (issue 17).

Each preview runs in a process of its own (`--one`), so its peak RSS is its own (`VmHWM`, reset
through /proc/self/clear_refs once Django is loaded and the campaign read): the code of the
working tree ("after"), and the preview module of an older tree copied to `--before` (its
`whatif/preview.py`, imported under another name; it uses this tree's `changes` and `compare`,
whose functions it calls are unchanged). Engines alternate within a round, so both meet the same
load on a shared machine. Per preview: wall time, CPU time, peak RSS, how often progress was
reported (the longest silence, the first report past 0), and a SHA-256 of what the preview's run
keeps (`whatif_preview_result`): both engines must give the same digest, or the run says so and
exits 1.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_h3 .venv/bin/python -m bench.whatif \\
        --before /tmp/h3_before --rounds 2 --output bench/results/2026-12-07-whatif-300k.json

Reads only: the database must hold a campaign judged and settled-ready (`python -m bench ...
--no-load` leaves one); nothing is written to it.
"""

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_SLUG = "star-lead-traders-2"
SCENARIOS = ("threshold", "lexicon")


def _changes(campaign, scenario: str) -> dict:
    """The change each scenario previews: a stricter threshold (every link decided again), or a
    lexicon narrowed to two terms (check 5 of every post from its text; many posts stop being
    about trading). The 7 December file `2026-12-07-whatif-300k.json` used an earlier lexicon
    (three common terms dropped, which moved no verdict); each run records its changes."""
    if scenario == "threshold":
        return {"duplicate_threshold": "0.85"}
    if scenario == "lexicon":
        return {"latin_terms": ["leverage"], "cjk_terms": ["爆仓"]}
    raise ValueError(scenario)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _preview_function(engine: str, before: Path | None):
    if engine == "after":
        from rewards.services.whatif.preview import whatif_preview

        return whatif_preview
    spec = importlib.util.spec_from_file_location("h3_before_preview", before / "whatif" / "preview.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.whatif_preview


def run_one(engine: str, scenario: str, before: Path | None) -> dict:
    """One preview in this process; its figures as a dict (printed as JSON by `--one`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from campaign.models import Campaign, Post
    from rewards.services.whatif.results import whatif_preview_result

    preview = _preview_function(engine, before)
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    posts = Post.objects.filter(campaign=campaign).count()
    at = campaign.ends_at + campaign.grace + timedelta(hours=1)
    changes = _changes(campaign, scenario)
    reports: list[tuple[float, int, int]] = []
    rss_before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    cpu0, start = time.process_time(), time.perf_counter()
    result = preview(campaign=campaign, changes=changes, at=at, progress=lambda done, total: reports.append((time.perf_counter() - start, done, total)))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    peak = _status_kb("VmHWM")
    kept = whatif_preview_result(result)
    times = [0.0] + [t for t, _d, _tot in reports] + [wall]
    moved = [t for t, done, _tot in reports if done > 0]
    return {
        "engine": engine,
        "scenario": scenario,
        "changes": changes,
        "posts": posts,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mib": round(peak / 1024, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "progress_reports": len(reports),
        "progress_first_past_zero_s": round(moved[0], 2) if moved else None,
        "progress_longest_silence_s": round(max(b - a for a, b in zip(times, times[1:])), 2),
        "verdict_changes": [[v.current, v.proposed, v.posts] for v in result.verdict_changes],
        "scores_changed": result.scores_changed,
        "reward_rows_moved": len(kept["rows"]),
        "result_sha256": hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest(),
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _sample_load(samples: list, stop: threading.Event) -> None:
    while not stop.wait(5):
        samples.append(os.getloadavg()[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1]
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a copy of rewards/services/whatif of the older tree (holds whatif/preview.py); without it only the working tree is measured",
    )
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="default: both")
    parser.add_argument("--rounds", type=int, default=1, help="previews per engine and scenario")
    parser.add_argument("--output", type=Path, help="JSON results (default: printed only)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=("before", "after"), default="after", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.rsplit("/", 1)[-1].startswith("bench"):
        parser.error("DATABASE_URL must name a database whose name starts with `bench`")
    sys.path.insert(0, str(ROOT))
    if args.one:
        print(json.dumps(run_one(args.engine, args.scenario[0], args.before)))
        return 0

    engines = ["before", "after"] if args.before else ["after"]
    runs, samples, stop = [], [], threading.Event()
    sampler = threading.Thread(target=_sample_load, args=(samples, stop), daemon=True)
    sampler.start()
    for round_ in range(args.rounds):
        for scenario in args.scenario or SCENARIOS:
            # Alternate which engine goes first, so neither always meets a warmer cache.
            for engine in engines if round_ % 2 == 0 else engines[::-1]:
                command = [sys.executable, "-m", "bench.whatif", "--one", "--engine", engine, "--scenario", scenario]
                if args.before:
                    command += ["--before", str(args.before)]
                load = _load()
                out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
                if out.returncode:
                    print(out.stderr, file=sys.stderr)
                    return out.returncode
                run = json.loads(out.stdout.strip().splitlines()[-1]) | {"round": round_ + 1, "load_before": load, "load_after": _load()}
                runs.append(run)
                print(
                    f"{scenario:9} {engine:6} {run['posts']:>9,} posts  {run['wall_s']:7.1f} s wall  {run['cpu_s']:7.1f} s CPU  "
                    f"{run['peak_rss_mib']:8.1f} MiB peak  progress: {run['progress_reports']} reports, first past 0 at "
                    f"{run['progress_first_past_zero_s']} s, longest silence {run['progress_longest_silence_s']} s  load {load[0]}"
                )
    stop.set()
    digests = {scenario: {r["result_sha256"] for r in runs if r["scenario"] == scenario} for scenario in {r["scenario"] for r in runs}}
    same = all(len(found) == 1 for found in digests.values())
    print("results identical across engines and rounds" if same else f"RESULTS DIFFER: {digests}")
    results = {
        "command": " ".join([Path(sys.executable).name, "-m", "bench.whatif", *(argv or sys.argv[1:])]),
        "database": url.rsplit("/", 1)[-1],
        "cpus": os.cpu_count(),
        "load_average_1m": {"min": round(min(samples), 2), "max": round(max(samples), 2)} if samples else None,
        "identical": same,
        "runs": runs,
    }
    if args.output:
        args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"written {args.output}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
