"""Email digests: each opted-in reader's For you picks and the new papers of their saved searches.

The periodic task (papers.readers.tasks.send_digests, hourly) sends each due digest once per
period: a daily digest once per UTC day, a weekly one once per ISO week. Before a message is
handed to the email backend, a DigestSend row for (reader, period) is created; its unique
constraint means a second worker, or a rerun after a killed one, cannot send it again. A worker
killed between the claim and the send leaves the row "sending": that digest is skipped (it may
have gone out), never sent twice. A send that failed with an error is retried by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from papers.library.models import SavedSearch
from papers.models import Paper
from papers.readers.models import DigestSend, DigestSubscription

logger = logging.getLogger(__name__)
Frequency = DigestSubscription.Frequency
_UNSUBSCRIBE_SALT = "papers.readers.digest-unsubscribe"
# How many announcement days a digest covers.
_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7}


class BadUnsubscribeLink(ValueError):
    """The link is not one we made, or it has expired; the message says which."""


def period_key(frequency: str, now: dt.datetime) -> str:
    """`daily:2026-05-20` or `weekly:2026-W21`: the period a digest sent at ``now`` belongs to."""
    day = now.astimezone(dt.UTC).date()
    if frequency == Frequency.DAILY:
        return f"daily:{day.isoformat()}"
    year, week, _ = day.isocalendar()
    return f"weekly:{year}-W{week:02d}"


def unsubscribe_token(user) -> str:
    return signing.TimestampSigner(salt=_UNSUBSCRIBE_SALT).sign_object({"u": user.pk})


def user_for_token(token: str):
    """The reader an unsubscribe link was made for; BadUnsubscribeLink if expired or forged."""
    from django.contrib.auth import get_user_model

    max_age = dt.timedelta(days=settings.DIGEST_UNSUBSCRIBE_MAX_AGE_DAYS)
    try:
        data = signing.TimestampSigner(salt=_UNSUBSCRIBE_SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise BadUnsubscribeLink(
            f"This unsubscribe link has expired (links work for "
            f"{settings.DIGEST_UNSUBSCRIBE_MAX_AGE_DAYS} days)."
        ) from None
    except signing.BadSignature:
        raise BadUnsubscribeLink("This unsubscribe link is not valid.") from None
    user = get_user_model().objects.filter(pk=data.get("u")).first()
    if user is None:
        raise BadUnsubscribeLink("This unsubscribe link belongs to an account that is gone.")
    return user


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


@dataclass
class DigestPaper:
    paper: Paper
    url: str
    reason: str = ""


@dataclass
class Digest:
    user: object
    frequency: str
    picks: list[DigestPaper] = field(default_factory=list)
    searches: list[tuple[SavedSearch, list[DigestPaper]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.picks) + sum(len(papers) for _, papers in self.searches)


def build_digest(user, frequency: str) -> Digest:
    """What the reader's digest holds: For you picks with reasons, each saved search's news."""
    from papers.enrichment.for_you import recommend_for

    days = _DAYS[frequency]
    digest = Digest(user=user, frequency=frequency)
    result = recommend_for(user, n=settings.DIGEST_PICKS, days=days)
    for pick in result.picks:
        reason = "Because you starred " + "; ".join(seed.title for seed, _ in pick.because[:2])
        if pick.shared:
            reason += " · shares " + ", ".join(pick.shared[:4])
        digest.picks.append(
            DigestPaper(pick.paper, absolute(pick.paper.get_absolute_url()), reason)
        )
    since = result.since
    if since is None:
        latest = Paper.objects.exclude(announced=None).order_by("-announced").first()
        since = latest.announced - dt.timedelta(days=days) if latest else None
    for saved in SavedSearch.objects.filter(user=user):
        digest.searches.append((saved, _new_matches(saved, since, digest)))
    return digest


def _new_matches(saved: SavedSearch, since: dt.date | None, digest: Digest) -> list[DigestPaper]:
    from search.backends.base import SearchError, Sort
    from search.service import BadSearchRequest, run_search

    try:
        result = run_search(
            saved.query,
            categories=saved.category_codes,
            date_from=since + dt.timedelta(days=1) if since else None,
            sort=Sort.NEWEST,
            page_size=settings.DIGEST_SEARCH_PAPERS,
            rerank=False,
        )
    except (SearchError, BadSearchRequest) as exc:
        digest.notes.append(f"“{saved.name}” could not be run ({exc}).")
        return []
    return [DigestPaper(r.paper, absolute(r.paper.get_absolute_url())) for r in result.rows]


def render_message(digest: Digest) -> EmailMultiAlternatives:
    unsubscribe = absolute(reverse("digest_unsubscribe", args=[unsubscribe_token(digest.user)]))
    context = {
        "digest": digest,
        "unsubscribe_url": unsubscribe,
        "settings_url": absolute(reverse("digest_settings")),
        "site_url": settings.SITE_URL,
        "period": "today" if digest.frequency == Frequency.DAILY else "this week",
    }
    n = digest.size
    subject = f"Cool Papers: {n} paper{'s' if n != 1 else ''} for you {context['period']}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("readers/digest_email.txt", context),
        to=[digest.user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string("readers/digest_email.html", context), "text/html")
    return message


def _claim(user, period: str) -> DigestSend | None:
    """Take the (reader, period) send, or None if it is taken; failed sends may be retaken."""
    try:
        with transaction.atomic():
            return DigestSend.objects.create(user=user, period=period)
    except IntegrityError:
        retaken = DigestSend.objects.filter(
            user=user, period=period, status=DigestSend.Status.FAILED
        ).update(status=DigestSend.Status.SENDING, error="")
        return DigestSend.objects.get(user=user, period=period) if retaken else None


def send_due_digests(now: dt.datetime | None = None) -> dict[str, int]:
    """Send every digest due at ``now``; returns how many were sent, empty, failed, skipped."""
    now = now or timezone.now()
    counts = {"sent": 0, "empty": 0, "failed": 0, "skipped": 0}
    subscriptions = (
        DigestSubscription.objects.exclude(frequency=Frequency.OFF)
        .filter(user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("pk")
    )
    for sub in subscriptions:
        send = _claim(sub.user, period_key(sub.frequency, now))
        if send is None:
            counts["skipped"] += 1
            continue
        try:
            digest = build_digest(sub.user, sub.frequency)
            if digest.size:
                render_message(digest).send()
            status = DigestSend.Status.SENT if digest.size else DigestSend.Status.EMPTY
            error = ""
        except Exception as exc:  # one reader's failure must not stop the others' digests
            logger.exception("digest for %s failed", sub.user)
            digest, status, error = None, DigestSend.Status.FAILED, f"{type(exc).__name__}: {exc}"
        DigestSend.objects.filter(pk=send.pk).update(
            status=status, error=error, picks=digest.size if digest else 0, finished=timezone.now()
        )
        counts[status] += 1
    return counts
