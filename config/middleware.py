"""One body limit for the doors that take bodies from programs: the posts webhook and the REST API.

A body over settings.MAX_BODY_BYTES sent to /hooks/ or /api/ is answered
`413 {"error": "too_large", "detail": "the body is N bytes; the limit is L bytes"}` before any of
it is kept in memory: by its Content-Length, or, for a chunked body (no Content-Length), by
reading at most limit + 1 bytes. Django's own check (DATA_UPLOAD_MAX_MEMORY_SIZE, the same number)
would answer an HTML 400 from inside the view; this one answers first, in the doors' language.

Why the body is drained: a server that answers before reading the body and then closes the
connection makes the kernel reset it while the sender is still writing, and most clients then
report a broken connection instead of the answer (gunicorn itself drains only 64 KiB). So the
rest of a refused body is read and discarded in DRAIN_CHUNK pieces, at most DRAIN_CAP_FACTOR
times the limit and for at most DRAIN_SECONDS; a body announced larger than that is not read at
all, and then, or past the time, the 413 is sent anyway and the connection may be reset. The same holds for a body under the limit that the view never read (a
401 before parsing): it is drained after the response is made, bounded by the limit. A chunked
body whose encoding is broken is answered 400 `bad_body`, never a server error.
"""

import io
import time

from django.conf import settings
from django.http import JsonResponse

PREFIXES = ("/hooks/", "/api/")
DRAIN_CHUNK = 64 * 1024
DRAIN_CAP_FACTOR = 4
DRAIN_SECONDS = 30


def _drain(stream, cap: int) -> tuple[int, bool]:
    """Read and discard at most `cap` bytes of `stream`; (bytes read, whether it ended)."""
    read, deadline = 0, time.monotonic() + DRAIN_SECONDS
    while read < cap and time.monotonic() < deadline:
        try:
            chunk = stream.read(min(DRAIN_CHUNK, cap - read))
        except Exception:  # noqa: BLE001 - the sender went away or broke its chunked encoding: stop reading
            return read, False
        if not chunk:
            return read, True
        read += len(chunk)
    return read, False


def _too_large(size: int, limit: int, *, exact: bool) -> JsonResponse:
    said = f"{size:,} bytes" if exact else f"more than {size:,} bytes"
    return JsonResponse({"error": "too_large", "detail": f"the body is {said}; the limit is {limit:,} bytes"}, status=413)


def _content_length(request) -> int | None:
    try:
        return int(request.META["CONTENT_LENGTH"])
    except (KeyError, ValueError, TypeError):
        return None


class BodyLimitMiddleware:
    """Answer 413 JSON for a body over settings.MAX_BODY_BYTES on /hooks/ and /api/ (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(PREFIXES):
            return self.get_response(request)
        limit = settings.MAX_BODY_BYTES
        length = _content_length(request)
        if length is not None and length > limit:
            if length <= DRAIN_CAP_FACTOR * limit:  # else the connection is lost anyway: read nothing
                _drain(request, length)  # request.read stops at Content-Length, never in the next request
            return _too_large(length, limit, exact=True)
        if length is None and request.META.get("wsgi.input_terminated") and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            refused = self._take_chunked(request, limit)
            if refused is not None:
                return refused
        response = self.get_response(request)
        if not hasattr(request, "_body"):  # read whole by the view: nothing left on the wire
            _drain(request, limit)  # what the view left unread (a 401 before parsing), so the answer is read
        return response

    @staticmethod
    def _take_chunked(request, limit: int):
        """A chunked body (gunicorn decodes it; Django alone would see it as empty): read at most
        limit + 1 bytes; over the limit, 413; else hand it on as an ordinary body of that length."""
        stream, parts, size = request.META["wsgi.input"], [], 0
        while size <= limit:
            try:
                chunk = stream.read(min(DRAIN_CHUNK, limit + 1 - size))
            except Exception as exc:  # noqa: BLE001 - the server's own errors for a broken chunked encoding
                detail = f"the chunked body could not be read ({type(exc).__name__}: {str(exc)[:200]})"
                return JsonResponse({"error": "bad_body", "detail": detail}, status=400)
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        if size > limit:
            parts.clear()
            drained, ended = _drain(stream, DRAIN_CAP_FACTOR * limit)
            return _too_large(size + drained if ended else limit, limit, exact=ended)
        body = b"".join(parts)
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = io.BytesIO(body)
        return None
