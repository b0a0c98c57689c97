"""Compile a parsed query and filters into a tantivy Query (mirrors elasticsearch_query)."""

import datetime as dt

from tantivy import FieldType, Occur, Query, Schema

from search.analysis import ENGLISH, EXACT, NAMES, analyzer, is_compound
from search.fields import AUTHORS, PLAIN_FIELDS
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

# Query field -> (stemmed index field, unstemmed index field).
TEXT_FIELDS = {
    ALL: ("text", "text_exact"),
    TITLE: ("title", "title_exact"),
    ABSTRACT: ("abstract", "abstract_exact"),
    KEYWORDS: ("keywords", "keywords_exact"),
}


class TantivyQueryCompiler:
    def __init__(self, schema: Schema, stemming: bool = True):
        self.schema = schema
        self.stemming = stemming

    def compile(
        self,
        query: ParsedQuery,
        filters: SearchFilters,
        *,
        match_all: bool = False,
        bonus: float | None = None,
        rank_only: bool = False,
    ) -> Query:
        """The whole query.

        - `match_all`: every plain word must match (counts, newest first, feeds);
        - otherwise one plain word is enough, and with `bonus` papers matching every plain word
          score that much more (the all-words tier: callers read it back from the score);
        - `rank_only`: plain words only score, none needs to match (scoring given candidates).
        """
        must: list[Query] = self.filters(filters)
        if query.arxiv_id is not None:
            must.append(Query.term_query(self.schema, "arxiv_id", query.arxiv_id))
        elif query.matches_everything:
            must.append(Query.all_query())
        must += [self.clause(c) or Query.empty_query() for c in query.required]
        words = [q for q in (self.clause(c) for c in query.optional) if q is not None]
        should: list[Query] = []
        if words and match_all:
            must += words
        elif words and rank_only:
            should = words
            must = must or [Query.all_query()]
        elif words:
            if must:
                must.append(_any(words))
            else:
                should = words
        clauses = [(Occur.Must, q) for q in must] + [(Occur.Should, q) for q in should]
        if not clauses:
            return Query.empty_query()
        if bonus and not match_all and words:
            every = [q for q in (self.clause(c) for c in query.optional) if q is not None]
            clauses.append((Occur.Should, Query.const_score_query(_all(every), bonus)))
        for node in query.exclude:
            if (excluded := self.clause(node)) is not None:
                clauses.append((Occur.MustNot, excluded))
        return Query.boolean_query(clauses)

    def filters(self, filters: SearchFilters) -> list[Query]:
        out = []
        if filters.arxiv_ids:
            ids = list(filters.arxiv_ids)
            out.append(_unscored(Query.term_set_query(self.schema, "arxiv_id", ids)))
        if filters.categories:
            name = "categories" if filters.cross_lists else "primary_category"
            codes = list(filters.categories)
            out.append(_unscored(Query.term_set_query(self.schema, name, codes)))
        if filters.date_from or filters.date_to:
            out.append(
                _unscored(
                    Query.range_query(
                        self.schema,
                        "announced",
                        FieldType.Date,
                        _datetime(filters.date_from) if filters.date_from else None,
                        _datetime(filters.date_to) if filters.date_to else None,
                    )
                )
            )
        return out

    def clause(self, node: Clause) -> Query | None:
        """One clause; None when it has no searchable tokens (punctuation, a lone stop word)."""
        if isinstance(node, AnyOf):
            options = [q for q in (self.clause(o) for o in node.options) if q is not None]
            return _any(options) if options else None
        if node.field == CATEGORY:
            return _unscored(
                _any(
                    [
                        Query.term_query(self.schema, f, node.text)
                        for f in ("categories", "archives")
                    ]
                )
            )
        if node.field == AUTHOR:
            return self._match(AUTHORS, NAMES, node.text, isinstance(node, Phrase))
        # A hyphenated compound ("text-to-speech") is a phrase: its parts in that order.
        phrase = isinstance(node, Phrase) or is_compound(node.text)
        exact = phrase or node.exact or not self.stemming
        if node.field != ALL:
            names = TEXT_FIELDS[node.field]
            return self._match(
                names[1] if exact else names[0], EXACT if exact else ENGLISH, node.text, phrase
            )
        parts = []
        for name, boost in PLAIN_FIELDS.items():
            if boost <= 0:
                continue
            if name == AUTHORS:
                field_name, analyzer_name = AUTHORS, NAMES
            else:
                field_name = f"{name}_exact" if exact else name
                analyzer_name = EXACT if exact else ENGLISH
            part = self._match(field_name, analyzer_name, node.text, phrase)
            if part is not None:
                parts.append(part if boost == 1.0 else Query.boost_query(part, boost))
        return _any(parts) if parts else None

    def _match(self, field_name: str, analyzer_name: str, text: str, phrase: bool) -> Query | None:
        if phrase:
            tokens = analyzer(analyzer_name).pre_tokenize(text).tokens
            if len(tokens) >= 2:
                words = [(t.position - tokens[0].position, t.text) for t in tokens]
                return Query.phrase_query(self.schema, field_name, words)
            texts = [t.text for t in tokens]
        else:
            texts = analyzer(analyzer_name).analyze(text)
        if not texts:
            return None
        return _any([Query.term_query(self.schema, field_name, t) for t in texts])


def _any(queries: list[Query]) -> Query:
    if not queries:
        return Query.empty_query()  # a word with no tokens matches nothing, as in Elasticsearch
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Should, q) for q in queries])


def _all(queries: list[Query]) -> Query:
    if not queries:
        return Query.empty_query()
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Must, q) for q in queries])


def _unscored(query: Query) -> Query:
    return Query.const_score_query(query, 0.0)


# tantivy keeps dates as nanoseconds in an int64: about 1677-09-22 to 2262-04-11. Filter bounds
# outside that are clamped, which matches exactly the same papers.
_EARLIEST, _LATEST = dt.date(1678, 1, 1), dt.date(2262, 1, 1)


def _datetime(day: dt.date) -> dt.datetime:
    day = min(max(day, _EARLIEST), _LATEST)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
