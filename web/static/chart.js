// The chart review screen: the chart's text with the evidence of each proposal, the list of
// proposals to decide (keys and buttons), adding a missed code from selected text, commit,
// reopen and export. The side panels (panels.js) hear about it through document events.

import { api, announce, canCode, el, role, typing } from "./api.js";
import { ChartText } from "./chart-text.js";
import { ProposalList } from "./chart-proposals.js";
import {
  ADD_REASONS, MODIFY_REASONS, REJECT_REASONS, chosenReason, codeSearch, noteField, openDialog,
  focusSoon, reasonChoices, reasonSelect, showRecord,
} from "./chart-dialogs.js";
import {
  chartName, download, renderCodeSets, renderHeader, showCommitProblems, showStaleAlert, updateHeaderVersion,
} from "./chart-commit.js";

const page = document.getElementById("chart-page");
const chartId = Number(page.dataset.chartId);
// Both at once, before anything else: the page is ready when both have arrived.
const loading = Promise.all([api(`/charts/${chartId}`), api(`/charts/${chartId}/proposals`)]);

const isLead = role === "lead";
const header = document.getElementById("chart-header");
const alertSlot = document.getElementById("chart-alert");
const state = { chart: null, proposals: [], edits: 0 }; // edits: changes applied here
const busy = new Set(); // proposals with a decision on its way

const editable = () => canCode && state.chart !== null && state.chart.status !== "committed";
const indexOf = (id) => state.proposals.findIndex((p) => p.id === id);
const byId = (id) => state.proposals[indexOf(id)];
const codeOf = (p) => p.final_code || p.code;
// A decision dialog hands the focus back to its opener, unless that row was rebuilt.
const refocus = () => {
  if (!document.activeElement || document.activeElement === document.body) list.focusSelected();
};

const text = new ChartText(document.getElementById("chart-text-panel"), {
  onPick: (id) => list.select(id),
  onAddFromSelection: (picked) => addDialog(picked),
});
const list = new ProposalList(document.getElementById("proposals-panel"), {
  onSelect: (id) => text.select(id),
  onAction: (id, action) => act(id, action),
  onEvidence: (id, index) => text.select(id, { index }),
  onCitation: (id, index) => citation(id, index),
});

function changed(type = "medcoder:proposals-changed") {
  document.dispatchEvent(new CustomEvent(type, { detail: { chart: state.chart, proposals: state.proposals } }));
}

function renderAll() {
  document.title = `${chartName(state.chart)} · medcoder`;
  renderHeader(header, state.chart, { isLead, onCommit: () => commit(), onReopen: reopenDialog, onExport: exportAs });
  text.setEditable(editable());
  text.render(state.chart.text, state.proposals);
  list.render(state.proposals, editable());
  if (list.selected !== null) text.select(list.selected, { scroll: false });
}

async function start() {
  let chart, proposals;
  try {
    [chart, proposals] = await loading;
  } catch (error) {
    if (error.status !== 401) {
      alertSlot.replaceChildren(el("p", { class: "error", role: "alert" }, `This chart could not be opened: ${error.message}`));
    }
    return;
  }
  state.chart = chart;
  state.proposals = proposals;
  renderAll();
  page.dataset.ready = "true";
  performance.mark("chart-ready");
  changed("medcoder:chart-loaded");
  changed();
  loadRun();
  loadCodeSets();
}

// Extras that need not hold up the page: the dropped candidates, the committed code sets.
function loadRun() {
  api(`/charts/${chartId}/coding-runs/latest`).then((run) => list.renderDropped(run), () => {});
}

function loadCodeSets() {
  if (!state.chart.committed_version) {
    renderCodeSets(list.codeSets, [], { open: false });
    return;
  }
  api(`/charts/${chartId}/code-sets`).then(
    (sets) => renderCodeSets(list.codeSets, sets, { open: state.chart.status === "committed" }),
    (error) => report(error),
  );
}

// `quiet`: the page asked for it (a panel changed the chart), so focus and speech stay put.
// Only the newest reload applies its answer, and one that a decision made here overtook reads
// again, so it never puts back the state from before that decision.
let reloads = 0;
async function reload({ quiet = false } = {}) {
  const ticket = ++reloads;
  const edits = state.edits;
  let chart, proposals;
  try {
    [chart, proposals] = await Promise.all([api(`/charts/${chartId}`), api(`/charts/${chartId}/proposals`)]);
  } catch (error) {
    if (ticket === reloads) report(error);
    return;
  }
  if (ticket !== reloads) return;
  if (state.edits !== edits) {
    await reload({ quiet });
    return;
  }
  state.chart = chart;
  state.proposals = proposals;
  alertSlot.replaceChildren();
  renderAll();
  changed();
  loadCodeSets();
  if (quiet) return;
  list.focusSelected();
  announce("Reloaded: these are the current decisions.");
}

// --- errors -------------------------------------------------------------------------------

// 409 / 412: someone changed the chart or the proposal first.
function showStale(error, proposal) {
  showStaleAlert(alertSlot, error, proposal && codeOf(proposal), reload);
}

