// Lists without reloads or a mouse. Every form here also works without scripts.
document.documentElement.classList.replace("no-js", "js");

const entries = () =>
  [...document.querySelectorAll("article.paper")].filter((el) => el.offsetParent !== null);

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.status === 401) {
    const here = window.location.pathname + window.location.search;
    window.location = "/accounts/login/?next=" + encodeURIComponent(here);
    return null;
  }
  return response.ok ? response.json() : null;
}

// Star, Mark read, Not interested: the button pressed says which (its formaction).
const ENTRY_CLASS = { star: "starred", read: "read", not_interested: "dismissed" };
const EXCLUSIVE = { star: "not_interested", not_interested: "star" };

function showMark(root, kind, marked) {
  const button = root.querySelector(`button[formaction$="/mark/${kind}"]`);
  if (button) {
    button.classList.toggle("on", marked);
    button.setAttribute("aria-pressed", String(marked));
    button.textContent = marked ? button.dataset.on : button.dataset.off;
  }
  const entry = root.closest(".paper");
  if (entry) entry.classList.toggle(ENTRY_CLASS[kind], marked);
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.matches("form.actions")) {
    event.preventDefault();
    const button = event.submitter;
    if (!button || button.classList.contains("fold")) return;
    const result = await post(button.formAction || form.action, new FormData(form));
    if (!result) return;
    showMark(form, result.kind, result.marked);
    if (result.marked && EXCLUSIVE[result.kind]) showMark(form, EXCLUSIVE[result.kind], false);
  } else if (form.matches("form.view-options")) {
    event.preventDefault();
    const button = event.submitter;
    if (!button || !button.name) return;
    const data = new FormData(form);
    data.set(button.name, button.value);
    const prefs = await post(form.action, data);
    if (prefs) applyView(prefs, form);
  }
});

function applyView(prefs, form) {
  document.querySelectorAll("article.paper").forEach((el) => setFolded(el, prefs.compact));
  document.body.classList.toggle("compact", prefs.compact);
  document.body.classList.toggle("hide-read", prefs.hide_read);
  const hide = form && form.querySelector("button.hide-read");
  if (hide) {
    hide.value = prefs.hide_read ? "0" : "1";
    hide.classList.toggle("on", prefs.hide_read);
    hide.setAttribute("aria-pressed", String(prefs.hide_read));
    hide.textContent = prefs.hide_read ? "Read papers hidden" : "Hide read";
  }
}

function setFolded(entry, folded) {
  entry.classList.toggle("folded", folded);
  const button = entry.querySelector("button.fold");
  if (button) button.setAttribute("aria-expanded", String(!folded));
}

document.addEventListener("click", (event) => {
  const fold = event.target.closest("button.fold");
  if (fold) {
    event.preventDefault();
    const entry = fold.closest("article.paper");
    if (entry) setFolded(entry, !entry.classList.contains("folded"));
  } else if (event.target.closest("button.keys")) {
    event.preventDefault();
    document.getElementById("keys").showModal();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("article.paper").forEach((el) => setFolded(el, el.classList.contains("folded")));
});

// Keyboard: j/k move between papers, s/r/n mark, o opens, x or space folds, ? explains.
let current = null;

function select(entry) {
  if (current) current.classList.remove("current");
  current = entry;
  if (!entry) return;
  entry.classList.add("current");
  entry.focus({ preventScroll: true });
  entry.scrollIntoView({ block: "nearest" });
  const top = entry.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.6) entry.scrollIntoView({ block: "start" });
}

function move(step) {
  const list = entries();
  if (!list.length) return;
  let index = list.indexOf(current);
  if (index === -1) {
    // Start from the first paper on screen, not the top of the page.
    index = list.findIndex((el) => el.getBoundingClientRect().bottom > 0);
    index = step > 0 ? Math.max(index, 0) : Math.max(index - 1, 0);
  } else {
    index = Math.min(Math.max(index + step, 0), list.length - 1);
  }
  select(list[index]);
}

function press(kind) {
  if (!current) return;
  const button = current.querySelector(`button[formaction$="/mark/${kind}"]`);
  if (button) button.click();
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest("input, textarea, select, [contenteditable]")) return;
  const dialog = document.getElementById("keys");
  if (dialog && dialog.open) return;
  const onButton = target.closest("button, a, summary");
  switch (event.key) {
    case "j": move(1); break;
    case "k": move(-1); break;
    case "s": press("star"); break;
    case "r": press("read"); break;
    case "n": press("not_interested"); break;
    case "o":
      if (current) window.location = current.querySelector("h2 a").href;
      break;
    case "Enter":
      if (!current || onButton) return;
      window.location = current.querySelector("h2 a").href;
      break;
    case "x":
    case " ":
      if (!current || (event.key === " " && onButton && target !== current)) return;
      setFolded(current, !current.classList.contains("folded"));
      break;
    case "e":
    case "c": {
      const form = document.querySelector("form.view-options");
      const button = form && form.querySelector(event.key === "e" ? ".expand-all" : ".collapse-all");
      if (!button) return;
      button.click();
      break;
    }
    case "/": {
      const box = document.querySelector("form.search input[name=q], header input[name=q]");
      if (!box) return;
      box.focus();
      break;
    }
    case "?":
      if (dialog) dialog.showModal();
      break;
    default:
      return;
  }
  event.preventDefault();
});

// Clicking into a paper makes it the current one for the keys.
document.addEventListener("focusin", (event) => {
  const entry = event.target.closest && event.target.closest("article.paper");
  if (entry && entry !== current) {
    if (current) current.classList.remove("current");
    current = entry;
    entry.classList.add("current");
  }
});
