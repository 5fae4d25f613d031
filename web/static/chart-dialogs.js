// The chart page's dialogs: a modal form that shows its own errors, the reason choices the
// API accepts (review/decisions.py), a code search that suggests as you type (an ARIA
// combobox), and a code's record from the knowledge base.

import { api, el } from "./api.js";

export const REJECT_REASONS = [
  ["not_documented", "Not documented"],
  ["negated_or_ruled_out", "Negated or ruled out"],
  ["history_only", "History only"],
  ["uncertain_outpatient", "Uncertain diagnosis (outpatient)"],
  ["integral_to_other_condition", "Integral to another condition"],
  ["not_clinically_significant", "Not clinically significant"],
  ["duplicate", "Duplicate"],
  ["excludes1_conflict", "Excludes1 conflict"],
  ["other", "Other (say why in the note)"],
];
export const MODIFY_REASONS = [
  ["more_specific_code", "More specific code"],
  ["less_specific_code", "Less specific code"],
  ["wrong_laterality", "Wrong laterality"],
  ["wrong_encounter", "Wrong encounter"],
  ["combination_code", "Combination code"],
  ["wrong_code", "Wrong code"],
  ["other", "Other (say why in the note)"],
];
export const ADD_REASONS = [
  ["missed_by_agent", "Missed by the agent"],
  ["query_response", "Physician query response"],
  ["other", "Other (say why in the note)"],
];
const LABELS = new Map([...REJECT_REASONS, ...MODIFY_REASONS, ...ADD_REASONS]);
export const reasonLabel = (value) => (LABELS.get(value) || value).replace(/ \(say why.*\)$/, "");

let counter = 0;
const uid = (stem) => `${stem}-${(counter += 1)}`;

// A modal form. `submit(form)` runs on submit; the dialog closes when it resolves, and shows
// the error's message when it throws (unless the error is marked `handled`: then it closes,
// the page having said what happened).
export function openDialog({ title, content, submitLabel, submit, danger = false, wide = false, onClose }) {
  const titleId = uid("dialog-title");
  const error = el("div", { class: "dialog-error", role: "alert" });
  const submitButton = submitLabel
    ? el("button", { type: "submit", class: `button ${danger ? "danger" : "primary"}` }, submitLabel)
    : null;
  const form = el("form", { method: "dialog", class: "stack" },
    el("h2", { id: titleId }, title), ...content, error,
    el("div", { class: "dialog-buttons" },
      el("button", { type: "button", class: "button", value: "cancel", onclick: () => close() },
        submitLabel ? "Cancel" : "Close"),
      submitButton));
  const dialog = el("dialog", { class: `chart-dialog${wide ? " wide" : ""}`, "aria-labelledby": titleId }, form);
  const opener = document.activeElement;
  let busy = false;
  function close() {
    if (dialog.open) dialog.close();
  }
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    if (onClose) onClose();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || !submit) return;
    busy = true;
    error.textContent = "";
    if (submitButton) submitButton.disabled = true;
    try {
      await submit(form);
      close();
    } catch (failure) {
      if (failure && failure.handled) close();
      else error.textContent = failure.message || String(failure);
    } finally {
      busy = false;
      if (submitButton) submitButton.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, form, close };
}

// Focus `node` now, or once the open dialog has closed (the page behind a modal is inert).
export function focusSoon(node) {
  const open = document.querySelector("dialog[open]");
  if (open) open.addEventListener("close", () => node.focus(), { once: true });
  else node.focus();
}

export function reasonChoices(name, choices, legend) {
  return el("fieldset", { class: "reasons" }, el("legend", {}, legend),
    choices.map(([value, label], index) => el("label", { class: "choice" },
      el("input", { type: "radio", name, value, required: index === 0 }), ` ${label}`)));
}

export function noteField(name = "note") {
  const id = uid("note");
  return el("div", { class: "stack" },
    el("label", { for: id }, "Note ", el("span", { class: "muted" }, "(needed for Other)")),
    el("textarea", { id, name, rows: "2", maxlength: "2000" }));
}

