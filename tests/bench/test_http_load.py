"""The benchmarks' load loop counts what the server answered."""

import pytest

from bench.http_load import load


@pytest.mark.django_db(transaction=True)
def test_the_load_loop_counts_answers_by_status(live_server):
    result = load(live_server.url, ["/api/v1/categories", "/api/v1/papers/9999.99999"], 1, 2)
    assert result["status_counts"].keys() == {"200", "404"}
    assert result["requests"] == sum(result["status_counts"].values()) > 2
    assert result["errors"] == {"404": result["status_counts"]["404"]}
    assert result["5xx"] == 0 and result["database_is_locked_in_answers"] == 0
    assert result["p50_ms"] > 0 and result["req_per_s"] > 0