// What a failed write means for the page; returns the error marked `handled` when the page
// has said it (a dialog then just closes), else the error for the dialog to show.
function failed(error, proposal) {
  if (error.status === 401) error.handled = true; // api.js is on its way to sign-in
  else if (error.status === 409 || error.status === 412) {
    showStale(error, proposal);
    error.handled = true;
  }
  return error;
}

function report(error) {
  if (!error.handled && error.status !== 401) announce(error.message, { error: true });
}

// --- decisions ----------------------------------------------------------------------------

function act(id, action) {
  const proposal = byId(id);
  if (!proposal) return;
  if (!editable()) {
    announce(state.chart.status === "committed"
      ? "This chart is committed: a lead must reopen it before anything changes."
      : "You can read this chart but not change it.", { error: true });
    return;
  }
  if (action === "accept") decide(proposal, { action: "accept" }).catch(report);
  else if (action === "reject") rejectDialog(proposal);
  else if (action === "modify") modifyDialog(proposal);
  else if (action === "principal") principal(proposal);
}

async function decide(proposal, body) {
  if (busy.has(proposal.id)) return;
  busy.add(proposal.id);
  list.rows.get(proposal.id)?.setAttribute("aria-busy", "true");
  try {
    const updated = await api(`/proposals/${proposal.id}/decision`, { method: "POST", body, ifMatch: proposal.version });
    applyChange(updated);
    const principalText = updated.principal && body.principal ? " as principal" : "";
    announce(`${codeOf(updated)} ${updated.status}${principalText}.`);
  } catch (error) {
    throw failed(error, proposal);
  } finally {
    busy.delete(proposal.id);
    list.rows.get(proposal.id)?.removeAttribute("aria-busy");
  }
}

// One proposal changed (or was added) by us: its row, the legend, the chart's version; the
// rest of the page stays as it is.
function applyChange(updated) {
  state.edits += 1;
  let index = indexOf(updated.id);
  const added = index < 0;
  if (added) index = state.proposals.push(updated) - 1;
  else state.proposals[index] = updated;
  if (updated.principal) {
    // The server moved the principal: the one that had it lost it, at a new version.
    state.proposals.forEach((other, at) => {
      if (at !== index && other.principal) {
        state.proposals[at] = { ...other, principal: false, version: other.version + 1 };
        list.update(state.proposals[at], at, state.proposals);
      }
    });
  }
  if (added) text.render(state.chart.text, state.proposals);
  else text.renderLegend(state.proposals);
  list.update(updated, index, state.proposals);
  state.chart.version += 1; // each decision bumps the chart's version (review.charts)
  if (state.chart.status === "new" || state.chart.status === "coded") state.chart.status = "in_review";
  updateHeaderVersion(state.chart);
  changed();
}

function rejectDialog(proposal) {
  openDialog({
    title: `Reject ${codeOf(proposal)}`,
    content: [
      el("p", { class: "muted" }, proposal.final_title || proposal.title),
      reasonChoices("reason", REJECT_REASONS, "Why is this code wrong?"),
      noteField(),
    ],
    submitLabel: "Reject",
    danger: true,
    submit: async (form) => {
      const { reason, note } = chosenReason(form);
      await decide(proposal, { action: "reject", reason, note });
    },
    onClose: refocus,
  });
}

function modifyDialog(proposal) {
  const search = codeSearch({ label: "Replacement code", system: proposal.system, year: proposal.fiscal_year });
  openDialog({
    title: `Modify ${codeOf(proposal)}`,
    content: [
      el("p", { class: "muted" }, `Now: ${codeOf(proposal)} ${proposal.final_title || proposal.title}`),
      search.node, reasonSelect(MODIFY_REASONS), noteField(),
    ],
    submitLabel: "Modify",
    wide: true,
    submit: async (form) => {
      const code = search.value();
      if (!code) throw new Error("Type a code or pick one of the suggestions.");
      const { reason, note } = chosenReason(form);
      await decide(proposal, { action: "modify", code, reason, note });
    },
    onClose: refocus,
  });
  search.input.focus();
}

// `p`: makes the diagnosis principal (or not), keeping its decision; an undecided one is
// accepted as principal.
function principal(proposal) {
  if (proposal.system !== "cm") {
    announce("Only a diagnosis (ICD-10-CM) can be principal.", { error: true });
    return;
  }
  if (proposal.status === "rejected") {
    announce("A rejected code cannot be principal: accept or modify it first.", { error: true });
    return;
  }
  const want = !proposal.principal;
  const body = proposal.status === "modified"
    ? { action: "modify", code: proposal.final_code, reason: proposal.reason, note: proposal.note || undefined, principal: want }
    : { action: "accept", principal: want };
  decide(proposal, body).catch(report);
}

