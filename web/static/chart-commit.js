// The chart's header (who, when, which version, what can be done with it), the commit's
// refusal with the API's problems, the committed code sets side by side, and the export.

import { api, el } from "./api.js";
import { focusSoon } from "./chart-dialogs.js";

const STATUS = { new: "New", coded: "Coded", in_review: "In review", committed: "Committed" };
const SETTING = { inpatient: "Inpatient", outpatient: "Outpatient" };

export function chartName(chart) {
  return chart.external_id ? `Chart ${chart.external_id}` : `Chart #${chart.id}`;
}

function fact(term, ...value) {
  return el("div", { class: "fact" }, el("dt", {}, term), el("dd", {}, ...value));
}

// The header's content; the buttons shown follow the role and the chart's state.
export function renderHeader(node, chart, { isLead, onCommit, onReopen, onExport }) {
  const committed = chart.status === "committed";
  const patient = [chart.age !== null ? `${chart.age} y` : null, chart.sex].filter(Boolean).join(" / ") || "—";
  const facts = [
    fact("Status", el("span", { class: `badge ${chart.status}`, id: "chart-status" }, STATUS[chart.status] || chart.status)),
    fact("Setting", SETTING[chart.setting] || chart.setting),
    fact("Patient", patient),
  ];
  if (chart.admission_date) facts.push(fact("Admitted", chart.admission_date));
  if (chart.discharge_date) facts.push(fact("Discharged", chart.discharge_date));
  if (chart.encounter_date && !chart.discharge_date) facts.push(fact("Visit", chart.encounter_date));
  facts.push(fact("Version", el("span", { id: "chart-version" }, String(chart.version))));
  if (chart.committed_version) facts.push(fact("Committed", `v${chart.committed_version}`));
  if (chart.assigned_to) facts.push(fact("Assigned", chart.assigned_to.name));
  const actions = [];
  if (isLead && !committed) {
    actions.push(el("button", { type: "button", class: "button primary", id: "commit-chart", onclick: onCommit }, "Commit"));
  }
  if (isLead && committed) {
    actions.push(el("button", { type: "button", class: "button", id: "reopen-chart", onclick: onReopen }, "Reopen…"));
  }
  if (chart.committed_version) {
    actions.push(
      el("button", { type: "button", class: "button", id: "export-fhir", onclick: () => onExport("fhir") }, "Export FHIR"),
      el("button", { type: "button", class: "button", id: "export-csv", onclick: () => onExport("csv") }, "Export CSV"),
    );
  }
  node.replaceChildren(el("h1", { id: "chart-title" }, chartName(chart)), el("dl", { class: "chart-facts" }, facts));
  if (actions.length) node.append(el("div", { class: "chart-actions", role: "group", "aria-label": "Chart actions" }, actions));
}

// The version number and status after our own change, without rebuilding the header.
export function updateHeaderVersion(chart) {
  const version = document.getElementById("chart-version");
  if (version) version.textContent = String(chart.version);
  const status = document.getElementById("chart-status");
  if (status) {
    status.className = `badge ${chart.status}`;
    status.textContent = STATUS[chart.status] || chart.status;
  }
}

// 409 / 412: someone changed the chart or the proposal (`code`) first. Said plainly, with a
// button that reloads; nothing already saved is lost by it.
export function showStaleAlert(slot, error, code, onReload) {
  const current = (error.problem && error.problem.current) || {};
  let what = error.message;
  if (code && current.decided_by) {
    const now = current.status ? ` (now ${current.status})` : "";
    what = `${current.decided_by} changed ${code}${now} after you loaded this chart.`;
  }
  const button = el("button", { type: "button", class: "button primary", id: "reload-proposals", onclick: onReload }, "Reload");
  slot.replaceChildren(el("div", { class: "alert stale", role: "alert", id: "stale-alert" },
    el("p", {}, el("strong", {}, "Someone else got there first. "), what, " Your change was not saved."),
    el("p", {}, "Reload to see the current state; everything already saved is kept."),
    button));
  focusSoon(button);
}

