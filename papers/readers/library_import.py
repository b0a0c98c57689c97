"""Bring your library: BibTeX, Zotero exports (CSL JSON, RDF) or plain id lists become stars.

Each reference is matched by arXiv id, then DOI, then exact title; matches become stars (and
lose a not-interested mark, as starring by hand does). References with an arXiv id that is not
in the database can be fetched through an arXiv API ingestion run when the admin allows it
(settings.LIBRARY_IMPORT_FETCH_FROM_ARXIV); they are starred when that queued run has finished.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from lxml import etree

from papers.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from papers.library.models import Mark
from papers.models import Paper
from papers.readers.models import LibraryImport

_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:\s.]\s*|10\.48550/arxiv\.)"
    r"(\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})",
    re.IGNORECASE,
)
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_BIBTEX_START = re.compile(r"^\s*@\s*\w+\s*[{(]", re.MULTILINE)
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
# Zotero RDF items that are not references.
_RDF_SKIP = {"Attachment", "Memo", "Collection"}
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class LibraryFileError(ValueError):
    """The file cannot be read as any of the formats we import; the message says why."""


@dataclass
class Reference:
    """One entry of the imported file, with what identifies it."""

    label: str  # citation key, title or line, to show the reader which entry this is
    arxiv_id: str = ""
    doi: str = ""
    title: str = ""


@dataclass
class ImportReport:
    format: str
    matched: list[tuple[Reference, Paper, str]] = field(default_factory=list)  # (ref, paper, by)
    unmatched: list[tuple[Reference, str]] = field(default_factory=list)  # (ref, why)
    errors: list[str] = field(default_factory=list)  # entries that could not be read
    new_stars: int = 0
    fetching: list[str] = field(default_factory=list)  # arXiv ids queued for fetching


# --- Reading the formats -------------------------------------------------------------------


def read_references(text: str) -> tuple[str, list[Reference], list[str]]:
    """The file's format, its references and the entries it could not read (with reasons)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise LibraryFileError("the file is empty")
    if stripped.startswith("<"):
        return ("Zotero RDF", *_read_rdf(stripped))
    if stripped[0] in "[{":
        return ("CSL JSON", *_read_csl_json(stripped))
    if _BIBTEX_START.search(stripped):
        return ("BibTeX", *_read_bibtex(stripped))
    return ("list of ids", *_read_id_list(stripped))


def _clean(value: str) -> str:
    return " ".join(value.replace("{", "").replace("}", "").split())


def _identify(ref: Reference, *texts: str) -> Reference:
    """Fill the arXiv id and DOI from free text (URLs, notes, `arXiv:` journal fields)."""
    for text in texts:
        if not ref.arxiv_id and (match := _ARXIV_IN_TEXT.search(text)):
            ref.arxiv_id = _arxiv_or_empty(match[1])
        if not ref.doi and (match := _DOI_IN_TEXT.search(text)):
            ref.doi = match[1].rstrip(".,;)")
    if ref.doi and not ref.arxiv_id and (match := _ARXIV_DOI.match(ref.doi)):
        ref.arxiv_id = _arxiv_or_empty(match[1])
    return ref


def _arxiv_or_empty(text: str) -> str:
    try:
        return normalize_arxiv_id(text)
    except InvalidArxivId:
        return ""


def _read_bibtex(text: str) -> tuple[list[Reference], list[str]]:
    import bibtexparser

    library = bibtexparser.parse_string(text)
    errors = []
    for block in library.failed_blocks:
        first = block.raw.strip().splitlines()[0][:80] if block.raw.strip() else ""
        errors.append(f"line {block.start_line + 1}: cannot read the entry {first!r}")
    refs = []
    for entry in library.entries:
        fields = {name.lower(): _clean(str(f.value)) for name, f in entry.fields_dict.items()}
        ref = Reference(label=entry.key, doi=fields.get("doi", ""), title=fields.get("title", ""))
        eprint = fields.get("eprint", "")
        if eprint and fields.get("archiveprefix", "arxiv").lower() == "arxiv":
            ref.arxiv_id = _arxiv_or_empty(eprint)
        if doi := re.match(r"(?:https?://(?:dx\.)?doi\.org/)?(.+)", ref.doi):
            ref.doi = doi[1]
        refs.append(
            _identify(
                ref,
                *(fields.get(k, "") for k in ("url", "journal", "note", "howpublished", "arxiv")),
            )
        )
    return refs, errors


