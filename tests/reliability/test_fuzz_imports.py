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
from core.models import ImportRun, RejectedRecord
from traders.models import LeadTraderRegistration, TradingStats
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
    assert report.errors == [(1, "not UTF-8 (invalid start byte at byte 14 of the line)")]
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


# --- Sizes, line limits, bad bytes (issue 15) ----------------------------------------------------
# Every importer gets files whose lines are good rows or bad in one of the ways a hostile or
# careless file is: a field over its column, a line over the line limit, a byte that is not UTF-8,
# a NUL, junk, and for posts a deeply nested line. Each line is one record, so each bad one must
# come back at its own line number, and every good one must be imported.

LINE_LIMIT = 2000  # bytes; small, so that over-long lines are cheap to make
MAX_TEXT = 100  # the campaign's maximum text while fuzzing posts and reference texts
BAD_KINDS = ["column", "overlong", "bad_byte", "nul", "junk"]
plain = st.text(alphabet=st.characters(codec="utf-8", exclude_characters='\r\n",\x00'), max_size=30)


@pytest.fixture
def small_limits(settings, campaign):
    settings.IMPORT_MAX_LINE_BYTES = LINE_LIMIT
    campaign.max_text_length = MAX_TEXT
    return campaign


def example_base():
    return uuid.uuid4().int % 10**11 * 100  # each hypothesis example its own uids (the database is shared)


def spoil(line: bytes, kind: str, where: int, junk: str, *, column_value: bytes, nul_value: bytes, field: bytes) -> bytes:
    """A good line made bad in one way; `field` is a value of the good line to replace."""
    if kind == "column":
        return line.replace(field, column_value, 1)
    if kind == "overlong":
        return line.replace(field, b"o" * (LINE_LIMIT + 1 + where * 37), 1)
    if kind == "bad_byte":
        cut = where % (len(line) + 1)
        return line[:cut] + b"\xff" + line[cut:]
    if kind == "nul":
        return line.replace(field, nul_value, 1)
    return ("j" + junk).encode()


def check_lines(report, good_lines, bad_lines):
    run = report.run
    assert run.finished_at is not None and not run.error
    assert run.total == len(good_lines) + len(bad_lines) and run.rejected == len(bad_lines)
    kept = dict(RejectedRecord.objects.filter(run=run).values_list("line", "reason"))
    assert set(kept) == set(bad_lines), f"rejected {sorted(kept)}, expected {sorted(bad_lines)}"
    assert all(kept.values())
    assert all(len(raw) <= 300 for raw in RejectedRecord.objects.filter(run=run, reason__startswith="the line is").values_list("raw", flat=True))


lines_plan = st.lists(st.tuples(st.sampled_from(["good", *BAD_KINDS]), st.integers(min_value=0, max_value=400), plain), min_size=1, max_size=15)


@FUZZ
@given(plan=lines_plan)
def test_registrations_take_every_good_line_and_reject_each_bad_one_at_its_line(small_limits, plan):
    base = example_base()
    lines, good, bad = [], {}, []
    for i, (kind, where, junk) in enumerate(plan):
        uid = base + i
        line = f"{uid},nick{uid},futures,approved,2026-02-01T10:00:00Z,".encode()
        if kind == "good":
            good[i + 2] = uid
        else:
            line = spoil(line, kind, where, junk, column_value=b"n" * (101 + where), nul_value=b"a\x00b", field=f"nick{uid}".encode())
            bad.append(i + 2)
        lines.append(line)
    report = registrations_import(data=b"uid,nickname,market,status,applied_at,approved_at\n" + b"\n".join(lines) + b"\n")
    check_lines(report, good, bad)
    stored = set(LeadTraderRegistration.objects.filter(trader__uid__gte=base, trader__uid__lt=base + 100).values_list("trader__uid", flat=True))
    assert stored == set(good.values())


@FUZZ
@given(plan=lines_plan, crlf=st.booleans())
def test_signups_take_every_good_line_and_reject_each_bad_one_at_its_line(small_limits, plan, crlf):
    base = example_base()
    lines, good, bad = [], {}, []
    for i, (kind, where, junk) in enumerate(plan):
        uid = base + i
        line = f"{uid},2026-02-13T10:00:00Z,handle{uid},contact".encode()
        if kind == "good":
            good[i + 2] = uid
        else:
            line = spoil(line, kind, where, junk, column_value=b"h" * (101 + where), nul_value=b"h\x00", field=f"handle{uid}".encode())
            bad.append(i + 2)
        lines.append(line)
    end = b"\r\n" if crlf else b"\n"
    report = signups_import(campaign=small_limits, data=b"uid,submitted_at,square_handle,contact" + end + end.join(lines))
    check_lines(report, good, bad)
    assert set(Signup.objects.filter(trader__uid__gte=base, trader__uid__lt=base + 100).values_list("trader__uid", flat=True)) == set(good.values())


