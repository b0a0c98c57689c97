"""Pages of the readers' features: popular papers, digests, library import, For you controls."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from papers.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from papers.entries import entries_context
from papers.library.models import Mark
from papers.models import Paper
from papers.readers import digests, library_import, popularity
from papers.readers.library_import import LibraryFileError
from papers.readers.models import DigestSubscription, MutedSeed
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


class DigestForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=DigestSubscription.Frequency.choices, widget=forms.RadioSelect
    )
    email = forms.EmailField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("frequency", "off") != "off" and not data.get("email"):
            raise forms.ValidationError("a digest needs an email address to go to")
        return data


@login_required
def digest_settings(request: HttpRequest) -> HttpResponse:
    """Opt in to (or out of) the daily or weekly email digest."""
    sub, _ = DigestSubscription.objects.get_or_create(user=request.user)
    initial = {"frequency": sub.frequency, "email": request.user.email}
    form = DigestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        sub.frequency = form.cleaned_data["frequency"]
        sub.save(update_fields=["frequency", "changed"])
        if form.cleaned_data["email"] != request.user.email:
            request.user.email = form.cleaned_data["email"]
            request.user.save(update_fields=["email"])
        if sub.frequency == DigestSubscription.Frequency.OFF:
            messages.success(request, "No digest emails will be sent.")
        else:
            messages.success(request, f"A {sub.frequency} digest will go to {request.user.email}.")
        return redirect("digest_settings")
    status = 400 if form.errors else 200
    return render(
        request, "readers/digest_settings.html", {"form": form, "sub": sub}, status=status
    )


@csrf_exempt  # the signed token is the credential; mail clients POST here (RFC 8058 one-click)
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One click from the email turns the digest off, without logging in."""
    try:
        user = digests.user_for_token(token)
    except digests.BadUnsubscribeLink as exc:
        context = {"error": str(exc)}
        return render(request, "readers/unsubscribed.html", context, status=400)
    DigestSubscription.objects.update_or_create(
        user=user, defaults={"frequency": DigestSubscription.Frequency.OFF}
    )
    return render(request, "readers/unsubscribed.html", {"unsubscribed": user})


@login_required
@require_POST
def for_you_mute(request: HttpRequest) -> HttpResponse:
    """Stop (or start again) learning from one starred paper; the star stays."""
    try:
        paper = Paper.objects.get(arxiv_id=normalize_arxiv_id(request.POST.get("paper", "")))
    except (InvalidArxivId, Paper.DoesNotExist):
        return bad_request(request, f"paper: no such paper {request.POST.get('paper', '')!r}")
    mute, created = MutedSeed.objects.get_or_create(user=request.user, paper=paper)
    if created:
        messages.success(request, f"For you no longer learns from “{paper.title}”.")
    else:
        mute.delete()
        messages.success(request, f"For you learns from “{paper.title}” again.")
    return redirect("for_you")


@login_required
@require_POST
def for_you_reset(request: HttpRequest) -> HttpResponse:
    """Forget every not-interested mark."""
    deleted, _ = Mark.objects.filter(user=request.user, kind=Mark.Kind.NOT_INTERESTED).delete()
    messages.success(
        request, f"Cleared {deleted} not-interested mark{'s' if deleted != 1 else ''}."
    )
    return redirect("for_you")
