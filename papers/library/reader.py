"""What every list of papers needs to know about the reader looking at it."""

from django.http import HttpRequest

from papers.library.keywords import KeywordFilter
from papers.library.models import Mark


def reader_context(request: HttpRequest, papers, keywords: KeywordFilter | None = None) -> dict:
    """What every list needs to know about the reader: their keywords and their marks.

    Pass `keywords` when the view already read them (to filter the list), to read them once.
    """
    marks: dict[str, set[int]] = {kind: set() for kind in Mark.Kind.values}
    if request.user.is_authenticated:
        rows = Mark.objects.filter(user=request.user, paper__in=[p.pk for p in papers])
        for paper_id, kind in rows.values_list("paper_id", "kind"):
            marks[kind].add(paper_id)
    return {"keywords": keywords or KeywordFilter.for_request(request), "marks": marks}
