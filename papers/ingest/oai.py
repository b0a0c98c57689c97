"""OAI-PMH harvesting of arXiv (`ListRecords` in the `arXiv` and `arXivRaw` formats).

arXiv answers a busy harvester with `503` and a `Retry-After` header; the shared HTTP client
waits that long and asks again. Each page is committed before the next is asked for, with its
`resumptionToken` as the run's checkpoint, so a harvest interrupted half-way resumes from the
last committed page instead of the start.

No OAI-PMH client library fits: the maintained one (oaipmh-scythe) is built on httpx2 and its
own sleeping retry loop, which our respx-mocked transport, pacing and checkpoints cannot reach;
the protocol itself is two query shapes and one XML envelope.
"""

import datetime as dt
import email.utils
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from lxml import etree

from papers.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from papers.ingest.http import ArxivHttpClient
from papers.ingest.records import (
    Batch,
    Failure,
    PaperRecord,
    PayloadError,
    RecordError,
    split_authors,
)
from papers.ingest.xmldoc import child_text, parse_xml

NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "arXiv": "http://arxiv.org/OAI/arXiv/",
    "raw": "http://arxiv.org/OAI/arXivRaw/",
}
METADATA_PREFIXES = ("arXiv", "arXivRaw")
_CLASS_SEPARATOR = re.compile(r"\s*[;,]\s*")


