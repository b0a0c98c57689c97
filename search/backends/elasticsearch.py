"""The Elasticsearch backend (official client, 8 or 9).

Readers and writers go through an alias (SEARCH_BACKENDS[...]["INDEX"], default `papers`) that
points at one concrete index `papers-<stamp>`. A rebuild fills a new concrete index, then swaps
the alias in one atomic request and deletes the old index: searches never see a gap.
"""

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import elastic_transport
from django.conf import settings
from elasticsearch import ApiError, Elasticsearch, NotFoundError
from elasticsearch.helpers import BulkIndexError, streaming_bulk

from papers.models import Paper
from search.backends.base import (
    ALL_TERMS_BONUS,
    Candidate,
    Facets,
    FetchedPage,
    SearchBackend,
    SearchError,
    SearchHit,
    SearchRequest,
    SearchUnavailable,
    Sort,
    unbonused,
)
from search.backends.elasticsearch_query import (
    close_words_body,
    compile_query,
    facets_body,
    search_body,
    word_counts_body,
)
from search.documents import PaperDocument
from search.highlight import Highlighter
from search.query import STOPWORDS, archive_of
from search.spelling import CloseWords, WordCounts


def index_body() -> dict[str, Any]:
    """Settings and mappings of a papers index (analysis mirrors search.analysis)."""
    english = {"type": "text", "analyzer": "paper_english"}
    exact = {"type": "text", "analyzer": "paper_exact"}
    stemmed_with_exact = {**english, "fields": {"exact": exact}}
    return {
        "settings": {
            "index": {"max_result_window": settings.SEARCH_MAX_RESULT_WINDOW},
            "analysis": {
                "filter": {
                    "paper_stop": {"type": "stop", "stopwords": sorted(STOPWORDS)},
                    # Snowball English, the stemmer tantivy's "english" filter uses.
                    "paper_stemmer": {"type": "stemmer", "language": "porter2"},
                },
                "analyzer": {
                    "paper_english": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["lowercase", "paper_stop", "paper_stemmer"],
                    },
                    "paper_exact": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["lowercase"],
                    },
                    "paper_names": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding"],
                    },
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "arxiv_id": {"type": "keyword"},
                "title": {**stemmed_with_exact, "copy_to": ["text"]},
                "abstract": {**stemmed_with_exact, "copy_to": ["text"]},
                "text": stemmed_with_exact,
                "keywords": stemmed_with_exact,
                "authors": {"type": "text", "analyzer": "paper_names"},
                "categories": {"type": "keyword"},
                "primary_category": {"type": "keyword"},
                "archives": {"type": "keyword"},
                "announced": {"type": "date", "format": "strict_date"},
                "year": {"type": "integer"},
                "recency": {"type": "long"},
                "changed": {"type": "long"},
            },
        },
    }


# Fields added to the mapping after the first release, put into older indexes on first write.
ADDED_FIELDS = ("changed",)
# Documents per page when listing the whole index (markers()).
SCAN_PAGE = 5000


def es_document(doc: PaperDocument) -> dict[str, Any]:
    announced = doc["announced"]
    return {
        "arxiv_id": doc["arxiv_id"],
        "title": doc["title"],
        "abstract": doc["abstract"],
        "keywords": doc["keywords"],
        "authors": doc["authors"],
        "categories": doc["categories"],
        "primary_category": doc["primary_category"] or None,
        "archives": list(dict.fromkeys(archive_of(c) for c in doc["categories"])),
        "announced": announced.isoformat() if announced else None,
        "year": doc["year"],
        "recency": doc["recency"],
        "changed": doc.get("changed", 0),
    }


