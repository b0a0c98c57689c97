// Render $...$ and $$...$$ in abstracts and titles with the vendored KaTeX.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.renderMathInElement) return;
  document.querySelectorAll(".math, article.paper h2").forEach((el) =>
    window.renderMathInElement(el, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    })
  );
});
