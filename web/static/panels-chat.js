// Chat about the chart: the chart's conversations, a question answered as it streams in
// (Server-Sent Events), and each answer's citations: a chart passage is a button that marks
// it in the chart text, a code is shown with its title. Auditors read, coders and leads ask.

import { api, announce, canCode, el, streamEvents, userName } from "./api.js";
import { codeTitle, errorBox, loading, messageOf, panelSection, spanButton, when } from "./panels-common.js";

const CODE_SOURCE = /^(?:tabular|pcs_table):(.+)$/;
const FLAG_LABELS = { negated: "negated", uncertain: "uncertain", historical: "history", family: "family history" };

export class ChatPanel {
  constructor(chartId, { onActivity } = {}) {
    this.chartId = chartId;
    this.onActivity = onActivity || (() => {});
    this.conversations = [];
    this.current = null; // conversation id, or null for a new one
    this.streaming = null; // AbortController of the answer under way
    this.year = null;
    const { section, body } = panelSection("panel-chat", "Chat about the chart");
    this.section = section;
    this.picker = el("select", { id: "chat-conversation", class: "side-select", onchange: () => this.pick() });
    this.log = el("ol", { class: "chat-log", id: "chat-log", role: "log", "aria-label": "Questions and answers" });
    this.status = el("div", { class: "chat-status" });
    body.append(
      el("div", { class: "side-field" }, el("label", { for: "chat-conversation" }, "Conversation"), this.picker),
      this.status,
      this.log,
    );
    if (canCode) {
      this.question = el("textarea", {
        id: "chat-question", name: "question", rows: "3", maxlength: "2000", required: true,
        placeholder: "e.g. Why J13? Is sepsis mentioned?",
        onkeydown: (event) => {
          if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            this.form.requestSubmit();
          }
        },
      });
      this.askButton = el("button", { type: "submit", class: "button primary small", id: "chat-ask" }, "Ask");
      this.form = el("form", { class: "chat-form", "aria-label": "Ask about this chart" },
        el("label", { for: "chat-question" }, "Your question ",
          el("span", { class: "muted hint" }, "(Ctrl+Enter asks)")),
        this.question,
        el("div", { class: "side-actions" }, this.askButton));
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.ask();
      });
      body.append(this.form);
    } else {
      body.append(el("p", { class: "muted side-note" }, "You can read the conversations about this chart; coders and leads ask."));
    }
  }

  loaded(chart, proposals) {
    this.year = (proposals || []).find((p) => p.fiscal_year)?.fiscal_year || null;
    this.loadList();
  }

  async loadList() {
    this.status.replaceChildren(loading());
    try {
      this.conversations = await api(`/charts/${this.chartId}/conversations`);
    } catch (error) {
      if (error.status !== 401) this.status.replaceChildren(errorBox(`Conversations could not be loaded: ${messageOf(error)}`));
      return;
    }
    this.status.replaceChildren();
    const latest = this.conversations.length ? this.conversations[this.conversations.length - 1].id : null;
    this.renderPicker(latest);
    if (latest !== null) this.pick();
    else this.renderEmpty();
  }

  renderPicker(selected) {
    const options = this.conversations.map((c) => el("option", { value: c.id, selected: c.id === selected },
      `${c.title || `Conversation ${c.id}`} · ${c.created_by} · ${c.message_count} message${c.message_count === 1 ? "" : "s"}`));
    if (canCode) options.push(el("option", { value: "", selected: selected === null }, "New conversation"));
    if (!options.length) options.push(el("option", { value: "" }, "No conversations yet"));
    this.picker.replaceChildren(...options);
    this.picker.disabled = !this.conversations.length && !canCode;
  }

  renderEmpty() {
    this.log.replaceChildren(el("li", { class: "muted chat-empty" }, canCode
      ? "Ask about the chart, its codes or the coding rules: answers cite the chart and the code set."
      : "No one has asked about this chart yet."));
  }

  async pick() {
    this.stop();
    const id = this.picker.value ? Number(this.picker.value) : null;
    this.current = id;
    if (id === null) {
      this.renderEmpty();
      return;
    }
    this.log.replaceChildren(el("li", {}, loading()));
    try {
      const found = await api(`/conversations/${id}`);
      if (this.current !== id) return;
      this.log.replaceChildren(...found.messages.map((m) => this.turn(m.question, m.asked_by, m.asked_at).fill(m)));
      if (!found.messages.length) this.renderEmpty();
      this.scrollToEnd();
    } catch (error) {
      if (error.status !== 401 && this.current === id) {
        this.log.replaceChildren(el("li", {}, errorBox(`This conversation could not be loaded: ${messageOf(error)}`)));
      }
    }
  }

  stop() {
    if (this.streaming) this.streaming.abort();
    this.streaming = null;
  }

  // One question and its answer in the log; returns helpers to stream into and fill it.
  turn(question, who, at) {
    const text = el("p", { class: "chat-text" });
    const extra = el("div", { class: "chat-extra" });
    const answer = el("div", { class: "chat-answer" }, el("span", { class: "visually-hidden" }, "Answer: "), text, extra);
    const item = el("li", { class: "chat-turn" },
      el("p", { class: "chat-question" },
        el("span", { class: "chat-who" }, who || "you"), at ? " · " : "", at ? when(at) : "",
        el("span", { class: "visually-hidden" }, " asked:"),
        el("span", { class: "chat-q-text" }, question)),
      answer);
    const helpers = {
      item,
      answer,
      append: (piece) => { text.textContent += piece; },
      fill: (message) => {
        item.dataset.messageId = message.id;
        answer.removeAttribute("aria-busy");
        text.textContent = message.answer.text;
        answer.classList.toggle("refused", Boolean(message.refused));
        extra.replaceChildren(...this.details(message));
        return item;
      },
      fail: (message) => {
        answer.removeAttribute("aria-busy");
        extra.replaceChildren(errorBox(message));
      },
    };
    return helpers;
  }

  details(message) {
    const parts = [];
    const { citations = [], unverified = 0 } = message.answer;
    if (citations.length) {
      parts.push(el("p", { class: "chat-cites-head" }, "Sources"),
        el("ul", { class: "chat-cites", "aria-label": "Sources of this answer" },
          citations.map((c) => el("li", {}, this.citation(c, message.fiscal_year)))));
    }
    if (unverified > 0) {
      parts.push(el("p", { class: "notice small-note" },
        `${unverified} citation${unverified === 1 ? "" : "s"} could not be checked and ${unverified === 1 ? "was" : "were"} left out.`));
    }
    const by = message.answerer === "llm" ? `LLM${message.model ? ` (${message.model})` : ""}` : "offline answerer";
    parts.push(el("p", { class: "muted chat-meta" }, `${by} · ${message.kind.replace(/_/g, " ")}`));
    return parts;
  }

  citation(cited, year) {
    if (cited.kind === "chart") {
      const flags = (cited.flags || []).map((f) => FLAG_LABELS[f] || f);
      return el("span", { class: "cite-chart" }, spanButton(cited.quote, cited.start, cited.end),
        flags.length ? el("span", { class: "badge cite-flag" }, flags.join(", ")) : null);
    }
    if (cited.kind === "rule") {
      return el("span", { class: "cite-rule" }, el("span", { class: "cite-kind" }, "Guideline "),
        el("span", { class: "code" }, cited.section_id), cited.label ? ` ${cited.label}` : "");
    }
    const named = CODE_SOURCE.exec(cited.source_id || "");
    if (named) {
      // Answers carry the title since the chat fills it in; older stored answers do not.
      const title = el("span", { class: "cite-title" }, cited.title ? ` ${cited.title}` : "");
      if (!cited.title) {
        codeTitle(api, named[1], year || this.year).then((found) => {
          title.textContent = found ? ` ${found}` : "";
        });
      }
      return el("span", { class: "cite-code", dataset: { code: named[1] } }, el("span", { class: "code" }, named[1]), title);
    }
    // An index entry or a table row: its label says what it is ("Index: Diabetes > type 2 ->
    // E11.22"); the store's id is for the curious, on hover.
    if (cited.label && cited.label !== cited.source_id) {
      return el("span", { class: "cite-kb", title: cited.source_id }, cited.label);
    }
    return el("span", { class: "cite-kb" }, el("span", { class: "code" }, cited.source_id));
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  async ask() {
    const question = this.question.value.trim();
    if (!question) {
      announce("Type a question first.", { error: true });
      this.question.focus();
      return;
    }
    if (this.streaming) return;
    const controller = new AbortController();
    this.streaming = controller;
    this.askButton.disabled = true;
    this.form.setAttribute("aria-busy", "true");
    if (!this.log.querySelector(".chat-turn")) this.log.replaceChildren();
    const shown = this.turn(question, userName || "you", null);
    shown.answer.setAttribute("aria-busy", "true");
    this.log.append(shown.item);
    this.scrollToEnd();
    let finished = false;
    try {
      if (this.current === null) await this.startConversation(question);
      await streamEvents(`/conversations/${this.current}/messages`, {
        method: "POST", body: { question }, signal: controller.signal,
        onEvent: ({ event, data }) => {
          if (event === "token") {
            shown.append(data.text || "");
            this.scrollToEnd();
          } else if (event === "final") {
            finished = true;
            shown.fill(data);
            this.question.value = "";
            this.bumpCount();
          } else if (event === "error") {
            finished = true;
            shown.fail(`No answer: ${(data && (data.detail || data.title)) || "the answer failed"}`);
          }
        },
      });
      if (!finished) shown.fail("The answer stopped before it was complete; ask again.");
      announce(finished ? "Answer ready." : "The answer stopped.");
    } catch (error) {
      if (error.name === "AbortError") shown.fail("Stopped.");
      else if (error.status !== 401) shown.fail(`No answer: ${messageOf(error)}`);
    } finally {
      if (this.streaming === controller) this.streaming = null;
      this.askButton.disabled = false;
      this.form.removeAttribute("aria-busy");
      this.scrollToEnd();
      this.onActivity();
    }
  }

  async startConversation(question) {
    const title = question.length > 60 ? `${question.slice(0, 57)}…` : question;
    const made = await api(`/charts/${this.chartId}/conversations`, { method: "POST", body: { title } });
    this.conversations.push({ ...made, message_count: 0 });
    this.current = made.id;
    this.renderPicker(made.id);
  }

  bumpCount() {
    const found = this.conversations.find((c) => c.id === this.current);
    if (found) {
      found.message_count += 1;
      this.renderPicker(this.current);
    }
  }
}
