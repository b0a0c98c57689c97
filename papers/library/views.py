"""Marks, the library page and its exports, keyword preferences, sign-up."""

import json

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from papers.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from papers.bibtex import paper_bibtex
from papers.entries import entries_context
from papers.library.keywords import KeywordFilter, parse_keyword_list
from papers.library.models import ApiToken, Mark
from papers.models import Paper


def _back(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.headers.get("referer") or default
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def signup(request: HttpRequest) -> HttpResponse:
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect(_back(request))
    return render(request, "registration/signup.html", {"form": form})


@require_POST
def toggle_mark(request: HttpRequest, arxiv_id: str, kind: str) -> HttpResponse:
    """Star / unstar (or mark not interested, read); JSON for scripts, a redirect for forms."""
    if kind not in Mark.Kind.values:
        return JsonResponse({"error": f"unknown mark {kind!r}"}, status=400)
    if not request.user.is_authenticated:
        if request.headers.get("accept") == "application/json":
            return JsonResponse({"error": "sign in to keep papers"}, status=401)
        return redirect(f"/accounts/login/?next={_back(request)}")
    try:
        paper = get_object_or_404(Paper, arxiv_id=normalize_arxiv_id(arxiv_id))
    except InvalidArxivId:
        return JsonResponse({"error": f"not an arXiv id: {arxiv_id!r}"}, status=404)
    mark, created = Mark.objects.get_or_create(user=request.user, paper=paper, kind=kind)
    if not created:
        mark.delete()
    elif kind == Mark.Kind.STAR:
        Mark.objects.filter(user=request.user, paper=paper, kind=Mark.Kind.NOT_INTERESTED).delete()
    elif kind == Mark.Kind.NOT_INTERESTED:
        Mark.objects.filter(user=request.user, paper=paper, kind=Mark.Kind.STAR).delete()
    if request.headers.get("accept") == "application/json":
        return JsonResponse({"paper": paper.arxiv_id, "kind": kind, "marked": created})
    return redirect(_back(request, paper.get_absolute_url()))


def _starred(request: HttpRequest):
    return (
        Paper.objects.filter(marks__user=request.user, marks__kind=Mark.Kind.STAR)
        .select_related("primary_category")
        .order_by("-marks__created")
    )


@login_required
def library(request: HttpRequest) -> HttpResponse:
    papers = list(_starred(request))
    return render(
        request, "library/library.html", {"papers": papers, **entries_context(request, papers)}
    )


@login_required
def library_bibtex(request: HttpRequest) -> HttpResponse:
    body = "\n\n".join(paper_bibtex(p) for p in _starred(request))
    response = HttpResponse(body + "\n", content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="library.bib"'
    return response


@login_required
def library_json(request: HttpRequest) -> HttpResponse:
    papers = [
        {
            "id": p.arxiv_id,
            "title": p.title,
            "authors": p.author_names,
            "categories": p.category_codes,
            "announced": p.announced.isoformat() if p.announced else None,
            "url": p.abs_url,
        }
        for p in _starred(request)
    ]
    response = HttpResponse(
        json.dumps({"papers": papers}, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="library.json"'
    return response


def keyword_preferences(request: HttpRequest) -> HttpResponse:
    keywords = KeywordFilter.for_request(request)
    if request.method == "POST":
        keywords = KeywordFilter(
            highlight=parse_keyword_list(request.POST.get("highlight", "")),
            include=parse_keyword_list(request.POST.get("include", "")),
            exclude=parse_keyword_list(request.POST.get("exclude", "")),
        )
        keywords.save(request)
        return redirect(_back(request, "/keywords"))
    return render(request, "library/keywords.html", {"keywords": keywords})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The reader's page: API tokens (the new key is shown once) and links to their lists."""
    new_key = None
    if request.method == "POST":
        if revoke := request.POST.get("revoke"):
            ApiToken.objects.filter(user=request.user, pk=revoke).delete()
        else:
            name = (request.POST.get("name") or "API token").strip()[:100]
            _, new_key = ApiToken.issue(request.user, name)
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "library/account.html", {"tokens": tokens, "new_key": new_key})
