// The chart's text with every proposal's evidence highlighted: one colour per proposal,
// cycled over app.css's .hl-0 .. .hl-9, with a legend. Spans may overlap, so the text is cut
// at every span boundary and each piece (a <mark>) knows all the proposals covering it.

import { el } from "./api.js";

const COLOURS = 10;
export const colourClass = (index) => `hl-${index % COLOURS}`;

// Pieces of [0, length) cut at every boundary of `spans` ({start, end}): each piece with the
// indexes of the spans covering it, in span order. A sweep: O(n log n) in the spans.
export function cutAtBoundaries(length, spans) {
  const opening = new Map();
  const closing = new Map();
  const points = new Set([0, length]);
  spans.forEach((span, index) => {
    const start = Math.max(0, Math.min(length, span.start));
    const end = Math.max(start, Math.min(length, span.end));
    if (end === start) return;
    points.add(start);
    points.add(end);
    (opening.get(start) || opening.set(start, []).get(start)).push(index);
    (closing.get(end) || closing.set(end, []).get(end)).push(index);
  });
  const sorted = [...points].sort((a, b) => a - b);
  const active = new Set();
  const pieces = [];
  for (let i = 0; i < sorted.length - 1; i += 1) {
    const at = sorted[i];
    for (const index of closing.get(at) || []) active.delete(index);
    for (const index of opening.get(at) || []) active.add(index);
    const covering = [...active].sort((a, b) => a - b);
    pieces.push({ start: at, end: sorted[i + 1], spans: covering });
  }
  return pieces;
}

export class ChartText {
  // onPick(proposalId) when a highlight is clicked; onAddFromSelection({start, end, quote}).
  constructor(panel, { onPick, onAddFromSelection }) {
    this.onPick = onPick;
    this.marksOf = new Map(); // proposal id -> its <mark>s
    this.firstMarkOfSpan = new Map(); // "id:spanIndex" -> the first <mark> of that span
    this.current = null;
    this.cited = null;
    this.citedMark = null;
    this.text = "";
    this.proposals = [];
    this.legend = el("ul", { class: "legend", id: "chart-legend", "aria-label": "Highlight colour of each code" });
    this.body = el("div", {
      id: "chart-text", class: "chart-text", tabindex: "0", role: "region",
      "aria-label": "Chart text with highlighted evidence",
    });
    this.addButton = el("button", {
      type: "button", class: "button small", id: "add-from-selection", disabled: true, hidden: true,
      title: "Select words in the chart text first", onclick: () => {
        const picked = this.selection();
        if (picked) onAddFromSelection(picked);
      },
    }, "Add code from selection");
    panel.replaceChildren(
      el("div", { class: "pane-head" }, el("h2", {}, "Chart text"), this.addButton),
      this.legend,
      this.body,
    );
    this.body.addEventListener("click", (event) => this.clicked(event));
    // The button follows the selection: enabled only while chart text is selected.
    document.addEventListener("selectionchange", () => {
      if (!this.addButton.hidden) this.addButton.disabled = !this.selection();
    });
  }

  setEditable(editable) {
    this.addButton.hidden = !editable;
  }

  // Everything at once (first load, a reload, an added code, a cited span): a fragment built
  // off-document, so the browser lays the text out once.
  render(text, proposals) {
    this.text = text;
    this.proposals = proposals;
    const spans = [];
    proposals.forEach((proposal, owner) => {
      proposal.evidence.forEach((span, index) => {
        spans.push({ start: span.start, end: span.end, owner, id: proposal.id, index });
      });
    });
    if (this.cited) spans.push({ ...this.cited, owner: -1, id: null, index: 0 });
    this.marksOf = new Map(proposals.map((p) => [p.id, []]));
    this.firstMarkOfSpan = new Map();
    this.citedMark = null;
    const fragment = document.createDocumentFragment();
    for (const piece of cutAtBoundaries(text.length, spans)) {
      const slice = text.slice(piece.start, piece.end);
      if (!piece.spans.length) {
        fragment.append(slice);
        continue;
      }
      fragment.append(this.mark(slice, piece.spans.map((i) => spans[i])));
    }
    this.body.replaceChildren(fragment);
    this.renderLegend(proposals);
    if (this.current !== null) this.select(this.current, { scroll: false });
  }

