"""Importers of RULES.md section 9: good, bad and repeated rows; idempotent re-import."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Signup
from campaign.services import signups_import
from traders.models import ImportRun, LeadTraderRegistration, RejectedRecord, Trader, TradingStats
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
    assert not report.ok
    assert report.errors == [(1, "line 1: expected the header uid,nickname,market,status,applied_at,approved_at, got uid,name,market")]
    assert not Trader.objects.exists()
    assert RejectedRecord.objects.filter(run=report.run).count() == 1


def test_a_file_that_is_not_utf8_is_refused_with_the_reason():
    report = registrations_import(data=REG_HEADER + "1,\u00e9,futures,approved,2026-02-01T10:00:00Z,\n".encode("latin-1"))
    assert report.errors[0][1].startswith("the file is not UTF-8")


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
    assert (run.kind, run.accepted, run.rejected, run.campaign_slug) == ("signups", 1, 1, campaign.slug)


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
