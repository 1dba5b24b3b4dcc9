"""The one depth rule of the API and the posts webhook (core.api.parsers.json_depth): exact,
without recursion, and with memory that grows with the depth, never with the element count."""

import json
import tracemalloc

import pytest

from core.api.parsers import MAX_DEPTH, json_depth


@pytest.mark.parametrize(
    "document, depth",
    [(0, 0), ("x", 0), (None, 0), ([], 1), ({}, 1), ([[]], 2), ({"a": [1, {"b": []}]}, 4), ([1, [2, [3]], [[[[]]]]], 5), ({"a": 1, "b": {"c": {}}}, 3)],
)
def test_the_depth_counts_every_open_array_and_object(document, depth):
    assert json_depth(document) == depth


def test_a_document_as_deep_as_python_can_decode_is_measured_without_recursion():
    assert json_depth(json.loads("[" * 900 + "]" * 900)) == 900
    assert MAX_DEPTH == 256


def test_measuring_a_wide_document_takes_memory_for_its_depth_not_its_elements():
    wide = [0] * 2_000_000 + [[[]]]
    tracemalloc.start()
    try:
        assert json_depth(wide) == 3
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000  # one stacked tuple an element was 2,000,000 of them (over 100 MB)
