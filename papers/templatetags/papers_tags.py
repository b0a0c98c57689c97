from django import template

from papers.entries import author_url, category_url
from papers.texmacros import highlighted_html

register = template.Library()
register.filter("author_url", author_url)
register.filter("category_url", category_url)
# Search highlights with their LaTeX text macros rendered (papers.texmacros).
register.filter("highlighted_html", highlighted_html, is_safe=True)


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
