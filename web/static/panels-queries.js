// Physician queries of a chart: the list with each query's status, and (coders and leads)
// drafting one from a documentation gap, editing a draft, sending it, cancelling it.

import { api, announce, canCode, el } from "./api.js";
import { openDialog } from "./chart-dialogs.js";
import { errorBox, messageOf, spanButton, when } from "./panels-common.js";

const STATUS = { draft: "Draft", open: "Sent, awaiting answer", answered: "Answered", cancelled: "Cancelled" };
let counter = 0;
const uid = (stem) => `${stem}-${(counter += 1)}`;

// The query editor (a modal form). `draft`: {kind, code, proposal_id, topic, question,
// options, indicators: [{what, quote, start, end}]}. Resolves through `save(body)`.
export function queryDialog({ title, draft, submitLabel, offerSend, save }) {
  const ids = { topic: uid("q-topic"), question: uid("q-question"), options: uid("q-options"), send: uid("q-send") };
  const indicators = draft.indicators.map((indicator, index) => {
    const id = uid("q-indicator");
    return el("li", {}, el("label", { class: "choice", for: id },
      el("input", { type: "checkbox", id, name: "indicator", value: String(index), checked: true }),
      ` ${indicator.what}: `, el("span", { class: "q-quote" }, `“${indicator.quote}”`)));
  });
  const content = [
    el("div", { class: "stack" }, el("label", { for: ids.topic }, "Topic"),
      el("input", { id: ids.topic, name: "topic", type: "text", required: true, maxlength: "200", value: draft.topic })),
    el("fieldset", { class: "q-indicators" }, el("legend", {}, "Clinical indicators quoted from the chart"),
      el("ul", { class: "plain" }, indicators)),
    el("div", { class: "stack" }, el("label", { for: ids.question }, "Question to the physician"),
      el("textarea", { id: ids.question, name: "question", rows: "3", required: true, maxlength: "2000" }, draft.question)),
    el("div", { class: "stack" },
      el("label", { for: ids.options }, "Answer options ", el("span", { class: "muted" }, "(one per line)")),
      el("textarea", { id: ids.options, name: "options", rows: "5", required: true }, draft.options.join("\n"))),
  ];
  if (offerSend) {
    content.push(el("label", { class: "choice", for: ids.send },
      el("input", { type: "checkbox", id: ids.send, name: "send" }), " Send to the physician now"));
  }
  return openDialog({
    title, content, submitLabel, wide: true,
    submit: async (form) => {
      const chosen = [...form.querySelectorAll('input[name="indicator"]:checked')].map((box) => draft.indicators[Number(box.value)]);
      if (!chosen.length) throw new Error("Keep at least one clinical indicator.");
      const options = form.elements.options.value.split("\n").map((line) => line.trim()).filter(Boolean);
      const body = {
        kind: draft.kind,
        topic: form.elements.topic.value.trim(),
        question: form.elements.question.value.trim(),
        options,
        indicators: chosen.map((i) => ({ what: i.what, start: i.start, end: i.end })),
        code: draft.code || undefined,
        proposal_id: draft.proposal_id || undefined,
        send: offerSend ? form.elements.send.checked : false,
      };
      if (!body.topic || !body.question) throw new Error("The topic and the question are needed.");
      await save(body);
    },
  });
}

export class QueryList {
  constructor(chartId, { onChange }) {
    this.chartId = chartId;
    this.onChange = onChange || (() => {});
    this.queries = [];
    this.list = el("ul", { class: "query-list", id: "query-list", "aria-label": "Physician queries" });
    this.status = el("div", {});
    this.node = el("div", { class: "queries" }, el("h3", { class: "side-sub", id: "queries-heading" }, "Physician queries"),
      this.status, this.list);
  }

  async refresh() {
    try {
      this.queries = await api(`/charts/${this.chartId}/queries`);
    } catch (error) {
      if (error.status !== 401) this.status.replaceChildren(errorBox(`Queries could not be loaded: ${messageOf(error)}`));
      return this.queries;
    }
    this.status.replaceChildren();
    this.render();
    return this.queries;
  }

  // The draft or open query about a proposal, if any.
  activeFor(proposalId) {
    return this.queries.find((q) => q.proposal_id === proposalId && (q.status === "draft" || q.status === "open"));
  }

  render() {
    if (!this.queries.length) {
      this.list.replaceChildren(el("li", { class: "muted" }, "No queries for this chart."));
      return;
    }
    // Newest first: the one just drafted is on top.
    this.list.replaceChildren(...[...this.queries].reverse().map((q) => this.item(q)));
  }

