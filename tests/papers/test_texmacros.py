"""LaTeX text macros as HTML and as plain text; hostile input stays escaped; maths untouched."""

import re

import pytest

from papers.library.keywords import KeywordFilter
from papers.texmacros import highlighted_html, to_html, to_text


@pytest.mark.parametrize(
    "source, html",
    [
        (r"\textbf{Janus-LoRA}: adapters", "<b>Janus-LoRA</b>: adapters"),
        (r"\textit{a} \emph{b} \texttt{c}", "<i>a</i> <em>b</em> <code>c</code>"),
        (r"{\em backdoor} and {\bf bold} text", "<em>backdoor</em> and <b>bold</b> text"),
        (r"\underline{\textbf{Fed}}erated", "<u><b>Fed</b></u>erated"),
        (r"Schr\"odinger B\'ezier {\"o} \v{c} \c c n\~ao \ss", "Schrödinger Bézier ö č ç não ß"),
        (r"40\% \& \_ \#1 \$5", "40% &amp; _ #1 $5"),
        (r"36--70 --- ``quoted''", "36–70 — “quoted”"),
        (r"\textsc{AlignX} PM\textsuperscript{4}", '<span class="sc">AlignX</span> PM<sup>4</sup>'),
        (r"as in \cite{smith2020}", "as in [smith2020]"),
        (r"\ours{} beats \method", r"\ours beats \method"),  # unknown: as written
    ],
)
def test_text_macros_render_as_html(source, html):
    assert to_html(source) == html


def test_urls_become_links_and_only_web_urls_do():
    html = to_html(
        r"Code at~\url{https://github.com/a/b_c} and \href{https://x.org/?a=1&b=2}{here}"
    )
    assert (
        '<a href="https://github.com/a/b_c" rel="nofollow noopener">https://github.com/a/b_c</a>'
        in html
    )
    assert '<a href="https://x.org/?a=1&amp;b=2" rel="nofollow noopener">here</a>' in html
    assert "href" not in to_html(r"\href{javascript:alert(1)}{click}")
    assert to_html(r"\href{javascript:alert(1)}{click}") == "click"
    assert "href" not in to_html(r'\url{https://x.org/"onmouseover="alert(1)}')


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        r"\textbf{<img src=x onerror=alert(1)>}",
        r"\emph{\"<b>}",
        r"{\bf <i>unclosed",
        r"\href{https://x.org}{<script>}",
        "$<script>$ & \"quotes\" 'single'",
        "\x01<b>\x02 control characters",
    ],
)
def test_hostile_text_stays_escaped(source):
    html = to_html(source)
    for tag in ("<script", "<img", "<i>", "<b><", "\x01", "\x02"):
        assert tag not in html.replace("<b>&lt;", "")
    assert "&lt;" in html


def test_maths_is_left_for_katex_and_flattened_in_plain_text():
    source = r"$\textit{Don't Guess, Just Ask}$: scaling as $\Theta(D^\alpha)$ \textbf{fast}"
    assert to_html(source).startswith(
        r"$\textit{Don&#x27;t Guess, Just Ask}$: scaling as $\Theta(D^\alpha)$"
    )
    assert to_text(source) == "Don't Guess, Just Ask: scaling as Θ(D^α) fast"
    assert to_text(r"$\alpha > 1$ and $\mathcal{K}(t)$") == "α > 1 and K(t)"


def test_plain_text_drops_every_macro_and_keeps_text_unescaped():
    assert to_text(r"\textbf{A \& B} <tag> \url{https://x.org}") == "A & B <tag> https://x.org"
    assert to_text("plain title") == "plain title"


def test_broken_latex_never_raises_or_loses_words():
    for source in [r"\textbf{open", "stray } brace", r"\url{", "$ lone dollar", "\\", r"\"", "{{{"]:
        html, text = to_html(source), to_text(source)
        words = re.findall(r"[a-z]+", source.replace("textbf", "").replace("url", ""))
        assert all(word in text and word in html for word in words), (source, text, html)


def test_keyword_highlights_mark_words_inside_macros_but_not_maths():
    keywords = KeywordFilter(highlight=["Janus", "alpha"])
    html = to_html(r"\textbf{Janus-LoRA} for $\alpha$ and alpha", keywords.mark)
    assert html == r"<b><mark>Janus</mark>-LoRA</b> for $\alpha$ and <mark>alpha</mark>"


def test_search_highlights_keep_their_marks_across_macros():
    snippet = r"we propose \textbf{<mark>Janus</mark>-LoRA &amp; co}, <mark>a \emph{new</mark> one}"
    assert highlighted_html(snippet) == (
        "we propose <b><mark>Janus</mark>-LoRA &amp; co</b>, "
        "<mark>a </mark><em><mark>new</mark> one</em>"
    )
    assert highlighted_html("&lt;script&gt; \\textbf{x}") == "&lt;script&gt; <b>x</b>"
    assert highlighted_html("plain <mark>word</mark>") == "plain <mark>word</mark>"


def test_deep_nesting_and_long_hostile_text_render_quickly_without_errors():
    deep = "{" * 5000 + "<b>x</b>" + "}" * 5000 + r"\textbf{" * 3000 + "y"
    html = to_html(deep)
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "y" in html and "<b>x" not in html
    assert "x" in to_text(deep)
    assert to_text(r"\bf " * 5000 + "z") == "z"
    many = r"\textbf{a} \"o \url{https://x.org} " * 5000
    assert to_html(many).count("<b>a</b>") == 5000
