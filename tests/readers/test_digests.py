"""Email digests through a real SMTP server (aiosmtpd): content, idempotency, unsubscribing."""

import datetime as dt
import email
import email.policy
import re
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.test import Client

from papers.ingest.upsert import upsert_records
from papers.library.models import SavedSearch
from papers.readers import digests
from papers.readers.models import DigestSend, DigestSubscription
from search.backends.base import get_search_backend
from tests.papers.factories import record

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 21, 6, 0, tzinfo=dt.UTC)  # a Thursday


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def smtp(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://papers.example.org"
    yield inbox
    controller.stop()


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id="2605.00701",
                title="Graph neural networks for molecules",
                authors=["Marie Curie", "Pierre Curie"],
                announced=dt.date(2026, 5, 20),
            ),
            record(arxiv_id="2605.00702", title="Old graph paper", announced=dt.date(2026, 5, 1)),
        ]
    )
    get_search_backend().rebuild()


def _reader(name: str, frequency: str = "daily", search: str = "graph") -> User:
    user = User.objects.create_user(name, email=f"{name}@example.org", password="pw")
    DigestSubscription.objects.create(user=user, frequency=frequency)
    if search:
        SavedSearch.objects.create(user=user, name=f"{search} papers", query=search)
    return user


def test_a_digest_has_the_new_papers_of_each_saved_search_in_html_and_plain_text(smtp, papers):
    ann = _reader("ann")
    assert digests.send_due_digests(NOW)["sent"] == 1
    (message,) = smtp.to("ann@example.org")
    assert message["Subject"] == "Cool Papers: 1 paper for you today"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (plain, html):
        assert "Graph neural networks for molecules" in part
        assert "Marie Curie, Pierre Curie" in part
        assert "https://papers.example.org/paper/2605.00701" in part
        assert "graph papers" in part
        assert "Old graph paper" not in part  # announced before the digest's day
    (unsubscribe,) = re.findall(r"https://papers.example.org/digest/unsubscribe/\S+", plain)
    assert digests.user_for_token(unsubscribe.rsplit("/", 1)[1]) == ann
    assert f'href="{unsubscribe}"' in html
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_digest_is_sent_once_per_period_however_often_the_task_runs(smtp, papers):
    _reader("ann")
    _reader("bob", frequency="weekly")
    assert digests.send_due_digests(NOW)["sent"] == 2
    assert digests.send_due_digests(NOW + dt.timedelta(hours=1))["skipped"] == 2
    friday = NOW + dt.timedelta(days=1)
    assert digests.send_due_digests(friday) == {"sent": 1, "empty": 0, "failed": 0, "skipped": 1}
    assert len(smtp.to("ann@example.org")) == 2
    assert len(smtp.to("bob@example.org")) == 1
    periods = set(DigestSend.objects.values_list("period", flat=True))
    assert periods == {"daily:2026-05-21", "daily:2026-05-22", "weekly:2026-W21"}


def test_a_worker_killed_midway_never_sends_a_digest_twice(smtp, papers, monkeypatch):
    readers = [_reader(name) for name in ("ann", "bob", "cat")]
    real_send = digests.EmailMultiAlternatives.send

    def dies_on_bob(message, *args, **kwargs):
        if message.to == ["bob@example.org"]:
            raise SystemExit("worker killed")  # not an Exception: nothing is recorded after it
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(digests.EmailMultiAlternatives, "send", dies_on_bob)
    with pytest.raises(SystemExit):
        digests.send_due_digests(NOW)
    monkeypatch.setattr(digests.EmailMultiAlternatives, "send", real_send)
    assert digests.send_due_digests(NOW) == {"sent": 1, "empty": 0, "failed": 0, "skipped": 2}
    assert [len(smtp.to(f"{u.username}@example.org")) for u in readers] == [1, 0, 1]
    bob = DigestSend.objects.get(user__username="bob")
    assert bob.status == DigestSend.Status.SENDING and bob.finished is None


