"""BibTeX entries for papers, in the form arXiv's own "Export BibTeX citation" gives."""

import re
import unicodedata

from papers.models import Paper

_SPECIAL = str.maketrans({"&": r"\&", "%": r"\%", "#": r"\#"})


def _braces_balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _field(text: str) -> str:
    text = text.translate(_SPECIAL)
    if not _braces_balanced(text):
        text = text.replace("{", r"\{").replace("}", r"\}")
    return text


def year_of(paper: Paper) -> int | None:
    for date in (paper.submitted, paper.announced):
        if date:
            return date.year
    if match := re.match(r"(\d{2})\d{2}\.", paper.arxiv_id):
        return 2000 + int(match[1])
    return None


def citation_key(paper: Paper) -> str:
    first = paper.author_names[0].split()[-1] if paper.author_names else "anon"
    first = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode()
    # The title's first real word, macros flattened: "\textbf{Janus}: ..." gives "janus".
    word = next((w for w in re.findall(r"[A-Za-z]+", paper.title_text) if len(w) > 3), "paper")
    return f"{re.sub(r'[^A-Za-z]', '', first).lower()}{year_of(paper) or ''}{word.lower()}"


def paper_bibtex(paper: Paper) -> str:
    fields = [
        ("title", paper.title),
        ("author", " and ".join(paper.author_names)),
        ("year", str(year_of(paper) or "")),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category_id),
        ("url", paper.abs_url),
    ]
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.journal_ref:
        fields.append(("journal", paper.journal_ref))
    body = ",\n".join(f"      {name}={{{_field(value)}}}" for name, value in fields if value)
    return f"@misc{{{citation_key(paper)},\n{body}\n}}"
