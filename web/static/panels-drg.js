// The MS-DRG of the working code set (accepted, modified and added codes) and what accepting
// each undecided proposal would do to it, from GET /charts/{id}/drg. Refreshed when the
// proposals change.

import { api, el } from "./api.js";
import { debounce, loading, messageOf, panelSection } from "./panels-common.js";

const SEVERITY = { MCC: "MCC", CC: "CC", NONE: "no CC/MCC" };
const severityBadge = (severity) =>
  el("span", { class: `badge sev sev-${String(severity).toLowerCase()}` }, SEVERITY[severity] || severity);
const drgNumber = (n) => (n === null || n === undefined ? "—" : String(n).padStart(3, "0"));

export class DrgPanel {
  constructor(chartId) {
    this.chartId = chartId;
    this.proposals = new Map();
    this.asked = 0;
    const { section, body } = panelSection("panel-drg", "DRG");
    this.section = section;
    this.body = body;
    body.append(loading());
    this.refreshSoon = debounce(() => this.refresh(), 400);
  }

  changed(chart, proposals) {
    this.chart = chart || this.chart;
    this.list = proposals || [];
    this.proposals = new Map(this.list.map((p) => [p.id, p]));
    this.refreshSoon();
  }

  // What the API would refuse, said without asking it (a refused request is also an error
  // in the browser's console): an outpatient chart, or no principal diagnosis to group.
  cannotGroup() {
    if (this.chart && this.chart.setting && this.chart.setting !== "inpatient") {
      return `MS-DRG grouping applies to inpatient stays; this is an ${this.chart.setting} encounter.`;
    }
    const principal = this.list.some((p) => p.principal && p.system === "cm" && p.status !== "rejected");
    if (!principal) return "No principal diagnosis is decided or proposed yet: nothing to group.";
    return null;
  }

  async refresh() {
    this.asked += 1;
    const mine = this.asked;
    const why = this.cannotGroup();
    if (why) {
      this.body.removeAttribute("aria-busy");
      this.body.replaceChildren(el("p", { class: "notice drg-unavailable", role: "status" }, why));
      return;
    }
    this.body.setAttribute("aria-busy", "true");
    let drg;
    try {
      drg = await api(`/charts/${this.chartId}/drg`);
    } catch (error) {
      if (mine !== this.asked || error.status === 401) return;
      this.body.removeAttribute("aria-busy");
      // 422 (outpatient) and 409 (no principal, a code the grouper lacks) are facts about
      // the chart, not failures of the page: said as a notice.
      const expected = error.status === 409 || error.status === 422;
      this.body.replaceChildren(el("p", { class: expected ? "notice drg-unavailable" : "error drg-unavailable", role: "status" },
        `No MS-DRG: ${messageOf(error)}`));
      return;
    }
    if (mine !== this.asked) return;
    this.body.removeAttribute("aria-busy");
    this.render(drg);
  }

  render(drg) {
    const weight = drg.weight === null || drg.weight === undefined
      ? el("dd", { class: "muted", id: "drg-weight" }, "not configured")
      : el("dd", { id: "drg-weight" }, drg.weight.toFixed(4));
    const now = el("div", { class: "drg-now", dataset: { drg: drg.drg ?? "" } },
      el("p", { class: "drg-head" },
        el("span", { class: "drg-label" }, "MS-DRG "),
        el("strong", { class: "drg-number", id: "drg-number" }, drgNumber(drg.drg))),
      el("p", { class: "drg-title", id: "drg-title" }, drg.title || "—"),
      el("dl", { class: "drg-facts" },
        el("dt", {}, "Severity"), el("dd", { id: "drg-severity" }, severityBadge(drg.severity)),
        el("dt", {}, "Weight"), weight,
        el("dt", {}, "MDC"), el("dd", {}, drg.mdc === null ? "—" : String(drg.mdc).padStart(2, "0")),
        el("dt", {}, "Principal"), el("dd", { class: "code" }, drg.principal),
        el("dt", {}, "Grouper"), el("dd", {}, `version ${drg.grouper_version}`)));
    const parts = [now];
    if (drg.ungroupable) {
      parts.push(el("p", { class: "error" }, `Ungroupable (${drg.return_code}): check the principal diagnosis, age and sex.`));
    }
    const counted = drg.codes.filter((c) => c.severity !== "NONE");
    parts.push(el("h3", { class: "side-sub" }, "CC / MCC in the working set"));
    parts.push(counted.length
      ? el("ul", { class: "drg-codes", id: "drg-codes" }, counted.map((c) => el("li", { dataset: { code: c.code } },
        el("span", { class: "code" }, c.code), " ", severityBadge(c.severity),
        c.excluded ? el("span", { class: "muted" }, " excluded by the principal") : null,
        c.drives_drg ? el("span", { class: "drives" }, " sets the DRG") : null)))
      : el("p", { class: "muted", id: "drg-codes" }, "None: no secondary diagnosis is a CC or MCC."));
    parts.push(el("h3", { class: "side-sub" }, "If a pending code is accepted"));
    parts.push(drg.pending.length
      ? el("ul", { class: "drg-pending", id: "drg-pending" }, drg.pending.map((p) => this.impact(p)))
      : el("p", { class: "muted", id: "drg-pending" }, "No undecided codes."));
    if (drg.notes.length) {
      parts.push(el("details", { class: "drg-notes" },
        el("summary", {}, `Grouping notes (${drg.notes.length})`),
        el("ul", {}, drg.notes.map((note) => el("li", {}, note)))));
    }
    this.body.replaceChildren(...parts);
  }

  impact(p) {
    const proposal = this.proposals.get(p.proposal_id);
    const title = proposal ? proposal.title : "";
    const effect = p.changes_drg
      ? el("span", { class: "drg-move" }, `DRG ${drgNumber(p.drg_without)} → ${drgNumber(p.drg_with)}`)
      : el("span", { class: "muted" }, `no change (DRG ${drgNumber(p.drg_with)})`);
    const kind = p.sets_drg === null || p.sets_drg === undefined
      ? severityBadge(p.severity)
      : el("span", { class: "badge" }, p.sets_drg ? "sets the DRG" : "procedure");
    return el("li", { class: p.changes_drg ? "changes" : "", dataset: { proposalId: p.proposal_id, code: p.code } },
      el("span", { class: "code" }, p.code), " ", kind, p.excluded ? el("span", { class: "muted" }, " excluded") : null,
      el("br"), effect,
      title ? el("span", { class: "visually-hidden" }, ` ${title}`) : null,
      el("span", { class: "visually-hidden" }, `: ${p.message}`));
  }
}
