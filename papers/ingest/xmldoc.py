"""Strict, safe XML parsing shared by the Atom API and OAI-PMH sources."""

import datetime as dt

from lxml import etree

from papers.ingest.records import PayloadError

# No entities, no network, no DTDs: a response is data, never instructions to fetch more.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_xml(content: bytes, source: str) -> etree._Element:
    """The document's root element, or PayloadError naming the source and the parse error."""
    if not content.strip():
        raise PayloadError(f"empty response from {source}")
    try:
        return etree.fromstring(content, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise PayloadError(f"malformed XML from {source}: {exc}") from exc


def child_text(element: etree._Element, path: str, namespaces: dict[str, str]) -> str:
    """The whitespace-normalised text of the first match, or "" when there is none."""
    found = element.find(path, namespaces)
    if found is None or found.text is None:
        return ""
    return " ".join(found.text.split())


def parse_datetime(value: str) -> dt.datetime | None:
    """An ISO 8601 timestamp such as arXiv's `2021-04-20T16:07:14Z`, or None when empty."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
