"""HTTP for arXiv's services: a descriptive User-Agent, a pause between calls, polite retries."""

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Mapping

import httpx
import tenacity
from django.conf import settings


class FetchError(Exception):
    """arXiv could not be reached or kept failing; worth retrying the run later."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ArxivHttpClient:
    """GETs from arXiv at most one call per `min_interval` seconds, retrying what may pass.

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
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ):
        self.min_interval = settings.ARXIV_MIN_INTERVAL if min_interval is None else min_interval
        self.max_attempts = max_attempts or settings.ARXIV_HTTP_MAX_ATTEMPTS
        self.sleep = sleep
        self.clock = clock
        self._last_call: float | None = None
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
        self._pace()
        try:
            response = self._client.get(url, params=params)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out fetching {url}: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"could not reach {url}: {exc!r}") from exc
        finally:
            self._last_call = self.clock()
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(
                f"HTTP {response.status_code} from {response.request.url}",
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        return response

    def _pace(self) -> None:
        if self._last_call is None:
            return
        remaining = self.min_interval - (self.clock() - self._last_call)
        if remaining > 0:
            self.sleep(remaining)

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