// A commit the API refused (409 "Commit refused"): its blockers, plainly, and for a lead an
// override when every blocker allows one.
export function showCommitProblems(slot, problem, { canOverride, onOverride }) {
  const blockers = problem.blockers || (problem.problems || []).map((message) => ({ message }));
  // Undecided proposals are one line, however many: the list stays readable at 60.
  const undecided = blockers.filter((item) => item.rule === "review.undecided");
  const items = blockers.filter((item) => item.rule !== "review.undecided").map((item) => el("li", {},
    el("span", {}, item.message), item.rule ? el("span", { class: "rule" }, ` ${item.rule}`) : null));
  if (undecided.length) {
    const codes = undecided.flatMap((item) => item.codes || []);
    const many = undecided.length === 1 ? "1 proposal has" : `${undecided.length} proposals have`;
    items.unshift(el("li", {}, `${many} no decision yet: `, el("span", { class: "code" }, codes.join(", ")),
      el("span", { class: "rule" }, " review.undecided")));
  }
  const heading = el("h2", { tabindex: "-1" },
    `Not committed: ${blockers.length} problem${blockers.length === 1 ? "" : "s"} to resolve first`);
  slot.replaceChildren(el("div", { class: "alert problems", role: "alert", id: "commit-problems" },
    heading,
    el("ul", { class: "problem-list" }, items),
    (problem.warnings || []).length
      ? el("p", { class: "muted" }, `Also ${problem.warnings.length} warning(s), which do not block the commit.`)
      : null,
    el("div", { class: "row" },
      canOverride && problem.overridable
        ? el("button", { type: "button", class: "button danger", onclick: onOverride }, "Commit with override…")
        : null,
      el("button", { type: "button", class: "button", onclick: () => slot.replaceChildren() }, "Dismiss"))));
  focusSoon(heading);
}

// What each committed version holds, oldest to newest, each against the one before it.
export function renderCodeSets(slot, sets, { open }) {
  if (!sets.length) {
    slot.replaceChildren();
    return;
  }
  const columns = sets.map((set, index) => {
    const before = index ? new Set(sets[index - 1].codes.map((c) => c.code)) : null;
    const now = new Set(set.codes.map((c) => c.code));
    const items = set.codes.map((entry) => el("li", {},
      el("span", { class: "code" }, entry.code), " ", el("span", { class: "set-title" }, entry.title),
      entry.principal ? el("span", { class: "badge principal" }, "Principal") : null,
      before && !before.has(entry.code) ? el("span", { class: "badge added" }, "New") : null));
    const removed = before ? [...before].filter((code) => !now.has(code)) : [];
    for (const code of removed) {
      items.push(el("li", { class: "removed" }, el("del", { class: "code" }, code), " removed"));
    }
    const when = new Date(set.committed_at);
    return el("article", { class: "code-set", "aria-labelledby": `code-set-${set.version}` },
      el("h4", { id: `code-set-${set.version}` }, `Version ${set.version}`),
      el("p", { class: "muted" }, `${set.committed_by} · ${when.toLocaleString()} · FY${set.fiscal_year ?? "?"}`),
      el("ol", { class: "set-codes" }, items));
  });
  slot.replaceChildren(el("details", { class: "code-sets", id: "code-sets", open },
    el("summary", {}, `Committed code sets (${sets.length})`),
    el("div", { class: "code-set-columns" }, columns)));
}

// The committed code set as a file: fetched with the session, saved through a blob: link.
export async function download(chart, format) {
  const response = await api(`/charts/${chart.id}/export?format=${format}`, { raw: true });
  const blob = await response.blob();
  const given = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const stem = `chart-${chart.external_id || chart.id}-v${chart.committed_version}`.replace(/[^\w.-]+/g, "_");
  const name = given ? given[1] : `${stem}.${format === "csv" ? "csv" : "fhir.json"}`;
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, class: "visually-hidden" }, name);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  return name;
}
