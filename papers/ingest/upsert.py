"""The one upsert every source uses: keyed on the arXiv id, idempotent, a batch per transaction."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, connection, models, transaction
from django.utils import timezone

from papers.ingest.records import PaperRecord
from papers.models import Author, Authorship, Category, Paper, PaperVersion
from papers.names import author_key
from papers.taxonomy import CATEGORIES, group_of

# Fields a record sets when it is at least as new as what we have. Empty values never erase:
# an RSS entry has no journal reference, which does not mean the paper lost it.
_TEXT_FIELDS = ("title", "abstract", "comment", "journal_ref", "doi", "other_classes")
# Fields whose change makes a paper's keywords, tags and vector stale.
_ENRICHED_FROM = {"title", "abstract"}


@dataclass
class UpsertResult:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> list[str]:
        """Ids whose search document or enrichment must be redone."""
        return self.new + self.updated

    def add(self, other: "UpsertResult") -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged


# Tries of a batch that raced another writer inserting the same papers (PostgreSQL).
_ATTEMPTS = 3


def upsert_records(records: Sequence[PaperRecord]) -> UpsertResult:
    """Insert new papers and merge changes into known ones, all or nothing for this batch.

    Safe while another process upserts the same ids: on PostgreSQL a paper the other
    transaction inserted first makes this one's insert fail; the batch is then rolled back to
    its savepoint and done again, now merging into the row the other one committed. Rows are
    written in id order, so two batches never wait on each other's locks in a cycle. (SQLite
    runs one write transaction at a time, so there the race cannot happen.)
    """
    records = sorted(_latest_per_id(records), key=lambda r: r.arxiv_id)
    if not records:
        return UpsertResult()
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _upsert(records)
        except (IntegrityError, OperationalError) as exc:
            if attempt == _ATTEMPTS or not _is_race(exc):
                raise
    raise AssertionError("unreachable")


def _is_race(exc: Exception) -> bool:
    """A unique violation or a deadlock: what a writer racing this one causes."""
    if isinstance(exc, IntegrityError):
        return True
    cause = exc.__cause__
    return type(cause).__name__ in {"DeadlockDetected", "SerializationFailure"}


def _upsert(records: list[PaperRecord]) -> UpsertResult:
    result = UpsertResult()
    with transaction.atomic():
        _ensure_categories({c for r in records for c in r.categories})
        existing = Paper.objects.in_bulk([r.arxiv_id for r in records], field_name="arxiv_id")
        to_create, to_update = [], []
        authors_new, authors_replaced, categories_new, categories_replaced = [], [], [], []
        update_fields: set[str] = set()
        for record in records:
            paper = existing.get(record.arxiv_id)
            if paper is None:
                paper = _new_paper(record)
                to_create.append(paper)
                authors_new.append(paper)
                categories_new.append(paper)
                continue
            changes = _merge(paper, record)
            if not changes:
                result.unchanged += 1
                continue
            if changes & _ENRICHED_FROM:
                # Keywords, tags and the vector describe the old text: enrich the paper again.
                paper.enriched_version = paper.embedded_with = ""
                changes |= {"enriched_version", "embedded_with"}
            to_update.append(paper)
            update_fields.update(changes)
            if "author_names" in changes:
                authors_replaced.append(paper)
            if "category_codes" in changes:
                categories_replaced.append(paper)
        Paper.objects.bulk_create(to_create)
        if to_update:
            # bulk_update writes the instances' values as they are: auto_now is not applied, and
            # the rebuild's late-change pass, reconciliation and Atom "updated" read this field.
            now = timezone.now()
            for paper in to_update:
                paper.updated_at = now
            Paper.objects.bulk_update(to_update, sorted(update_fields | {"updated_at"}))
        _write_authors(authors_new, authors_replaced)
        _write_categories(categories_new, categories_replaced)
        _write_versions(records, {p.arxiv_id: p for p in [*existing.values(), *to_create]})
        result.new = [p.arxiv_id for p in to_create]
        result.updated = [p.arxiv_id for p in to_update]
    return result


def upsert_in_batches(records: Iterable[PaperRecord], batch_size: int = 500) -> UpsertResult:
    total = UpsertResult()
    batch: list[PaperRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            total.add(upsert_records(batch))
            batch = []
    total.add(upsert_records(batch))
    return total


def _latest_per_id(records: Sequence[PaperRecord]) -> list[PaperRecord]:
    latest: dict[str, PaperRecord] = {}
    for record in records:
        seen = latest.get(record.arxiv_id)
        if seen is None or (record.version or 0) >= (seen.version or 0):
            if seen is not None and record.version == seen.version:
                record.categories = _union(seen.categories, record.categories)
            latest[record.arxiv_id] = record
    return list(latest.values())


def _union(first: list[str], second: list[str]) -> list[str]:
    return first + [c for c in second if c not in first]


def _ensure_categories(codes: set[str]) -> None:
    Category.objects.bulk_create(
        [Category(code=c, name=CATEGORIES[c], group=group_of(c)) for c in sorted(codes)],
        ignore_conflicts=True,
    )


def _new_paper(record: PaperRecord) -> Paper:
    return Paper(
        arxiv_id=record.arxiv_id,
        version=record.version or 1,
        title=record.title,
        abstract=record.abstract,
        author_names=record.authors,
        primary_category_id=record.categories[0],
        category_codes=record.categories,
        categories_complete=record.categories_complete,
        other_classes=record.other_classes,
        comment=record.comment,
        journal_ref=record.journal_ref,
        doi=record.doi,
        submitted=record.submitted,
        updated=record.updated or record.submitted,
        announced=record.announced,
        withdrawn=record.withdrawn,
    )


def _merge(paper: Paper, record: PaperRecord) -> set[str]:
    """Apply what the record knows that the paper lacks; return the names of changed fields."""
    new: dict[str, object] = {}
    newer = record.version is not None and record.version > paper.version
    stale = record.version is not None and record.version < paper.version
    if not stale:
        for name in _TEXT_FIELDS:
            value = getattr(record, name)
            if value:
                new[name] = value
        if record.authors:
            new["author_names"] = record.authors
        if record.version is not None:
            new["version"] = record.version
        if record.updated and (paper.updated is None or record.updated > paper.updated):
            new["updated"] = record.updated
        new["withdrawn"] = record.withdrawn if newer else paper.withdrawn or record.withdrawn
    # A newer version may recategorise a paper; otherwise a record (a cross-list) only adds.
    codes = record.categories if newer else _union(paper.category_codes, record.categories)
    new["category_codes"] = codes
    new["primary_category_id"] = codes[0]
    new["categories_complete"] = paper.categories_complete or record.categories_complete
    if record.submitted and (paper.submitted is None or record.submitted < paper.submitted):
        new["submitted"] = record.submitted
    if record.announced and (paper.announced is None or record.announced < paper.announced):
        new["announced"] = record.announced
    changed = {name for name, value in new.items() if getattr(paper, name) != value}
    for name in changed:
        setattr(paper, name, new[name])
    return changed


def _write_authors(new: list[Paper], replaced: list[Paper]) -> None:
    papers = new + replaced
    if not papers:
        return
    # Keys are computed once per distinct name: folding accents is the costly part of a load.
    keys = {name: author_key(name) for p in papers for name in p.author_names}
    names_by_key = {key: name for name, key in sorted(keys.items(), key=lambda kv: kv[1]) if key}
    _insert_ignoring_duplicates(Author, ["key", "name"], list(names_by_key.items()))
    ids: dict[str, int] = {}
    key_list = list(names_by_key)
    for start in range(0, len(key_list), _MAX_PARAMS):
        chunk = key_list[start : start + _MAX_PARAMS]
        ids.update(Author.objects.filter(key__in=chunk).values_list("key", "id"))
    if replaced:
        Authorship.objects.filter(paper__in=replaced).delete()
    rows = []
    for paper in papers:
        seen: set[str] = set()
        for name in paper.author_names:
            key = keys[name]
            if not key or key in seen:
                continue
            seen.add(key)
            rows.append((paper.pk, ids[key], len(seen) - 1))
    _insert(Authorship, ["paper", "author", "position"], rows)


def _write_categories(new: list[Paper], replaced: list[Paper]) -> None:
    papers = new + replaced
    if not papers:
        return
    through = Paper.categories.through
    if replaced:
        through.objects.filter(paper__in=replaced).delete()
    _insert(through, ["paper", "category"], [(p.pk, c) for p in papers for c in p.category_codes])


# Link rows go in with one executemany each: building a model instance per author and category
# row cost more than half of a load's time. Column names come from the models, so the SQL
# follows the schema; ON CONFLICT DO NOTHING is understood by SQLite and PostgreSQL alike.
_MAX_PARAMS = 900


def _insert(model: type[models.Model], fields: list[str], rows: list[tuple]) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_insert_sql(model, fields), rows)


def _insert_ignoring_duplicates(
    model: type[models.Model], fields: list[str], rows: list[tuple]
) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_insert_sql(model, fields) + " ON CONFLICT DO NOTHING", rows)


def _insert_sql(model: type[models.Model], fields: list[str]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"


def _write_versions(records: list[PaperRecord], papers: dict[str, Paper]) -> None:
    """Add the version rows we have not seen; an older version arriving late is history only."""
    rows = []
    for record in records:
        paper = papers[record.arxiv_id]
        versions = record.versions or (
            [(record.version, record.updated or record.submitted, "")] if record.version else []
        )
        rows += [PaperVersion(paper=paper, version=v, submitted=s, size=z) for v, s, z in versions]
    if not rows:
        return
    known = set(
        PaperVersion.objects.filter(paper__in={r.paper_id for r in rows}).values_list(
            "paper_id", "version"
        )
    )
    fresh = [r for r in rows if (r.paper_id, r.version) not in known]
    PaperVersion.objects.bulk_create(fresh, ignore_conflicts=True)


def mark_withdrawn(arxiv_ids: Sequence[str]) -> list[str]:
    """Mark papers a source reports as gone; they stay, so links and history keep working."""
    ids = list(
        Paper.objects.filter(arxiv_id__in=list(arxiv_ids), withdrawn=False).values_list(
            "arxiv_id", flat=True
        )
    )
    Paper.objects.filter(arxiv_id__in=ids).update(withdrawn=True, updated_at=timezone.now())
    return ids
