// What the side panels share: a collapsible section with a heading, the highlight request to
// the chart text, a debounce, dates and plain error messages.

import { el } from "./api.js";

const OPEN_KEY = "medcoder:side-panels-closed";

function closedPanels() {
  try {
    return new Set(JSON.parse(localStorage.getItem(OPEN_KEY) || "[]"));
  } catch {
    return new Set();
  }
}

function rememberOpen(id, open) {
  const closed = closedPanels();
  if (open) closed.delete(id);
  else closed.add(id);
  try {
    localStorage.setItem(OPEN_KEY, JSON.stringify([...closed]));
  } catch { /* storage refused: the panel just opens next time */ }
}

// <details open><summary><h2>title</h2></summary> body </details>, its open state kept
// per browser. Returns {section, body, head} (head: where a panel puts a small action).
export function panelSection(id, title) {
  const headingId = `${id}-heading`;
  const body = el("div", { class: "side-body", id: `${id}-body` });
  const section = el("details", { class: "side-panel", id, open: !closedPanels().has(id) },
    el("summary", { class: "side-summary" }, el("h2", { id: headingId }, title)),
    body);
  section.addEventListener("toggle", () => rememberOpen(id, section.open));
  return { section, body, headingId };
}

// Asks the chart text to show and mark [start, end).
export function highlight(start, end) {
  document.dispatchEvent(new CustomEvent("medcoder:highlight", { detail: { start, end } }));
}

// A button that shows a chart span: its quote as the label.
export function spanButton(quote, start, end, { prefix = "", className = "" } = {}) {
  const shown = quote.length > 90 ? `${quote.slice(0, 87)}…` : quote;
  return el("button", {
    type: "button", class: `cite-span ${className}`.trim(),
    "aria-label": `Show in the chart text: ${prefix ? `${prefix}: ` : ""}${quote}`,
    title: "Show in the chart text",
    dataset: { start, end },
    onclick: () => highlight(start, end),
  }, prefix ? el("span", { class: "cite-what" }, `${prefix}: `) : null,
  el("span", { class: "cite-quote" }, `“${shown}”`));
}

export function debounce(fn, wait = 350) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return el("time", { datetime: date.toISOString() }, dateTime.format(date));
}

// An error said plainly in the panel (and not in the console).
export function errorBox(message, { alert = true } = {}) {
  return el("p", { class: "error side-error", role: alert ? "alert" : undefined }, message);
}

export function messageOf(error) {
  if (!error) return "Something went wrong.";
  if (error.status === 403) return "You may not do this.";
  if (error.name === "TypeError") return "The server could not be reached; try again.";
  return error.message || String(error);
}

export function loading(text = "Loading…") {
  return el("p", { class: "muted side-loading" }, text);
}

// A code's title (for a citation to a code), fetched once per code and year.
const titles = new Map();
export function codeTitle(api, code, year) {
  const key = `${code}@${year || ""}`;
  if (!titles.has(key)) {
    const params = year ? `?year=${encodeURIComponent(year)}` : "";
    titles.set(key, api(`/codes/${encodeURIComponent(code)}${params}`).then((r) => r.title || "", () => ""));
  }
  return titles.get(key);
}
