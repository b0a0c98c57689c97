"""What a reader keeps on the server, so it follows them across devices."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from papers.models import Paper
from search.query import canonical_category


class Mark(models.Model):
    """A reader's mark on a paper: a star, a not-interested, or read."""

    class Kind(models.TextChoices):
        STAR = "star", "Starred"
        NOT_INTERESTED = "not_interested", "Not interested"
        READ = "read", "Read"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marks"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="marks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["user", "paper", "kind"], name="one_mark_per_kind")
        ]
        indexes = [models.Index(fields=["user", "kind", "-created"])]

    def __str__(self) -> str:
        return f"{self.user} {self.kind} {self.paper.arxiv_id}"


def _feed_token() -> str:
    return secrets.token_urlsafe(16)


class SavedSearch(models.Model):
    """A query (and category filter) a reader keeps, to run again or follow as an Atom feed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=200)
    query = models.CharField(max_length=1000)
    categories = models.CharField(max_length=500, blank=True)
    # Feed readers cannot log in: the feed URL carries this unguessable token instead.
    feed_token = models.CharField(max_length=32, unique=True, default=_feed_token)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def matching(cls, user, query: str, categories: str) -> "SavedSearch | None":
        """The reader's saved search for this query and category filter, if they saved it."""
        return cls.objects.filter(
            user=user, query=cls.clean_query(query), categories=cls.clean_categories(categories)
        ).first()

    @staticmethod
    def clean_query(text: str) -> str:
        return " ".join(text.split())

    @staticmethod
    def clean_categories(text: str) -> str:
        """`cs.cl  cs.LG,` -> `cs.CL,cs.LG`: the codes as the search page reads them."""
        codes = (canonical_category(c) for c in text.replace(" ", ",").split(",") if c)
        return ",".join(dict.fromkeys(codes))

    @staticmethod
    def default_name(query: str, categories: str) -> str:
        """The query, and the categories when there are some, cut to fit the name field."""
        if query and categories:
            name = f"{query} in {categories.replace(',', ', ')}"
        else:
            name = query or categories.replace(",", ", ")
        limit = SavedSearch._meta.get_field("name").max_length
        return name if len(name) <= limit else name[: limit - 1] + "…"

    @property
    def category_codes(self) -> tuple[str, ...]:
        return tuple(c for c in self.categories.split(",") if c)

    def search_url(self) -> str:
        """The search page running this search."""
        params = {"q": self.query}
        if self.categories:
            params["cat"] = self.categories
        return reverse("search") + "?" + urlencode(params)

    def feed_url(self) -> str:
        return reverse("saved_search_feed", args=[self.feed_token])


class KeywordPreferences(models.Model):
    """Keywords highlighted on every list, and the include / exclude filters built on them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="keyword_preferences"
    )
    highlight = models.JSONField(default=list, blank=True)
    include = models.JSONField(default=list, blank=True)
    exclude = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"keywords of {self.user}"


class ApiToken(models.Model):
    """A personal key for the JSON API; only its hash is stored, the key is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="API token")
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(key: str) -> str:
        import hashlib

        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str = "API token") -> tuple["ApiToken", str]:
        """Create a token; returns it and the key, which is never retrievable again."""
        key = "cp_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=key[3:11], key_hash=cls.hash(key))
        return token, key

    @classmethod
    def user_for(cls, key: str):
        token = cls.objects.select_related("user").filter(key_hash=cls.hash(key)).first()
        if token is None or not token.user.is_active:
            return None
        cls.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token.user
