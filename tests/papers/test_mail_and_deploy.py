"""Password reset mail goes out through the configured backend; the embedded default serves
plain http; the anonymous Star link keeps its whole way back."""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core import mail

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _reset_link(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", body)
    assert match, body
    return match.group(1)


def test_password_reset_sends_a_mail_whose_link_sets_a_new_password(client):
    User.objects.create_user("reader", "reader@example.org", "old-horse-battery")
    response = client.post("/accounts/password_reset/", {"email": "reader@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reader@example.org"]
    form = client.get(_reset_link(mail.outbox[0].body), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.request["PATH_INFO"],
        {"new_password1": "new-horse-battery", "new_password2": "new-horse-battery"},
    )
    assert done.status_code == 302
    assert client.login(username="reader", password="new-horse-battery")


def test_password_reset_mail_reaches_an_smtp_server(client, settings):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    controller = Controller(Keep(), hostname="127.0.0.1", port=8225)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 8225
        settings.EMAIL_USE_TLS = False
        User.objects.create_user("reader", "reader@example.org", "old-horse-battery")
        client.post("/accounts/password_reset/", {"email": "reader@example.org"})
    finally:
        controller.stop()
    assert len(received) == 1 and received[0]["To"] == "reader@example.org"
    assert "/accounts/reset/" in received[0].get_payload()


def _probe(**env: str) -> str:
    probe = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
    )
    clean = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    clean.update(DJANGO_SETTINGS_MODULE="papers.settings", **env)
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_mail_is_printed_by_default_and_sent_by_smtp_when_configured(tmp_path):
    assert _probe(DATA_DIR=str(tmp_path)).startswith("django.core.mail.backends.console")
    smtp = _probe(DATA_DIR=str(tmp_path), EMAIL_URL="smtp+tls://u:p@smtp.example.org:587")
    assert smtp == "django.core.mail.backends.smtp.EmailBackend smtp.example.org 587 True"


def test_the_embedded_default_serves_plain_http(client, settings):
    assert settings.SECURE_SSL_REDIRECT is False
    response = client.get("/")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response
    login = client.get("/accounts/login/")
    assert "secure" not in str(login.cookies.get("csrftoken", "")).lower()


def test_behind_the_https_proxy_http_is_redirected_and_cookies_are_secure(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.CSRF_COOKIE_SECURE = True
    assert client.get("/").status_code == 301
    response = client.get("/accounts/login/", headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=3600")
    assert response.cookies["csrftoken"]["secure"]


def test_the_anonymous_star_link_keeps_the_whole_way_back(client):
    back = "/search?q=robots&cat=cs.RO&page=2"
    response = client.post("/paper/2605.00001/mark/star", headers={"referer": back})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query) == {"next": [back]}
