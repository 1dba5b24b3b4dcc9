"""The posts service: upsert, identity changes refused, verdicts with their reasons."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Post
from campaign.services import posts_import_file, posts_judge, reference_texts_import
from core.models import RejectedRecord
from tests.factories import OTHER_TEXTS, TRADING_TEXT, enrolled_trader, post_item

pytestmark = pytest.mark.django_db


def jsonl(*items):
    return ("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n").encode()


def verdicts(campaign):
    return dict(Post.objects.filter(campaign=campaign).values_list("post_id", "verdict"))


def test_each_post_gets_its_verdict_and_the_first_failing_reason(campaign):
    enrolled_trader(uid=1)
    short = "BTC long " + "x" * 89  # 99 characters once whitespace is removed
    report = posts_import_file(
        campaign=campaign,
        data=jsonl(
            post_item("ok", 1),
            post_item("early", 1, created_at="2026-02-12T17:59:59+08:00", text=OTHER_TEXTS[0]),
            post_item("stranger", 2, text=OTHER_TEXTS[1]),
            post_item("gone", 1, deleted=True, text=OTHER_TEXTS[2]),
            post_item("short", 1, text=short),
            post_item("food", 1, text="A review of noodle shops in Shanghai, with prices and opening hours for each of them. " * 2),
            post_item("copy", 1, created_at="2026-02-15T12:00:00+08:00"),
        ),
    )
    assert report.ok
    assert verdicts(campaign) == {
        "ok": "qualified",
        "early": "outside_window",
        "stranger": "not_enrolled",
        "gone": "deleted",
        "short": "too_short",
        "food": "not_trading",
        "copy": "duplicate",
    }
    assert Post.objects.get(post_id="copy").duplicate_of.post_id == "ok"


def test_reingest_updates_engagement_even_downwards_and_keeps_first_seen(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1, likes=50, views=1000)))
    first = Post.objects.get()
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1, likes=10, views=250, deleted=True)))
    post = Post.objects.get()
    assert (post.likes, post.views, post.deleted, post.verdict) == (10, 250, True, "deleted")
    assert post.score == 1 + 10 + 2 and post.first_seen_at == first.first_seen_at and post.last_seen_at >= first.last_seen_at


def test_reingest_that_changes_author_or_created_at_is_rejected_and_the_stored_post_kept(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1)))
    report = posts_import_file(
        campaign=campaign,
        data=jsonl(
            post_item("p", 2, likes=99),
            post_item("p", 1, created_at="2026-02-14T12:00:01+08:00", likes=99),
            post_item("p", 1, created_at="2026-02-14T04:00:00Z", likes=7),  # same instant, other offset
        ),
    )
    assert report.errors == [
        (1, "post p: re-ingest changes author_uid from 1 to 2; the stored post is kept"),
        (2, "post p: re-ingest changes created_at from 2026-02-14T04:00:00+00:00 to 2026-02-14T04:00:01+00:00; the stored post is kept"),
    ]
    post = Post.objects.get()
    assert (post.author.uid, post.likes) == (1, 7)
    assert RejectedRecord.objects.filter(run=report.run).count() == 2


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_imported(campaign):
    data = jsonl(post_item("a", 1)) + b"{not json\n" + b"[1, 2]\n" + jsonl(
        {k: v for k, v in post_item("b", 1).items() if k != "views"},
        post_item("c", 1, created_at="2026-02-14T12:00:00"),
        post_item("d", 1, likes=-1),
        post_item(5, 1) | {"post_id": 5},
        post_item("e", 1),
    )
    report = posts_import_file(campaign=campaign, data=data)
    assert [line for line, _ in report.errors] == [2, 3, 4, 5, 6, 7]
    assert report.errors[2] == (4, "missing field(s): views")
    assert sorted(Post.objects.values_list("post_id", flat=True)) == ["a", "e"]


def test_reimporting_the_same_file_changes_nothing(campaign):
    enrolled_trader(uid=1)
    data = jsonl(post_item("a", 1), post_item("b", 1, created_at="2026-02-13T12:00:00+08:00"))
    posts_import_file(campaign=campaign, data=data)
    before = list(Post.objects.values_list("post_id", "verdict", "score", "duplicate_of", "content_hash", "first_seen_at"))
    posts_import_file(campaign=campaign, data=data)
    assert list(Post.objects.values_list("post_id", "verdict", "score", "duplicate_of", "content_hash", "first_seen_at")) == before
    assert posts_judge(campaign=campaign) == 0


def test_verdicts_follow_enrolment_at_judging_time_whatever_the_file_order(campaign):
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 77)))
    assert verdicts(campaign) == {"p": "not_enrolled"}
    enrolled_trader(uid=77)
    posts_judge(campaign=campaign)
    assert verdicts(campaign) == {"p": "qualified"}


def test_a_reference_text_makes_its_near_copies_duplicates(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("p", 1)))
    report = reference_texts_import(campaign=campaign, data=f"first text that is long enough\n---\n{TRADING_TEXT}\n---\n\n---\nab\n".encode())
    assert report.errors == [(7, "text is under 5 characters once URLs and whitespace are removed; it could never match")]
    post = Post.objects.get()
    assert post.verdict == "duplicate" and post.duplicate_of_reference is not None


def test_import_posts_command_exits_1_on_a_bad_line(tmp_path, campaign, capsys):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(jsonl(post_item("a", 1)) + b"oops\n")
    with pytest.raises(CommandError) as excinfo:
        call_command("import_posts", "--campaign", campaign.slug, str(path), "--no-progress")
    assert excinfo.value.returncode == 1
    assert "posts.jsonl: line 2: not valid JSON" in capsys.readouterr().err


def test_each_stored_signature_is_its_texts_and_an_unchanged_text_keeps_its_own(campaign):
    # Ingest signs a chunk's new texts together (`text_signatures`); every post must still hold
    # exactly `text_signature` of its text, the bytes the near-duplicate index was built on.
    from campaign.near_duplicates import text_signature

    enrolled_trader(uid=1)
    items = [post_item(f"p{i}", 1, text=f"{TRADING_TEXT} variant {i}") for i in range(3)] + [post_item("tiny", 1, text="abc")]
    posts_import_file(campaign=campaign, data=jsonl(*items))
    stored = dict(Post.objects.values_list("post_id", "signature"))
    assert {post_id: bytes(sig) for post_id, sig in stored.items()} == {item["post_id"]: text_signature(item["text"]) for item in items}
    assert bytes(stored["tiny"]) == b""
    # A re-import with one text changed re-signs that one only; the others keep their bytes.
    items[1] = post_item("p1", 1, text=f"{TRADING_TEXT} rewritten entirely, new levels and a new plan")
    posts_import_file(campaign=campaign, data=jsonl(*items))
    stored = {post_id: bytes(sig) for post_id, sig in Post.objects.values_list("post_id", "signature")}
    assert stored == {item["post_id"]: text_signature(item["text"]) for item in items}
