from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core.imports import MAX_DEPTH as RECORD_MAX_DEPTH

# How deeply a whole request body (an API call, a webhook delivery) may nest. A body deeper than
# this is refused whole as bad JSON: past it Python's recursive decoder, encoder and validators
# come near the interpreter's recursion limit. Anything shallower is read, and a record inside it
# nested deeper than RECORD_MAX_DEPTH (64) is refused on its own, with its reason, while the other
# records are taken (RULES.md section 9: no field makes a request fail as a whole).
MAX_DEPTH = 256
assert MAX_DEPTH > RECORD_MAX_DEPTH + 2  # room for the envelope {"items": [record]} around a record


def json_depth(data) -> int:
    """How deeply arrays and objects nest in decoded JSON (a scalar 0, `[]` 1), without recursion;
    the one depth rule of the API and the posts webhook (over MAX_DEPTH: refused as bad JSON).

    Memory grows with the depth only: the stack holds one iterator per open level, never the
    elements (a 5 MB array of 2.6 million zeros would otherwise be 2.6 million stacked tuples)."""
    if not isinstance(data, (dict, list)):
        return 0
    deepest, stack = 1, [iter(data.values() if isinstance(data, dict) else data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, (dict, list)):
                stack.append(iter(value.values() if isinstance(value, dict) else value))
                deepest = max(deepest, len(stack))
                break
        else:
            stack.pop()
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents nested deeper than MAX_DEPTH: Python's recursive JSON
    encoder and validators would hit the recursion limit on them and answer with a server error."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        if json_depth(data) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
        return data
