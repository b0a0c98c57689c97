"""The search query language, parsed once into a small AST that each backend compiles.

Syntax (lenient: anything a user can type parses, nothing raises):

- plain words match title, abstract and author names (search.fields); a paper
  matches when it has every plain word (as arXiv's own search and Google Scholar do: counts,
  newest-first lists and feeds hold only those), while relevance ranking may add papers with
  some of the words or close in meaning below or among them (search.service);
- a hyphenated compound (`text-to-speech`, `GPT-4`) matches as a phrase;
- `"exact phrase"` (an unclosed quote runs to the end), `-word` / `-"phrase"` / `NOT word`
  excludes, `a OR b` matches either;
- field prefixes `ti:` `abs:` `au:` `cat:` `kw:` (a word or a quoted phrase after them);
- `year:2024`, `year:2020..2024`, `date:2025-03`, `date:2025-03-01..2025-03-15` (either end
  may be left open) filter by announcement date;
- a query that is just an arXiv id (`2505.24119`, `arXiv:2505.24119v2`, an abs URL) names
  that paper.

Phrases, fielded words and OR groups made only of those are always required; plain words are
required when matching all words (`match_all`), and only rank otherwise.
"""

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

from papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papers.taxonomy import CATEGORIES

ALL = "all"
TITLE = "ti"
ABSTRACT = "abs"
AUTHOR = "au"
CATEGORY = "cat"
KEYWORDS = "kw"
# Longer queries are cut (with a notice), not refused: they are pasted abstracts, not attacks.
MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32

# Lucene's English stop words (tantivy's Filter.stopword("english") is the same list).
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)


@dataclass(frozen=True)
class Term:
    """A word (or a hyphenated run like `covid-19`) matched through the field's analyzer."""

    text: str
    field: str = ALL
    # True for stop words kept because the query has nothing else: match them unstemmed.
    exact: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words that must appear adjacent and in order, matched unstemmed."""

    text: str
    field: str = ALL


@dataclass(frozen=True)
class AnyOf:
    """`a OR b OR ...`: at least one option matches."""

    options: tuple["Term | Phrase", ...]


Clause = Term | Phrase | AnyOf


def is_required(clause: Clause) -> bool:
    """Phrases and fielded clauses must always match; plain words only when matching all."""
    if isinstance(clause, AnyOf):
        return all(is_required(option) for option in clause.options)
    return isinstance(clause, Phrase) or clause.field != ALL


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    include: tuple[Clause, ...] = ()
    exclude: tuple[Term | Phrase, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    arxiv_id: str | None = None
    notices: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.include if is_required(c))

    @property
    def optional(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.include if not is_required(c))

    @property
    def matches_everything(self) -> bool:
        """No words to match: every paper passing the filters and exclusions is a result."""
        return not self.include and self.arxiv_id is None

    def leaves(self) -> list[Term | Phrase]:
        """The positive terms and phrases, for highlighting."""
        out: list[Term | Phrase] = []
        for clause in self.include:
            out.extend(clause.options if isinstance(clause, AnyOf) else [clause])
        return out


# --- Tokenizing ---------------------------------------------------------------------------

_FIELD_RE = re.compile(r"(ti|abs|au|cat|kw|year|date):", re.IGNORECASE)


@dataclass
class _Token:
    text: str
    quoted: bool = False
    negated: bool = False
    field: str = ALL
    operator: str = ""  # "OR" / "AND" / "NOT" for bare operators


def _clean(text: str) -> str:
    """Unicode-normalised text with control and format characters turned into spaces."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in "()":
            i += 1
            continue
        negated = False
        if ch == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
        field_name = ALL
        match = _FIELD_RE.match(text, i)
        if match and i + len(match.group(0)) < n and not text[i + len(match.group(0))].isspace():
            field_name = match.group(1).lower()
            i += len(match.group(0))
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end == -1 else end
            tokens.append(_Token(text[i + 1 : end], True, negated, field_name))
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] not in '()"':
            end += 1
        word = text[i:end]
        i = end
        if not negated and field_name == ALL and word in ("OR", "AND", "NOT", "|", "&&", "||"):
            tokens.append(
                _Token(word, operator={"|": "OR", "||": "OR", "&&": "AND"}.get(word, word))
            )
        elif word:
            tokens.append(_Token(word, False, negated, field_name))
    return tokens


# --- Dates --------------------------------------------------------------------------------

_YEAR_RE = re.compile(r"^(\d{4})?(?:(\.\.|-)(\d{4})?)?$")
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def _parse_day(text: str, end: bool) -> dt.date:
    """`2025`, `2025-03` or `2025-03-14`; a partial date means its first or last day."""
    match = _DATE_RE.match(text)
    if not match:
        raise ValueError(text)
    year = int(match[1])
    month = int(match[2]) if match[2] else (12 if end else 1)
    if match[3]:
        day = int(match[3])
    else:
        day = calendar.monthrange(year, month)[1] if end else 1
    return dt.date(year, month, day)  # raises ValueError for month 13 etc.


def _date_range(name: str, value: str) -> tuple[dt.date | None, dt.date | None]:
    if name == "year":
        match = _YEAR_RE.match(value)
        if not match or not (match[1] or match[3]) or (match[2] is None and not match[1]):
            raise ValueError(value)
        start, end = match[1], match[3] if match[2] else match[1]
        return (
            dt.date(int(start), 1, 1) if start else None,
            dt.date(int(end), 12, 31) if end else None,
        )
    start_text, sep, end_text = value.partition("..")
    if not sep:
        return _parse_day(value, end=False), _parse_day(value, end=True)
    if not start_text and not end_text:
        raise ValueError(value)
    return (
        _parse_day(start_text, end=False) if start_text else None,
        _parse_day(end_text, end=True) if end_text else None,
    )