class OaiError(PayloadError):
    """The repository answered with an OAI-PMH error (badResumptionToken, badArgument, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"OAI-PMH error {code}: {message}")
        self.code = code


@dataclass
class OaiPage:
    records: list[PaperRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    resumption_token: str | None = None
    complete_list_size: int | None = None


def parse_list_records(content: bytes, source: str = "the arXiv OAI-PMH service") -> OaiPage:
    """One ListRecords (or GetRecord) response; `noRecordsMatch` is an empty page."""
    root = parse_xml(content, source)
    error = root.find("oai:error", NS)
    if error is not None:
        code = error.get("code", "")
        if code == "noRecordsMatch":
            return OaiPage()
        raise OaiError(code, " ".join((error.text or "").split()))
    container = root.find("oai:ListRecords", NS)
    if container is None:
        container = root.find("oai:GetRecord", NS)
    if container is None:
        raise PayloadError(f"{source} answered with neither ListRecords nor an OAI-PMH error")
    page = OaiPage()
    for position, record in enumerate(container.findall("oai:record", NS), start=1):
        identifier = child_text(record, "oai:header/oai:identifier", NS)
        arxiv_id = identifier.removeprefix("oai:arXiv.org:")
        try:
            header = record.find("oai:header", NS)
            if header is not None and header.get("status") == "deleted":
                page.deleted.append(normalize_arxiv_id(arxiv_id))
                continue
            page.records.append(_metadata_record(record))
        except (RecordError, InvalidArxivId, ValueError) as exc:
            page.failures.append(Failure(str(exc), arxiv_id, f"record {position} of the page"))
    token = container.find("oai:resumptionToken", NS)
    if token is not None:
        page.resumption_token = (token.text or "").strip() or None
        size = token.get("completeListSize")
        page.complete_list_size = int(size) if size and size.isdigit() else None
    return page


def _metadata_record(record: etree._Element) -> PaperRecord:
    metadata = record.find("oai:metadata", NS)
    if metadata is None or len(metadata) == 0:
        raise RecordError("record has no metadata")
    payload = metadata[0]
    if payload.tag == f"{{{NS['arXiv']}}}arXiv":
        return arxiv_format_record(payload)
    if payload.tag == f"{{{NS['raw']}}}arXivRaw":
        return arxiv_raw_record(payload)
    raise RecordError(f"unsupported metadata format <{payload.tag}>")


def arxiv_format_record(meta: etree._Element) -> PaperRecord:
    """metadataPrefix=arXiv: structured authors, but no version numbers."""

    def text(name: str) -> str:
        return child_text(meta, f"arXiv:{name}", NS)

    authors = []
    for author in meta.findall("arXiv:authors/arXiv:author", NS):
        parts = (child_text(author, f"arXiv:{p}", NS) for p in ("forenames", "keyname", "suffix"))
        authors.append(" ".join(p for p in parts if p))
    created, updated = _date(text("created")), _date(text("updated"))
    return PaperRecord(
        arxiv_id=_required(text("id"), "id"),
        title=text("title"),
        abstract=text("abstract"),
        authors=authors,
        categories=text("categories").split(),
        comment=text("comments"),
        journal_ref=text("journal-ref"),
        doi=text("doi"),
        other_classes=_classes(text("msc-class"), text("acm-class")),
        submitted=created,
        updated=updated or created,
    )


def arxiv_raw_record(meta: etree._Element) -> PaperRecord:
    """metadataPrefix=arXivRaw: every version with its date and size, authors as one string."""

    def text(name: str) -> str:
        return child_text(meta, f"raw:{name}", NS)

    versions = []
    for version in meta.findall("raw:version", NS):
        number = int(version.get("version", "").lstrip("v"))
        date = child_text(version, "raw:date", NS)
        when = email.utils.parsedate_to_datetime(date) if date else None
        versions.append((number, when, child_text(version, "raw:size", NS)))
    dates = [when for _, when, _ in versions if when]
    return PaperRecord(
        arxiv_id=_required(text("id"), "id"),
        title=text("title"),
        abstract=text("abstract"),
        authors=split_authors(text("authors")),
        categories=text("categories").split(),
        comment=text("comments"),
        journal_ref=text("journal-ref"),
        doi=text("doi"),
        other_classes=_classes(text("msc-class"), text("acm-class")),
        versions=versions,
        submitted=min(dates) if dates else None,
        updated=max(dates) if dates else None,
    )


def _required(value: str, name: str) -> str:
    if not value:
        raise RecordError(f"missing {name}")
    return value


def _date(value: str) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)


def _classes(*values: str) -> list[str]:
    return [c for value in values for c in _CLASS_SEPARATOR.split(value) if c]


class ArxivOaiHarvester:
    """Harvests `ListRecords` page by page, following resumption tokens."""

    def __init__(self, http: ArxivHttpClient | None = None, *, base_url: str | None = None):
        self.http = http or ArxivHttpClient()
        self.base_url = base_url or settings.ARXIV_OAI_URL

    def batches(
        self,
        *,
        metadata_prefix: str = "arXiv",
        set_spec: str = "",
        from_date: str = "",
        until: str = "",
        resumption_token: str = "",
    ) -> Iterator[Batch]:
        """One batch per page; each checkpoint holds the token for the page after it.

        Given a `resumption_token`, the harvest continues from there (the other arguments are
        then part of the token, as OAI-PMH requires).
        """
        if metadata_prefix not in METADATA_PREFIXES:
            raise ValueError(f"metadata_prefix must be one of {', '.join(METADATA_PREFIXES)}")
        params: dict[str, str | int]
        if resumption_token:
            params = {"verb": "ListRecords", "resumptionToken": resumption_token}
        else:
            params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
            optional = {"set": set_spec, "from": from_date, "until": until}
            params.update({k: v for k, v in optional.items() if v})
        while True:
            response = self.http.get(self.base_url, params=params)
            source = f"the arXiv OAI-PMH service ({response.request.url})"
            if response.status_code != 200:
                raise PayloadError(f"HTTP {response.status_code} from {source}")
            page = parse_list_records(response.content, source)
            token = page.resumption_token
            yield Batch(
                page.records,
                page.failures,
                page.deleted,
                checkpoint={"resumption_token": token or "", "done": token is None},
                total=page.complete_list_size,
            )
            if token is None:
                return
            params = {"verb": "ListRecords", "resumptionToken": token}
