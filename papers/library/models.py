"""What a reader keeps on the server, so it follows them across devices."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from papers.models import Paper


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
