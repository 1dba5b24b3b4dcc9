"""Importers of RULES.md section 9: good, bad and repeated rows; idempotent re-import."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Post, Signup
from campaign.services import signups_import
from core.models import ImportRun, RejectedRecord
from traders.models import LeadTraderRegistration, Trader, TradingStats
from traders.services import registrations_import, trader_stats_import

pytestmark = pytest.mark.django_db

REG_HEADER = b"uid,nickname,market,status,applied_at,approved_at\n"


def snapshot():
    return (
        sorted(Trader.objects.values_list("uid", "nickname")),
        sorted(LeadTraderRegistration.objects.values_list("trader__uid", "market", "status", "applied_at", "approved_at")),
        sorted(Signup.objects.values_list("trader__uid", "submitted_at", "square_handle", "contact")),
        sorted(TradingStats.objects.values_list("trader__uid", "as_of", "new_copiers", "copier_pnl_usdt")),
    )


def test_bad_registration_rows_are_reported_with_line_and_reason_and_the_rest_imported():
    data = REG_HEADER + (
        b"1,ann,futures,approved,2026-02-01T10:00:00+08:00,\n"
        b"0,zero,futures,approved,2026-02-01T10:00:00+08:00,\n"
        b"2,ben,futures,approved,2026-02-01T10:00:00,\n"
        b"3,cy,margin,approved,2026-02-01T10:00:00Z,\n"
        b"4,di,futures,maybe,2026-02-01T10:00:00Z,\n"
        b"5,ed,futures\n"
        b"6,fay,SPOT,Pending,2026-02-01T10:00:00-05:00,\n"
    )
    report = registrations_import(data=data)
    assert report.errors == [
        (3, "uid must be a positive integer, got '0'"),
        (4, "applied_at has no UTC offset (add Z or +HH:MM): '2026-02-01T10:00:00'"),
        (5, "market must be one of futures, spot, got 'margin'"),
        (6, "status must be one of pending, approved, rejected, revoked, got 'maybe'"),
        (7, "expected 6 fields, got 3"),
    ]
    assert (report.run.total, report.run.accepted, report.run.rejected) == (7, 2, 5)
    assert sorted(LeadTraderRegistration.objects.values_list("trader__uid", "market", "status")) == [
        (1, "futures", "approved"),
        (6, "spot", "pending"),
    ]
    kept = RejectedRecord.objects.filter(run=report.run).order_by("line")
    assert [(r.line, r.raw) for r in kept][0] == (3, "0,zero,futures,approved,2026-02-01T10:00:00+08:00,")


def test_within_one_file_a_later_row_for_a_uid_is_newer():
    data = REG_HEADER + b"9,first,spot,pending,2026-02-01T10:00:00Z,\n9,second,futures,approved,2026-02-02T10:00:00Z,\n"
    assert registrations_import(data=data).ok
    registration = LeadTraderRegistration.objects.select_related("trader").get()
    assert (registration.trader.nickname, registration.market, registration.status) == ("second", "futures", "approved")


def test_reimporting_the_same_files_changes_nothing(campaign):
    registrations = REG_HEADER + b"1,ann,futures,approved,2026-02-01T10:00:00+08:00,2026-02-03T10:00:00+08:00\n2,ben,spot,approved,2026-02-01T10:00:00Z,\n"
    signups = b"uid,submitted_at,square_handle,contact\n1,2026-02-13T10:00:00Z,ann,a@x\n1,2026-02-13T18:00:00+08:00,ann2,a@y\n3,2026-02-14T10:00:00Z,cy,\n"
    stats = b"uid,as_of,new_copiers,copier_pnl_usdt\n1,2026-02-24T12:00:00+08:00,4,120.5\n1,2026-02-24T04:00:00Z,6,-3.25\n"
    for _ in range(2):
        registrations_import(data=registrations)
        signups_import(campaign=campaign, data=signups)
        trader_stats_import(data=stats)
        if _ == 0:
            first = snapshot()
    assert snapshot() == first
    # 10:00Z and 18:00+08:00 are the same instant: one sign-up, the later row's handle.
    assert list(Signup.objects.filter(trader__uid=1).values_list("square_handle", "contact")) == [("ann2", "a@y")]
    # Equal as_of written with different offsets: the later row wins.
    assert list(TradingStats.objects.values_list("new_copiers", "copier_pnl_usdt")) == [(6, Decimal("-3.25"))]


def test_a_file_with_the_wrong_header_is_refused_whole_and_the_refusal_kept():
    report = registrations_import(data=b"uid,name,market\n1,a,futures\n")
    assert not report.ok and report.refused
    assert report.errors == [(1, "expected the header uid,nickname,market,status,applied_at,approved_at, got uid,name,market")]
    assert not Trader.objects.exists()
    assert RejectedRecord.objects.filter(run=report.run).count() == 1
    assert report.summary() == (
        "registrations: the file was refused (expected the header uid,nickname,market,status,applied_at,approved_at, got uid,name,market); nothing was imported"
    )
    assert (report.run.status, report.run.state) == ("failed", "failed")


def test_a_line_that_is_not_utf8_is_rejected_at_its_line_and_the_others_imported():
    data = REG_HEADER + b"1,ann,futures,approved,2026-02-01T10:00:00Z,\n" + "2,\u00e9,futures,approved,2026-02-01T10:00:00Z,\n".encode("latin-1")
    data += b"3,cy,futures,approved,2026-02-01T10:00:00Z,\n"
    report = registrations_import(data=data)
    assert report.errors == [(3, "not UTF-8 (invalid continuation byte at byte 3 of the line)")]
    assert RejectedRecord.objects.get(run=report.run).raw == "2,\\xe9,futures,approved,2026-02-01T10:00:00Z,"
    assert sorted(Trader.objects.values_list("uid", flat=True)) == [1, 3]


def test_trading_stats_refuse_negative_copiers_and_bad_numbers():
    data = b"uid,as_of,new_copiers,copier_pnl_usdt\n1,2026-02-24T12:00:00Z,-1,0\n2,2026-02-24T12:00:00Z,3,1e5\n3,2026-02-24T12:00:00Z,3,12.345\n"
    report = trader_stats_import(data=data)
    assert [line for line, _ in report.errors] == [2, 3]
    assert TradingStats.objects.get().copier_pnl_usdt == Decimal("12.345")


def test_signups_keep_the_nickname_of_the_registration_untouched(campaign):
    registrations_import(data=REG_HEADER + b"1,ann,futures,approved,2026-02-01T10:00:00Z,\n")
    signups_import(campaign=campaign, data=b"uid,submitted_at,square_handle,contact\n1,2026-02-13T10:00:00Z,someone_else,\n")
    assert Trader.objects.get(uid=1).nickname == "ann"


def test_the_import_command_reports_the_bad_line_imports_the_rest_and_exits_1(tmp_path, campaign, capsys):
    path = tmp_path / "signups.csv"
    path.write_bytes(b"uid,submitted_at,square_handle,contact\n1,2026-02-13T10:00:00Z,a,\nabc,2026-02-13T10:00:00Z,b,\n")
    with pytest.raises(CommandError) as excinfo:
        call_command("import_signups", "--campaign", campaign.slug, str(path), "--no-progress")
    assert excinfo.value.returncode == 1
    assert "signups.csv: line 3: uid must be a positive integer, got 'abc'" in capsys.readouterr().err
    assert Signup.objects.get().trader.uid == 1
    run = ImportRun.objects.get()
    assert (run.kind, run.accepted, run.rejected, run.campaign_link.campaign) == ("signups", 1, 1, campaign)


def test_the_import_command_exits_0_when_every_row_was_taken(tmp_path, campaign, capsys):
    path = tmp_path / "stats.csv"
    path.write_bytes(b"uid,as_of,new_copiers,copier_pnl_usdt\n1,2026-02-24T12:00:00Z,1,2.00\n")
    call_command("import_trader_stats", "--campaign", campaign.slug, str(path), "--no-progress")
    assert "1 records, 1 imported, 0 rejected" in capsys.readouterr().out


def test_the_import_command_refuses_an_unknown_campaign(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(REG_HEADER)
    with pytest.raises(CommandError, match="no campaign with slug 'nope'"):
        call_command("import_registrations", "--campaign", "nope", str(path))


def test_large_files_are_written_in_chunks_and_all_land(campaign):
    rows = "".join(f"{uid},2026-02-13T10:00:00Z,h{uid},\n" for uid in range(1, 5001))
    report = signups_import(campaign=campaign, data=("uid,submitted_at,square_handle,contact\n" + rows).encode())
    assert report.ok and report.run.accepted == 5000
    assert Signup.objects.count() == 5000 and Trader.objects.count() == 5000


@pytest.mark.parametrize(
    "row, reason",
    [
        (b"99999999999999999999999,x,futures,approved,2026-02-01T10:00:00Z,", "uid is larger than any UID can be (9223372036854775807): '99999999999999999999999'"),
        (b"1,x,futures,approved,2026-02-01T10:00:00+16:00,", "applied_at has an offset beyond \u00b115:59, which no time zone uses: '2026-02-01T10:00:00+16:00'"),
        (b"1,x,futures,approved,0001-01-01T00:00:00+01:00,", "applied_at is out of range: '0001-01-01T00:00:00+01:00'"),
    ],
)
def test_values_the_database_could_not_hold_are_rejected_with_their_reason(row, reason):
    report = registrations_import(data=REG_HEADER + row + b"\n")
    assert report.errors == [(2, reason)]


def test_instants_are_stored_as_the_same_instant_in_utc(campaign):
    signups_import(campaign=campaign, data=b"uid,submitted_at,square_handle,contact\n1,2026-02-13T05:00:00-05:00,a,\n")
    assert Signup.objects.get().submitted_at == datetime(2026, 2, 13, 10, 0, tzinfo=timezone.utc)


def test_an_unpaired_surrogate_is_refused_and_kept_readably(campaign):
    from campaign.services import posts_import_file

    report = posts_import_file(campaign=campaign, data=b'{"post_id": "a", "author_uid": 1, "created_at": "2026-02-14T12:00:00Z", "text": "bad \\ud800 text", "likes": 0, "comments": 0, "shares": 0, "views": 0, "deleted": false}\n')
    assert report.errors == [(1, "contains an unpaired surrogate (not valid Unicode text)")]
    assert "\\ud800" in RejectedRecord.objects.get().raw


# --- Sizes and streaming (issue 15) ----------------------------------------------------------

SIGNUP_HEADER = b"uid,submitted_at,square_handle,contact\n"
HUGE = 140_000  # over the csv module's own field limit (131,072 characters)


def test_a_registration_field_over_131072_characters_is_a_rejected_row_and_the_next_row_imported():
    data = REG_HEADER + b"1," + b"x" * HUGE + b",futures,approved,2026-02-01T10:00:00Z,\n" + b"2,ben,futures,approved,2026-02-01T10:00:00Z,\n"
    report = registrations_import(data=data)
    assert report.errors == [(2, "nickname is 140,000 characters; the column holds at most 100")]
    run = ImportRun.objects.get()
    assert (run.total, run.accepted, run.rejected, run.status) == (2, 1, 1, "finished") and run.finished_at is not None
    assert list(Trader.objects.values_list("uid", flat=True)) == [2]


def test_a_signup_field_over_131072_characters_through_the_command_is_a_rejected_row(tmp_path, campaign, capsys):
    path = tmp_path / "signups.csv"
    path.write_bytes(SIGNUP_HEADER + b'5,2026-02-13T10:00:00Z,"' + b"h" * HUGE + b'",\n6,2026-02-13T10:00:00Z,ok,\n')
    with pytest.raises(CommandError, match="1 record\\(s\\) rejected; the other 1 were imported"):
        call_command("import_signups", "--campaign", campaign.slug, str(path), "--no-progress")
    assert "signups.csv: line 2: square_handle is 140,000 characters; the column holds at most 100" in capsys.readouterr().err
    run = ImportRun.objects.get()
    assert (run.total, run.accepted, run.rejected, run.last_line) == (2, 1, 1, 3) and run.finished_at is not None
    assert list(Signup.objects.values_list("trader__uid", flat=True)) == [6]


def test_an_over_long_csv_line_is_read_past_and_rejected_with_its_line_the_limit_and_a_prefix(settings):
    settings.IMPORT_MAX_LINE_BYTES = 1000
    long_row = b"1," + "é".encode() * 3000 + b",futures,approved,2026-02-01T10:00:00Z,"
    data = REG_HEADER + long_row + b"\r\n" + b"2,ben,futures,approved,2026-02-01T10:00:00Z,\n"
    report = registrations_import(data=data)
    assert report.errors == [(2, f"the line is {len(long_row):,} bytes; the limit is 1,000 bytes")]
    raw = RejectedRecord.objects.get().raw
    assert raw.startswith("1,éé") and raw.endswith("…") and len(raw) < 150
    assert list(Trader.objects.values_list("uid", flat=True)) == [2]


def test_an_over_long_json_line_is_read_past_and_rejected_and_the_next_line_imported(campaign, settings):
    from campaign.services import posts_import_file
    from campaign.services.post_records import posts_line_limit
    from tests.factories import post_item

    settings.IMPORT_MAX_LINE_BYTES = 1000
    campaign.max_text_length = 200
    limit = posts_line_limit(campaign)
    assert limit == 12 * 200 + 1000
    long_line = json.dumps(post_item("long", 1, text="y" * 5000)).encode()
    data = long_line + b"\n" + json.dumps(post_item("ok", 1, text="z" * 150)).encode() + b"\n"
    report = posts_import_file(campaign=campaign, data=data)
    assert report.errors == [(1, f"the line is {len(long_line):,} bytes; the limit is {limit:,} bytes")]
    assert list(Post.objects.values_list("post_id", flat=True)) == ["ok"]


def test_a_bad_byte_is_reported_on_its_line_of_a_posts_file_and_the_other_lines_imported(campaign):
    from campaign.services import posts_import_file
    from tests.factories import post_item

    lines = [json.dumps(post_item(f"p{n}", 1)).encode() for n in range(1, 4)]
    lines[1] = lines[1].replace(b"BTC futures", b"BTC \xff futures")
    report = posts_import_file(campaign=campaign, data=b"\n".join(lines) + b"\n")
    assert [line for line, _ in report.errors] == [2]
    assert report.errors[0][1].startswith("not UTF-8 (invalid start byte at byte ")
    assert "\\xff" in RejectedRecord.objects.get().raw
    assert sorted(Post.objects.values_list("post_id", flat=True)) == ["p1", "p3"]


@pytest.mark.parametrize("opener", ["bytes", "open file", "upload in memory", "upload on disk"])
def test_readers_take_bytes_an_open_file_or_an_upload(tmp_path, opener):
    from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

    data = REG_HEADER + b"1,ann,futures,approved,2026-02-01T10:00:00Z,\n2,ben,futures,approved,2026-02-01T10:00:00Z,\n"
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    if opener == "bytes":
        source = data
    elif opener == "open file":
        source = path.open("rb")
    elif opener == "upload in memory":
        source = SimpleUploadedFile("r.csv", data)
    else:
        source = TemporaryUploadedFile("r.csv", "text/csv", len(data), None)
        source.write(data)
        source.seek(0)
    report = registrations_import(data=source)
    assert report.ok and report.run.accepted == 2


def test_a_quoted_field_may_span_lines_and_a_record_is_bounded_in_all_its_lines(campaign, settings):
    settings.IMPORT_MAX_LINE_BYTES = 300
    spanning = b'7,2026-02-13T10:00:00Z,"two\r\nlines",\n'
    runaway = b'8,2026-02-13T10:00:00Z,"' + b"".join(b"line %d of a field that never ends\n" % n for n in range(20)) + b'",\n'
    data = SIGNUP_HEADER + spanning + runaway + b"9,2026-02-13T10:00:00Z,after,\n"
    report = signups_import(campaign=campaign, data=data)
    size = len(runaway) - 1  # without its last line break
    assert report.errors == [(4, f"the record (lines 4 to 24) is {size:,} bytes; the limit is 300 bytes")]
    assert dict(Signup.objects.values_list("trader__uid", "square_handle")) == {7: "two\r\nlines", 9: "after"}
    assert RejectedRecord.objects.get().raw.startswith('8,2026-02-13T10:00:00Z,"line 0')
    assert report.run.last_line == 25


def test_csv_files_whose_lines_end_with_a_lone_carriage_return_still_read(campaign):
    data = b"uid,submitted_at,square_handle,contact\r1,2026-02-13T10:00:00Z,a,\r2,bad,b,\r3,2026-02-13T10:00:00Z,c,"
    report = signups_import(campaign=campaign, data=data)
    assert [line for line, _ in report.errors] == [3]
    assert sorted(Signup.objects.values_list("trader__uid", flat=True)) == [1, 3]


def test_a_bom_and_crlf_lines_read_as_before():
    data = b"\xef\xbb\xbf" + REG_HEADER.replace(b"\n", b"\r\n") + b"1,ann,futures,approved,2026-02-01T10:00:00Z,\r\n"
    assert registrations_import(data=data).ok


def test_counters_and_the_last_line_are_saved_with_each_chunk_so_a_killed_run_shows_what_it_did_and_continues(tmp_path, campaign):
    import time_machine
    from django.utils import timezone

    from campaign.services import campaign_import_file
    from core.imports import run_import
    from core.reading import csv_records
    from traders.services import _registrations_write, registration_parse

    rows = [f"{uid},n{uid},futures,approved,2026-02-01T10:00:00Z,\n".encode() for uid in range(1, 6)]
    rows[2] = b"3,n3,futures,approved,not a time,\n"
    path = tmp_path / "registrations.csv"
    path.write_bytes(REG_HEADER + b"".join(rows))

    def killed_after_four(records):
        for n, record in enumerate(records):
            if n == 4:
                raise KeyboardInterrupt  # the process dies here
            yield record

    with pytest.raises(KeyboardInterrupt):
        run_import(
            kind=ImportRun.Kind.REGISTRATIONS, records=killed_after_four(csv_records(path.read_bytes(), header=("uid", "nickname", "market", "status", "applied_at", "approved_at"))),
            parse=registration_parse, write=_registrations_write, chunk_size=2, filename=path.name,
        )  # fmt: skip
    run = ImportRun.objects.get()
    assert (run.total, run.accepted, run.rejected, run.finished_at) == (4, 3, 1, None)
    assert run.last_line == 5  # header and four rows
    assert RejectedRecord.objects.get(run=run).line == 4
    from core.imports import import_run_claim

    assert run.state == "running"  # its lease still holds
    ImportRun.objects.filter(pk=run.pk).update(file_path=str(path))
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert ImportRun.objects.get().state == "interrupted"
        run = import_run_claim(run_id=run.pk)
        assert run is not None and import_run_claim(run_id=run.pk) is None  # one worker at a time
        report = campaign_import_file(campaign=campaign, kind=run.kind, path=path, source=run.source, run=run)
    run = ImportRun.objects.get()
    assert (run.total, run.accepted, run.rejected, run.last_line, run.state) == (5, 4, 1, 6, "finished")
    assert report.errors == []  # only the lines after the last committed one were read again
    assert RejectedRecord.objects.filter(run=run).count() == 1
    assert sorted(Trader.objects.values_list("uid", flat=True)) == [1, 2, 4, 5]
    assert import_run_claim(run_id=run.pk) is None  # a finished run is never taken again


def test_a_value_the_database_refuses_is_rejected_alone_and_the_rest_of_the_chunk_written():
    from django.db import DataError

    from core.imports import run_import
    from core.reading import SourceRecord
    from traders.services import _registrations_write, registration_parse

    def write(chunk, run):
        if any(row.nickname == "boom" for _, row in chunk):
            raise DataError("value too long for type character varying(100)\nCONTEXT: ...")
        return _registrations_write(chunk, run)

    good = {"market": "futures", "status": "approved", "applied_at": "2026-02-01T10:00:00Z", "approved_at": ""}
    records = [SourceRecord(n + 2, f"row {n}", {"uid": str(n + 1), "nickname": name, **good}) for n, name in enumerate(["a", "boom", "c"])]
    report = run_import(kind=ImportRun.Kind.REGISTRATIONS, records=records, parse=registration_parse, write=write)
    assert report.errors == [(3, "the database refused it (value too long for type character varying(100))")]
    assert (report.run.total, report.run.accepted, report.run.rejected) == (3, 2, 1)
    assert sorted(Trader.objects.values_list("uid", flat=True)) == [1, 3]


def test_a_file_refused_whole_never_says_the_rest_was_imported(tmp_path, campaign):
    path = tmp_path / "signups.csv"
    for content, reason in [(b"", "the file is empty"), (b"uid,when\n1,2026-02-13T10:00:00Z\n", "expected the header")]:
        path.write_bytes(content)
        with pytest.raises(CommandError) as excinfo:
            call_command("import_signups", "--campaign", campaign.slug, str(path), "--no-progress")
        message = str(excinfo.value)
        assert excinfo.value.returncode == 1
        assert reason in message and "nothing was imported" in message and "were imported" not in message
    assert not Signup.objects.exists()


def test_a_json_number_of_5000_digits_or_deep_nesting_is_a_rejected_line_not_a_crash(campaign):
    from campaign.services import posts_import_file
    from tests.factories import post_item

    nested = json.dumps(post_item("nested", 1)).encode()[:-1] + b', "extra": ' + b"[" * 100 + b"]" * 100 + b"}"
    data = b'{"post_id": "a", "likes": ' + b"9" * 5000 + b"}\n" + b"[" * 100_000 + b"\n" + nested + b"\n" + json.dumps(post_item("ok", 1)).encode() + b"\n"
    report = posts_import_file(campaign=campaign, data=data)
    assert [line for line, _ in report.errors] == [1, 2, 3]
    assert report.errors[0][1].startswith("not valid JSON: Exceeds the limit (4300 digits)")
    assert report.errors[1][1] == "not valid JSON here: nested too deeply"
    assert report.errors[2][1] == "nested deeper than 64 levels"  # whatever the parser's own stack allows
    assert list(Post.objects.values_list("post_id", flat=True)) == ["ok"]