def test_a_failed_send_is_retried_by_the_next_run(smtp, papers, settings):
    _reader("ann")
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, 1  # nothing listens on port 1
    assert digests.send_due_digests(NOW)["failed"] == 1
    assert "ConnectionRefusedError" in DigestSend.objects.get().error
    assert smtp.messages == []
    settings.EMAIL_PORT = port
    assert digests.send_due_digests(NOW)["sent"] == 1
    assert len(smtp.to("ann@example.org")) == 1
    assert DigestSend.objects.get().status == DigestSend.Status.SENT


def test_readers_without_news_get_no_email_and_readers_opted_out_none(smtp, papers):
    _reader("ann", search="nothing-matches-this")
    _reader("off", frequency="off")
    assert digests.send_due_digests(NOW) == {"sent": 0, "empty": 1, "failed": 0, "skipped": 0}
    assert smtp.messages == []


def test_the_unsubscribe_link_works_without_logging_in(papers):
    ann = _reader("ann")
    response = Client().get(f"/digest/unsubscribe/{digests.unsubscribe_token(ann)}")
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert DigestSubscription.objects.get(user=ann).frequency == "off"


def test_mail_clients_can_unsubscribe_with_a_one_click_post(papers):
    ann = _reader("ann")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/digest/unsubscribe/{digests.unsubscribe_token(ann)}",
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    assert DigestSubscription.objects.get(user=ann).frequency == "off"


def test_an_expired_or_forged_unsubscribe_link_is_a_clear_error_and_changes_nothing(
    papers, monkeypatch, settings
):
    ann = _reader("ann")
    long_ago = time.time() - (settings.DIGEST_UNSUBSCRIBE_MAX_AGE_DAYS + 1) * 86400
    monkeypatch.setattr(time, "time", lambda: long_ago)
    old_token = digests.unsubscribe_token(ann)
    monkeypatch.undo()
    response = Client().get(f"/digest/unsubscribe/{old_token}")
    assert response.status_code == 400
    assert (
        "This unsubscribe link has expired (links work for 60 days)." in response.content.decode()
    )
    response = Client().get(f"/digest/unsubscribe/{old_token[:-2]}xx")
    assert response.status_code == 400
    assert "This unsubscribe link is not valid." in response.content.decode()
    assert DigestSubscription.objects.get(user=ann).frequency == "daily"


def test_opting_in_needs_an_email_address(db):
    user = User.objects.create_user("ann", password="pw")
    client = Client()
    client.force_login(user)
    response = client.post("/account/digest", {"frequency": "weekly", "email": ""})
    assert response.status_code == 400
    assert "a digest needs an email address to go to" in response.content.decode()
    client.post("/account/digest", {"frequency": "weekly", "email": "ann@example.org"})
    assert DigestSubscription.objects.get(user=user).frequency == "weekly"
    assert User.objects.get(pk=user.pk).email == "ann@example.org"


@pytest.mark.slow
def test_a_digest_lists_for_you_picks_with_the_reason_for_each(smtp, enriched):
    from papers.library.models import Mark

    ann = User.objects.create_user("ann", email="ann@example.org", password="pw")
    DigestSubscription.objects.create(user=ann, frequency="daily")
    seeds = list(enriched.filter(primary_category="cs.CV").order_by("arxiv_id")[:3])
    assert seeds, "the sample slice should hold cs.CV papers"
    for paper in seeds:
        Mark.objects.create(user=ann, paper=paper, kind="star")
    day = enriched.order_by("-announced").first().announced
    assert digests.send_due_digests(dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC))["sent"]
    (message,) = smtp.to("ann@example.org")
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert plain.count("Because you starred") == 10
    assert html.count('class="reason">Because you starred') == 10
    assert any(seed.title in plain for seed in seeds)
    assert "Cool Papers: 10 papers for you today" == message["Subject"]


def test_the_beat_schedule_names_registered_tasks(settings):
    from papers.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
