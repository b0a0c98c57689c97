"""Compile a parsed query and filters into a tantivy Query (mirrors elasticsearch_query)."""

import datetime as dt

from tantivy import FieldType, Occur, Query, Schema

from search.analysis import ENGLISH, EXACT, NAMES, analyzer
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
        self, query: ParsedQuery, filters: SearchFilters, bonus: float | None = None
    ) -> Query:
        """The whole query; with `bonus`, papers matching every plain word score that much more."""
        must: list[Query] = self.filters(filters)
        if query.arxiv_id is not None:
            must.append(Query.term_query(self.schema, "arxiv_id", query.arxiv_id))
        elif query.matches_everything:
            must.append(Query.all_query())
        must += [self.clause(c) for c in query.required]
        should = [self.clause(c) for c in query.optional]
        if should and must:
            must.append(_any(should))
            should = []
        clauses = [(Occur.Must, q) for q in must] + [(Occur.Should, q) for q in should]
        if not clauses:
            return Query.empty_query()
        if bonus and len(query.optional) > 1:
            every = [self.clause(c, every_word=True) for c in query.optional]
            tier = Query.const_score_query(_all(every), bonus)
            clauses.append((Occur.Should, tier))
        for node in query.exclude:
            clauses.append((Occur.MustNot, self.clause(node)))
        return Query.boolean_query(clauses)

    def filters(self, filters: SearchFilters) -> list[Query]:
        out = []
        if filters.categories:
            name = "categories" if filters.cross_lists else "primary_category"
            codes = list(filters.categories)
            out.append(_unscored(Query.term_set_query(self.schema, name, codes)))
        if filters.arxiv_ids:
            ids = list(filters.arxiv_ids)
            out.append(_unscored(Query.term_set_query(self.schema, "arxiv_id", ids)))
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

    def clause(self, node: Clause, every_word: bool = False) -> Query:
        """One clause; a word that analyzes to several tokens needs all of them if `every_word`."""
        if isinstance(node, AnyOf):
            return _any([self.clause(option, every_word) for option in node.options])
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
            field_name, analyzer_name = "authors", NAMES
        elif isinstance(node, Phrase) or node.exact or not self.stemming:
            field_name, analyzer_name = TEXT_FIELDS[node.field][1], EXACT
        else:
            field_name, analyzer_name = TEXT_FIELDS[node.field][0], ENGLISH
        if isinstance(node, Phrase):
            return self._phrase(field_name, analyzer_name, node.text)
        tokens = analyzer(analyzer_name).analyze(node.text)
        terms = [Query.term_query(self.schema, field_name, t) for t in tokens]
        return _all(terms) if every_word else _any(terms)

    def _phrase(self, field_name: str, analyzer_name: str, text: str) -> Query:
        tokens = analyzer(analyzer_name).pre_tokenize(text).tokens
        if len(tokens) < 2:
            return _any([Query.term_query(self.schema, field_name, t.text) for t in tokens])
        words = [(t.position - tokens[0].position, t.text) for t in tokens]
        return Query.phrase_query(self.schema, field_name, words)


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