def _narrow(
    current: tuple[dt.date | None, dt.date | None], new: tuple[dt.date | None, dt.date | None]
) -> tuple[dt.date | None, dt.date | None]:
    starts = [d for d in (current[0], new[0]) if d]
    ends = [d for d in (current[1], new[1]) if d]
    return (max(starts) if starts else None, min(ends) if ends else None)


# --- Parsing ------------------------------------------------------------------------------


def _leaf(token: _Token) -> Term | Phrase | None:
    text = " ".join(token.text.split())
    if not any(ch.isalnum() for ch in text):
        return None  # punctuation alone matches nothing in any analyzer
    if token.field == CATEGORY:
        return Term(canonical_category(text), CATEGORY)
    if token.quoted:
        return Phrase(text, token.field)
    return Term(text, token.field)


def archive_of(code: str) -> str:
    """The archive a category belongs to: `cs` for cs.LG, `hep-th` for hep-th."""
    return code.split(".")[0]


_CODES = {code.lower(): code for code in CATEGORIES} | {
    archive_of(code).lower(): archive_of(code) for code in CATEGORIES
}


def canonical_category(text: str) -> str:
    """`cs.lg` -> `cs.LG`; a whole archive (`cs`, `math`) stays an archive; unknown text as is."""
    return _CODES.get(text.lower(), text)


def _is_stopword_term(clause: Clause) -> bool:
    if not isinstance(clause, Term) or clause.field != ALL:
        return False
    words = re.findall(r"\w+", clause.text.lower())
    return all(w in STOPWORDS for w in words)


def parse_query(text: str) -> ParsedQuery:
    """Parse what a user typed; never raises, and says what it ignored in `notices`."""
    raw = text if isinstance(text, str) else str(text)
    notices: list[str] = []
    cleaned = _clean(raw).strip()
    if len(cleaned) > MAX_QUERY_CHARS:
        cleaned = cleaned[:MAX_QUERY_CHARS]
        notices.append(f"The query was cut to its first {MAX_QUERY_CHARS} characters.")
    try:
        arxiv_id = parse_arxiv_id(cleaned).id if cleaned else None
    except InvalidArxivId:
        arxiv_id = None
    if arxiv_id:
        return ParsedQuery(raw=raw, arxiv_id=arxiv_id)

    include: list[Clause] = []
    exclude: list[Term | Phrase] = []
    dates: tuple[dt.date | None, dt.date | None] = (None, None)
    pending_or = False
    pending_not = False
    for token in _tokenize(cleaned):
        if token.operator == "OR":
            pending_or = bool(include)
            continue
        if token.operator == "AND":
            continue
        if token.operator == "NOT":
            pending_not = True
            continue
        if token.field in ("year", "date"):
            try:
                dates = _narrow(dates, _date_range(token.field, token.text.strip()))
            except ValueError:
                notices.append(
                    f"Ignored {token.field}:{token.text}, which is not a valid {token.field}."
                )
            pending_or = pending_not = False
            continue
        leaf = _leaf(token)
        if leaf is None:
            pending_or = pending_not = False
            continue
        if token.negated or pending_not:
            exclude.append(leaf)
            pending_or = pending_not = False
            continue
        if pending_or:
            previous = include.pop()
            options = previous.options if isinstance(previous, AnyOf) else (previous,)
            include.append(AnyOf((*options, leaf)))
            pending_or = False
            continue
        include.append(leaf)

    # Stop words are noise next to other words; alone ("the who") they are the query.
    if any(not _is_stopword_term(c) for c in include):
        include = [c for c in include if not _is_stopword_term(c)]
    else:
        include = [Term(c.text, ALL, exact=True) for c in include]  # type: ignore[union-attr]
    if len(include) + len(exclude) > MAX_CLAUSES:
        notices.append(f"Only the first {MAX_CLAUSES} terms of the query were used.")
        include = include[:MAX_CLAUSES]
        exclude = exclude[: max(0, MAX_CLAUSES - len(include))]
    if dates[0] and dates[1] and dates[0] > dates[1]:
        notices.append("The date range ends before it starts, so nothing can match it.")
    return ParsedQuery(
        raw=raw,
        include=tuple(include),
        exclude=tuple(exclude),
        date_from=dates[0],
        date_to=dates[1],
        notices=tuple(notices),
    )


@dataclass(frozen=True)
class SearchFilters:
    """Filters chosen outside the query text (facets, form fields)."""

    categories: tuple[str, ...] = ()
    # False: only papers whose primary category is one of `categories`.
    cross_lists: bool = True
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    # Non-empty: only these papers (canonical arXiv ids, no version): /api/query's id_list,
    # hybrid candidates.
    arxiv_ids: tuple[str, ...] = ()

    def merged_with(self, query: ParsedQuery) -> "SearchFilters":
        """These filters narrowed by the query's own year:/date: filters."""
        start, end = _narrow((self.date_from, self.date_to), (query.date_from, query.date_to))
        return replace(self, date_from=start, date_to=end)

    def only(self, arxiv_ids: "Iterable[str]") -> "SearchFilters":
        """These filters restricted to the given papers."""
        return replace(self, arxiv_ids=tuple(arxiv_ids))