class ElasticsearchBackend(SearchBackend):
    def __init__(self, alias: str, params: dict[str, Any]):
        super().__init__(alias, params)
        self.index_alias: str = params.get("INDEX", "papers")
        self.chunk_size: int = params.get("CHUNK_SIZE", settings.SEARCH_INDEX_CHUNK_SIZE)
        self._mapping_current = False

    @cached_property
    def client(self) -> Elasticsearch:
        """For searches: attempts and timeouts within the web worker's budget, so a hung
        cluster becomes SearchUnavailable (a 503) before gunicorn kills the worker."""
        options = {
            "request_timeout": settings.SEARCH_ENGINE_TIMEOUT,
            "max_retries": settings.SEARCH_ENGINE_RETRIES,
            "retry_on_timeout": True,
            **self.params.get("OPTIONS", {}),
        }
        return Elasticsearch(self.params.get("URLS", ["http://127.0.0.1:9200"]), **options)

    @cached_property
    def writer(self) -> Elasticsearch:
        """For indexing (workers and commands, no request waiting): longer and more patient."""
        return self.client.options(request_timeout=60, max_retries=3, retry_on_timeout=True)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn transport failures into SearchUnavailable and other API errors into SearchError."""
        try:
            yield
        except elastic_transport.TransportError as exc:
            raise SearchUnavailable(f"Elasticsearch is unreachable: {exc}") from exc
        except ApiError as exc:
            if exc.meta.status >= 500 or exc.meta.status == 429:
                raise SearchUnavailable(f"Elasticsearch is unavailable: {exc}") from exc
            raise SearchError(f"Elasticsearch refused the request: {exc}") from exc
        except BulkIndexError as exc:
            raise SearchError(f"Elasticsearch rejected documents: {exc.errors[:3]}") from exc

    # --- Writing ---------------------------------------------------------------------------

    def _new_index(self) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
        name = f"{self.index_alias}-{stamp}-{uuid.uuid4().hex[:8]}"
        self.writer.indices.create(index=name, **index_body())
        return name

    def _ensure_index(self) -> None:
        if not self.writer.indices.exists(index=self.index_alias):
            name = self._new_index()
            self.writer.indices.put_alias(index=name, name=self.index_alias)
        elif not self._mapping_current:
            # An index made before a field was added (the mapping is strict): adding fields to a
            # mapping is allowed; documents indexed before lack them until reconciled.
            added = {name: index_body()["mappings"]["properties"][name] for name in ADDED_FIELDS}
            self.writer.indices.put_mapping(index=self.index_alias, properties=added)
        self._mapping_current = True

    def _bulk(self, index: str, documents: Iterable[PaperDocument]) -> int:
        actions = (
            {"_index": index, "_id": doc["arxiv_id"], "_source": es_document(doc)}
            for doc in documents
        )
        written = 0
        for ok, _ in streaming_bulk(self.writer, actions, chunk_size=self.chunk_size):
            written += ok
        return written

    def index(self, papers: Iterable[Paper | PaperDocument]) -> int:
        documents = list(self._documents(papers))
        if not documents:
            return 0
        with self._errors():
            self._ensure_index()
            written = self._bulk(self.index_alias, documents)
            self.writer.indices.refresh(index=self.index_alias)
        return written

    def delete(self, arxiv_ids: Iterable[str]) -> None:
        ids = list(arxiv_ids)
        if not ids:
            return
        with self._errors():
            if not self.writer.indices.exists(index=self.index_alias):
                return
            actions = ({"_op_type": "delete", "_index": self.index_alias, "_id": i} for i in ids)
            for ok, item in streaming_bulk(
                self.writer, actions, chunk_size=self.chunk_size, raise_on_error=False
            ):
                if not ok and item.get("delete", {}).get("status") != 404:
                    raise SearchError(f"Elasticsearch could not delete: {item}")
            self.writer.indices.refresh(index=self.index_alias)

    def _live_indices(self) -> list[str]:
        try:
            return list(self.writer.indices.get_alias(name=self.index_alias))
        except NotFoundError:
            return []

    def _rebuild(self, documents: Iterable[PaperDocument]) -> int:
        with self._errors():
            new = self._new_index()
            try:
                written = self._bulk(new, documents)
                self.writer.indices.refresh(index=new)
            except BaseException:
                self.writer.indices.delete(index=new, ignore_unavailable=True)
                raise
            old = self._live_indices()
            actions: list[dict[str, Any]] = [
                {"remove": {"index": name, "alias": self.index_alias}} for name in old
            ]
            if not old and self.writer.indices.exists(index=self.index_alias):
                # A concrete index squatting on the alias name (made outside this backend).
                actions.append({"remove_index": {"index": self.index_alias}})
            actions.append({"add": {"index": new, "alias": self.index_alias}})
            self.writer.indices.update_aliases(actions=actions)
            for name in old:
                self.writer.indices.delete(index=name, ignore_unavailable=True)
        return written

    def markers(self, arxiv_ids: list[str] | None = None) -> Iterator[tuple[str, int]]:
        """Every document's id and marker, a page at a time with search_after on the id."""
        if arxiv_ids == []:
            return
        query = {"match_all": {}} if arxiv_ids is None else {"terms": {"arxiv_id": arxiv_ids}}
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": SCAN_PAGE,
                "query": query,
                "sort": [{"arxiv_id": "asc"}],
                "_source": ["changed"],
            }
            if after is not None:
                body["search_after"] = after
            response = self._search(body)
            hits = (response or {}).get("hits", {}).get("hits", [])
            for hit in hits:
                yield hit["_id"], int((hit.get("_source") or {}).get("changed") or 0)
            if len(hits) < SCAN_PAGE:
                return
            after = hits[-1]["sort"]

    def clear(self) -> None:
        with self._errors():
            for name in self._live_indices():
                self.writer.indices.delete(index=name, ignore_unavailable=True)
            self.writer.indices.delete(index=self.index_alias, ignore_unavailable=True)

    # --- Reading ---------------------------------------------------------------------------

    def _query(
        self, request: SearchRequest, bonus: float | None = None, rank_only: bool = False
    ) -> dict[str, Any]:
        return compile_query(
            request.query,
            request.filters,
            self.stemming,
            bonus,
            match_all=request.match_all,
            rank_only=rank_only,
        )

    def _search(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The response, or None when the index does not exist yet."""
        with self._errors():
            try:
                return self.client.search(index=self.index_alias, **body).body
            except NotFoundError:
                return None

    def _fetch(self, request: SearchRequest, offset: int, limit: int) -> FetchedPage:
        newest = request.sort == Sort.NEWEST
        tiered = not newest and not request.match_all and bool(request.query.optional)
        query = self._query(request, ALL_TERMS_BONUS if tiered else None)
        response = self._search(search_body(query, offset, limit, newest=newest))
        if response is None:
            return FetchedPage(0, [])
        highlighter = Highlighter(request.query)
        hits = []
        for hit in response["hits"]["hits"]:
            score, all_terms = unbonused(hit["_score"] or 0.0) if tiered else (hit["_score"], True)
            hits.append(
                SearchHit(
                    hit["_id"],
                    None if newest else score,
                    hit["_source"].get("title") or "",
                    hit["_source"].get("abstract") or "",
                    highlighter,
                    all_terms,
                )
            )
        return FetchedPage(response["hits"]["total"]["value"], hits)

    def _count(self, request: SearchRequest) -> int:
        with self._errors():
            try:
                response = self.client.count(index=self.index_alias, query=self._query(request))
                return response["count"]
            except NotFoundError:
                return 0

    def _facets(self, request: SearchRequest) -> Facets:
        response = self._search(facets_body(self._query(request)))
        if response is None:
            return Facets()
        aggregations = response["aggregations"]
        return Facets(
            categories={b["key"]: b["doc_count"] for b in aggregations["categories"]["buckets"]},
            years={int(b["key"]): b["doc_count"] for b in aggregations["years"]["buckets"]},
        )

    def _candidates(self, request: SearchRequest, limit: int) -> list[Candidate]:
        body = search_body(self._query(request), 0, limit, source=False)
        body["track_total_hits"] = False
        response = self._search(body)
        if response is None:
            return []
        return [Candidate(hit["_id"], hit["_score"]) for hit in response["hits"]["hits"]]

    def _score_papers(self, request: SearchRequest, limit: int) -> list[Candidate]:
        query = self._query(request, ALL_TERMS_BONUS, rank_only=True)
        body = search_body(query, 0, limit, source=False)
        body["track_total_hits"] = False
        response = self._search(body)
        if response is None:
            return []
        return [
            Candidate(hit["_id"], *unbonused(hit["_score"] or 0.0))
            for hit in response["hits"]["hits"]
        ]

    def _word_counts(self, words: list[str]) -> WordCounts:
        response = self._search(word_counts_body(words))
        if response is None:
            return WordCounts(0, {})
        aggregations = response["aggregations"]
        counts = {word: aggregations["words"]["buckets"][word]["doc_count"] for word in words}
        names = {w for w in words if aggregations["names"]["buckets"][w]["doc_count"]}
        return WordCounts(response["hits"]["total"]["value"], counts, frozenset(names))

    def _close_words(self, words: list[str]) -> CloseWords:
        response = self._search(close_words_body(words))
        if response is None:
            return {}
        suggestions = response.get("suggest", {})
        return {
            word: {
                option["text"]: option["freq"]
                for entry in suggestions.get(f"w{i}", [])
                for option in entry["options"]
            }
            for i, word in enumerate(words)
        }