def _read_csl_json(text: str) -> tuple[list[Reference], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LibraryFileError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    items = data.get("items", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise LibraryFileError("CSL JSON should be a list of items")
    refs, errors = [], []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            errors.append(f"item {n}: not an object")
            continue
        title = _clean(str(item.get("title", "")))
        doi = str(item.get("DOI", "")).strip()
        ref = Reference(label=title or str(item.get("id", f"item {n}")), doi=doi, title=title)
        texts = [str(v) for k, v in item.items() if isinstance(v, str) and k != "title"]
        refs.append(_identify(ref, *texts))
    return refs, errors


def _read_rdf(text: str) -> tuple[list[Reference], list[str]]:
    try:
        root = etree.fromstring(text.encode(), parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise LibraryFileError(f"not valid XML: {exc}") from exc
    if root.tag != f"{{{_RDF_NS}}}RDF":
        raise LibraryFileError("an XML file should be a Zotero RDF export (<rdf:RDF>)")
    refs = []
    for item in root:
        if not isinstance(item.tag, str) or etree.QName(item).localname in _RDF_SKIP:
            continue
        title = item.find(_DC_TITLE)
        if title is None:
            continue
        title_text = _clean(title.text or "")
        texts = [t for t in item.itertext()] + [v for e in item.iter() for v in e.attrib.values()]
        refs.append(_identify(Reference(label=title_text, title=title_text), *texts))
    return refs, []


def _read_id_list(text: str) -> tuple[list[Reference], list[str]]:
    refs, errors = [], []
    for n, line in enumerate(text.splitlines(), 1):
        token = line.strip()
        if not token or token.startswith("#"):
            continue
        if arxiv_id := _arxiv_or_empty(token.removeprefix("arXiv:").removeprefix("arxiv:")):
            refs.append(Reference(label=token, arxiv_id=arxiv_id))
        elif match := re.fullmatch(
            r"(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)", token, re.I
        ):
            refs.append(_identify(Reference(label=token, doi=match[1])))
        else:
            errors.append(f"line {n}: not an arXiv id or DOI: {token[:80]!r}")
    return refs, errors


# --- Matching and starring -----------------------------------------------------------------


def match_references(refs: list[Reference]) -> list[tuple[Reference, Paper | None, str]]:
    """Each reference with its paper and how it was found (arXiv id, DOI, title), or None."""
    by_id = Paper.objects.in_bulk({r.arxiv_id for r in refs if r.arxiv_id}, field_name="arxiv_id")
    dois = {r.doi.lower() for r in refs if r.doi}
    by_doi = {
        p.doi_lower: p
        for p in Paper.objects.annotate(doi_lower=Lower("doi")).filter(doi_lower__in=dois)
    }
    out = []
    for ref in refs:
        if ref.arxiv_id and ref.arxiv_id in by_id:
            out.append((ref, by_id[ref.arxiv_id], "arXiv id"))
        elif ref.doi and ref.doi.lower() in by_doi:
            out.append((ref, by_doi[ref.doi.lower()], "DOI"))
        elif ref.title and (paper := _by_title(ref.title)):
            out.append((ref, paper, "title"))
        else:
            out.append((ref, None, ""))
    return out


def _by_title(title: str) -> Paper | None:
    papers = list(Paper.objects.filter(title__iexact=title)[:2])
    return papers[0] if len(papers) == 1 else None


def star_papers(user, papers: list[Paper]) -> int:
    """Star the papers for the reader; returns how many stars are new."""
    pks = {p.pk for p in papers}
    with transaction.atomic():
        before = Mark.objects.filter(user=user, kind=Mark.Kind.STAR, paper__in=pks).count()
        Mark.objects.bulk_create(
            [Mark(user=user, paper_id=pk, kind=Mark.Kind.STAR) for pk in pks],
            ignore_conflicts=True,
        )
        Mark.objects.filter(user=user, kind=Mark.Kind.NOT_INTERESTED, paper__in=pks).delete()
    return len(pks) - before


def import_library(user, text: str) -> ImportReport:
    """Read, match and star; queue fetching what is missing when the admin allows it."""
    fmt, refs, errors = read_references(text)
    if len(refs) > settings.LIBRARY_IMPORT_MAX_ITEMS:
        raise LibraryFileError(
            f"{len(refs)} entries; at most {settings.LIBRARY_IMPORT_MAX_ITEMS} per import"
        )
    if not refs and errors:
        raise LibraryFileError(f"no entry could be read ({errors[0]})")
    if not refs:
        raise LibraryFileError(f"no references found in this {fmt} file")
    report = ImportReport(format=fmt, errors=errors)
    missing = []
    for ref, paper, how in match_references(refs):
        if paper is not None:
            report.matched.append((ref, paper, how))
        elif ref.arxiv_id:
            missing.append(ref.arxiv_id)
            report.unmatched.append((ref, f"arXiv:{ref.arxiv_id} is not in this database"))
        elif ref.doi:
            report.unmatched.append((ref, f"no paper here has the DOI {ref.doi}"))
        else:
            report.unmatched.append((ref, "no arXiv id or DOI, and no paper with this exact title"))
    report.new_stars = star_papers(user, [paper for _, paper, _ in report.matched])
    if missing and settings.LIBRARY_IMPORT_FETCH_FROM_ARXIV:
        report.fetching = list(dict.fromkeys(missing))
        queue_fetch(user, report.fetching)
    return report


def queue_fetch(user, arxiv_ids: list[str]) -> LibraryImport:
    """Record an arXiv API run for the missing ids and hand it to the worker."""
    from papers.ingest.runs import start_run
    from papers.models import IngestionRun
    from papers.readers.tasks import fetch_imported_papers

    with transaction.atomic():
        run = start_run(IngestionRun.Source.API, {"id_list": arxiv_ids}, user=user)
        pending = LibraryImport.objects.create(user=user, arxiv_ids=arxiv_ids, run=run)
        transaction.on_commit(lambda: fetch_imported_papers.delay(pending.pk))
    return pending


def finish_import(import_id: int) -> int:
    """Run (or wait out) the import's ingestion, then star the papers it brought in."""
    from papers.ingest.runs import execute_run

    pending = LibraryImport.objects.select_related("user", "run").get(pk=import_id)
    if pending.finished:
        return pending.starred
    if pending.run_id:
        execute_run(pending.run_id)
    papers = list(Paper.objects.filter(arxiv_id__in=pending.arxiv_ids))
    pending.starred = star_papers(pending.user, papers)
    pending.finished = timezone.now()
    pending.save(update_fields=["starred", "finished"])
    return pending.starred
