"""Bad input never crashes an import and never vanishes: fuzzed files through every importer."""

import csv
import io
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.models import Post, Signup
from campaign.services import posts_import_file, signups_import
from traders.models import ImportRun, LeadTraderRegistration, RejectedRecord, TradingStats
from traders.services import registrations_import, trader_stats_import

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Characters str.splitlines() breaks at besides "\n" and "\r": a JSON string or a CSV field may
# hold them raw, and a reader that split there lost records (issue 19). Drawn often.
LINE_BREAKERS = "\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e"


def unicode_text(*, max_size):
    """Texts from the whole of Unicode (lone surrogates aside: UTF-8 cannot carry them)."""
    return st.text(alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(LINE_BREAKERS)), max_size=max_size)


junk = st.one_of(
    unicode_text(max_size=40),
    st.sampled_from(["", "-1", "0", "1e309", "NaN", "99999999999999999999999", "2026-02-14T10:00:00", "2026-02-30T10:00:00Z", "=1+1", "\x00", "\u202e"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=2500, max_value=10000).map(lambda n: "ab" * n),  # huge fields, cheaply
)
instant = st.sampled_from(["2026-02-13T10:00:00Z", "2026-02-13T18:00:00+08:00", "2026-02-13T05:00:00-05:00"])
uid = st.integers(min_value=1, max_value=10**12).map(str)


def csv_bytes(header, rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(header)
    # Every field quoted, so a stray carriage return stays inside its field as a real exporter writes it.
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return out.getvalue().encode()


def physical_lines(rows):
    """The line each row starts on, as an editor shows it: a quoted field may span lines."""
    starts, line = [], 2
    for row in rows:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow(row)
        starts.append(line)
        line += sum(1 for _ in io.StringIO(out.getvalue(), newline=""))
    return starts


def check_report(report, rows, good_lines):
    run = report.run
    assert run.finished_at is not None
    assert run.accepted + run.rejected == run.total == len(rows)
    rejected_lines = {line for line, _ in report.errors}
    assert not rejected_lines & good_lines, f"a valid row was refused: {report.errors}"
    assert rejected_lines == set(RejectedRecord.objects.filter(run=run).values_list("line", flat=True))
    assert all(reason for _, reason in report.errors)


@FUZZ
@given(rows=st.lists(st.tuples(st.booleans(), uid, junk, st.sampled_from(["futures", "spot", "FUTURES", "margin", ""]), junk, instant, junk), max_size=25))
def test_registrations_survive_any_row(rows):
    table, valid_rows = [], []
    for valid, u, nick, market, status, applied, approved in rows:
        if valid:
            table.append([u, "n" + nick[:20].replace("\x00", ""), "futures", "approved", applied, ""])
        else:
            table.append([u, nick, market, status, applied, approved])
        valid_rows.append(valid)
    good = {line for line, valid in zip(physical_lines(table), valid_rows) if valid}
    report = registrations_import(data=csv_bytes(("uid", "nickname", "market", "status", "applied_at", "approved_at"), table))
    check_report(report, table, good)


@FUZZ
@given(rows=st.lists(st.tuples(st.booleans(), uid, junk, junk, junk), max_size=25))
def test_signups_survive_any_row(campaign, rows):
    table = [[u, "2026-02-13T10:00:00Z", "h", "c"] if valid else [u, when, handle, contact] for valid, u, when, handle, contact in rows]
    good = {line for line, row in zip(physical_lines(table), rows) if row[0]}
    check_report(signups_import(campaign=campaign, data=csv_bytes(("uid", "submitted_at", "square_handle", "contact"), table)), table, good)


@FUZZ
@given(rows=st.lists(st.tuples(uid, junk, junk, junk), max_size=25))
def test_trading_stats_survive_any_row(rows):
    table = [list(r) for r in rows]
    check_report(trader_stats_import(data=csv_bytes(("uid", "as_of", "new_copiers", "copier_pnl_usdt"), table)), table, set())


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
post_fields = st.fixed_dictionaries(
    {},
    optional={
        "post_id": st.one_of(st.text(max_size=200), st.integers()),
        "author_uid": st.one_of(st.integers(min_value=-5, max_value=10**20), st.text(max_size=5), st.booleans()),
        "created_at": st.one_of(instant, st.text(max_size=30)),
        "text": st.one_of(unicode_text(max_size=300), st.integers()),
        "likes": json_value, "comments": json_value, "shares": json_value, "views": json_value, "deleted": json_value,
        "extra": json_value,
    },
)  # fmt: skip


@FUZZ
@given(items=st.lists(st.one_of(post_fields, json_value, st.binary(max_size=40)), max_size=20))
def test_posts_survive_any_line(campaign, items):
    lines = []
    for item in items:
        if isinstance(item, bytes):
            lines.append(item.replace(b"\n", b" ").replace(b"\r", b" "))
        else:
            lines.append(json.dumps(item, ensure_ascii=False).encode())  # raw characters, as exports write them
    report = posts_import_file(campaign=campaign, data=b"\n".join(lines) + b"\n")
    run = report.run
    assert run.finished_at is not None
    stored = set(Post.objects.filter(campaign=campaign).values_list("post_id", flat=True))
    assert run.accepted == 0 or stored  # whatever was accepted is there


@FUZZ
@given(texts=st.lists(unicode_text(max_size=300), min_size=1, max_size=8))
def test_every_record_is_one_record_and_a_stored_text_is_the_text_sent(campaign, texts):
    # Examples share the test's database: ids of their own.
    example = uuid.uuid4().hex
    items = [{"post_id": f"{example}-{i}", "author_uid": 7, "created_at": "2026-02-13T10:00:00Z", "text": text, "likes": 0, "comments": 0, "shares": 0,
              "views": 0, "deleted": False} for i, text in enumerate(texts)]  # fmt: skip
    data = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()
    report = posts_import_file(campaign=campaign, data=data)
    assert report.run.total == len(items)
    assert not any("JSON" in reason for _line, reason in report.errors)
    stored = dict(Post.objects.filter(campaign=campaign, post_id__startswith=example).values_list("post_id", "text"))
    assert len(stored) == report.run.accepted
    assert all(stored[item["post_id"]] == item["text"] for item in items if item["post_id"] in stored)


def test_ten_thousand_bad_rows_are_all_reported_and_the_good_ones_imported(campaign):
    rows = [[str(n), "not a time", "h", ""] for n in range(1, 10001)] + [["424242", "2026-02-13T10:00:00Z", "good", ""]]
    report = signups_import(campaign=campaign, data=csv_bytes(("uid", "submitted_at", "square_handle", "contact"), rows))
    assert (report.run.total, report.run.accepted, report.run.rejected) == (10001, 1, 10000)
    assert RejectedRecord.objects.filter(run=report.run).count() == 10000
    assert report.errors[0] == (2, "submitted_at is not an ISO 8601 instant: 'not a time'")
    assert list(Signup.objects.values_list("trader__uid", flat=True)) == [424242]


def test_malformed_utf8_is_reported_not_crashed_on(campaign):
    report = posts_import_file(campaign=campaign, data=b'{"post_id": "\xff\xfe"}\n')
    assert report.errors == [(1, "the file is not UTF-8 (invalid start byte at byte 13)")]
    assert ImportRun.objects.get().rejected == 1 and not Post.objects.exists()


def test_no_partial_write_of_a_bad_record():
    data = csv_bytes(("uid", "nickname", "market", "status", "applied_at", "approved_at"), [["77", "half", "futures", "approved", "2026-02-01T00:00:00", ""]])
    registrations_import(data=data)
    assert not LeadTraderRegistration.objects.exists() and not TradingStats.objects.exists()
    from traders.models import Trader

    assert not Trader.objects.filter(uid=77).exists()


def test_a_nul_character_is_refused_with_its_reason_and_kept_readably(campaign):
    report = signups_import(campaign=campaign, data=b"uid,submitted_at,square_handle,contact\n5,2026-02-13T10:00:00Z,bad\x00handle,\n6,2026-02-13T10:00:00Z,ok,\n")
    assert report.errors == [(2, "contains a NUL character (\\x00)")]
    assert RejectedRecord.objects.get().raw == "5,2026-02-13T10:00:00Z,bad\\x00handle,"
    assert list(Signup.objects.values_list("trader__uid", flat=True)) == [6]