  item(q) {
    const name = `query ${q.id}${q.code ? ` (${q.code})` : ""}`;
    const parts = [
      el("p", { class: "q-head" }, el("span", { class: `badge q-status q-${q.status}` }, STATUS[q.status] || q.status), " ",
        q.code ? el("span", { class: "code" }, q.code) : null, " ", el("span", { class: "q-topic" }, q.topic)),
      el("p", { class: "q-question" }, q.question),
      el("p", { class: "muted q-by" }, `#${q.id} by ${q.created_by} · `, when(q.created_at)),
    ];
    if (q.indicators && q.indicators.length) {
      parts.push(el("ul", { class: "plain q-evidence", "aria-label": `Indicators of ${name}` },
        q.indicators.map((i) => el("li", {}, spanButton(i.quote, i.start, i.end, { prefix: i.what })))));
    }
    if (q.answer) parts.push(el("p", { class: "q-answer" }, el("strong", {}, "Answer: "), q.answer));
    if (q.status === "cancelled" && q.reason) parts.push(el("p", { class: "muted" }, `Cancelled by ${q.closed_by}: ${q.reason}`));
    if (canCode && (q.status === "draft" || q.status === "open")) {
      const actions = [];
      if (q.status === "draft") {
        actions.push(el("button", { type: "button", class: "button small", "aria-label": `Edit ${name}`, onclick: () => this.edit(q) }, "Edit"));
        actions.push(el("button", { type: "button", class: "button small primary", "aria-label": `Send ${name}`, onclick: (e) => this.send(q, e.currentTarget) }, "Send"));
      }
      if (q.status === "open") {
        actions.push(el("button", { type: "button", class: "button small primary", "aria-label": `Record the answer to ${name}`, onclick: () => this.answer(q) }, "Record answer"));
      }
      actions.push(el("button", { type: "button", class: "button small", "aria-label": `Cancel ${name}`, onclick: () => this.cancel(q) }, "Cancel query"));
      parts.push(el("div", { class: "side-actions" }, actions));
    }
    return el("li", { class: "query", dataset: { queryId: q.id, status: q.status } }, parts);
  }

  draftFrom(gap) {
    queryDialog({
      title: `Query about ${gap.code}`,
      draft: { ...gap, indicators: gap.indicators },
      submitLabel: "Save query",
      offerSend: true,
      save: async (body) => {
        const made = await api(`/charts/${this.chartId}/queries`, { method: "POST", body });
        announce(made.status === "open" ? `Query ${made.id} sent.` : `Query ${made.id} saved as a draft.`);
        await this.changed();
      },
    });
  }

  edit(q) {
    queryDialog({
      title: `Edit query ${q.id}`,
      draft: q,
      submitLabel: "Save draft",
      offerSend: false,
      save: async (body) => {
        await api(`/queries/${q.id}`, { method: "PUT", body });
        announce(`Query ${q.id} saved.`);
        await this.changed();
      },
    });
  }

  async send(q, button) {
    button.disabled = true;
    try {
      await api(`/queries/${q.id}/send`, { method: "POST" });
      announce(`Query ${q.id} sent.`);
      await this.changed();
    } catch (error) {
      button.disabled = false;
      if (error.status !== 401) announce(`Query ${q.id} was not sent: ${messageOf(error)}`, { error: true });
      if (error.status === 409) await this.changed();
    }
  }

  // The physician's answer joins the chart text as an addendum: the chart page is asked to
  // read the chart again (medcoder:chart-changed), and its change event refreshes the panels.
  answer(q) {
    const id = uid("q-answer");
    const choices = (q.options || []).map((option, index) => {
      const choiceId = `${id}-option-${index}`;
      return el("label", { class: "choice", for: choiceId },
        el("input", { type: "radio", id: choiceId, name: "option", value: option }), ` ${option}`);
    });
    openDialog({
      title: `Answer to query ${q.id}`,
      content: [
        el("p", { class: "muted" }, q.question),
        choices.length ? el("fieldset", { class: "stack" }, el("legend", {}, "The physician chose"), choices) : null,
        el("label", { for: id }, "What the physician documented"),
        el("textarea", { id, name: "answer", rows: "3", maxlength: "4000" }),
      ],
      submitLabel: "Record answer",
      submit: async (form) => {
        const picked = form.querySelector("input[name=option]:checked");
        const chosen = picked ? picked.value : "";
        const written = form.elements.answer.value.trim();
        const answer = [chosen, written].filter(Boolean).join(". ");
        if (!answer) throw new Error("Choose the physician's answer or write what they documented.");
        await api(`/queries/${q.id}/answer`, { method: "POST", body: { answer } });
        document.dispatchEvent(new CustomEvent("medcoder:chart-changed"));
        announce(`Answer to query ${q.id} recorded; the chart now holds it as an addendum.`);
      },
    });
  }

  cancel(q) {
    const id = uid("q-reason");
    openDialog({
      title: `Cancel query ${q.id}`,
      content: [
        el("p", { class: "muted" }, q.topic),
        el("label", { for: id }, "Why cancel it?"),
        el("textarea", { id, name: "reason", rows: "3", required: true, maxlength: "2000" }),
      ],
      submitLabel: "Cancel query",
      danger: true,
      submit: async (form) => {
        const reason = form.elements.reason.value.trim();
        if (!reason) throw new Error("Say why the query is cancelled.");
        await api(`/queries/${q.id}/cancel`, { method: "POST", body: { reason } });
        announce(`Query ${q.id} cancelled.`);
        await this.changed();
      },
    });
  }

  async changed() {
    await this.refresh();
    this.onChange();
  }
}
