"""Text analysis shared by the tantivy index and the highlighter (Elasticsearch mirrors it).

- `english`: words lowercased, Lucene's English stop words removed, Snowball English stems;
  title, abstract and keywords are matched through it.
- `exact`: words lowercased only, for quoted phrases and the unstemmed baseline.
- `names`: author names, lowercased and accent-folded.
"""

from functools import cache

from tantivy import Filter, TextAnalyzer, TextAnalyzerBuilder, Tokenizer

from search.query import STOPWORDS

ENGLISH = "english"
EXACT = "exact"
NAMES = "names"

# tantivy's default tokenizer drops tokens of 40 bytes or more; do the same everywhere.
MAX_TOKEN_BYTES = 40


@cache
def analyzer(name: str) -> TextAnalyzer:
    """The named analyzer (built once per process)."""
    builder = TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.remove_long(MAX_TOKEN_BYTES))
    builder = builder.filter(Filter.lowercase())
    if name == ENGLISH:
        builder = builder.filter(Filter.custom_stopword(sorted(STOPWORDS)))
        builder = builder.filter(Filter.stemmer("english"))
    elif name == NAMES:
        builder = builder.filter(Filter.ascii_fold())
    elif name != EXACT:
        raise ValueError(f"unknown analyzer {name!r}")
    return builder.build()


def analyze(name: str, text: str) -> list[str]:
    """The tokens `text` becomes under the named analyzer."""
    return analyzer(name).analyze(text)


def is_compound(text: str) -> bool:
    """A word made of several parts joined by hyphens or the like (`GPT-4`, `k-means`): it is
    searched as a phrase of its parts."""
    return len(analyzer(EXACT).pre_tokenize(text).tokens) > 1
