"""Compile a parsed query and filters into Elasticsearch request bodies (plain dicts).

Mirrors tantivy_query clause for clause, so both backends match the same papers. Field names:
`title`, `abstract`, `text` (both, via copy_to) and `keywords` are English-stemmed, each with an
unstemmed `.exact` subfield for phrases; `authors` is analyzed names; codes are keywords.
"""

from typing import Any

from search.analysis import is_compound
from search.fields import AUTHORS, PLAIN_FIELDS, TEXT
from search.query import (
    ABSTRACT,
    ALL,
    AUTHOR,
    CATEGORY,
    KEYWORDS,
    TITLE,
    AnyOf,
    Clause,
    ParsedQuery,
    Phrase,
    SearchFilters,
)
from search.spelling import MAX_EDITS, MIN_WORD_LENGTH

TEXT_FIELDS = {ALL: TEXT, TITLE: "title", ABSTRACT: "abstract", KEYWORDS: "keywords"}
SOURCE_FIELDS = ["arxiv_id", "title", "abstract"]
FACET_SIZE = 1000
# Unstemmed title and abstract words: the vocabulary spelling suggestions come from.
VOCABULARY_FIELD = "text.exact"
CLOSE_WORDS_SIZE = 10

Json = dict[str, Any]


def compile_query(
    query: ParsedQuery,
    filters: SearchFilters,
    stemming: bool = True,
    bonus: float | None = None,
    *,
    match_all: bool = False,
    rank_only: bool = False,
) -> Json:
    """The `query` part of a request (see TantivyQueryCompiler.compile for the modes)."""
    must: list[Json] = []
    filter_ = compile_filters(filters)
    if query.arxiv_id is not None:
        filter_.append({"term": {"arxiv_id": query.arxiv_id}})
    elif query.matches_everything:
        must.append({"match_all": {}})
    must += [compile_clause(c, stemming) for c in query.required]
    words = [compile_clause(c, stemming) for c in query.optional]
    should: list[Json] = []
    if words and match_all:
        must += words
    elif words and rank_only:
        should = words  # next to a filter none of them is required
        if not (must or filter_):
            filter_.append({"match_all": {}})
    elif words:
        if must or filter_:
            # Next to must/filter clauses a should clause is optional; one plain word must match.
            must.append(_any(words))
        else:
            should = words
    if not (must or filter_ or should):
        return {"match_none": {}}
    if bonus and not match_all and words:
        every = [compile_clause(c, stemming) for c in query.optional]
        should.append({"constant_score": {"filter": {"bool": {"must": every}}, "boost": bonus}})
    body: Json = {}
    for key, clauses in (("must", must), ("filter", filter_), ("should", should)):
        if clauses:
            body[key] = clauses
    if query.exclude:
        body["must_not"] = [compile_clause(c, stemming) for c in query.exclude]
    return {"bool": body}


def compile_filters(filters: SearchFilters) -> list[Json]:
    out: list[Json] = []
    if filters.categories:
        name = "categories" if filters.cross_lists else "primary_category"
        out.append({"terms": {name: list(filters.categories)}})
    if filters.arxiv_ids:
        out.append({"terms": {"arxiv_id": list(filters.arxiv_ids)}})
    if filters.date_from or filters.date_to:
        bounds = {}
        if filters.date_from:
            bounds["gte"] = filters.date_from.isoformat()
        if filters.date_to:
            bounds["lte"] = filters.date_to.isoformat()
        out.append({"range": {"announced": bounds}})
    return out


def compile_clause(node: Clause, stemming: bool = True) -> Json:
    if isinstance(node, AnyOf):
        return _any([compile_clause(o, stemming) for o in node.options])
    if node.field == CATEGORY:
        codes = [{"term": {"categories": node.text}}, {"term": {"archives": node.text}}]
        return {"bool": {"filter": [{"bool": {"should": codes}}]}}
    phrase = isinstance(node, Phrase) or is_compound(node.text)
    if node.field == AUTHOR:
        return _match(AUTHORS, node.text, phrase)
    exact = phrase or node.exact or not stemming
    if node.field != ALL:
        name = TEXT_FIELDS[node.field]
        return _match(f"{name}.exact" if exact else name, node.text, phrase)
    parts = []
    for name, boost in PLAIN_FIELDS.items():
        if boost <= 0:
            continue
        field_name = name if name == AUTHORS or not exact else f"{name}.exact"
        parts.append(_match(field_name, node.text, phrase, boost))
    return _any(parts)


def _match(field_name: str, text: str, phrase: bool, boost: float = 1.0) -> Json:
    match: Json = {"query": text}
    if boost != 1.0:
        match["boost"] = boost
    return {"match_phrase" if phrase else "match": {field_name: match}}


def _any(clauses: list[Json]) -> Json:
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses}}


def search_body(
    query: Json, offset: int, limit: int, newest: bool = False, source: bool = True
) -> Json:
    """A search request for one page of hits with the exact total."""
    body: Json = {
        "query": query,
        "from": offset,
        "size": limit,
        "track_total_hits": True,
        "_source": SOURCE_FIELDS if source else False,
    }
    if newest:
        body["sort"] = [{"recency": {"order": "desc"}}]
    return body


def facets_body(query: Json) -> Json:
    return {
        "query": query,
        "size": 0,
        "track_total_hits": False,
        "aggs": {
            "categories": {"terms": {"field": "categories", "size": FACET_SIZE}},
            "years": {"terms": {"field": "year", "size": FACET_SIZE}},
        },
    }


def word_counts_body(words: list[str]) -> Json:
    """How many papers there are, how many contain each word and how many have it in an author
    name (one filters bucket each)."""
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"match_all": {}},
        "aggs": {
            "words": {"filters": {"filters": {w: {"term": {VOCABULARY_FIELD: w}} for w in words}}},
            "names": {"filters": {"filters": {w: {"match": {AUTHORS: w}} for w in words}}},
        },
    }


def close_words_body(words: list[str]) -> Json:
    """A term suggester per word (named w0, w1, ...) listing indexed words a few edits away."""
    suggest = {
        f"w{i}": {
            "text": word,
            "term": {
                "field": VOCABULARY_FIELD,
                "suggest_mode": "always",
                "max_edits": MAX_EDITS,
                "prefix_length": 1,
                "min_word_length": MIN_WORD_LENGTH,
                "string_distance": "damerau_levenshtein",
                "size": CLOSE_WORDS_SIZE,
                # The default leaves out words in over 1% of papers; callers ask about rare ones.
                "max_term_freq": 2**31 - 1,
            },
        }
        for i, word in enumerate(words)
    }
    return {"size": 0, "track_total_hits": False, "suggest": suggest}
