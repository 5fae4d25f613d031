// The proposal list: one row per proposal (code, title, confidence, rationale, evidence,
// citations, warnings, status, the decision), a single selected row with roving focus
// (aria-selected), the action buttons, and the candidates the agent dropped.

import { el } from "./api.js";
import { colourClass } from "./chart-text.js";
import { reasonLabel } from "./chart-dialogs.js";

const STATUS = {
  pending: "Pending", accepted: "Accepted", rejected: "Rejected", modified: "Modified", added: "Added",
};
const ACTIONS = [
  ["accept", "Accept", "a"], ["reject", "Reject…", "r"], ["modify", "Modify…", "m"], ["principal", "Principal", "p"],
];
const QUOTE_MAX = 48;

const short = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const percent = (value) => (value === null || value === undefined ? "" : `${Math.round(value * 100)}%`);

export class ProposalList {
  constructor(panel, { onSelect, onAction, onEvidence, onCitation }) {
    this.onSelect = onSelect;
    this.onAction = onAction;
    this.onEvidence = onEvidence;
    this.onCitation = onCitation;
    this.rows = new Map();
    this.order = [];
    this.selected = null;
    this.editable = false;
    this.progress = el("span", { class: "progress", id: "decided-count" });
    this.help = el("p", { class: "keys-help", id: "keys-help" });
    this.codeSets = el("div", { id: "code-sets-slot" });
    this.list = el("ol", {
      id: "proposal-list", class: "proposal-list", role: "grid", "aria-label": "Proposed codes",
      "aria-describedby": "keys-help", "aria-keyshortcuts": "j k a r m p",
    });
    this.dropped = el("div", { id: "dropped-slot" });
    panel.replaceChildren(
      el("div", { class: "pane-head" }, el("h2", {}, "Proposed codes"), this.progress),
      this.help,
      el("div", { class: "pane-scroll", id: "proposals-scroll" }, this.codeSets, this.list, this.dropped),
    );
    this.list.addEventListener("click", (event) => this.clicked(event));
    this.list.addEventListener("keydown", (event) => this.keyed(event));
  }

  render(proposals, editable) {
    this.editable = editable;
    this.help.replaceChildren(...(editable
      ? ["Keys: ", kbd("j"), " / ", kbd("k"), " next / previous · ", kbd("a"), " accept · ",
        kbd("r"), " reject · ", kbd("m"), " modify · ", kbd("p"), " principal · select chart text to add a code"]
      : ["Read-only. Keys: ", kbd("j"), " / ", kbd("k"), " next / previous proposal"]));
    this.order = proposals.map((p) => p.id);
    this.rows = new Map();
    const fragment = document.createDocumentFragment();
    proposals.forEach((proposal, index) => {
      const row = this.row(proposal, index);
      this.rows.set(proposal.id, row);
      fragment.append(row);
    });
    this.list.replaceChildren(fragment);
    if (!proposals.length) {
      this.list.append(el("li", { role: "row", class: "empty" },
        el("div", { role: "gridcell" }, "No proposals yet: the chart has not been coded.")));
    }
    this.count(proposals);
    const keep = this.rows.has(this.selected) ? this.selected : this.order[0];
    this.selected = null;
    if (keep !== undefined) this.select(keep, { focus: false, notify: false });
  }

  // After a decision: only that row is rebuilt.
  update(proposal, index, proposals) {
    const old = this.rows.get(proposal.id);
    const row = this.row(proposal, index);
    const hadFocus = old && old.contains(document.activeElement);
    this.rows.set(proposal.id, row);
    if (old) old.replaceWith(row);
    else {
      this.order.push(proposal.id);
      this.list.querySelector(".empty")?.remove();
      this.list.append(row);
    }
    if (this.selected === proposal.id) this.mark(row, true);
    if (hadFocus) row.focus();
    this.count(proposals);
  }

  count(proposals) {
    const decided = proposals.filter((p) => p.status !== "pending").length;
    this.progress.textContent = `${decided} of ${proposals.length} decided`;
  }

  row(proposal, index) {
    const modified = proposal.status === "modified" && proposal.final_code;
    const head = el("div", { class: "p-head" },
      el("span", { class: `swatch ${colourClass(index)}`, "aria-hidden": "true" }),
      modified
        ? el("span", { class: "p-code" }, el("del", { class: "code" }, proposal.code), " → ",
          el("span", { class: "code" }, proposal.final_code))
        : el("span", { class: "p-code code" }, proposal.code),
      el("span", { class: "p-title" }, modified ? proposal.final_title : proposal.title),
      proposal.principal ? el("span", { class: "badge principal" }, "Principal") : null,
      proposal.confidence !== null
        ? el("span", { class: "p-conf", title: "Confidence" }, el("span", { class: "visually-hidden" }, "confidence "), percent(proposal.confidence))
        : null,
      el("span", { class: `badge ${proposal.status}` }, STATUS[proposal.status] || proposal.status));
    const cell = el("div", { role: "gridcell", class: "p-cell" }, head,
      proposal.rationale ? el("p", { class: "p-rationale" }, proposal.rationale) : null,
      this.evidence(proposal),
      this.citations(proposal),
      proposal.warnings.length
        ? el("ul", { class: "p-warnings", "aria-label": "Warnings" },
          proposal.warnings.map((text) => el("li", {}, text)))
        : null,
      this.decision(proposal),
      this.editable ? this.actions(proposal) : null);
    return el("li", {
      role: "row", id: `proposal-${proposal.id}`, class: `proposal is-${proposal.status}`,
      "aria-selected": "false", tabindex: "-1",
      dataset: { id: proposal.id, code: proposal.code, status: proposal.status },
    }, cell);
  }

