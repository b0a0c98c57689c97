"""Ingestion test fixtures: recorded payloads, a fake clock, an HTTP client that never waits."""

import json
from pathlib import Path

import httpx
import pytest

from papers.ingest.http import ArxivHttpClient

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
API_URL = "https://export.arxiv.org/api/query"
OAI_URL = "https://oaipmh.arxiv.org/oai"
RSS_URL = "https://rss.arxiv.org/rss/{category}"


def feed(relative: str) -> bytes:
    return (FEEDS / relative).read_bytes()


def recording(relative: str) -> list[httpx.Response]:
    """The responses of a recorded exchange, status, headers and body as they were."""
    exchanges = json.loads((FEEDS / relative).read_text())
    return [
        httpx.Response(e["status"], headers=e["headers"], content=e["body"].encode())
        for e in exchanges
    ]


class FakeClock:
    """Time that only moves when the code under test sleeps, so waits are checked, not spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def arxiv_urls(settings):
    settings.ARXIV_API_URL = API_URL
    settings.ARXIV_OAI_URL = OAI_URL
    settings.ARXIV_RSS_URL = RSS_URL
    settings.ARXIV_HTTP_MAX_ATTEMPTS = 3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http(clock):
    client = ArxivHttpClient(sleep=clock.sleep, clock=clock.monotonic, min_interval=3.0)
    yield client
    client.close()
