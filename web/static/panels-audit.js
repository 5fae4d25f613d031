// The chart's audit trail, newest first: who did what, when, and why. The newest rows are
// read first; later ones after the newest seen (the trail is append-only), refreshed when the
// proposals change; older ones a page at a time, before the oldest seen, on "Show older".

import { api, el } from "./api.js";
import { reasonLabel } from "./chart-dialogs.js";
import { debounce, errorBox, messageOf, panelSection, when } from "./panels-common.js";

const PAGE = 500; // rows per read of what is new
const SHOWN = 60; // rows read at first; "Show older" reads as many again

const QUERY_VERBS = {
  "query.create": "drafted", "query.edit": "edited", "query.send": "sent",
  "query.answer": "answered", "query.cancel": "cancelled",
};

export class AuditPanel {
  constructor(chartId) {
    this.chartId = chartId;
    this.rows = []; // oldest first
    this.lastId = 0;
    this.hasOlder = false;
    this.codes = new Map(); // proposal id -> code
    this.running = null;
    const { section, body } = panelSection("panel-audit", "Audit timeline");
    this.section = section;
    this.status = el("div", {});
    this.list = el("ol", { class: "audit-list", id: "audit-list", "aria-label": "Audit events, newest first" });
    this.more = el("button", {
      type: "button", class: "button small", hidden: true,
      onclick: () => this.readOlder(),
    }, "Show older events");
    body.append(this.status, this.list, el("div", { class: "side-actions" }, this.more));
    this.refreshSoon = debounce(() => this.refresh(), 400);
  }

  changed(proposals) {
    for (const p of proposals || []) this.codes.set(p.id, p.code);
    this.refreshSoon();
  }

  // One read at a time; a refresh asked for meanwhile runs once the current one is done.
  refresh() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.read().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
    return this.running;
  }

  async read() {
    const before = this.rows.length;
    try {
      if (!this.rows.length) {
        const newest = await this.get(`order=newest&limit=${SHOWN}`);
        this.hasOlder = newest.length === SHOWN;
        this.add(newest.reverse(), "end");
      }
      for (;;) {
        const rows = await this.get(`after_id=${this.lastId}&limit=${PAGE}`);
        this.add(rows, "end");
        if (rows.length < PAGE) break;
      }
    } catch (error) {
      this.failed(error);
      return;
    }
    this.status.replaceChildren();
    if (this.rows.length !== before || !this.list.childElementCount) this.render();
  }

  async readOlder() {
    if (!this.rows.length) return;
    this.more.disabled = true;
    try {
      const older = await this.get(`order=newest&before_id=${this.rows[0].id}&limit=${SHOWN}`);
      this.hasOlder = older.length === SHOWN;
      this.add(older.reverse(), "start");
      this.status.replaceChildren();
      const hadFocus = document.activeElement === this.more;
      this.render();
      // The last page hides the button: the keyboard goes on at the oldest event instead.
      if (hadFocus && this.more.hidden) this.list.lastElementChild?.focus();
    } catch (error) {
      this.failed(error);
    } finally {
      this.more.disabled = false;
    }
  }

  get(query) {
    return api(`/charts/${this.chartId}/audit?${query}`);
  }

  // `rows` oldest first, added before or after those already read.
  add(rows, where) {
    // The newest row naming a proposal's code wins: older rows never overwrite what is known.
    const newestFirst = where === "start" ? rows.slice().reverse() : rows;
    for (const row of newestFirst) {
      if (!row.proposal_id || !row.after || !row.after.code) continue;
      if (where === "start" && this.codes.has(row.proposal_id)) continue;
      this.codes.set(row.proposal_id, row.after.code);
    }
    if (where === "start") this.rows.unshift(...rows);
    else this.rows.push(...rows);
    if (this.rows.length) this.lastId = this.rows[this.rows.length - 1].id;
  }

  failed(error) {
    if (error.status !== 401) this.status.replaceChildren(errorBox(`The audit trail could not be loaded: ${messageOf(error)}`));
  }

  render() {
    if (!this.rows.length) {
      this.list.replaceChildren(el("li", { class: "muted" }, "Nothing recorded yet."));
      this.more.hidden = true;
      return;
    }
    this.list.replaceChildren(...this.rows.slice().reverse().map((row) => this.item(row)));
    this.more.hidden = !this.hasOlder;
  }

  item(row) {
    const parts = [
      el("p", { class: "audit-what" }, this.describe(row)),
      el("p", { class: "audit-who" }, el("span", { class: "audit-actor" }, row.actor),
        el("span", { class: "muted" }, ` (${row.role}) · `), when(row.at)),
    ];
    if (row.reason) parts.push(el("p", { class: "audit-reason" }, el("span", { class: "muted" }, "Reason: "), this.reason(row)));
    return el("li", { class: "audit-row", tabindex: "-1", dataset: { id: row.id, action: row.action, proposalId: row.proposal_id ?? "" } }, parts);
  }

  // A decision's reason is "code: note" with the code one of chart-dialogs.js's reasons.
  reason(row) {
    if (!row.action.startsWith("proposal.") && row.action !== "code.add") return row.reason;
    const cut = row.reason.indexOf(": ");
    const [code, note] = cut < 0 ? [row.reason, ""] : [row.reason.slice(0, cut), row.reason.slice(cut + 2)];
    return /^[a-z_]+$/.test(code) ? `${reasonLabel(code)}${note ? `: ${note}` : ""}` : row.reason;
  }

  describe(row) {
    const after = row.after || {};
    const before = row.before || {};
    const code = this.codes.get(row.proposal_id) || after.code || "";
    const principal = after.principal && !before.principal ? " as principal" : "";
    switch (row.action) {
      case "proposal.accept": return `Accepted ${code}${principal}`;
      case "proposal.reject": return `Rejected ${code}`;
      case "proposal.modify": return `Modified ${code} → ${after.final_code || "?"}${principal}`;
      case "proposal.reset": return `Reset ${code} to pending`;
      case "code.add": return `Added ${after.code || code}${after.principal ? " as principal" : ""}`;
      case "chart.create": return "Chart created";
      case "chart.assign": return after.assigned_to ? `Assigned to ${after.assigned_to}` : "Assignment changed";
      case "coding_run.create": return `Coded${after.proposer ? ` (${after.proposer})` : ""}`;
      case "chart.commit": {
        const version = after.code_set_version ?? after.version;
        return `Committed${version ? ` as version ${version}` : ""}`;
      }
      case "chart.reopen": return "Reopened";
      case "chat.create": return "Started a conversation";
      case "chat.message": return "Asked the chat a question";
      default:
        if (QUERY_VERBS[row.action]) return `Query ${after.query_id || before.query_id || ""} ${QUERY_VERBS[row.action]}`;
        return row.action;
    }
  }
}
