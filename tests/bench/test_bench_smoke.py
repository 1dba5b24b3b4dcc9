"""A small run of the benchmark harness (bench/), so that it never rots.

It checks that every figure of issue 7 is produced and that the JSON is well formed; it never
asserts a timing. The load step runs at a tiny bounded size (1 gunicorn worker, 2 connections,
1 second per URL, the Python client) against the test database.
"""

import json
import math
import os

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STEPS = ("generate", "setup_traders", "copy_raw", "copy_upsert_proto", "ingest", "qualify_scratch", "qualify_incremental",
         "settlement_full", "vacuum", "settlement", "settlement_sql", "payout_report", "load")  # fmt: skip


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def test_harness_produces_every_figure_and_well_formed_json(tmp_path, campaign):
    from bench import steps

    out = tmp_path / "results" / "run.json"
    # With a broker, the queued judging again on one and on two real Celery worker processes.
    workers = (1, 2) if os.environ.get("REDIS_URL") else ()
    results = steps.run(
        traders=50, posts=300, new_posts=20, seed=7, data_dir=tmp_path / "data", output=out,
        load=True, load_seconds=1, connections=2, client="python", workers=1, threads=2, judge_workers=workers, log=lambda _: None,
    )  # fmt: skip

    assert json.loads(out.read_text()) == json.loads(json.dumps(results, default=str))
    s = results["steps"]
    for name in (*STEPS, *(f"judge_workers_{n}" for n in workers)):
        assert name in s, name
        assert "error" not in s[name], (name, s[name].get("error"))
        assert _number(s[name]["seconds"]) and _number(s[name]["peak_rss_mb"]), name
    assert s["copy_raw"]["rows"] == s["ingest"]["rows"] == 300
    assert s["ingest"]["accepted"] == 300 and s["ingest"]["posts_stored"] == 300
    # The two steps of a file's import: the write (acknowledged), then its queued judging, done.
    assert _number(s["ingest"]["write_seconds"]) and _number(s["ingest"]["judge_seconds"]) and _number(s["ingest"]["acknowledged_rows_per_s"])
    assert s["ingest"]["judging"]["stage"] == "done" and sum(s["ingest"]["verdicts"].values()) == 300
    for n in workers:
        assert s[f"judge_workers_{n}"]["stage"] == "done" and s[f"judge_workers_{n}"]["same_verdicts"] is True, s[f"judge_workers_{n}"]
    assert s["qualify_incremental"]["rows"] == 20
    for step, key in (("copy_raw", "rows_per_s"), ("ingest", "rows_per_s"), ("qualify_scratch", "posts_per_s"),
                      ("qualify_incremental", "posts_per_s"), ("settlement_sql", "seconds"), ("payout_report", "rows_per_s")):  # fmt: skip
        assert _number(s[step][key]), (step, key)
    assert sum(s["qualify_scratch"]["verdicts"].values()) == 300
    assert s["settlement"]["qualified_posts"] > 0 and s["payout_report"]["rows"] > 0
    # The whole judging and the re-settlement after it give the same result.
    assert (s["settlement_full"]["full_judge"], s["settlement"]["full_judge"]) == (True, False)
    assert s["settlement_full"]["qualified_posts"] == s["settlement"]["qualified_posts"]
    assert s["settlement_full"]["leaderboard_ranked"] == s["settlement"]["leaderboard_ranked"]
    assert s["vacuum"]["server_autovacuum"] in ("on", "off")
    assert set(results["meta"]["server_settings"]) >= {"shared_buffers", "autovacuum"}
    for page in ("ping", "status", "public"):
        entry = s["load"][page]
        assert entry["http_status"] == 200, (page, entry)
        assert _number(entry["rps"]) and _number(entry["p50_ms"]) and _number(entry["p99_ms"]), (page, entry)
    assert _number(s["load"]["gunicorn_peak_rss"]["max_process_mb"])
    for name in ("ingest_vs_copy", "acknowledged_vs_copy", "settlement_vs_sql", "status_vs_ping", "public_vs_ping", *(["judge_workers_2_vs_1"] if workers else [])):
        assert _number(results["ratios"][name]), name
    assert len(results["targets"]) == 9
    for name, target in results["targets"].items():
        assert target["met"] in (True, False) or (not workers and "worker" in name), name
    assert "targets" in steps.table(results)

    # --only-settlement re-measures step c. on what the run left and merges it into the same JSON.
    before = s["settlement"]["seconds"]
    rerun = steps.rerun_settlement(output=out, log=lambda _: None)
    again = json.loads(out.read_text())["steps"]["settlement"]
    assert "rerun_at" in again and again == json.loads(json.dumps(rerun["steps"]["settlement"], default=str))
    assert again["qualified_posts"] == s["settlement"]["qualified_posts"] and _number(before)

    # python -m bench.new_posts: step b.'s new posts deleted and imported again give its verdicts.
    from bench.new_posts import measure

    (again,) = measure(next((tmp_path / "data").glob("**/new_posts.jsonl")), rounds=1)
    assert again["rows"] == 20 and again["verdicts"] == s["qualify_incremental"]["verdicts"]
    assert _number(again["write_seconds"]) and set(again["judge_stage_seconds"]) <= {"sign", "index", "judge"} and "index" in again["judge_stage_seconds"]