export function reasonSelect(choices, selected = "") {
  const id = uid("reason");
  return el("div", { class: "stack" }, el("label", { for: id }, "Reason"),
    el("select", { id, name: "reason", required: true },
      el("option", { value: "" }, "Choose a reason"),
      choices.map(([value, label]) => el("option", { value, selected: value === selected }, label))));
}

// Checks what the API would refuse anyway, so the coder hears it before a round trip.
export function chosenReason(form) {
  const reason = form.elements.reason.value;
  const note = (form.elements.note?.value || "").trim();
  if (!reason) throw new Error("Choose a reason.");
  if (reason === "other" && !note) throw new Error("Say why in the note (reason Other).");
  return { reason, note: note || undefined };
}

// A combobox: type a code or words, the knowledge base answers as you type (debounced),
// arrow keys move through the suggestions, Enter picks one.
export function codeSearch({ label, system, year, initial = "" }) {
  const inputId = uid("code-search");
  const listId = uid("code-options");
  const input = el("input", {
    id: inputId, type: "text", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
    "aria-controls": listId, autocomplete: "off", spellcheck: "false", value: initial,
    placeholder: "Code or words, e.g. J13 or pneumococcal pneumonia",
  });
  const list = el("ul", { id: listId, role: "listbox", class: "code-options", "aria-label": "Suggested codes", hidden: true });
  const chosenText = el("p", { class: "chosen", "aria-live": "polite" });
  let options = [];
  let active = -1;
  let chosen = null;
  let timer;
  let asked = 0;

  function show(found) {
    options = found;
    active = -1;
    list.replaceChildren(...found.map((hit, index) => el("li", {
      role: "option", id: `${listId}-${index}`, "aria-selected": "false", dataset: { index },
    }, el("span", { class: "code" }, hit.code), " ", hit.title)));
    const open = found.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    input.removeAttribute("aria-activedescendant");
  }
  function highlight(index) {
    active = index;
    for (const item of list.children) item.setAttribute("aria-selected", String(Number(item.dataset.index) === index));
    const item = list.children[index];
    if (item) {
      input.setAttribute("aria-activedescendant", item.id);
      item.scrollIntoView({ block: "nearest" });
    }
  }
  function pick(index) {
    const hit = options[index];
    if (!hit) return;
    chosen = hit;
    input.value = hit.code;
    chosenText.replaceChildren("Chosen: ", el("span", { class: "code" }, hit.code), ` ${hit.title}`);
    show([]);
  }
  async function search() {
    const query = input.value.trim();
    const ticket = (asked += 1);
    if (!query) return show([]);
    // The agent's lookup: words are coded as a one-line statement first ("CAD", "lap chole",
    // "h/o breast CA"), search filling the rest; a code or code start lists its family as
    // search does (bench/paraphrase.py, 200 terms: top-1 83 % untrained against 67 % for search).
    const params = new URLSearchParams({ q: query, k: "8", by: "agent" });
    if (system) params.set("system", system);
    if (year) params.set("year", String(year));
    try {
      const found = await api(`/codes/search?${params}`);
      if (ticket === asked) show(found); // an older answer arriving late is dropped
    } catch (error) {
      if (ticket === asked) chosenText.textContent = `Search failed: ${error.message}`;
    }
  }
  input.addEventListener("input", () => {
    if (chosen && input.value.trim().toUpperCase() !== chosen.code) {
      chosen = null;
      chosenText.textContent = "";
    }
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  input.addEventListener("keydown", (event) => {
    const open = !list.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!options.length) return;
      if (!open) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter" && open) {
      event.preventDefault();
      pick(active < 0 ? 0 : active);
    } else if (event.key === "Escape" && open) {
      event.preventDefault(); // closes the suggestions, not the dialog
      event.stopPropagation();
      show([]);
    }
  });
  list.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus
  list.addEventListener("click", (event) => {
    const item = event.target.closest("li[role=option]");
    if (item) pick(Number(item.dataset.index));
  });
  if (initial) timer = setTimeout(search, 0);
  const node = el("div", { class: "code-search stack" },
    el("label", { for: inputId }, label), el("div", { class: "combo" }, input, list), chosenText);
  return {
    node,
    input,
    // The picked code, else what was typed when it looks like a code (the API checks it).
    value() {
      if (chosen) return chosen.code;
      const typed = input.value.trim().toUpperCase();
      return /^[A-Z0-9][A-Z0-9.]{2,7}$/.test(typed) ? typed : null;
    },
  };
}

