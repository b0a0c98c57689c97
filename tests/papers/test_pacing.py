"""arXiv's pause between calls holds across processes, on the file cache and on Redis."""

import multiprocessing
import os
import time

import pytest

from papers.ingest.http import DeploymentPacer

INTERVAL = 0.3
PROCESSES = 4
CALLS = 3


def _call_several_times(out) -> None:
    pacer = DeploymentPacer(INTERVAL)
    for _ in range(CALLS):
        pacer.wait_turn()
        out.put(time.time())
    out.close()
    out.join_thread()
    os._exit(0)  # skip the parent's atexit handlers and pytest teardown in the fork


def _call_times() -> list[float]:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    children = [context.Process(target=_call_several_times, args=(out,)) for _ in range(PROCESSES)]
    for child in children:
        child.start()
    times = sorted(out.get(timeout=60) for _ in range(PROCESSES * CALLS))
    for child in children:
        child.join(timeout=30)
    return times


def _assert_spaced(times: list[float]) -> None:
    assert len(times) == PROCESSES * CALLS
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # The clock is read after each turn, so a gap can fall short by the scheduling jitter
    # between taking the turn and reading the time; without pacing most gaps would be ~0.
    assert min(gaps) >= INTERVAL * 0.8, gaps


def test_several_processes_share_one_pause_on_the_file_cache(settings):
    assert settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache")
    _assert_spaced(_call_times())


@pytest.fixture
def redis_cache(settings):
    redis = pytest.importorskip("redis")
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {url}")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    from django.core.cache import cache

    cache.delete_many([DeploymentPacer.KEY, f"{DeploymentPacer.KEY}:lock"])
    yield
    cache.delete_many([DeploymentPacer.KEY, f"{DeploymentPacer.KEY}:lock"])


def test_several_processes_share_one_pause_on_redis(redis_cache):
    _assert_spaced(_call_times())


def test_a_single_client_waits_only_the_rest_of_the_interval(settings):
    now = [100.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    pacer = DeploymentPacer(3.0, sleep=sleep, clock=lambda: now[0])
    pacer.wait_turn()
    now[0] += 1.0
    pacer.wait_turn()
    now[0] += 5.0
    pacer.wait_turn()
    assert sleeps == [2.0]
