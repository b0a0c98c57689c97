"""arXiv identifiers: parse the forms people and feeds use into one canonical id."""

import re
from typing import NamedTuple

# New style since 2007-04: YYMM.NNNN, five digits from 2015-01. Old style: archive[.SUBJ]/YYMMNNN.
_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_OLD = r"(?P<old>[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})"
_ID_RE = re.compile(
    rf"^(?:https?://(?:export\.|www\.)?arxiv\.org/(?:abs|pdf|api)/|arxiv:)?"
    rf"(?:{_NEW}|{_OLD})(?:v(?P<version>\d+))?(?:\.pdf)?$",
    re.IGNORECASE,
)


class InvalidArxivId(ValueError):
    """The text is not an arXiv identifier."""


class ArxivId(NamedTuple):
    id: str
    version: int | None


def parse_arxiv_id(text: str) -> ArxivId:
    """Split an arXiv id, URL or `arXiv:` reference into its canonical id and version."""
    match = _ID_RE.match(text.strip())
    if not match:
        raise InvalidArxivId(f"not an arXiv identifier: {text!r}")
    if match["new"]:
        canonical = match["new"]
    else:
        # Numbers are unique within an archive, so `math.GT/0309136` and `math/0309136` are the
        # same paper; arXiv's own API answers with the form without the subject class.
        archive, number = match["old"].split("/")
        canonical = archive.partition(".")[0].lower() + "/" + number
    version = int(match["version"]) if match["version"] else None
    return ArxivId(canonical, version)


def normalize_arxiv_id(text: str) -> str:
    """The canonical id without version, e.g. `2505.24119` or `hep-th/9901001`."""
    return parse_arxiv_id(text).id


def is_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True