  mark(slice, covering) {
    const owners = covering.filter((span) => span.owner >= 0);
    const ids = [...new Set(owners.map((span) => span.id))];
    const cited = covering.length !== owners.length;
    const first = owners[0];
    const node = el("mark", {
      class: [first ? colourClass(first.owner) : "", ids.length > 1 ? "overlap" : "", cited ? "cited" : ""]
        .filter(Boolean).join(" "),
      dataset: { ids: ids.join(" "), colour: first ? colourClass(first.owner) : "" },
      title: ids.length ? owners.map((span) => this.proposals[span.owner].code)
        .filter((code, i, all) => all.indexOf(code) === i).join(", ") : undefined,
    }, slice);
    for (const span of owners) {
      this.marksOf.get(span.id).push(node);
      const key = `${span.id}:${span.index}`;
      if (!this.firstMarkOfSpan.has(key)) this.firstMarkOfSpan.set(key, node);
    }
    if (cited && !this.citedMark) this.citedMark = node;
    return node;
  }

  renderLegend(proposals) {
    const items = proposals.map((proposal, index) => el("li", {
      class: proposal.status === "rejected" ? "is-rejected" : "",
      dataset: { id: proposal.id },
    }, el("span", { class: `swatch ${colourClass(index)}`, "aria-hidden": "true" }),
    el("span", { class: "code" }, proposal.final_code || proposal.code)));
    this.legend.replaceChildren(...items);
    for (const item of items) item.classList.toggle("is-current", Number(item.dataset.id) === this.current);
  }

  // Marks the proposal's evidence as current (in its own colour where spans overlap) and
  // scrolls its span `index` (default: the first) into view.
  select(id, { scroll = true, index = 0 } = {}) {
    if (this.current !== null && this.current !== id) {
      for (const node of this.marksOf.get(this.current) || []) {
        node.classList.remove("current", ...this.colourClasses(node));
        if (node.dataset.colour) node.classList.add(node.dataset.colour);
      }
    }
    this.current = id;
    const owner = this.proposals.findIndex((p) => p.id === id);
    const marks = this.marksOf.get(id) || [];
    for (const node of marks) {
      node.classList.remove(...this.colourClasses(node));
      node.classList.add("current", colourClass(owner));
    }
    for (const item of this.legend.children) {
      item.classList.toggle("is-current", Number(item.dataset.id) === id);
    }
    const target = this.firstMarkOfSpan.get(`${id}:${index}`) || marks[0];
    if (scroll && target) this.centre(target);
  }

  colourClasses(node) {
    return [...node.classList].filter((name) => name.startsWith("hl-"));
  }

  // A span another panel asks to show (medcoder:highlight): marked "cited", scrolled to.
  cite(start, end) {
    const length = this.text.length;
    const from = Math.max(0, Math.min(length, Number(start)));
    const to = Math.max(from, Math.min(length, Number(end)));
    if (!(to > from)) return;
    this.cited = { start: from, end: to };
    this.citedMark = null;
    this.render(this.text, this.proposals);
    if (this.citedMark) this.centre(this.citedMark);
  }

  // Scrolls the chart text alone so that `node` sits mid-pane: scrollIntoView would also
  // scroll the page's overflow-hidden panes and leave the whole layout shifted.
  centre(node) {
    const pane = this.body.getBoundingClientRect();
    const box = node.getBoundingClientRect();
    this.body.scrollTop += box.top - pane.top - (pane.height - box.height) / 2;
  }

  clicked(event) {
    const node = event.target instanceof Element ? event.target.closest("mark") : null;
    if (!node || !node.dataset.ids) return;
    const ids = node.dataset.ids.split(" ").map(Number);
    // Clicking an overlap again goes on to the next proposal covering it.
    const at = ids.indexOf(this.current);
    this.onPick(ids[(at + 1) % ids.length]);
  }

  // The selected chart text as offsets into the chart, trimmed of white space; null when
  // nothing (or something outside the text) is selected.
  selection() {
    const chosen = document.getSelection();
    if (!chosen || chosen.rangeCount === 0 || chosen.isCollapsed) return null;
    const range = chosen.getRangeAt(0);
    if (!this.body.contains(range.startContainer) || !this.body.contains(range.endContainer)) {
      return null;
    }
    const before = document.createRange();
    before.setStart(this.body, 0);
    before.setEnd(range.startContainer, range.startOffset);
    let start = before.toString().length;
    let end = start + range.toString().length;
    while (start < end && /\s/.test(this.text[start])) start += 1;
    while (end > start && /\s/.test(this.text[end - 1])) end -= 1;
    if (end <= start) return null;
    return { start, end, quote: this.text.slice(start, end) };
  }
}
