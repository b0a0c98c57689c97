"""The admin's run pages at 1280 px: nothing overlaps, tables fit."""

import pytest
from django.contrib.auth.models import User

from papers.models import IngestionRun, TrainingRun
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERLAP = """([a, b]) => {
  const r = document.querySelector(a).getBoundingClientRect();
  const s = document.querySelector(b).getBoundingClientRect();
  return !(r.right <= s.left || s.right <= r.left || r.bottom <= s.top || s.bottom <= r.top);
}"""


@pytest.mark.parametrize("model", ["ingestionrun", "trainingrun"])
def test_admin_run_pages_have_no_overlaps_at_1280_pixels(browser, live_server, model):
    User.objects.create_superuser("root", "root@example.org", "correct-horse-battery-9")
    IngestionRun.objects.create(source="api", parameters={"query": "cat:cs.CL"})
    TrainingRun.objects.create(
        status=TrainingRun.Status.RUNNING,
        stats={"phase": "embedding", "done": 512, "total": 3741},
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "correct-horse-battery-9")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/papers/{model}/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-1280-{model}.png"), full_page=True)
    assert not page.evaluate(OVERLAP, ["#content h1", ".object-tools"])
    if model == "trainingrun":
        assert not page.evaluate(OVERLAP, [".object-tools", "#content .current-models"])
        assert "embedding 512/3,741" in page.locator("#result_list").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    table = page.locator("#result_list")
    assert table.evaluate("t => t.getBoundingClientRect().right <= window.innerWidth")
    context.close()