function addDialog(picked) {
  const year = state.proposals.find((p) => p.fiscal_year)?.fiscal_year;
  const search = codeSearch({ label: "Code", year, initial: picked.quote.slice(0, 200) });
  const principalId = "add-principal";
  openDialog({
    title: "Add a code from the selected text",
    content: [
      el("blockquote", { class: "quote-block" }, picked.quote),
      search.node, reasonSelect(ADD_REASONS, "missed_by_agent"), noteField(),
      el("label", { class: "choice", for: principalId },
        el("input", { type: "checkbox", id: principalId, name: "principal" }), " Principal diagnosis"),
    ],
    submitLabel: "Add code",
    wide: true,
    submit: async (form) => {
      const code = search.value();
      if (!code) throw new Error("Type a code or pick one of the suggestions.");
      const { reason, note } = chosenReason(form);
      const body = {
        code, reason, note, principal: form.elements.principal.checked,
        evidence: [{ start: picked.start, end: picked.end }],
      };
      try {
        const added = await api(`/charts/${chartId}/codes`, { method: "POST", body });
        applyChange(added);
        list.select(added.id, { focus: false });
        announce(`${added.code} added.`);
      } catch (error) {
        throw failed(error, null);
      }
    },
    onClose: refocus,
  });
  search.input.focus();
}

function citation(id, index) {
  const proposal = byId(id);
  const cited = proposal && proposal.citations[index];
  if (!cited) return;
  // A tabular or PCS table citation names its code; an index entry leads to the proposal's.
  const named = /^(?:tabular|pcs_table):(.+)$/.exec(cited.source_id || "");
  showRecord(named ? named[1] : proposal.code, proposal.fiscal_year, cited);
}

// --- commit, reopen, export ---------------------------------------------------------------

async function commit(overrideReason) {
  const body = overrideReason ? { override_reason: overrideReason } : {};
  try {
    const done = await api(`/charts/${chartId}/commit`, { method: "POST", body, ifMatch: state.chart.version });
    const chart = await api(`/charts/${chartId}`);
    state.chart = chart;
    alertSlot.replaceChildren();
    renderAll();
    changed();
    loadCodeSets();
    const warned = done.warnings.length ? ` with ${done.warnings.length} warning(s)` : "";
    announce(`Committed as code set version ${done.version}${warned}.`);
    const title = document.getElementById("chart-title");
    title.setAttribute("tabindex", "-1");
    focusSoon(title);
  } catch (error) {
    if (error.status === 409 && error.problem.blockers) {
      showCommitProblems(alertSlot, error.problem, { canOverride: isLead, onOverride: overrideDialog });
    } else report(failed(error, null));
  }
}

function overrideDialog() {
  openDialog({
    title: "Commit over the problems",
    content: [
      el("p", {}, "The problems listed allow a lead to commit anyway. Your reason goes into the audit trail."),
      el("label", { for: "override-reason" }, "Reason"),
      el("textarea", { id: "override-reason", name: "override", rows: "3", required: true, maxlength: "2000" }),
    ],
    submitLabel: "Commit with override",
    danger: true,
    submit: async (form) => {
      const reason = form.elements.override.value.trim();
      if (!reason) throw new Error("Say why the chart may be committed anyway.");
      await commit(reason);
    },
  });
}

function reopenDialog() {
  openDialog({
    title: `Reopen ${chartName(state.chart)}`,
    content: [
      el("p", {}, "The committed code sets stay as they are; the next commit makes a new version."),
      el("label", { for: "reopen-reason" }, "Why reopen it?"),
      el("textarea", { id: "reopen-reason", name: "reason", rows: "3", required: true, minlength: "3", maxlength: "2000" }),
    ],
    submitLabel: "Reopen",
    submit: async (form) => {
      const reason = form.elements.reason.value.trim();
      if (reason.length < 3) throw new Error("Say why, in a few words.");
      try {
        const chart = await api(`/charts/${chartId}/reopen`, { method: "POST", body: { reason }, ifMatch: state.chart.version });
        state.chart = { ...state.chart, ...chart };
      } catch (error) {
        throw failed(error, null);
      }
      renderAll();
      changed();
      loadCodeSets();
      announce("Reopened: the chart is back in review.");
    },
  });
}

async function exportAs(format) {
  try {
    const name = await download(state.chart, format);
    announce(`Downloaded ${name}.`);
  } catch (error) {
    report(error);
  }
}

// --- keys and events ----------------------------------------------------------------------

const KEYS = { a: "accept", r: "reject", m: "modify", p: "principal" };

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
  if (!state.chart || document.querySelector("dialog[open]")) return;
  if (event.key === "j" || event.key === "k") {
    event.preventDefault();
    list.move(event.key === "j" ? 1 : -1);
  } else if (Object.hasOwn(KEYS, event.key) && list.selected !== null) {
    event.preventDefault();
    act(list.selected, KEYS[event.key]);
  }
});

document.addEventListener("medcoder:chart-changed", () => {
  if (state.chart) reload({ quiet: true });
});

document.addEventListener("medcoder:highlight", (event) => {
  const { start, end } = event.detail || {};
  if (state.chart) text.cite(start, end);
});

start();
