"""/api/v1: papers, lists, categories, stars, tokens, errors, CORS, OpenAPI."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from papers.ingest.upsert import upsert_records
from papers.library.models import ApiToken, Mark
from tests.papers.factories import record

pytestmark = pytest.mark.django_db
DAY1, DAY2 = dt.date(2026, 5, 18), dt.date(2026, 5, 19)


@pytest.fixture
def papers():
    upsert_records(
        [
            record(arxiv_id="2605.00301", title="Agents", categories=["cs.AI"], announced=DAY1),
            record(
                arxiv_id="2605.00302",
                title="Fair agents",
                categories=["cs.AI", "cs.CY"],
                announced=DAY2,
            ),
            record(
                arxiv_id="2605.00303", title="Plans", categories=["cs.LG", "cs.AI"], announced=DAY2
            ),
            record(
                arxiv_id="hep-th/9901001", title="Strings", categories=["hep-th"], announced=DAY1
            ),
        ]
    )


@pytest.fixture
def token(db):
    user = User.objects.create_user("bot")
    return ApiToken.issue(user, "tests")[1]


def _is_error(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status
    assert body["status"] == status and body["code"] == code and body["message"]
    return body


def test_a_paper_by_id_with_or_without_version_and_old_style(client, papers):
    body = client.get("/api/v1/papers/2605.00302v1").json()
    assert body["id"] == "2605.00302" and body["categories"] == ["cs.AI", "cs.CY"]
    assert body["url"] == "https://arxiv.org/abs/2605.00302"
    assert client.get("/api/v1/papers/hep-th/9901001").json()["title"] == "Strings"


def test_unknown_and_malformed_ids_are_404_in_the_error_shape(client, papers):
    _is_error(client.get("/api/v1/papers/2605.99999"), 404, "not_found")
    _is_error(client.get("/api/v1/papers/banana"), 404, "not_found")


def test_categories_count_their_papers(client, papers):
    rows = {c["code"]: c for c in client.get("/api/v1/categories").json()}
    assert rows["cs.AI"]["papers"] == 3 and rows["cs.AI"]["name"] == "Artificial Intelligence"
    assert "cs.CL" not in rows


def test_the_daily_list_uses_the_browsers_union_and_difference_syntax(client, papers):
    latest = client.get("/api/v1/lists/cs.AI").json()
    assert latest["date"] == "2026-05-19" and latest["previous"] == "2026-05-18"
    assert {p["id"] for p in latest["papers"]} == {"2605.00302", "2605.00303"}
    minus = client.get("/api/v1/lists/cs.AI-cs.CY?date=2026-05-19").json()
    assert [p["id"] for p in minus["papers"]] == ["2605.00303"]


def test_bad_list_parameters_are_400_and_unknown_categories_404(client, papers):
    _is_error(client.get("/api/v1/lists/cs.AI?date=2026-02-30"), 400, "bad_request")
    _is_error(client.get("/api/v1/lists/cs.AI;cs.CL"), 400, "bad_request")
    _is_error(client.get("/api/v1/lists/cs.NOPE"), 404, "not_found")


def test_stars_need_a_token(client, papers):
    _is_error(client.get("/api/v1/me/stars"), 401, "unauthorized")
    _is_error(
        client.get("/api/v1/me/stars", headers={"authorization": "Bearer cp_wrong"}),
        401,
        "unauthorized",
    )


def test_a_token_stars_lists_and_unstars_papers(client, papers, token):
    auth = {"authorization": f"Bearer {token}"}
    added = client.post(
        "/api/v1/me/stars", {"id": "2605.00301v2"}, content_type="application/json", headers=auth
    )
    assert added.status_code == 200 and [p["id"] for p in added.json()["papers"]] == ["2605.00301"]
    assert client.get("/api/v1/me/stars", headers=auth).json()["total"] == 1
    removed = client.delete("/api/v1/me/stars/2605.00301", headers=auth).json()
    assert removed["total"] == 0 and not Mark.objects.exists()


def test_starring_a_missing_paper_or_sending_a_bad_body_is_a_clear_error(client, papers, token):
    auth = {"authorization": f"Bearer {token}"}
    _is_error(
        client.post(
            "/api/v1/me/stars", {"id": "2605.99999"}, content_type="application/json", headers=auth
        ),
        404,
        "not_found",
    )
    body = _is_error(
        client.post("/api/v1/me/stars", "{nope", content_type="application/json", headers=auth),
        400,
        "bad_request",
    )
    assert body["message"]


def test_tokens_are_created_on_the_account_page_and_shown_once(client, papers):
    user = User.objects.create_user("reader", password="pw-long-enough-1")
    client.force_login(user)
    page = client.post("/account", {"name": "laptop"}).content.decode()
    key = page.split('<code class="token">')[1].split("</code>")[0]
    assert ApiToken.user_for(key) == user
    assert key not in client.get("/account").content.decode()
    assert ApiToken.objects.get().key_hash != key


def test_reads_allow_any_origin_and_writes_do_not(client, papers):
    response = client.get("/api/v1/categories", headers={"origin": "https://example.org"})
    assert response["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/api/v1/me/stars",
        headers={"origin": "https://example.org", "access-control-request-method": "POST"},
    )
    assert "POST" not in preflight.get("Access-Control-Allow-Methods", "")


def test_anonymous_clients_are_throttled_with_retry_after(client, papers, settings):
    from django.core.cache import cache

    cache.clear()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "2/min"}
    for _ in range(2):
        assert client.get("/api/v1/categories").status_code == 200
    response = client.get("/api/v1/categories")
    _is_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_the_openapi_schema_and_docs_page_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/papers/{arxiv_id}" in schema["paths"]
    assert "/api/v1/lists/{categories}" in schema["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_unknown_api_urls_get_the_json_error_shape(client):
    _is_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert client.get("/nothing-here").headers["Content-Type"].startswith("text/html")
