"""LaTeX text macros in titles and abstracts, as HTML for pages and as plain text for the rest.

arXiv metadata is LaTeX source: `\\textbf{Janus-LoRA}`, `\\url{...}`, `Schr\\"odinger`. Pages
show it as HTML (`to_html`), browser tabs, feed titles and the API's `title_text` as plain
text (`to_text`). Maths (`$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]`) is left as it is for
KaTeX in pages, and flattened to readable text (`$\\alpha$` -> `α`) for plain text. BibTeX
keeps the LaTeX. Unknown commands stay as they were written. Everything taken from the text
is escaped: the only markup in the output is the few tags made here.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from django.utils.safestring import SafeString

__all__ = ["to_html", "to_text", "highlighted_html"]

# Commands taking one argument, shown with a tag around it (None: the argument alone).
_STYLES: dict[str, str | None] = {
    "textbf": "b",
    "textit": "i",
    "textsl": "i",
    "emph": "em",
    "texttt": "code",
    "textsc": "span",  # small caps, by class
    "underline": "u",
    "uline": "u",
    "textsuperscript": "sup",
    "textsubscript": "sub",
    "textrm": None,
    "textsf": None,
    "textup": None,
    "textmd": None,
    "textnormal": None,
    "text": None,
    "mbox": None,
    "hbox": None,
    "mathrm": None,  # outside maths some abstracts still use these
    "mathbf": "b",
    "mathit": "i",
}
# `{\bf ...}` and friends style the rest of their group.
_DECLARATIONS = {
    "bf": "b",
    "bfseries": "b",
    "it": "i",
    "itshape": "i",
    "em": "em",
    "sl": "i",
    "tt": "code",
    "ttfamily": "code",
    "sc": "span",
    "scshape": "span",
    "rm": None,
    "sf": None,
    "normalfont": None,
}
# Commands whose first argument is dropped and second shown (\textcolor{red}{text}).
_SKIP_FIRST = {"textcolor", "colorbox", "foreignlanguage"}
_CITES = {"cite", "citep", "citet", "citealp", "citeauthor", "ref", "eqref"}
_SYMBOLS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "i": "ı",
    "j": "ȷ",
    "l": "ł",
    "L": "Ł",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "dag": "†",
    "ddag": "‡",
    "S": "§",
    "P": "¶",
    "ldots": "…",
    "dots": "…",
    "textellipsis": "…",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "copyright": "©",
    "textcopyright": "©",
    "textregistered": "®",
    "texttrademark": "™",
    "textdegree": "°",
    "deg": "°",
    "textendash": "–",
    "textemdash": "—",
    "textbullet": "•",
    "textasciitilde": "~",
    "textbackslash": "\\",
    "textbar": "|",
    "textless": "<",
    "textgreater": ">",
    "textasciicircum": "^",
    "textunderscore": "_",
    "textquotedblleft": "“",
    "textquotedblright": "”",
    "textquoteleft": "‘",
    "textquoteright": "’",
    "pounds": "£",
    "euro": "€",
    "checkmark": "✓",
    "ie": "i.e.",
    "eg": "e.g.",
    "etal": "et al.",
    "etc": "etc.",
    "newline": " ",
    "par": " ",
    "quad": " ",
    "qquad": " ",
    "noindent": "",
    "centering": "",
    "xspace": "",
    "nobreak": "",
    "relax": "",
}
# Accents: the combining character each command puts on the letter after it.
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "r": "\u030a",
    "k": "\u0328",
    "d": "\u0323",
}
_ESCAPED = {
    "%": "%",
    "&": "&",
    "_": "_",
    "#": "#",
    "$": "$",
    "{": "{",
    "}": "}",
    " ": " ",
    ",": "\u2009",
    ";": " ",
    ":": " ",
    "!": "",
    "-": "",
    "/": "",
    "\\": " ",
    "@": "",
}
# Maths flattened to text: the commonest symbols; other commands lose their backslash.
_MATH_SYMBOLS = {
    **_ESCAPED,
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "times": "×",
    "cdot": "·",
    "pm": "±",
    "mp": "∓",
    "sim": "~",
    "approx": "≈",
    "simeq": "≃",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "ll": "≪",
    "gg": "≫",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "leftrightarrow": "↔",
    "uparrow": "↑",
    "downarrow": "↓",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "forall": "∀",
    "exists": "∃",
    "partial": "∂",
    "nabla": "∇",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "sqrt": "√",
    "ell": "ℓ",
    "circ": "°",
    "star": "*",
    "ast": "*",
    "prime": "′",
    "propto": "∝",
    "equiv": "≡",
    "mid": "|",
    "langle": "⟨",
    "rangle": "⟩",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "degree": "°",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigg": "",
    "displaystyle": "",
    "mathbb": "",
    "mathcal": "",
    "mathbf": "",
    "mathrm": "",
    "mathit": "",
    "mathsf": "",
    "mathtt": "",
    "boldsymbol": "",
    "bm": "",
    "text": "",
    "textbf": "",
    "textit": "",
    "rm": "",
    "bf": "",
    "it": "",
    "tt": "",
    "operatorname": "",
    "emph": "",
    "mathscr": "",
    "mathfrak": "",
}
_SAFE_URL = re.compile(r"(?:https?|ftp)://[^\s<>\"'`]+", re.IGNORECASE)

_TOKEN = re.compile(r"\$\$|\$|\\\(|\\\[|\\[A-Za-z]+\*?|\\[^A-Za-z]|[{}]|~|``|''|---?|[\x01\x02]")
# Text that needs none of the above renders as itself, escaped: the fast path.
_SPECIAL = re.compile(r"[\\${}~`\x01\x02]|''|--")
_OPENING = re.compile(r" *\{")  # a command's argument, spaces allowed before it
_ACCENTED = re.compile(r"\s*\{\s*(\\[ij]|[A-Za-z])\s*\}|\s*(\\[ij](?![A-Za-z])|[A-Za-z])")
_MAX_DEPTH = 40  # hostile text can nest braces thousands deep; real titles need a few
_MATH_END = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
# The highlighter's <mark> tags travel through the parser as these two control characters.
_MARK_OPEN, _MARK_CLOSE = "\x01", "\x02"


@dataclass(slots=True)
class Styled:
    tag: str | None  # None: the children alone
    children: list
    css_class: str = ""


@dataclass(slots=True)
class Link:
    url: str  # checked to be http(s)/ftp by the parser
    children: list


@dataclass(slots=True)
class Math:
    source: str  # with its delimiters


Node = str | Styled | Link | Math


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = list(_TOKEN.finditer(text))
        self.i = 0  # the next token
        self.pos = 0  # the next character
        self.depth = 0  # groups open; past _MAX_DEPTH braces are ignored, not recursed into

    def parse(self) -> list[Node]:
        return _merged(self.group(top=True))

    def _plain_until(self, end: int, out: list[Node]) -> None:
        if end > self.pos:
            out.append(self.text[self.pos : end])
        self.pos = max(self.pos, end)

    def _skip_tokens_before(self, pos: int) -> None:
        while self.i < len(self.tokens) and self.tokens[self.i].start() < pos:
            self.i += 1

    def group(self, top: bool = False) -> list[Node]:
        """Nodes up to the `}` closing this group (or the end of the text); sets `closed`."""
        self.depth += 1
        try:
            return self._group(top)
        finally:
            self.depth -= 1

    def _group(self, top: bool) -> list[Node]:
        out: list[Node] = []
        self.closed = False
        while self.i < len(self.tokens):
            match = self.tokens[self.i]
            if match.start() < self.pos:  # consumed by a verbatim argument or maths
                self.i += 1
                continue
            self._plain_until(match.start(), out)
            token = match.group()
            self.i += 1
            self.pos = match.end()
            if token == "}":
                if top:
                    continue  # stray closing brace (a snippet cut inside a group): dropped
                self.closed = True
                return out
            if token == "{":
                if self.depth < _MAX_DEPTH:
                    out.append(Styled(None, self.group()))
            elif token in _MATH_END:
                self._math(token, match.start(), out)
            elif token == "~":
                before = self.text[match.start() - 1] if match.start() else " "
                after = self.text[self.pos : self.pos + 1]
                # word~word and word~\cite are ties; ~50 and /~user are not.
                tie = (before.isalnum() or before in ").") and (after.isalpha() or after in "\\(-")
                out.append("\u00a0" if tie else "~")
            elif token == "``":
                out.append("“")
            elif token == "''":
                out.append("”")
            elif token == "---":
                out.append("—")
            elif token == "--":
                out.append("–")
            elif token in (_MARK_OPEN, _MARK_CLOSE):
                out.append(token)
            else:
                self._command(token, out)
        self._plain_until(len(self.text), out)
        self.closed = False
        return out

    def _math(self, opener: str, start: int, out: list[Node]) -> None:
        closer = _MATH_END[opener]
        end = self.pos
        while True:
            end = self.text.find(closer, end)
            if end == -1 or closer != "$" or self.text[end - 1] != "\\":
                break
            end += 1  # an escaped \$ inside the maths
        if end == -1:
            out.append(opener)  # a lone dollar is just a dollar
            return
        self.pos = end + len(closer)
        out.append(Math(self.text[start : self.pos]))
        self._skip_tokens_before(self.pos)

    def _argument(self) -> list[Node] | None:
        """The `{...}` group right after a command (spaces allowed before it), parsed."""
        opening = _OPENING.match(self.text, self.pos)
        if opening is None or self.depth >= _MAX_DEPTH:
            return None
        self.pos = opening.end()
        self._skip_tokens_before(self.pos)
        return self.group()

    def _verbatim(self) -> str | None:
        """The `{...}` group after \\url or \\href, as written (braces balanced)."""
        opening = _OPENING.match(self.text, self.pos)
        if opening is None:
            return None
        start = opening.end()
        depth, end = 1, start
        while end < len(self.text) and depth:
            depth += {"{": 1, "}": -1}.get(self.text[end], 0)
            end += 1
        self.pos = end
        self._skip_tokens_before(self.pos)
        return self.text[start : end - 1 if depth == 0 else end]

    def _command(self, token: str, out: list[Node]) -> None:
        name = token[1:]
        if len(name) == 1 and not name.isalpha():
            if name in _ACCENTS:
                self._accent(name, out)
            elif name in _ESCAPED:
                out.append(_ESCAPED[name])
            else:
                out.append(token)
            return
        bare = name.rstrip("*")
        if bare in _STYLES:
            argument = self._argument()
            if argument is None:
                out.append(token)
            else:
                tag = _STYLES[bare]
                out.append(Styled(tag, argument, "sc" if bare == "textsc" else ""))
        elif bare in _DECLARATIONS and self.depth >= _MAX_DEPTH:
            pass  # nested past any real use: ignored
        elif bare in _DECLARATIONS:
            tag = _DECLARATIONS[bare]
            while self.text.startswith(" ", self.pos):  # TeX drops spaces after a control word
                self.pos += 1
            out.append(Styled(tag, self.group_rest(), "sc" if tag == "span" else ""))
        elif bare in ("url", "href"):
            self._link(bare, token, out)
        elif bare in _SKIP_FIRST:
            if self._verbatim() is None:
                out.append(token)
                return
            argument = self._argument()
            out.append(Styled(None, argument or []))
        elif bare in _CITES:
            keys = self._verbatim()
            if keys is None:
                out.append(token)
            else:
                out.append(f"[{keys}]")
        elif bare == "footnote":
            argument = self._argument()
            out.append(token if argument is None else Styled(None, [" (", *argument, ")"]))
        elif bare in _ACCENTS:  # \v{c}, \c c
            self._accent(bare, out)
        elif bare in _SYMBOLS:
            out.append(_SYMBOLS[bare])
            if self.text.startswith("{}", self.pos):  # \LaTeX{}
                self.pos += 2
                self._skip_tokens_before(self.pos)
        else:
            out.append(token)  # unknown: as written (\ours, \method)

    def group_rest(self) -> list[Node]:
        """A declaration's scope: the rest of the enclosing group, whose `}` is left to it."""
        nodes = self.group()
        if self.closed:  # give the closing brace back, so the enclosing group ends there too
            self.pos -= 1
            self.i -= 1
        return nodes

    def _link(self, kind: str, token: str, out: list[Node]) -> None:
        url = self._verbatim()
        if url is None:
            out.append(token)
            return
        url = url.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "").strip()
        label: list[Node] = [url]
        if kind == "href":
            label = self._argument() or [url]
        if _SAFE_URL.fullmatch(url):
            out.append(Link(url, label))
        else:  # javascript: and the like stay text
            out.append(Styled(None, label))

    def _accent(self, accent: str, out: list[Node]) -> None:
        match = _ACCENTED.match(self.text, self.pos)
        if accent.isalpha() and match and match.group(2) and self.text[self.pos] not in " {":
            match = None  # \vc is a command named "vc", not an accent on c
        if match is None:
            out.append("\\" + accent)
            return
        letter = match.group(1) or match.group(2)
        base = {"\\i": "i", "\\j": "j"}.get(letter, letter)
        out.append(unicodedata.normalize("NFC", base + _ACCENTS[accent]))
        self.pos = match.end()
        self._skip_tokens_before(self.pos)


@lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[Node, ...]:
    return tuple(_Parser(text).parse())


def _merged(nodes: list[Node]) -> list[Node]:
    """Adjacent runs of text joined (`Schr`, `ö`, `dinger`), so highlights can match them."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Styled | Link):
            node.children = _merged(node.children)
        if (
            isinstance(node, str)
            and out
            and isinstance(out[-1], str)
            and node not in (_MARK_OPEN, _MARK_CLOSE)
            and out[-1] not in (_MARK_OPEN, _MARK_CLOSE)
        ):
            out[-1] += node
        else:
            out.append(node)
    return out


def _html(nodes, mark: Callable[[str], str], state: list[bool]) -> str:
    """HTML of parsed nodes; `state[0]` says whether a highlight <mark> is open."""
    parts = []
    for node in nodes:
        if isinstance(node, str):
            if node == _MARK_OPEN:
                if not state[0]:
                    parts.append("<mark>")
                state[0] = True
            elif node == _MARK_CLOSE:
                if state[0]:
                    parts.append("</mark>")
                state[0] = False
            else:
                parts.append(mark(node))
            continue
        if isinstance(node, Math):
            parts.append(escape(node.source))
            continue
        # A highlight open across a tag's edge is closed before it and opened again inside.
        open_before = state[0]
        inner = ("<mark>" if open_before else "") + _html(node.children, mark, state)
        if state[0]:
            inner += "</mark>"
        if isinstance(node, Link):
            element = f'<a href="{escape(node.url)}" rel="nofollow noopener">{inner}</a>'
        elif node.tag is None:
            element = inner
        elif node.css_class:
            element = f'<{node.tag} class="{node.css_class}">{inner}</{node.tag}>'
        else:
            element = f"<{node.tag}>{inner}</{node.tag}>"
        parts.append(("</mark>" if open_before else "") + element + ("<mark>" if state[0] else ""))
    return "".join(parts)


def _rendered(text: str, mark: Callable[[str], str]) -> str:
    state = [False]
    html = _html(_parse(text), mark, state)
    return html + "</mark>" if state[0] else html


def _no_marks(text: str) -> str:
    """The text without the two characters that stand for highlight tags."""
    if _MARK_OPEN in text or _MARK_CLOSE in text:
        return text.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")
    return text


def to_html(text: str, mark: Callable[[str], str] | None = None) -> SafeString:
    """The text as HTML: macros as tags and characters, maths left for KaTeX, all escaped.

    `mark` escapes each run of plain text (KeywordFilter.mark highlights the reader's words);
    without one the HTML is plainly escaped and remembered, as lists show the same papers often.
    """
    if mark is None:
        return _plain_html(text)
    if not _SPECIAL.search(text):
        return SafeString(mark(text))
    return SafeString(_rendered(_no_marks(text), mark))  # every text piece escaped


@lru_cache(maxsize=8192)
def _plain_html(text: str) -> SafeString:
    if not _SPECIAL.search(text):
        return SafeString(escape(text))
    return SafeString(_rendered(_no_marks(text), escape))  # every text piece escaped


def highlighted_html(snippet: str) -> SafeString:
    """A search highlight (escaped text with <mark> tags) with its macros rendered."""
    if "\\" not in snippet and "{" not in snippet and "~" not in snippet and "--" not in snippet:
        return SafeString(snippet)  # escaped by the highlighter, nothing to render
    raw = html.unescape(_no_marks(snippet).replace("<mark>", _MARK_OPEN))
    raw = raw.replace("</mark>", _MARK_CLOSE)
    return SafeString(_rendered(raw, escape))  # unescaped to parse, every piece escaped again


def to_text(text: str) -> str:
    """The text as plain text (not escaped): for <title>, feed titles and the API."""
    if not _SPECIAL.search(text):
        return text
    return " ".join(_text(_parse(_no_marks(text))).split())


def _text(nodes) -> str:
    parts = []
    for node in nodes:
        if isinstance(node, str):
            if node not in (_MARK_OPEN, _MARK_CLOSE):
                parts.append(node)
        elif isinstance(node, Math):
            parts.append(_math_text(node.source))
        else:
            parts.append(_text(node.children))
    return "".join(parts)


_MATH_COMMAND = re.compile(r"\\([A-Za-z]+|[^A-Za-z])")


def _math_text(source: str) -> str:
    for opener, closer in _MATH_END.items():
        if source.startswith(opener) and source.endswith(closer):
            source = source[len(opener) : len(source) - len(closer)]
            break
    flat = _MATH_COMMAND.sub(lambda m: _MATH_SYMBOLS.get(m.group(1), m.group(1)), source)
    return flat.replace("{", "").replace("}", "")
