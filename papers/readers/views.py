"""Pages of the readers' features: popular papers, digests, library import, For you controls."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from papers.entries import entries_context
from papers.readers import popularity
from papers.views import bad_request


def popular(request: HttpRequest) -> HttpResponse:
    """The most starred, read and visited papers of today, this week or this month."""
    window = request.GET.get("window", "week")
    if window not in popularity.WINDOWS:
        return bad_request(
            request, f"window: one of {', '.join(popularity.WINDOWS)} (not {window!r})"
        )
    ranked = popularity.popular(window)
    papers = [paper for paper, _ in ranked]
    listed = entries_context(request, papers)
    rows = [(counts, [entry]) for (_, counts), entry in zip(ranked, listed["entries"], strict=True)]
    context = {**listed, "rows": rows, "window": window, "windows": popularity.WINDOWS}
    return render(request, "readers/popular.html", context)
