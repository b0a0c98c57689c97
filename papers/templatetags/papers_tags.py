from urllib.parse import quote

from django import template

from papers.models import author_key

register = template.Library()


# Lists render thousands of links; building these paths directly is several times faster than
# reverse(). tests/papers/test_browser_views.py checks they equal what reverse() gives.
@register.filter
def author_url(name: str) -> str:
    """The author page of a name as printed on a paper."""
    return "/author/" + quote(author_key(name))


@register.filter
def category_url(code: str) -> str:
    return "/arxiv/" + code


@register.filter
def keywords_marked(text: str, keywords) -> str:
    """Text escaped, with the reader's keywords in <mark> (see KeywordFilter.mark)."""
    from django.utils.html import escape

    return keywords.mark(text) if keywords is not None else escape(text)


@register.simple_tag
def bibtex(paper) -> str:
    from papers.bibtex import paper_bibtex

    return paper_bibtex(paper)


@register.simple_tag
def query_with(request, **changes) -> str:
    """The current query string with some parameters replaced (for pagination links)."""
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = value
    return params.urlencode()
