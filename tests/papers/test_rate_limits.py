"""Limits hold against spoofed X-Forwarded-For and across processes, on every limited route."""

import multiprocessing

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory

from papers import ratelimit

pytestmark = pytest.mark.django_db


def limits(settings, **rates):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}


def spoofed(n: int) -> dict:
    return {"headers": {"x-forwarded-for": f"10.0.{n // 256}.{n % 256}"}}


def test_a_spoofed_forwarded_for_header_does_not_make_a_new_client(client, settings):
    limits(settings, api="3/min")
    codes = [client.get("/api/v1/categories", **spoofed(n)).status_code for n in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]


def test_behind_trusted_proxies_the_address_they_saw_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    factory = RequestFactory()
    request = factory.get("/", headers={"x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.0.0.2"})
    # The client wrote 6.6.6.6; the outer proxy appended 203.0.113.9, the inner one 10.0.0.2.
    assert ratelimit.client_ip(request) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 0
    assert ratelimit.client_ip(request) == "127.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert ratelimit.client_ip(factory.get("/", headers={"x-forwarded-for": "junk"})) == "invalid"


def test_rates_parse_and_refuse_nonsense():
    assert ratelimit.Rate.parse("120/min") == ratelimit.Rate(120, 60)
    assert ratelimit.Rate.parse("5/15min") == ratelimit.Rate(5, 900)
    assert ratelimit.Rate.parse("10/h") == ratelimit.Rate(10, 3600)
    with pytest.raises(ratelimit.BadRate):
        ratelimit.Rate.parse("lots")


def _count_hits(args) -> int:
    n, rate = args
    return sum(ratelimit.hit("race", "client", rate, now=1000.0).allowed for _ in range(n))


def _redis_url() -> str:
    import os

    import redis

    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/7")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url} (set REDIS_TEST_URL)")
    return url


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_counters_lose_no_count_across_processes(settings, tmp_path, backend):
    if backend == "file":
        cache = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    else:
        cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url()}
    settings.CACHES = {"default": cache}
    ratelimit.reset("race", "client", ratelimit.Rate(100, 60), now=1000.0)
    rate = ratelimit.Rate(100, 60)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        allowed = sum(pool.map(_count_hits, [(60, rate)] * 4))
    assert allowed == 100
    assert ratelimit.hit("race", "client", rate, now=1000.0).count == 241  # every hit counted


def test_api_query_is_limited_with_an_error_feed_and_retry_after(client, settings):
    limits(settings, arxiv_query="2/min")
    for _ in range(2):
        assert client.get("/api/query", {"id_list": "2605.00001"}).status_code == 200
    response = client.get("/api/query", {"id_list": "2605.00001"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"<title>Error</title>" in response.content


def test_html_search_is_limited_but_the_empty_form_is_not(client, settings):
    limits(settings, search="2/min")
    assert client.get("/search").status_code == 200
    for _ in range(2):
        assert client.get("/search", {"q": "robots"}).status_code == 200
    response = client.get("/search", {"q": "robots"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert b"Too many searches" in response.content
    assert client.get("/search").status_code == 200


def test_sign_ups_are_limited_per_address(client, settings):
    limits(settings, signup="2/h")
    codes = []
    for n in range(4):
        data = {"username": f"bot{n}", "password1": "x7!long-pass", "password2": "x7!long-pass"}
        codes.append(client.post("/accounts/signup/", data, **spoofed(n)).status_code)
        client.logout()
    assert codes == [302, 302, 429, 429]
    assert User.objects.filter(username__startswith="bot").count() == 2


def test_log_in_locks_a_username_after_failures_even_with_the_right_password(client, settings):
    limits(settings, login_user="3/15min")
    User.objects.create_user("reader", password="right-horse-battery")
    for n in range(3):
        wrong = client.post("/accounts/login/", {"username": "reader", "password": f"no{n}"})
        assert wrong.status_code == 200  # the form again, with its error
    right = client.post(
        "/accounts/login/", {"username": "Reader ", "password": "right-horse-battery"}
    )
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # Another username from the same address is not locked.
    User.objects.create_user("other", password="right-horse-battery")
    ok = client.post("/accounts/login/", {"username": "other", "password": "right-horse-battery"})
    assert ok.status_code == 302


def test_a_successful_log_in_clears_the_failures_of_that_username(client, settings):
    limits(settings, login_user="3/15min")
    User.objects.create_user("reader", password="right-horse-battery")
    for _ in range(2):
        client.post("/accounts/login/", {"username": "reader", "password": "wrong"})
    good = {"username": "reader", "password": "right-horse-battery"}
    assert client.post("/accounts/login/", good).status_code == 302
    client.logout()
    for _ in range(2):
        client.post("/accounts/login/", {"username": "reader", "password": "wrong"})
    assert client.post("/accounts/login/", good).status_code == 302


def test_log_in_attempts_are_limited_per_address(client, settings):
    limits(settings, login="2/15min")
    for n in range(2):
        client.post("/accounts/login/", {"username": f"guess{n}", "password": "x"})
    response = client.post("/accounts/login/", {"username": "guess9", "password": "x"})
    assert response.status_code == 429


def test_password_reset_mails_are_limited_per_address(client, settings):
    from django.core import mail

    limits(settings, password_reset="2/h")
    User.objects.create_user("reader", "reader@example.org", "right-horse-battery")
    codes = [
        client.post("/accounts/password_reset/", {"email": "reader@example.org"}).status_code
        for _ in range(4)
    ]
    assert codes == [302, 302, 429, 429] and len(mail.outbox) == 2
