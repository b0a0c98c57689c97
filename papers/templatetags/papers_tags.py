from django import template
from django.urls import reverse

from papers.models import author_key

register = template.Library()


@register.filter
def author_url(name: str) -> str:
    """The author page of a name as printed on a paper."""
    return reverse("author", args=[author_key(name)])
