"""Author names as keys: two spellings of one author map to one key (plain Python, no Django,
so benchmarks and the ML code's callers share it)."""

import re
import unicodedata
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[\s.,]+")


def author_key(name: str) -> str:
    """The key two spellings of one author share: accents folded, case and spacing ignored."""
    folded = name
    if not name.isascii():  # most names are; folding is the slow part of a bulk load
        folded = unicodedata.normalize("NFKD", name)
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", folded).strip().lower()


def author_keys(names: Iterable[str]) -> list[str]:
    """The keys of one paper's author names, in order (what the tagger's author history reads)."""
    return [author_key(name) for name in names]
