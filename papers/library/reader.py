"""What every list of papers needs to know about the reader looking at it."""

from django.http import HttpRequest

from papers.library.keywords import KeywordFilter
from papers.library.models import Mark

# How a reader likes lists, kept in the session so visitors have it too: abstracts folded
# (compact) or shown, and papers they marked read hidden or shown.
READING_SESSION_KEY = "reading"
READING_DEFAULTS = {"compact": False, "hide_read": False}


def reading_preferences(request: HttpRequest) -> dict[str, bool]:
    """The reader's list preferences (READING_DEFAULTS when they chose none)."""
    session = getattr(request, "session", None)
    saved = session.get(READING_SESSION_KEY, {}) if session is not None else {}
    return {key: bool(saved.get(key, default)) for key, default in READING_DEFAULTS.items()}


def save_reading_preferences(request: HttpRequest, **changes: bool) -> dict[str, bool]:
    preferences = {**reading_preferences(request), **changes}
    request.session[READING_SESSION_KEY] = preferences
    return preferences


def reading_context(request: HttpRequest) -> dict:
    """Context processor: `reading` (the preferences) and `reading_classes` for <body>."""
    preferences = reading_preferences(request)
    classes = [name.replace("_", "-") for name, on in preferences.items() if on]
    return {"reading": preferences, "reading_classes": " ".join(classes)}


def reader_context(request: HttpRequest, papers, keywords: KeywordFilter | None = None) -> dict:
    """What every list needs to know about the reader: their keywords and their marks.

    Pass `keywords` when the view already read them (to filter the list), to read them once.
    """
    marks: dict[str, set[int]] = {kind: set() for kind in Mark.Kind.values}
    if request.user.is_authenticated:
        rows = Mark.objects.filter(user=request.user, paper__in=[p.pk for p in papers])
        for paper_id, kind in rows.values_list("paper_id", "kind"):
            marks[kind].add(paper_id)
    return {
        "keywords": keywords or KeywordFilter.for_request(request),
        "marks": marks,
        "reading": reading_preferences(request),
    }
