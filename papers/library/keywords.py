"""A reader's keyword list: highlight matches on any list, keep or drop papers by keyword."""

import re
from dataclasses import dataclass, field
from functools import cached_property
from html import escape

from django.http import HttpRequest
from django.utils.safestring import SafeString

SESSION_KEY = "keyword_preferences"
# Inline and display math; highlighting inside it would break KaTeX's rendering.
_MATH = re.compile(r"(\$\$.+?\$\$|\$[^$]+\$|\\\(.+?\\\)|\\\[.+?\\\])", re.DOTALL)


def parse_keyword_list(text: str) -> list[str]:
    """One keyword or phrase per line or comma; blanks and repeats dropped."""
    words = (" ".join(w.split()) for w in re.split(r"[,\n]", text or ""))
    return list(dict.fromkeys(w for w in words if w))[:100]


@dataclass
class KeywordFilter:
    highlight: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    @classmethod
    def for_request(cls, request: HttpRequest) -> "KeywordFilter":
        """The signed-in reader's saved lists, or an anonymous visitor's from the session."""
        user = request.user
        if user.is_authenticated:
            prefs = getattr(user, "keyword_preferences", None)
            if prefs is None:
                return cls()
            return cls(prefs.highlight, prefs.include, prefs.exclude)
        return cls(**request.session.get(SESSION_KEY, {}))

    def save(self, request: HttpRequest) -> None:
        from papers.library.models import KeywordPreferences

        values = {"highlight": self.highlight, "include": self.include, "exclude": self.exclude}
        if request.user.is_authenticated:
            KeywordPreferences.objects.update_or_create(user=request.user, defaults=values)
        else:
            request.session[SESSION_KEY] = values

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)

    # Compiled once per filter: a list page calls keeps() and mark() for every paper on it.
    @cached_property
    def _include(self) -> re.Pattern | None:
        return _pattern(self.include)

    @cached_property
    def _exclude(self) -> re.Pattern | None:
        return _pattern(self.exclude)

    @cached_property
    def _highlight(self) -> re.Pattern | None:
        return _pattern(self.highlight + self.include)

    def keeps(self, title: str, abstract: str) -> bool:
        text = f"{title}\n{abstract}"
        if self._include and not self._include.search(text):
            return False
        return not (self._exclude and self._exclude.search(text))

    @property
    def highlights(self) -> bool:
        """Whether mark() marks anything at all (else it only escapes)."""
        return self._highlight is not None

    def mark(self, text: str) -> SafeString:
        """HTML-escaped text with <mark> around highlighted keywords, never inside math."""
        # Lists mark every title, abstract and key phrase: most have nothing to highlight. The
        # standard library's escape() and SafeString() skip django's lazy-string wrappers.
        if self._highlight is None or not self._highlight.search(text):
            return SafeString(escape(text))  # escaped
        parts = []
        for i, piece in enumerate(_MATH.split(text)):
            if i % 2:  # odd pieces are the math the split kept
                parts.append(escape(piece))
                continue
            # The pattern's one group makes split() alternate plain text and matches.
            for j, chunk in enumerate(self._highlight.split(piece)):
                parts.append(f"<mark>{escape(chunk)}</mark>" if j % 2 else escape(chunk))
        return SafeString("".join(parts))  # every piece above is escaped


def _pattern(words: list[str]) -> re.Pattern | None:
    """Any of the words as whole words, case-insensitive, in one capturing group."""
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alternatives})(?!\w)", re.IGNORECASE)