  evidence(proposal) {
    if (!proposal.evidence.length) return null;
    return el("div", { class: "p-line" }, el("span", { class: "p-label" }, "Evidence"),
      proposal.evidence.map((span, index) => el("button", {
        type: "button", class: "chip quote", tabindex: "-1", dataset: { evidence: index },
        title: "Show in the chart text",
      }, `“${short(span.quote || "", QUOTE_MAX)}”`)));
  }

  citations(proposal) {
    if (!proposal.citations.length) return null;
    return el("div", { class: "p-line" }, el("span", { class: "p-label" }, "Sources"),
      proposal.citations.map((citation, index) => el("button", {
        type: "button", class: "chip cite", tabindex: "-1", dataset: { citation: index },
        "aria-haspopup": "dialog",
      }, citation.label || citation.source_id)));
  }

  decision(proposal) {
    if (proposal.status === "pending") return null;
    const parts = [`${STATUS[proposal.status]} by ${proposal.decided_by || "someone"}`];
    if (proposal.reason) parts.push(reasonLabel(proposal.reason));
    const text = parts.join(" · ") + (proposal.note ? `: ${proposal.note}` : "");
    return el("p", { class: "p-decision" }, text);
  }

  actions(proposal) {
    const buttons = ACTIONS
      .filter(([action]) => action !== "principal" || proposal.system === "cm")
      .map(([action, label, key]) => {
        const current = (action === "accept" && proposal.status === "accepted") ||
          (action === "reject" && proposal.status === "rejected");
        return el("button", {
          type: "button", class: `button small act-${action}`, tabindex: "-1",
          dataset: { action }, "aria-keyshortcuts": key,
          "aria-label": `${label.replace("…", "")} ${proposal.final_code || proposal.code}`,
          "aria-pressed": action === "principal" ? String(proposal.principal) : undefined,
          disabled: current, title: `${label.replace("…", "")} (key ${key})`,
        }, label);
      });
    return el("div", { class: "p-actions" }, buttons);
  }

  clicked(event) {
    const row = event.target.closest("li[data-id]");
    if (!row) return;
    const id = Number(row.dataset.id);
    const button = event.target.closest("button");
    if (id !== this.selected) this.select(id, { focus: !button });
    if (!button) return;
    if (button.dataset.action) this.onAction(id, button.dataset.action);
    else if (button.dataset.evidence !== undefined) this.onEvidence(id, Number(button.dataset.evidence));
    else if (button.dataset.citation !== undefined) this.onCitation(id, Number(button.dataset.citation));
  }

  keyed(event) {
    const moves = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) return;
    event.preventDefault();
    this.move(moves[event.key]);
  }

  move(delta) {
    if (!this.order.length) return;
    const at = this.order.indexOf(this.selected);
    const next = Math.max(0, Math.min(this.order.length - 1, (at < 0 ? 0 : at) + delta));
    this.select(this.order[next], { focus: true });
  }

  select(id, { focus = true, notify = true } = {}) {
    const row = this.rows.get(id);
    if (!row) return;
    if (this.selected !== id) {
      const before = this.rows.get(this.selected);
      if (before) this.mark(before, false);
      this.selected = id;
      this.mark(row, true);
    }
    if (focus) row.focus({ preventScroll: true });
    scrollNearest(row.closest(".pane-scroll"), row);
    if (notify) this.onSelect(id);
  }

  // The selected row is the one in the tab order, with its buttons; the others are reached
  // with the arrow keys or j / k.
  mark(row, selected) {
    row.setAttribute("aria-selected", String(selected));
    row.tabIndex = selected ? 0 : -1;
    for (const button of row.querySelectorAll("button")) button.tabIndex = selected ? 0 : -1;
  }

  focusSelected() {
    this.rows.get(this.selected)?.focus();
  }

  renderDropped(run) {
    const dropped = (run && run.dropped) || [];
    const warnings = (run && run.warnings) || [];
    if (!dropped.length && !warnings.length) {
      this.dropped.replaceChildren();
      return;
    }
    this.dropped.replaceChildren(el("details", { class: "dropped", id: "dropped" },
      el("summary", {}, `Dropped by the agent (${dropped.length})`),
      warnings.length ? el("ul", { class: "run-warnings", "aria-label": "Coding run warnings" },
        warnings.map((text) => el("li", {}, text))) : null,
      el("ul", { class: "dropped-list" }, dropped.map((item) => el("li", {},
        el("span", { class: "code" }, item.code), " ", el("span", { class: "why" }, item.reason))))));
  }
}

function kbd(key) {
  return el("kbd", {}, key);
}

// Brings `row` into view inside `pane` only (scrollIntoView would also scroll the page's
// overflow-hidden panes and shift the layout).
function scrollNearest(pane, row) {
  if (!pane) return;
  const view = pane.getBoundingClientRect();
  const box = row.getBoundingClientRect();
  if (box.top < view.top) pane.scrollTop -= view.top - box.top;
  else if (box.bottom > view.bottom) pane.scrollTop += Math.min(box.bottom - view.bottom, box.top - view.top);
}
