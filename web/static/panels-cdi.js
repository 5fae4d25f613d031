// Clinical documentation improvement: the gaps GET /charts/{id}/cdi finds (a code the note
// leaves unspecific while the chart holds clinical indicators), each indicator a button that
// marks it in the chart text, and the chart's physician queries (panels-queries.js).

import { api, canCode, el } from "./api.js";
import { debounce, errorBox, loading, messageOf, panelSection, spanButton } from "./panels-common.js";
import { QueryList } from "./panels-queries.js";

export class CdiPanel {
  constructor(chartId, { onActivity } = {}) {
    this.chartId = chartId;
    this.gaps = [];
    this.asked = 0;
    const { section, body } = panelSection("panel-cdi", "Documentation (CDI) and queries");
    this.section = section;
    this.gapList = el("div", { class: "gaps", id: "cdi-gaps" }, loading());
    this.queries = new QueryList(chartId, {
      onChange: () => {
        this.renderGaps();
        if (onActivity) onActivity();
      },
    });
    body.append(el("h3", { class: "side-sub" }, "Documentation gaps"), this.gapList, this.queries.node);
    this.refreshSoon = debounce(() => this.refresh(), 500);
  }

  changed() {
    this.refreshSoon();
  }

  async refresh() {
    this.asked += 1;
    const mine = this.asked;
    let gaps;
    try {
      [gaps] = await Promise.all([api(`/charts/${this.chartId}/cdi`), this.queries.refresh()]);
    } catch (error) {
      if (mine === this.asked && error.status !== 401) {
        this.gapList.replaceChildren(errorBox(`Documentation gaps could not be loaded: ${messageOf(error)}`));
      }
      return;
    }
    if (mine !== this.asked) return;
    this.gaps = gaps;
    this.renderGaps();
  }

  renderGaps() {
    if (!this.gaps.length) {
      this.gapList.replaceChildren(el("p", { class: "muted" }, "No documentation gaps found for the current codes."));
      return;
    }
    this.gapList.replaceChildren(el("ul", { class: "gap-list", "aria-label": "Documentation gaps" },
      this.gaps.map((gap) => this.gap(gap))));
  }

  gap(gap) {
    const parts = [
      el("p", { class: "gap-head" }, el("span", { class: "code" }, gap.code), " ", el("span", { class: "gap-topic" }, gap.topic)),
      el("p", { class: "gap-question" }, gap.question),
      el("p", { class: "gap-label" }, "Clinical indicators"),
      el("ul", { class: "plain gap-evidence", "aria-label": `Clinical indicators for ${gap.code}` },
        gap.indicators.map((i) => el("li", {}, spanButton(i.quote, i.start, i.end, { prefix: i.what })))),
    ];
    if (gap.compliance_problems.length) {
      parts.push(el("div", { class: "notice small-note" }, el("p", {}, "The draft needs work before it is sent:"),
        el("ul", {}, gap.compliance_problems.map((p) => el("li", {}, p)))));
    }
    const active = this.queries.activeFor(gap.proposal_id);
    if (active) {
      parts.push(el("p", { class: "muted gap-queried" }, `Query ${active.id} is ${active.status === "draft" ? "a draft" : "awaiting an answer"}.`));
    } else if (canCode) {
      parts.push(el("div", { class: "side-actions" }, el("button", {
        type: "button", class: "button small primary", "aria-label": `Draft a query about ${gap.code}: ${gap.topic}`,
        onclick: () => this.queries.draftFrom(gap),
      }, "Draft query")));
    }
    return el("li", { class: "gap", dataset: { proposalId: gap.proposal_id, code: gap.code } }, parts);
  }
}
