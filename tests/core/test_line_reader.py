"""The streaming line reader and the CSV record reader of core/reading.py, against plain
reference readings: whatever the bytes and wherever the blocks are cut, the lines are the lines
of the whole file, an over-long one is cut to its prefix with its true size, and CSV records are
exactly the records (and end lines) Python's csv module reads."""

import csv
import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import reading
from core.reading import PREFIX_BYTES, _csv_rows, count_lines, read_lines, text_lines

chunky = st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r", b"\r\n", b'"', b",", b"\xc3\xa9", b"\xe2\x80\xa8"]), max_size=80).map(b"".join)


def reference_lines(data: bytes, universal: bool):
    if universal:
        parts = re.split(rb"\r\n|\r|\n", data)
    else:
        parts = [p[:-1] if p.endswith(b"\r") else p for p in data.split(b"\n")]
    if parts and parts[-1] == b"" and (data.endswith(b"\n") or (universal and data.endswith(b"\r"))):
        parts.pop()
    return [] if data == b"" else parts


@settings(max_examples=300, deadline=None)
@given(data=chunky, block=st.integers(min_value=1, max_value=9), limit=st.integers(min_value=1, max_value=12), universal=st.booleans())
def test_lines_are_the_lines_of_the_whole_file_whatever_the_blocks(data, block, limit, universal):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reading, "BLOCK", block)
        lines = list(read_lines(data, limit=limit, universal=universal))
    expected = reference_lines(data, universal)
    assert [line.number for line in lines] == list(range(1, len(expected) + 1))
    for line, want in zip(lines, expected):
        assert line.size == len(want)
        assert line.whole == (len(want) <= limit)
        assert line.data == (want if line.whole else want[:PREFIX_BYTES])


@settings(max_examples=100, deadline=None)
@given(data=chunky, universal=st.booleans())
def test_count_lines_counts_what_read_lines_reads(tmp_path_factory, data, universal):
    path = tmp_path_factory.mktemp("count") / "f"
    path.write_bytes(data)
    assert count_lines(path, universal=universal) == len(list(read_lines(data, limit=10**6, universal=universal)))


def test_json_lines_split_as_text_lines_does():
    text = "a\r\nb\u2028c\r\nd\x85e\n\nf"
    assert [line.data.decode() for line in read_lines(text.encode(), limit=100)] == text_lines(text)


csv_text = st.lists(st.sampled_from(["a", "b c", ",", '"', '""', "\n", "\r", "\r\n", "é", " "]), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=csv_text)
def test_csv_records_are_the_records_python_csv_reads(text):
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        expected = []
        for row in reader:
            expected.append((row, reader.line_num))
    except csv.Error:
        return  # csv itself gives up (an unquoted "\r" inside a field): nothing to compare with
    got = [(record.row, record.end) for record in _csv_rows(read_lines(text.encode(), limit=10**6, universal=True), 10**6)]
    assert got == expected