@FUZZ
@given(plan=lines_plan)
def test_trading_stats_take_every_good_line_and_reject_each_bad_one_at_its_line(small_limits, plan):
    base = example_base()
    lines, good, bad = [], {}, []
    for i, (kind, where, junk) in enumerate(plan):
        uid = base + i
        line = f"{uid},2026-02-24T12:00:00Z,3,12.5".encode()
        if kind == "good":
            good[i + 2] = uid
        else:
            line = spoil(line, kind, where, junk, column_value=b"9" * (17 + where), nul_value=b"1\x002.5", field=b"12.5")
            bad.append(i + 2)
        lines.append(line)
    report = trader_stats_import(data=b"uid,as_of,new_copiers,copier_pnl_usdt\n" + b"\n".join(lines) + b"\n")
    check_lines(report, good, bad)
    assert set(TradingStats.objects.filter(trader__uid__gte=base, trader__uid__lt=base + 100).values_list("trader__uid", flat=True)) == set(good.values())


@FUZZ
@given(plan=st.lists(st.tuples(st.sampled_from(["good", *BAD_KINDS, "deep"]), st.integers(min_value=0, max_value=400), plain), min_size=1, max_size=15))
def test_posts_take_every_good_line_and_reject_each_bad_one_at_its_line(small_limits, plan):
    example = uuid.uuid4().hex
    lines, good, bad = [], {}, []
    for i, (kind, where, junk) in enumerate(plan):
        post_id = f"{example}-{i}"
        text = ("$BTC long " + junk)[:MAX_TEXT] if kind == "good" else "TEXT"
        line = json.dumps({"post_id": post_id, "author_uid": 7, "created_at": "2026-02-14T12:00:00+08:00", "text": text, "likes": 0,
                           "comments": 0, "shares": 0, "views": 0, "deleted": False}, ensure_ascii=False).encode()  # fmt: skip
        if kind == "good":
            good[i + 1] = post_id
        elif kind == "deep":  # nested deeper than a record may be (64), or than the JSON parser goes
            depth = 65 + where if where % 2 else 1200
            line = line[:-1] + b', "extra": ' + b"[" * depth + b"]" * depth + b"}"
            bad.append(i + 1)
        else:
            line = spoil(line, kind, where, junk, column_value=b"c" * (MAX_TEXT + 1 + where), nul_value=b"a\\u0000b", field=b"TEXT")
            bad.append(i + 1)
        lines.append(line)
    report = posts_import_file(campaign=small_limits, data=b"\n".join(lines) + b"\n")
    check_lines(report, good, bad)
    assert set(Post.objects.filter(post_id__startswith=example).values_list("post_id", flat=True)) == set(good.values())


@FUZZ
@given(plan=lines_plan)
def test_reference_texts_take_every_good_text_and_reject_each_bad_one_at_its_line(small_limits, plan):
    from campaign.models import ReferenceText
    from campaign.services import reference_texts_import

    example = uuid.uuid4().hex
    lines, good, bad = [], {}, []
    for i, (kind, where, junk) in enumerate(plan):
        text = f"reference {example} {i} {junk}"[:MAX_TEXT].replace("---", "- -").strip()
        line = text.encode()
        if kind == "good":
            good[len(lines) + 1] = text
        elif kind != "junk":  # junk is just another text here
            line = spoil(line, kind, where, junk, column_value=b"r" * (MAX_TEXT + 1 + where), nul_value=b"x\x00y", field=f"{example} {i}".encode())
            bad.append(len(lines) + 1)
        else:
            good[len(lines) + 1] = text
        lines.extend([line, b"---"])
    report = reference_texts_import(campaign=small_limits, data=b"\n".join(lines) + b"\n")
    check_lines(report, good, bad)
    stored = set(ReferenceText.objects.filter(campaign=small_limits, text__contains=example).values_list("text", flat=True))
    assert stored == set(good.values())


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(size=st.integers(min_value=4_000_000, max_value=8_000_000), position=st.integers(min_value=0, max_value=3), csv_file=st.booleans())
def test_memory_does_not_grow_with_an_over_long_line(small_limits, size, position, csv_file):
    import tracemalloc

    from core.reading import BLOCK

    example = uuid.uuid4().hex
    if csv_file:
        rows = [f"{n},2026-02-13T10:00:00Z,h,".encode() for n in range(1, 4)]
        rows.insert(position, b"9," + b"x" * size + b",h,")
        data = b"uid,submitted_at,square_handle,contact\n" + b"\n".join(rows) + b"\n"
    else:
        rows = [json.dumps({"post_id": f"{example}-{n}", "author_uid": 7, "created_at": "2026-02-14T12:00:00+08:00", "text": "$BTC long", "likes": 0,
                            "comments": 0, "shares": 0, "views": 0, "deleted": False}).encode() for n in range(3)]  # fmt: skip
        rows.insert(position, b'{"text": "' + b"x" * size + b'"}')
        data = b"\n".join(rows) + b"\n"
    stream = io.BytesIO(data)  # made before tracing: the file, not the import, holds these bytes
    tracemalloc.start()
    try:
        if csv_file:
            report = signups_import(campaign=small_limits, data=stream)
        else:
            report = posts_import_file(campaign=small_limits, data=stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [line for line, _ in report.errors] == [position + (2 if csv_file else 1)]
    assert report.run.accepted == 3
    # At most a line limit and a block of the long line, copied once: far under the line itself.
    assert peak < 2 * (12 * MAX_TEXT + LINE_LIMIT + BLOCK) + 2 * 1024 * 1024, f"peak {peak:,} for a line of {size:,} bytes"
