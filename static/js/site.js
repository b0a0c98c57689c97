// Star buttons work without a page reload when scripts run; the forms still work without them.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.mark");
  if (!form) return;
  event.preventDefault();
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.status === 401) {
    window.location = "/accounts/login/?next=" + encodeURIComponent(window.location.pathname);
    return;
  }
  if (!response.ok) return;
  const { marked } = await response.json();
  const button = form.querySelector("button.star");
  button.classList.toggle("on", marked);
  button.setAttribute("aria-pressed", String(marked));
  button.textContent = marked ? "★ Starred" : "☆ Star";
});
