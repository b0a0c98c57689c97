"""HTTP for arXiv: a User-Agent, a pause between calls across the deployment, polite retries."""

import datetime as dt
import email.utils
import fcntl
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import tenacity
from django.conf import settings


class FetchError(Exception):
    """arXiv could not be reached or kept failing; worth retrying the run later."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class DeploymentPacer:
    """Spaces calls `interval` seconds apart across every process of the deployment.

    arXiv's rule (one request every 3 seconds) is per client machine, not per worker, so the
    time of the last call is shared state. On the embedded default (a file cache, one machine)
    it is a small file under DATA_DIR guarded by an exclusive flock: the cache's own add/incr
    are not atomic across processes there. With a shared cache server (Redis, several
    machines) a lock taken with cache.add guards the time kept in the cache. Whoever holds the
    lock sleeps out the rest of the interval, records its call and lets the next one in, so
    waiting callers go one by one.
    """

    KEY = "arxiv:pacing"

    def __init__(
        self,
        interval: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self.interval = interval
        self.sleep = sleep
        self.clock = clock

    def wait_turn(self) -> None:
        if self.interval <= 0:
            return
        if _cache_is_shared_server():
            self._wait_with_cache_lock()
        else:
            self._wait_with_file_lock()

    def _wait_with_file_lock(self) -> None:
        path = Path(settings.DATA_DIR) / "arxiv-pacing"
        with open(path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.seek(0)
                text = f.read().strip()
                self._sleep_out(float(text) if text else None)
                f.seek(0)
                f.truncate()
                f.write(repr(self.clock()))
                f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _wait_with_cache_lock(self) -> None:
        from django.core.cache import cache

        lock, token = f"{self.KEY}:lock", uuid.uuid4().hex
        # The lock expires on its own if its holder dies while holding it.
        while not cache.add(lock, token, timeout=int(self.interval) + 30):
            time.sleep(0.05)
        try:
            self._sleep_out(cache.get(self.KEY))
            cache.set(self.KEY, self.clock(), timeout=int(self.interval) + 60)
        finally:
            if cache.get(lock) == token:
                cache.delete(lock)

    def _sleep_out(self, last: float | None) -> None:
        if last is None:
            return
        remaining = self.interval - (self.clock() - last)
        if remaining > 0:
            self.sleep(min(remaining, self.interval))


def _cache_is_shared_server() -> bool:
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(("FileBasedCache", "LocMemCache", "DummyCache"))


class ArxivHttpClient:
    """GETs from arXiv at most one call per `min_interval` seconds, retrying what may pass.

    The interval is kept across the whole deployment (DeploymentPacer), not per client.

    Timeouts, network errors, 429 and 5xx are retried with exponential backoff; a `Retry-After`
    header (arXiv's OAI-PMH answers 503 with one as flow control) sets the wait instead. Other
    statuses are returned to the caller, which knows what a 400 from its service means.
    `sleep` and `clock` are injectable so tests neither wait nor depend on wall time.
    """

    def __init__(
        self,
        *,
        min_interval: float | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ):
        self.min_interval = settings.ARXIV_MIN_INTERVAL if min_interval is None else min_interval
        self.max_attempts = max_attempts or settings.ARXIV_HTTP_MAX_ATTEMPTS
        self.sleep = sleep
        self.clock = clock
        self.pacer = DeploymentPacer(self.min_interval, sleep=sleep, clock=clock)
        self._client = httpx.Client(
            headers={"User-Agent": user_agent or settings.ARXIV_USER_AGENT},
            timeout=timeout or settings.ARXIV_HTTP_TIMEOUT,
            follow_redirects=True,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "ArxivHttpClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        """GET `url`, retrying transient failures; raise FetchError once attempts run out."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send(url, params)
        except _Retryable as exc:
            raise FetchError(f"{exc} (gave up after {self.max_attempts} attempts)") from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _send(self, url: str, params: Mapping[str, str | int] | None) -> httpx.Response:
        self.pacer.wait_turn()
        try:
            response = self._client.get(url, params=params)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out fetching {url}: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"could not reach {url}: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(
                f"HTTP {response.status_code} from {response.request.url}",
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, settings.ARXIV_MAX_RETRY_AFTER)
        backoff = settings.ARXIV_RETRY_BACKOFF * 2 ** (state.attempt_number - 1)
        return min(backoff, settings.ARXIV_MAX_RETRY_AFTER)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header, which is either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
