"""Issue 19: records end at "\\n" only. A post whose text holds U+2028, U+2029, U+0085 or another
character `str.splitlines()` breaks at is one record, stored exactly as sent and judged by
RULES.md (those characters are whitespace for the length check)."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Post, ReferenceText
from campaign.services import posts_import_file, reference_texts_import
from core.models import RejectedRecord
from core.reading import jsonl_records, text_lines
from tests.factories import TRADING_TEXT, enrolled_trader, post_item

pytestmark = pytest.mark.django_db
# Every character str.splitlines() breaks at besides "\n" and "\r".
SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
IDS = ["U+2028", "U+2029", "U+0085", "VT", "FF", "FS", "GS", "RS"]


def exported(items) -> bytes:
    """A JSON Lines file as an exchange export writes it: UTF-8, raw characters, one record a line."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()


def text_with(separator):
    return TRADING_TEXT.replace(". ", "." + separator, 1)


@pytest.mark.parametrize("separator", SEPARATORS, ids=IDS)
def test_a_post_whose_text_holds_the_character_is_one_record_stored_as_sent(campaign, separator):
    enrolled_trader(campaign, uid=7)
    items = [post_item("p1", 7, text=text_with(separator), likes=4), post_item("p2", 7, text="too short", created_at="2026-02-15T12:00:00+08:00")]
    report = posts_import_file(campaign=campaign, data=exported(items))
    assert (report.run.total, report.run.accepted, report.run.rejected) == (2, 2, 0)
    post = Post.objects.get(post_id="p1")
    assert post.text == text_with(separator)
    assert (post.verdict, post.score) == ("qualified", 5)
    assert Post.objects.get(post_id="p2").verdict == "too_short"


@pytest.mark.parametrize("separator", SEPARATORS, ids=IDS)
def test_the_character_is_whitespace_for_the_length_check(campaign, separator):
    enrolled_trader(campaign, uid=7)
    # 99 characters and the separator between them: still short, since whitespace does not count.
    text = "$BTC " + "x" * 47 + separator + "y" * 47
    assert posts_import_file(campaign=campaign, data=exported([post_item("p1", 7, text=text)])).ok
    assert Post.objects.get(post_id="p1").verdict == "too_short"


def test_line_numbers_count_newlines_only(campaign):
    enrolled_trader(campaign, uid=7)
    items = [post_item("p1", 7, text=text_with("\u2028")), post_item("p2", 7, text=text_with("\u2029")), {"post_id": "p3"}]
    report = posts_import_file(campaign=campaign, data=exported(items))
    assert report.errors and [line for line, _ in report.errors] == [3]
    assert RejectedRecord.objects.get().line == 3


def test_crlf_files_and_a_last_line_without_newline_still_read():
    assert text_lines("a\r\nb\u2028c\r\nd") == ["a", "b\u2028c", "d"]
    assert text_lines("a\n\nb\n") == ["a", "", "b"]
    assert text_lines("") == []
    records = list(jsonl_records('{"a": "x\u2029y"}\r\n{"b": 1}'.encode()))
    assert [(r.line, r.data) for r in records] == [(1, {"a": "x\u2029y"}), (2, {"b": 1})]


@pytest.mark.parametrize("separator", SEPARATORS, ids=IDS)
def test_the_import_command_takes_the_file(campaign, tmp_path, separator, capsys):
    enrolled_trader(campaign, uid=7)
    path = tmp_path / "posts.jsonl"
    path.write_bytes(exported([post_item("p1", 7, text=text_with(separator))]))
    call_command("import_posts", "--campaign", campaign.slug, str(path), "--no-progress")
    assert "1 records, 1 imported, 0 rejected" in capsys.readouterr().out
    assert Post.objects.get(post_id="p1").text == text_with(separator)


def test_a_command_import_that_took_nothing_says_so(campaign, tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"not json\n")
    with pytest.raises(CommandError, match="1 record\\(s\\) rejected; nothing was imported"):
        call_command("import_posts", "--campaign", campaign.slug, str(path), "--no-progress")


@pytest.mark.django_db(transaction=True)  # the upload's import task is enqueued once the request commits
@pytest.mark.parametrize("separator", SEPARATORS, ids=IDS)
def test_the_admin_upload_takes_the_file(client, campaign, separator, eager_tasks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    enrolled_trader(campaign, uid=7)
    upload = SimpleUploadedFile("posts.jsonl", exported([post_item("p1", 7, text=text_with(separator))]))
    response = client.post(f"/admin/campaign/campaign/{campaign.pk}/import/", {"kind": "posts", "file": upload}, follow=True)
    assert "1 imported, 0 rejected" in response.content.decode()
    assert Post.objects.get(post_id="p1").text == text_with(separator)


def test_a_reference_text_holding_the_characters_is_one_text(campaign):
    data = ("first\u2028still the first text\n---\nsecond\x85text\r\n").encode()
    report = reference_texts_import(campaign=campaign, data=data)
    assert report.ok and report.run.accepted == 2
    assert sorted(ReferenceText.objects.values_list("text", flat=True)) == ["first\u2028still the first text", "second\x85text"]


def test_csv_fields_keep_the_characters(campaign):
    from campaign.models import Signup
    from campaign.services import signups_import

    data = "uid,submitted_at,square_handle,contact\n7,2026-02-13T10:00:00Z,a\u2028b,c\x85d\r\n8,2026-02-13T10:00:00Z,e,f\n".encode()
    report = signups_import(campaign=campaign, data=data)
    assert report.ok and report.run.accepted == 2
    assert Signup.objects.get(trader__uid=7).square_handle == "a\u2028b"