const NOTE_KINDS = {
  includes: "Includes", inclusion: "Inclusion terms", excludes1: "Excludes1", excludes2: "Excludes2",
  code_first: "Code first", use_additional: "Use additional code", code_also: "Code also", note: "Note",
};
const GUIDELINE = /Official Guidelines ([A-Z0-9][\w.]*(?:, [A-Z0-9][\w.]*)*)/g;

// The code's record (GET /codes/{code}) as the citation dialog's content.
export function recordContent(record, citation) {
  const parts = [];
  parts.push(el("p", { class: "record-sub" },
    `ICD-10-${record.system === "pcs" ? "PCS" : "CM"} · ${record.billable ? "billable" : "not billable"}` +
    ` · FY${record.fiscal_year}` + (record.parent ? ` · in ${record.parent}` : "")));
  if (citation) {
    parts.push(el("p", {}, el("strong", {}, "Cited: "), citation.label || citation.source_id));
    const guidelines = [...(citation.label || "").matchAll(GUIDELINE)].map((m) => m[1]);
    if (guidelines.length) {
      parts.push(el("p", {}, el("strong", {}, "Guideline: "),
        `ICD-10-${record.system === "pcs" ? "PCS" : "CM"} Official Guidelines ${guidelines.join(", ")}`));
    }
  }
  if (record.change) parts.push(el("p", { class: "notice" }, record.change));
  if (record.inclusion_terms.length) {
    parts.push(section("Inclusion terms", el("ul", {}, record.inclusion_terms.map((t) => el("li", {}, t)))));
  }
  const byKind = new Map();
  for (const note of record.notes) (byKind.get(note.kind) || byKind.set(note.kind, []).get(note.kind)).push(note);
  for (const [kind, notes] of byKind) {
    parts.push(section(NOTE_KINDS[kind] || kind, el("ul", {}, notes.map((note) => el("li", {},
      note.text.replace(/^,\s*/, ""), note.inherited ? el("span", { class: "muted" }, ` (at ${note.defined_at})`) : null)))));
  }
  if (!record.notes.length) parts.push(section("Notes", el("p", { class: "muted" }, "No instructional notes.")));
  const cited = citation ? citation.source_id : null;
  if (record.index_entries.length) {
    parts.push(section("Index path", el("ul", {}, record.index_entries.map((entry) => el("li", {
      class: entry.source === cited ? "is-cited" : "",
    }, entry.path.join(" › "), entry.source === cited ? el("span", { class: "badge" }, "cited") : null)))));
  }
  if (record.table_entries.length) {
    parts.push(section("Tables", el("ul", {}, record.table_entries.map((entry) => el("li", {},
      `${entry.table}: ${entry.path.join(" › ")}${entry.column ? ` (${entry.column})` : ""}`)))));
  }
  return parts;
}

function section(title, body) {
  return el("section", { class: "record-section" }, el("h3", {}, title), body);
}

export function showRecord(code, year, citation) {
  const body = el("div", { class: "record", "aria-busy": "true" }, el("p", { class: "muted" }, "Loading…"));
  const shown = openDialog({ title: `${code}`, content: [body], wide: true });
  const params = year ? `?year=${year}` : "";
  api(`/codes/${encodeURIComponent(code)}${params}`).then((record) => {
    shown.form.querySelector("h2").textContent = `${record.code} ${record.title}`;
    body.replaceChildren(...recordContent(record, citation));
    body.setAttribute("aria-busy", "false");
  }).catch((error) => {
    body.replaceChildren(el("p", { class: "error" }, `The record could not be loaded: ${error.message}`));
    body.setAttribute("aria-busy", "false");
  });
  return shown;
}
