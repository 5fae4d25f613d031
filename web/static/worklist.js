// The worklist: charts by status (with counts), searched by external id, a page at a time,
// newest first; coders upload charts and start coding them from here, leads assign them. The
// filters live in the address (?status=&q=&who=&page=&size=), so a reload or a shared link
// shows the same list.

import { announce, api, canCode, el, role, typing } from "./api.js";
import { dismiss, isCoding, jobLabel, jobs, startCoding } from "./worklist-coding.js";
import { setupUpload } from "./worklist-upload.js";
import { openAssign } from "./worklist-assign.js";

const STATUS_NAMES = { new: "New", coded: "Coded", in_review: "In review", committed: "Committed" };
const ASSIGNEES = { me: "assigned to you", none: "assigned to no one" }; // GET /charts?assigned_to=
const SIZES = [25, 50, 100];
const COLUMNS = 9;
const SEARCH_DELAY_MS = 250;
const FRESH_MS = 8000; // how long a chart just uploaded stays marked

const table = document.getElementById("charts");
const rows = document.getElementById("rows");
const caption = document.getElementById("charts-caption");
const range = document.getElementById("range");
const listError = document.getElementById("list-error");
const search = document.getElementById("search");
const pageSize = document.getElementById("page-size");
const previous = document.getElementById("page-prev");
const next = document.getElementById("page-next");
const filters = [...document.querySelectorAll("#status-filter [data-status]")];
const assignedFilter = document.getElementById("assigned-filter"); // coders and leads only

const state = fromAddress();
let shown = null; // the page on screen, as GET /charts answered it
let loads = 0; // the latest load wins: an older answer arriving late is dropped
let fresh = null; // a chart just uploaded, marked in the list

function fromAddress() {
  const query = new URLSearchParams(location.search);
  const status = query.get("status") || "";
  const size = Number(query.get("size"));
  const page = Number(query.get("page"));
  return {
    status: Object.hasOwn(STATUS_NAMES, status) ? status : "",
    q: (query.get("q") || "").slice(0, 200),
    who: assignedFilter && Object.hasOwn(ASSIGNEES, query.get("who")) ? query.get("who") : "",
    size: SIZES.includes(size) ? size : SIZES[0],
    page: Number.isInteger(page) && page > 1 ? page - 1 : 0,
  };
}

function toAddress() {
  const query = new URLSearchParams();
  if (state.status) query.set("status", state.status);
  if (state.q) query.set("q", state.q);
  if (state.who) query.set("who", state.who);
  if (state.page) query.set("page", String(state.page + 1));
  if (state.size !== SIZES[0]) query.set("size", String(state.size));
  const asked = query.toString();
  const wanted = location.pathname + (asked ? `?${asked}` : "");
  if (wanted !== location.pathname + location.search) history.replaceState(null, "", wanted);
}

async function load() {
  const mine = ++loads;
  const query = new URLSearchParams({ offset: String(state.page * state.size), limit: String(state.size) });
  if (state.status) query.set("status", state.status);
  if (state.q) query.set("external_id", state.q);
  if (state.who) query.set("assigned_to", state.who);
  table.setAttribute("aria-busy", "true");
  try {
    const page = await api(`/charts?${query}`);
    if (mine !== loads) return;
    if (!page.items.length && page.total > 0 && state.page > 0) {
      // Past the end (charts moved on since): the last page that has rows.
      state.page = Math.floor((page.total - 1) / state.size);
      await load();
      return;
    }
    shown = page;
    listError.hidden = true;
    render();
  } catch (error) {
    if (mine !== loads) return;
    listError.textContent = `The worklist could not be loaded: ${error.message}`;
    listError.hidden = false;
  } finally {
    if (mine === loads) table.setAttribute("aria-busy", "false");
  }
}

function render() {
  const page = shown;
  for (const button of filters) {
    const status = button.dataset.status;
    button.setAttribute("aria-pressed", String(status === state.status));
    button.querySelector(".count").textContent = String(page.counts[status || "all"] ?? 0);
  }
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.items.length;
  range.textContent = page.total ? `${first}–${last} of ${page.total}` : "0 of 0";
  previous.disabled = state.page === 0;
  next.disabled = last >= page.total;
  caption.textContent = describe(page.total);
  rows.replaceChildren(...(page.items.length ? page.items.flatMap(chartRows) : [emptyRow()]));
  toAddress();
}

// What the table shows, in words (its caption, read by screen readers).
function describe(total) {
  const which = state.status ? `${STATUS_NAMES[state.status].toLowerCase()} charts` : "charts";
  const matching = state.q ? ` with an external id containing “${state.q}”` : "";
  const assigned = state.who ? ` ${ASSIGNEES[state.who]}` : "";
  return `${total} ${which}${assigned}${matching}, newest first`;
}

