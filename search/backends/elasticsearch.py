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
            },
        },
    }


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
    }


class ElasticsearchBackend(SearchBackend):
    def __init__(self, alias: str, params: dict[str, Any]):
        super().__init__(alias, params)
        self.index_alias: str = params.get("INDEX", "papers")
        self.chunk_size: int = params.get("CHUNK_SIZE", settings.SEARCH_INDEX_CHUNK_SIZE)

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

    def clear(self) -> None:
        with self._errors():
            for name in self._live_indices():
                self.writer.indices.delete(index=name, ignore_unavailable=True)
            self.writer.indices.delete(index=self.index_alias, ignore_unavailable=True)

    # --- Reading ---------------------------------------------------------------------------

    def _query(self, request: SearchRequest, bonus: float | None) -> dict[str, Any]:
        return compile_query(request.query, request.filters, self.stemming, bonus)

    def _search(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The response, or None when the index does not exist yet."""
        with self._errors():
            try:
                return self.client.search(index=self.index_alias, **body).body
            except NotFoundError:
                return None

    def _fetch(self, request: SearchRequest, offset: int, limit: int) -> FetchedPage:
        newest = request.sort == Sort.NEWEST
        body = search_body(self._query(request, ALL_TERMS_BONUS), offset, limit, newest=newest)
        response = self._search(body)
        if response is None:
            return FetchedPage(0, [])
        highlighter = Highlighter(request.query)
        hits = [
            SearchHit(
                hit["_id"],
                None if newest else unbonused(hit["_score"]),
                hit["_source"].get("title") or "",
                hit["_source"].get("abstract") or "",
                highlighter,
            )
            for hit in response["hits"]["hits"]
        ]
        return FetchedPage(response["hits"]["total"]["value"], hits)

    def _count(self, request: SearchRequest) -> int:
        with self._errors():
            try:
                return self.client.count(index=self.index_alias, query=self._query(request, None))[
                    "count"
                ]
            except NotFoundError:
                return 0

    def _facets(self, request: SearchRequest) -> Facets:
        response = self._search(facets_body(self._query(request, None)))
        if response is None:
            return Facets()
        aggregations = response["aggregations"]
        return Facets(
            categories={b["key"]: b["doc_count"] for b in aggregations["categories"]["buckets"]},
            years={int(b["key"]): b["doc_count"] for b in aggregations["years"]["buckets"]},
        )

    def _candidates(self, request: SearchRequest, limit: int) -> list[Candidate]:
        body = search_body(self._query(request, None), 0, limit, source=False)
        body["track_total_hits"] = False
        response = self._search(body)
        if response is None:
            return []
        return [Candidate(hit["_id"], hit["_score"]) for hit in response["hits"]["hits"]]

    def _word_counts(self, words: list[str]) -> WordCounts:
        response = self._search(word_counts_body(words))
        if response is None:
            return WordCounts(0, {})
        buckets = response["aggregations"]["words"]["buckets"]
        counts = {word: buckets[word]["doc_count"] for word in words}
        return WordCounts(response["hits"]["total"]["value"], counts)

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
