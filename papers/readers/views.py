"""Pages of the readers' features: popular papers, digests, library import, For you controls."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from papers.entries import entries_context
from papers.readers import library_import, popularity
from papers.readers.library_import import LibraryFileError
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


@login_required
def import_library(request: HttpRequest) -> HttpResponse:
    """Upload or paste a library (BibTeX, CSL JSON, Zotero RDF, ids or DOIs) to star its papers."""
    context = {"fetch_allowed": settings.LIBRARY_IMPORT_FETCH_FROM_ARXIV, "text": ""}
    if request.method != "POST":
        return render(request, "readers/import.html", context)
    upload = request.FILES.get("file")
    context["text"] = request.POST.get("text", "")
    try:
        if upload is not None:
            if upload.size > settings.LIBRARY_IMPORT_MAX_BYTES:
                limit = settings.LIBRARY_IMPORT_MAX_BYTES // (1024 * 1024)
                raise LibraryFileError(f"{upload.name} is larger than {limit} MB")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise LibraryFileError(f"{upload.name} is not UTF-8 text") from None
        else:
            text = context["text"]
        if not text.strip():
            raise LibraryFileError("choose a file or paste references")
        report = library_import.import_library(request.user, text)
    except LibraryFileError as exc:
        context["error"] = f"Nothing was imported: {exc}."
        return render(request, "readers/import.html", context, status=400)
    context["report"] = report
    return render(request, "readers/import.html", context)