function emptyRow() {
  let message;
  if (state.q || state.status || state.who) message = `No ${describe(0).replace(/^0 /, "").replace(/, newest first$/, "")}.`;
  else if (canCode) message = "No charts yet. Upload one with “Upload chart”.";
  else message = "No charts yet.";
  return el("tr", { class: "placeholder" }, el("td", { colspan: COLUMNS }, message));
}

function chartRows(chart) {
  const href = `/ui/charts/${chart.id}`;
  const job = jobs.get(chart.id);
  const classes = [isCoding(chart.id) && "is-coding", fresh === chart.id && "is-fresh"].filter(Boolean);
  const named = chart.external_id ? `Chart ${chart.id}, ${chart.external_id}` : `Chart ${chart.id}`;
  const row = el("tr", { class: classes.join(" ") || undefined, dataset: { chartId: chart.id, href } },
    el("td", { class: "col-id" }, el("a", { href, "aria-label": named }, String(chart.id))),
    el("td", { class: "col-external" }, externalId(chart.external_id)),
    el("td", {}, el("span", { class: `badge ${chart.status}` }, STATUS_NAMES[chart.status] || chart.status)),
    el("td", {}, chart.setting === "outpatient" ? "Outpatient" : "Inpatient"),
    el("td", { class: "col-age" }, ageSex(chart)),
    el("td", { class: "col-date" }, serviceDate(chart)),
    el("td", {}, chart.assigned_to ? chart.assigned_to.name : el("span", { class: "muted" }, "Unassigned")),
    el("td", { class: "col-updated" }, updated(chart.updated_at)),
    el("td", { class: "col-actions" }, actions(chart, named)),
  );
  if (!job || !job.done || !job.error) return [row];
  // A failed run: its error under the chart's row, until the coder dismisses it (read out
  // once, by announce(), not at every redraw of the list).
  return [row, el("tr", { class: "row-message" },
    el("td", { colspan: COLUMNS },
      el("div", { class: "error job-error" },
        el("span", {}, `Coding chart ${chart.id} ${job.status === "cancelled" ? "was cancelled" : "failed"}: ${job.error}`),
        el("button", { type: "button", class: "button small", "aria-label": `Dismiss the message about chart ${chart.id}`,
          onclick: () => { dismiss(chart.id); render(); } }, "Dismiss"))))];
}

function externalId(value) {
  if (!value) return el("span", { class: "muted" }, "—");
  const at = state.q ? value.toLowerCase().indexOf(state.q.toLowerCase()) : -1;
  if (at < 0) return value;
  // The part the search matched, marked.
  return [value.slice(0, at), el("mark", {}, value.slice(at, at + state.q.length)), value.slice(at + state.q.length)];
}

function ageSex(chart) {
  const age = chart.age ?? "–";
  const sex = chart.sex ?? "–";
  const said = `${chart.age ?? "unknown"} years, ${{ F: "female", M: "male" }[chart.sex] || "sex not given"}`;
  return el("span", { title: said }, `${age} / ${sex}`);
}

// An inpatient's date of service is the discharge date, an outpatient's the visit.
function serviceDate(chart) {
  const inpatient = chart.setting !== "outpatient";
  const day = inpatient ? chart.discharge_date || chart.encounter_date : chart.encounter_date;
  if (!day) return el("span", { class: "muted", title: "No date of service: coded with the newest code set" }, "—");
  const notes = [];
  if (inpatient && chart.admission_date) notes.push(`admitted ${chart.admission_date}`);
  if (inpatient && chart.discharge_date) notes.push(`discharged ${chart.discharge_date}`);
  return el("time", { datetime: day, title: notes.join(", ") || undefined }, day);
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const stamp = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });

function updated(iso) {
  const when = new Date(iso);
  const seconds = (when.getTime() - Date.now()) / 1000;
  let text;
  if (Math.abs(seconds) < 60) text = "just now";
  else if (Math.abs(seconds) < 3600) text = relative.format(Math.round(seconds / 60), "minute");
  else if (Math.abs(seconds) < 86400) text = relative.format(Math.round(seconds / 3600), "hour");
  else if (Math.abs(seconds) < 7 * 86400) text = relative.format(Math.round(seconds / 86400), "day");
  else text = iso.slice(0, 10);
  return el("time", { datetime: iso, title: stamp.format(when) }, text);
}

