from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def _depth(data) -> int:
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in value)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents nested deeper than MAX_DEPTH: Python's recursive JSON
    encoder and validators would hit the recursion limit on them and answer with a server error."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        if _depth(data) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
        return data
