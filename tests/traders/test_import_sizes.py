"""RULES.md section 9, sizes: a post text is bounded by the campaign's maximum at every door,
every other field by its column (a rejected row with a reason, never a database error; checked
on PostgreSQL too, where varchar limits are enforced), and an import's memory does not grow with
one record's size: files are streamed, and an over-long line is read past, never held."""

import json
import tracemalloc

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from campaign import signing
from campaign.models import Post, ReferenceText, Signup, WebhookDelivery
from campaign.services import campaign_import_file, posts_import_file, reference_texts_import, signups_import
from campaign.services.post_records import posts_line_limit
from core.api.tokens import api_token_create
from core.models import ImportRun, RejectedRecord
from core.reading import BLOCK
from tests.factories import TRADING_TEXT, enrolled_trader, post_item
from traders.models import LeadTraderRegistration, Trader, TradingStats
from traders.services import registrations_import, trader_stats_import

pytestmark = pytest.mark.django_db
REG_HEADER = "uid,nickname,market,status,applied_at,approved_at\n"
SIGNUP_HEADER = "uid,submitted_at,square_handle,contact\n"
TOO_LONG = "text is 60,000 characters; the campaign's maximum is 50,000"


def long_text(n):
    return (TRADING_TEXT + " ") * (n // (len(TRADING_TEXT) + 1)) + "x" * (n % (len(TRADING_TEXT) + 1))


# --- The campaign's maximum text, at every door -------------------------------------------------


def test_the_campaign_maximum_is_50000_characters_and_editable_in_its_admin_form(campaign, client):
    assert campaign.max_text_length == 50_000
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    page = client.get(f"/admin/campaign/campaign/{campaign.pk}/change/").content.decode()
    assert 'name="max_text_length"' in page and "A post whose text is longer is rejected" in page


def test_a_post_text_over_the_maximum_is_rejected_from_a_file_and_one_at_the_maximum_taken(campaign):
    data = "".join(json.dumps(item) + "\n" for item in [post_item("long", 1, text=long_text(60_000)), post_item("max", 1, text=long_text(50_000))])
    report = posts_import_file(campaign=campaign, data=data.encode())
    assert report.errors == [(1, TOO_LONG)]
    assert list(Post.objects.values_list("post_id", flat=True)) == ["max"]
    campaign.max_text_length = 40_000
    campaign.save()
    report = posts_import_file(campaign=campaign, data=json.dumps(post_item("max2", 1, text=long_text(50_000))).encode())
    assert report.errors == [(1, "text is 50,000 characters; the campaign's maximum is 40,000")]


def test_a_post_text_over_the_maximum_is_rejected_by_the_api(campaign):
    user = User.objects.create_user("ingester")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="core", codename="add_importrun"))
    _, secret = api_token_create(user=user, name="test ingest", scopes=["ingest"], created_by="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    items = [post_item("long", 1, text=long_text(60_000)), post_item("ok", 1)]
    response = client.post(f"/api/v1/campaigns/{campaign.slug}/posts/", data=json.dumps(items), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [{"index": 1, "ok": False, "error": TOO_LONG}, {"index": 2, "ok": True, "error": None}]
    assert list(Post.objects.values_list("post_id", flat=True)) == ["ok"]


def test_a_post_text_over_the_maximum_is_rejected_by_the_webhook_at_the_door_and_by_its_worker(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    enrolled_trader(uid=1)
    body = json.dumps({"campaign": campaign.slug, "items": [post_item("long", 1, text=long_text(60_000)), post_item("ok", 1)]}).encode()
    headers = signing.signed_headers(django_settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id="d-size")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/hooks/posts/", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 202, response.content
    assert response.json()["rejected"] == [{"item": 1, "reason": TOO_LONG}]
    run = WebhookDelivery.objects.get().import_run
    assert [(r.line, r.reason) for r in run.rejected_records.all()] == [(1, TOO_LONG)]
    assert list(Post.objects.values_list("post_id", flat=True)) == ["ok"]


def test_the_posts_line_limit_follows_from_the_campaign_maximum(campaign, settings):
    settings.IMPORT_MAX_LINE_BYTES = 4096
    campaign.max_text_length = 1000
    assert posts_line_limit(campaign) == 12 * 1000 + 4096
    # The worst case a line may legally hold: every character outside the BMP, escaped.
    item = post_item("astral", 1, text="\U0001f600" * 1000)
    line = json.dumps(item).encode()
    assert len(line) <= posts_line_limit(campaign)
    report = posts_import_file(campaign=campaign, data=line + b"\n")
    assert report.ok and Post.objects.get().text == "\U0001f600" * 1000


def test_a_reference_text_over_the_maximum_is_rejected_without_being_held_whole(campaign):
    campaign.max_text_length = 300
    data = f"{TRADING_TEXT}\n---\n{long_text(400)}\n\n\n---\n  {TRADING_TEXT[:120]}  \n\n".encode()
    report = reference_texts_import(campaign=campaign, data=data)
    assert report.errors == [(3, "text is 400 characters; the campaign's maximum is 300")]
    assert sorted(ReferenceText.objects.values_list("text", flat=True)) == sorted([TRADING_TEXT, TRADING_TEXT[:120]])


# --- Every other field by its column ----------------------------------------------------------


@pytest.mark.parametrize(
    "field, at_limit, over",
    [("nickname", "n" * 100, "n" * 101), ("nickname", "\U0001f600" * 100, "\U0001f600" * 101)],
)
def test_a_registration_field_at_its_column_is_stored_and_one_character_over_is_a_rejected_row(field, at_limit, over):
    rows = [f"1,{at_limit},futures,approved,2026-02-01T10:00:00Z,\n", f"2,{over},futures,approved,2026-02-01T10:00:00Z,\n"]
    report = registrations_import(data=(REG_HEADER + "".join(rows)).encode())
    assert report.errors == [(3, f"{field} is 101 characters; the column holds at most 100")]
    assert Trader.objects.get().nickname == at_limit


@pytest.mark.parametrize("field, column", [("square_handle", 100), ("contact", 200)])
def test_a_signup_field_at_its_column_is_stored_and_one_character_over_is_a_rejected_row(campaign, field, column):
    def row(uid, value):
        values = {"square_handle": "h", "contact": "c", field: value}
        return f"{uid},2026-02-13T10:00:00Z,{values['square_handle']},{values['contact']}\n"

    report = signups_import(campaign=campaign, data=(SIGNUP_HEADER + row(1, "x" * column) + row(2, "x" * (column + 1))).encode())
    assert report.errors == [(3, f"{field} is {column + 1:,} characters; the column holds at most {column:,}")]
    assert getattr(Signup.objects.get(), field) == "x" * column


@pytest.mark.parametrize(
    "row, reason",
    [
        ("1,n,verylongmarket" + "s" * 300 + ",approved,2026-02-01T10:00:00Z,", "market must be one of futures, spot, got 'verylongmarket"),
        ("1,n,futures," + "a" * 300 + ",2026-02-01T10:00:00Z,", "status must be one of pending, approved, rejected, revoked, got 'aaaa"),
        ("1" * 300 + ",n,futures,approved,2026-02-01T10:00:00Z,", "uid is larger than any UID can be"),
        ("1,n,futures,approved,2026-02-01T10:00:00Z" + "0" * 300 + ",", "applied_at is not an ISO 8601 instant: '2026-02-01T10:00:00Z000"),
    ],
)
def test_over_long_values_of_other_registration_fields_are_rejected_rows_with_a_short_reason(row, reason):
    report = registrations_import(data=(REG_HEADER + row + "\n").encode())
    (line, message), = report.errors
    assert line == 2 and message.startswith(reason) and len(message) < 200
    assert not LeadTraderRegistration.objects.exists()


@pytest.mark.parametrize(
    "row, reason",
    [
        ("1,2026-02-24T12:00:00Z,1," + "9" * 300, "copier_pnl_usdt is out of range (16 integer digits, 8 decimals)"),
        ("1,2026-02-24T12:00:00Z,1,0." + "1" * 300, "copier_pnl_usdt is out of range (16 integer digits, 8 decimals)"),
        ("1,2026-02-24T12:00:00Z," + "9" * 300 + ",0", "new_copiers must be an integer from 0 to 2147483647"),
        ("1,2026-02-24T12:00:00Z,2147483648,0", "new_copiers must be an integer from 0 to 2147483647"),
    ],
)
def test_over_long_trading_stats_values_are_rejected_rows_with_a_short_reason(row, reason):
    report = trader_stats_import(data=("uid,as_of,new_copiers,copier_pnl_usdt\n" + row + "\n").encode())
    (line, message), = report.errors
    assert line == 2 and message.startswith(reason) and len(message) < 200
    assert not TradingStats.objects.exists()


def test_a_post_id_at_its_column_is_stored_and_one_over_is_a_rejected_line(campaign):
    items = [post_item("p" * 128, 1), post_item("p" * 129, 1), post_item("q", 1, likes=2**31), post_item("r", 1, views=2**63)]
    report = posts_import_file(campaign=campaign, data="".join(json.dumps(item) + "\n" for item in items).encode())
    assert report.errors == [
        (2, "post_id is 129 characters; the column holds at most 128"),
        (3, "likes must be an integer from 0 to 2147483647, got 2147483648"),
        (4, "views must be an integer from 0 to 9223372036854775807, got 9223372036854775808"),
    ]
    assert list(Post.objects.values_list("post_id", flat=True)) == ["p" * 128]


def test_a_long_file_name_and_user_name_are_cut_to_their_columns(campaign, tmp_path):
    report = campaign_import_file(
        campaign=campaign, kind="signups", data=SIGNUP_HEADER.encode(), filename="f" * 400 + ".csv", source=ImportRun.Source.ADMIN, created_by="u" * 300
    )
    run = ImportRun.objects.get(pk=report.run.pk)
    assert (len(run.filename), len(run.created_by)) == (255, 150)


# --- Memory ---------------------------------------------------------------------------------------


def traced_peak(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_posts_file_with_a_5000000_character_post_is_imported_in_bounded_memory(campaign, tmp_path, capsys):
    enrolled_trader(campaign, uid=7)
    path = tmp_path / "posts.jsonl"
    huge = json.dumps(post_item("huge", 7, text="多" * 5_000_000), ensure_ascii=False).encode()  # 15 MB
    with path.open("wb") as out:
        out.write(json.dumps(post_item("a", 7)).encode() + b"\n" + huge + b"\n")
        for n in range(3):
            out.write(json.dumps(post_item(f"b{n}", 7, created_at=f"2026-02-15T1{n}:00:00+08:00", text=TRADING_TEXT + f" #{n}")).encode() + b"\n")
    size, huge = len(huge), None

    def run():
        with pytest.raises(CommandError, match="1 record\\(s\\) rejected; the other 4 were imported"):
            call_command("import_posts", "--campaign", campaign.slug, str(path), "--no-progress")

    peak = traced_peak(run)
    limit = posts_line_limit(campaign)  # 1,648,576 bytes
    # The reader holds at most one line limit and one block of a line, and copies that once as a
    # block is added: 2 * (limit + BLOCK), about 3.4 MB, whatever the line's size; the rest (a
    # chunk of five small posts, the queries) is well under 3 MB. Reading the file whole would
    # take 15 MB for its bytes and 10 MB for the decoded post before any parsing.
    assert peak < 2 * (limit + BLOCK) + 3 * 1024 * 1024, f"peak {peak:,} bytes"
    assert sorted(Post.objects.values_list("post_id", flat=True)) == ["a", "b0", "b1", "b2"]
    (rejected,) = RejectedRecord.objects.all()
    assert (rejected.line, rejected.reason) == (2, f"the line is {size:,} bytes; the limit is {limit:,} bytes")
    assert rejected.raw.startswith('{"post_id": "huge"') and len(rejected.raw) < 250
    assert Post.objects.get(post_id="a").verdict == "qualified"  # judged as ever


def test_a_csv_file_with_a_5000000_character_field_is_imported_in_bounded_memory(campaign, tmp_path):
    path = tmp_path / "registrations.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(REG_HEADER)
        out.write("1,ann,futures,approved,2026-02-01T10:00:00Z,\n")
        out.write('2,"' + "名" * 5_000_000 + '",futures,approved,2026-02-01T10:00:00Z,\n')
        out.write("3,cy,futures,approved,2026-02-01T10:00:00Z,\n")

    def run():
        with path.open("rb") as stream:
            report = registrations_import(data=stream)
        assert [line for line, _ in report.errors] == [3]

    peak = traced_peak(run)
    limit = django_settings.IMPORT_MAX_LINE_BYTES
    assert peak < 2 * (limit + BLOCK) + 3 * 1024 * 1024, f"peak {peak:,} bytes"
    assert sorted(Trader.objects.values_list("uid", flat=True)) == [1, 3]