function actions(chart, named) {
  const href = `/ui/charts/${chart.id}`;
  const it = named.replace(/^Chart/, "chart");
  const job = jobs.get(chart.id);
  if (job && !job.done) {
    return el("span", { class: "job" },
      el("progress", { "aria-label": `Coding ${it}` }),
      el("span", { class: "job-stage" }, `${jobLabel(job)}…`));
  }
  const parts = [];
  if (chart.status === "coded" || chart.status === "in_review") {
    parts.push(el("a", { class: "button small link-button", href, "aria-label": `Review ${it}` }, "Review"));
  } else if (chart.status === "committed" || !canCode) {
    parts.push(el("a", { class: "button small link-button", href, "aria-label": `View ${it}` }, "View"));
  }
  if (canCode && (chart.status === "new" || chart.status === "coded")) {
    const label = chart.status === "new" ? "Code" : "Code again";
    parts.push(el("button", {
      type: "button",
      class: "button small code",
      "aria-label": `${label} ${it}`,
      onclick: () => code(chart.id),
    }, label));
  }
  if (role === "lead" && chart.status !== "committed") {
    parts.push(el("button", {
      type: "button", class: "button small assign", "aria-haspopup": "dialog", "aria-label": `Assign ${it}`,
      onclick: () => assign(chart),
    }, "Assign"));
  }
  return el("span", { class: "row-actions" }, parts);
}

// A job changed: redraw the list from what is on screen; once it finished, load the list
// again (the chart's status moved to coded) and put focus back where the coder was.
function code(chartId) {
  startCoding(chartId, (id, job) => {
    const focused = document.activeElement && rows.contains(document.activeElement);
    if (shown) render();
    const done = job.done ? load() : Promise.resolve();
    done.then(() => {
      if (!focused) return;
      const row = rows.querySelector(`tr[data-chart-id="${id}"]`);
      const target = row && (row.querySelector(".col-actions a, .col-actions button") || row.querySelector("a"));
      if (target) target.focus();
    });
  });
}

// The lead's assign dialog; afterwards the list is read again (the chart may have left a
// filtered list), and focus goes back to the chart's Assign button when it is still there.
function assign(chart) {
  const button = () => rows.querySelector(`tr[data-chart-id="${chart.id}"] button.assign`);
  openAssign(chart, {
    done: async () => {
      await load();
      button()?.focus();
    },
    stale: async () => {
      await load();
      return shown ? shown.items.find((c) => c.id === chart.id) || null : null;
    },
    // The list may have been drawn again under the dialog: focus its row's button again.
    closed: () => {
      if (!document.activeElement || document.activeElement === document.body) button()?.focus();
    },
  });
}

function go(change) {
  Object.assign(state, change);
  load();
}

for (const button of filters) {
  button.addEventListener("click", () => go({ status: button.dataset.status, page: 0 }));
}

let searchTimer;
search.value = state.q;
search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => go({ q: search.value.trim(), page: 0 }), SEARCH_DELAY_MS);
});
document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(searchTimer);
  go({ q: search.value.trim(), page: 0 });
});

if (assignedFilter) {
  assignedFilter.value = state.who;
  assignedFilter.addEventListener("change", () => go({ who: assignedFilter.value, page: 0 }));
}

pageSize.value = String(state.size);
pageSize.addEventListener("change", () => go({ size: Number(pageSize.value), page: 0 }));
previous.addEventListener("click", () => go({ page: Math.max(0, state.page - 1) }));
next.addEventListener("click", () => go({ page: state.page + 1 }));

// A click anywhere on a row opens the chart (the id is the link for the keyboard); not on
// the row's own links and buttons, and not when the coder was selecting text to copy.
rows.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-href]");
  if (!row || event.target.closest("a, button, input, select, label")) return;
  if (String(window.getSelection() || "")) return;
  if (event.ctrlKey || event.metaKey) window.open(row.dataset.href, "_blank", "noopener");
  else location.assign(row.dataset.href);
});

// "/" goes to the search, as in many worklists.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (document.querySelector("dialog[open]")) return;
  event.preventDefault();
  search.focus();
  search.select();
});

setupUpload({
  onUploaded(chart, { code: andCode }) {
    fresh = chart.id;
    // Show the list the new chart is in: first page, a status that includes "new", and no
    // search that leaves it out.
    const matches = !state.q || (chart.external_id || "").toLowerCase().includes(state.q.toLowerCase());
    if (!matches) search.value = "";
    go({ page: 0, status: state.status === "new" ? "new" : "", q: matches ? state.q : "" });
    const named = chart.external_id ? `chart ${chart.id} (${chart.external_id})` : `chart ${chart.id}`;
    announce(`Uploaded ${named}.`);
    setTimeout(() => {
      if (fresh !== chart.id) return;
      fresh = null;
      rows.querySelector(`tr[data-chart-id="${chart.id}"]`)?.classList.remove("is-fresh");
    }, FRESH_MS);
    if (andCode) code(chart.id);
  },
});

load();
