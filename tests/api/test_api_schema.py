"""schemathesis over our own OpenAPI schema: no 500s, and every response matches the schema."""

import datetime as dt

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from papers.ingest.upsert import upsert_records
from papers.library.models import ApiToken
from search.backends.base import get_search_backend
from tests.papers.factories import record

# Not papers.wsgi: that also starts the web process's model warm-up thread.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def token(db, settings):
    settings.RATE_LIMITS = {}
    upsert_records(
        [
            record(
                arxiv_id="2605.00701",
                title="Sparse attention",
                categories=["cs.LG"],
                announced=dt.date(2026, 5, 19),
            ),
            record(
                arxiv_id="2605.00702",
                title="Dense retrieval",
                categories=["cs.IR", "cs.CL"],
                announced=dt.date(2026, 5, 20),
            ),
        ]
    )
    get_search_backend().rebuild()
    return ApiToken.issue(User.objects.create_user("schema"), "schemathesis")[1]


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_and_matches_its_schema(case, token):
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, response.text
    case.validate_response(
        response,
        excluded_checks=[
            # Pages past the 10,000-result window are refused with a 400 that says so, though
            # the page number alone is schema-valid.
            positive_data_acceptance,
            # We send a real token on every request; the auth check cannot tell it from a
            # generated one. tests/api/test_api_papers.py covers missing and wrong tokens.
            ignored_auth,
        ],
    )
