"""Marks, the library page and its exports, saved searches, keyword preferences, sign-up."""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from papers import ratelimit
from papers.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from papers.bibtex import paper_bibtex
from papers.entries import entries_context
from papers.library.keywords import KeywordFilter, parse_keyword_list
from papers.library.models import ApiToken, Mark, SavedSearch
from papers.library.reader import READING_DEFAULTS, save_reading_preferences
from papers.models import Paper
from papers.views import BadListSort, bad_request, list_sort, sorted_as_asked, too_many_requests


def _back(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.headers.get("referer") or default
    return _safe(request, target, default)


def _safe(request: HttpRequest, target: str, default: str = "/") -> str:
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return default


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=False, help_text="Optional; needed only to reset a forgotten password."
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


@ratelimit.limited(
    "signup",
    lambda request, verdict: too_many_requests(request, verdict, "sign-ups"),
    when=lambda request: request.method == "POST",
)
def signup(request: HttpRequest) -> HttpResponse:
    """A new account, signed in at once and sent back to the page it started from."""
    next_url = _safe(request, request.POST.get("next") or request.GET.get("next", ""), "")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request, f"Welcome, {user.username}: your account is ready and you are signed in."
        )
        return redirect(next_url or "home")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@require_POST
def reading_view(request: HttpRequest) -> HttpResponse:
    """Remember how lists are shown (abstracts folded, read papers hidden), for visitors too."""
    changes = {}
    for key in READING_DEFAULTS:
        value = request.POST.get(key)
        if value is not None:
            if value not in ("0", "1"):
                return bad_request(request, f"{key}: expected 0 or 1, got {value!r}")
            changes[key] = value == "1"
    preferences = save_reading_preferences(request, **changes)
    if request.headers.get("accept") == "application/json":
        return JsonResponse(preferences)
    return redirect(_back(request))


def open_pdf(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """The paper's PDF on arXiv; on the way, the signed-in reader's read mark."""
    try:
        paper = get_object_or_404(Paper, arxiv_id=normalize_arxiv_id(arxiv_id))
    except InvalidArxivId as exc:
        raise Http404(str(exc)) from exc
    if request.user.is_authenticated:
        Mark.objects.get_or_create(user=request.user, paper=paper, kind=Mark.Kind.READ)
    return redirect(paper.pdf_url)


class LoginView(auth_views.LoginView):
    """Django's log-in, with attempts limited per address and failures per username, back
    where the reader came from with a word that it worked."""

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Signed in as {form.get_user().username}.")
        return response

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "").strip().lower()[:150]
        per_user = ratelimit.configured_rate("login_user")
        for scope, ident in (("login", None), ("login_user", f"name:{username}")):
            verdict = ratelimit.check(scope, request, ident)
            if verdict is not None and not verdict.allowed:
                return too_many_requests(request, verdict, "log-in attempts")
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated and per_user is not None:
            ratelimit.reset("login_user", f"name:{username}", per_user)
        return response


# Each request sends a mail: limited per address like sign-ups.
password_reset = ratelimit.limited(
    "password_reset",
    lambda request, verdict: too_many_requests(request, verdict, "password reset requests"),
    when=lambda request: request.method == "POST",
)(auth_views.PasswordResetView.as_view())


@require_POST
def toggle_mark(request: HttpRequest, arxiv_id: str, kind: str) -> HttpResponse:
    """Star / unstar (or mark not interested, read); JSON for scripts, a redirect for forms."""
    if kind not in Mark.Kind.values:
        return JsonResponse({"error": f"unknown mark {kind!r}"}, status=400)
    if not request.user.is_authenticated:
        if request.headers.get("accept") == "application/json":
            return JsonResponse({"error": "sign in to keep papers"}, status=401)
        return redirect_to_login(_back(request))
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
    try:
        sort = list_sort(request)
    except BadListSort as exc:
        return bad_request(request, str(exc))
    papers = sorted_as_asked(list(_starred(request)), sort)
    context = {"papers": papers, "sort": sort, **entries_context(request, papers)}
    return render(request, "library/library.html", context)


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


class SavedSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=SavedSearch._meta.get_field("query").max_length)
    cat = forms.CharField(
        required=False, max_length=SavedSearch._meta.get_field("categories").max_length
    )
    name = forms.CharField(
        required=False, max_length=SavedSearch._meta.get_field("name").max_length
    )

    def clean(self) -> dict:
        data = super().clean()
        data["q"] = SavedSearch.clean_query(data.get("q", ""))
        data["cat"] = SavedSearch.clean_categories(data.get("cat", ""))
        if not (data["q"] or data["cat"]):
            raise forms.ValidationError("a saved search needs a query or a category")
        data["name"] = data.get("name", "").strip() or SavedSearch.default_name(
            data["q"], data["cat"]
        )
        return data


def _form_error(form: forms.Form) -> str:
    return "; ".join(
        " ".join(errors) if field == NON_FIELD_ERRORS else f"{field}: {' '.join(errors)}"
        for field, errors in form.errors.items()
    )


@login_required
def saved_searches(request: HttpRequest) -> HttpResponse:
    """The reader's saved searches (GET), or save one from the search page (POST)."""
    if request.method == "POST":
        form = SavedSearchForm(request.POST)
        if not form.is_valid():
            return bad_request(request, _form_error(form))
        data = form.cleaned_data
        saved, created = SavedSearch.objects.get_or_create(
            user=request.user,
            query=data["q"],
            categories=data["cat"],
            defaults={"name": data["name"]},
        )
        if created:
            messages.success(request, f"Saved “{saved.name}”.")
        else:
            messages.info(request, f"Already saved as “{saved.name}”.")
        return redirect(saved.search_url())
    searches = SavedSearch.objects.filter(user=request.user)
    return render(request, "library/saved_searches.html", {"searches": searches})


@login_required
@require_POST
def rename_saved_search(request: HttpRequest, pk: int) -> HttpResponse:
    saved = get_object_or_404(SavedSearch, pk=pk, user=request.user)
    form = SavedSearchForm(
        {"q": saved.query, "cat": saved.categories, "name": request.POST.get("name", "")}
    )
    if not form.is_valid():
        return bad_request(request, _form_error(form))
    saved.name = form.cleaned_data["name"]
    saved.save(update_fields=["name"])
    return redirect("saved_searches")


@login_required
@require_POST
def delete_saved_search(request: HttpRequest, pk: int) -> HttpResponse:
    saved = get_object_or_404(SavedSearch, pk=pk, user=request.user)
    saved.delete()
    messages.success(request, f"Deleted “{saved.name}”.")
    return redirect("saved_searches")


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


@login_required
def for_you(request: HttpRequest) -> HttpResponse:
    """Recent papers ranked for the reader from their stars, each with why it was picked."""
    from papers.enrichment.for_you import recommend_for

    result = recommend_for(request.user)
    listed = entries_context(request, [pick.paper for pick in result.picks])
    rows = [(pick, [entry]) for pick, entry in zip(result.picks, listed["entries"], strict=True)]
    context = {**listed, "result": result, "rows": rows}
    return render(request, "library/for_you.html", context)
