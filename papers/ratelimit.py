"""How often a client may do something: who the client is, and counters every process shares.

The client is the socket address (REMOTE_ADDR). Behind TRUSTED_PROXY_COUNT reverse proxies, each
of which appends the address it received the request from to X-Forwarded-For, it is the entry
that many places from the right; anything further left was written by the client and is ignored.

Counting is a fixed window per (scope, client): the first request of a window creates the
counter, each request adds one, and a request that takes it past the limit is refused until the
window ends. Counters live in the shared cache (CACHES["default"]). Redis and Memcached
increment atomically; for any other cache (the file cache of the embedded default) the
read-modify-write of an increment is done under an fcntl lock in DATA_DIR, so concurrent
processes on the machine never lose a count.
"""

from __future__ import annotations

import fcntl
import functools
import ipaddress
import re
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class BadRate(ValueError):
    pass


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Rate:
        """ "120/min", "5/15min", "10/h", "3/s"."""
        match = _RATE.match(text)
        if not match:
            raise BadRate(f"not a rate: {text!r} (use e.g. 60/min, 5/15min, 10/h)")
        count, multiplier, unit = match.groups()
        return cls(int(count), int(multiplier or 1) * _UNIT_SECONDS[unit[0]])

    def __str__(self) -> str:
        return f"{self.limit}/{self.window}s"


def configured_rate(scope: str) -> Rate | None:
    """RATE_LIMITS[scope] as a Rate; None (no limit) when it is empty or absent."""
    text = settings.RATE_LIMITS.get(scope)
    return Rate.parse(text) if text else None


def client_ip(request: HttpRequest) -> str:
    """The client's address as far as the configured trusted proxies vouch for it."""
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            # The nearest proxy is REMOTE_ADDR; the one before it appended forwarded[-1], ...
            address = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return "invalid"  # one bucket for every unparseable address


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    rate: Rate
    retry_after: int  # seconds until the window ends


def _atomic_incr() -> bool:
    return isinstance(caches["default"], (RedisCache, BaseMemcachedCache))


@contextmanager
def _counter_lock():
    if _atomic_incr():
        yield
        return
    path = Path(settings.DATA_DIR) / "ratelimit.lock"
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _key(scope: str, ident: str, rate: Rate, window: int) -> str:
    return f"rl:{scope}:{rate.window}:{window}:{ident}"


def hit(scope: str, ident: str, rate: Rate, *, now: float | None = None) -> Verdict:
    """Count one request of `ident` in `scope` and say whether it is within `rate`."""
    now = time.time() if now is None else now
    window = int(now // rate.window)
    key = _key(scope, ident, rate, window)
    retry_after = max(1, int((window + 1) * rate.window - now + 0.999))
    cache = caches["default"]
    with _counter_lock():
        # add() is a no-op when the counter exists; incr() then counts this request.
        cache.add(key, 0, timeout=rate.window + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=rate.window + 1)
            count = 1
    return Verdict(count <= rate.limit, count, rate, retry_after)


def reset(scope: str, ident: str, rate: Rate, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    caches["default"].delete(_key(scope, ident, rate, int(now // rate.window)))


def check(scope: str, request: HttpRequest, ident: str | None = None) -> Verdict | None:
    """Count `request` against RATE_LIMITS[scope]; None when that scope has no limit."""
    rate = configured_rate(scope)
    if rate is None:
        return None
    return hit(scope, ident or client_ip(request), rate)


def too_many_requests(verdict: Verdict, body: str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, status=429, content_type=content_type)
    response["Retry-After"] = str(verdict.retry_after)
    return response


def limited(
    scope: str,
    respond: Callable[[HttpRequest, Verdict], HttpResponse],
    when: Callable[[HttpRequest], bool] = lambda request: True,
):
    """A view decorator: requests for which `when(request)` holds count against `scope`;
    past the limit, `respond(request, verdict)` answers instead of the view."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if when(request):
                verdict = check(scope, request)
                if verdict is not None and not verdict.allowed:
                    return respond(request, verdict)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
