"""Checks at the edge, before any view: text every database can store, a bounded query string.

PostgreSQL cannot store NUL in text (SQLite can), so a NUL in the path, a query or form
parameter, a cookie or the Authorization header is refused with a 400 before it reaches a query;
an over-long query string gets a 414. Each answer is in the shape of the surface asked: the
JSON error shape under /api/v1, arXiv's error feed at /api/query, the HTML error page elsewhere.
"""

from __future__ import annotations

import errno
import logging
import re

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
_DISK_FULL = ("disk is full", "no space left on device", "could not extend file")

# NUL, and lone surrogates (no UTF-8 encoding exists for them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CODES = {400: "bad_request", 414: "uri_too_long", 500: "error", 503: "unavailable"}
_TITLES = {
    400: "That request could not be understood",
    414: "That address is too long",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def error_for_surface(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/query"):
        from papers.api.arxiv_compat import error_feed_response

        return error_feed_response(request, message, status)
    if request.path.startswith("/api/"):
        body = {"status": status, "code": _CODES.get(status, "error"), "message": message}
        return JsonResponse(body, status=status)
    html = render_to_string("400.html", {"message": message, "title": _TITLES.get(status)})
    return HttpResponse(html, status=status)


def _problem(request: HttpRequest) -> tuple[int, str] | None:
    limit = settings.MAX_QUERY_STRING_BYTES
    if len(request.META.get("QUERY_STRING", "")) > limit:
        return 414, f"the query string is longer than {limit:,} bytes"
    if UNSTORABLE.search(request.path):
        return 400, "the address contains a NUL character"
    try:
        parameters = [*request.GET.lists()]
        if request.method == "POST":
            parameters += request.POST.lists()
    except SuspiciousOperation as exc:  # too many fields, too big a body
        return 400, str(exc)
    for name, values in parameters:
        if UNSTORABLE.search(name) or any(
            UNSTORABLE.search(v) for v in values if isinstance(v, str)
        ):
            shown = UNSTORABLE.sub("\N{REPLACEMENT CHARACTER}", name)
            return 400, f"the parameter {shown!r} contains a NUL character"
    if any(UNSTORABLE.search(v) for v in request.COOKIES.values()):
        return 400, "a cookie contains a NUL character"
    if UNSTORABLE.search(request.META.get("HTTP_AUTHORIZATION", "")):
        return 400, "the Authorization header contains a NUL character"
    return None


def disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, DatabaseError) and any(m in str(exc).lower() for m in _DISK_FULL)


class EdgeChecksMiddleware:
    """Refuses what must not reach a view (above); answers for what escaped one: a full disk
    is a 503, and nothing under /api/ ever leaves without the API's error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _problem(request)
        if problem is not None:
            return error_for_surface(request, *problem)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if disk_full(exc):
            log.error("out of disk space answering %s: %s", request.path, exc)
            response = error_for_surface(
                request, 503, "the server is out of disk space; please try again later"
            )
            response["Retry-After"] = str(settings.SEARCH_RETRY_AFTER)
            return response
        if request.path.startswith("/api/"):
            log.exception("error answering %s", request.path)
            return error_for_surface(request, 500, "internal error; it has been logged")
        return None
