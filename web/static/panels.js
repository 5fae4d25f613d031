// The chart page's side panels (#side-panels): chat about the chart, its MS-DRG, CDI gaps
// and physician queries, and the audit timeline. They learn about the chart from the page's
// document events (medcoder:chart-loaded, medcoder:proposals-changed), ask the chart text
// to show a span with medcoder:highlight and the page to read a changed chart again with
// medcoder:chart-changed.

import { api, el } from "./api.js";
import { AuditPanel } from "./panels-audit.js";
import { CdiPanel } from "./panels-cdi.js";
import { ChatPanel } from "./panels-chat.js";
import { DrgPanel } from "./panels-drg.js";

const page = document.getElementById("chart-page");
const aside = document.getElementById("side-panels");

if (page && aside) {
  const chartId = Number(page.dataset.chartId);
  const audit = new AuditPanel(chartId);
  const activity = () => audit.refreshSoon();
  const chat = new ChatPanel(chartId, { onActivity: activity });
  const drg = new DrgPanel(chartId);
  const cdi = new CdiPanel(chartId, { onActivity: activity });
  aside.replaceChildren(
    el("h2", { class: "visually-hidden" }, "Chart tools"),
    drg.section, cdi.section, chat.section, audit.section,
  );
  aside.dataset.ready = "false";

  let loaded = false;
  const chartLoaded = (chart, proposals) => {
    if (!chart || loaded) return;
    loaded = true;
    chat.loaded(chart, proposals);
    aside.dataset.ready = "true";
  };
  const proposalsChanged = (chart, proposals) => {
    drg.changed(chart, proposals);
    cdi.changed(proposals);
    audit.changed(proposals);
  };
  document.addEventListener("medcoder:chart-loaded", (event) => {
    const { chart, proposals } = event.detail || {};
    chartLoaded(chart, proposals);
  });
  document.addEventListener("medcoder:proposals-changed", (event) => {
    const { chart, proposals } = event.detail || {};
    chartLoaded(chart, proposals); // in case the first event came before this module ran
    proposalsChanged(chart, proposals);
  });
  // This module's own imports may still have been loading when the page said it was ready:
  // then its first events are gone, and the panels read the chart themselves.
  if (page.dataset.ready === "true") {
    Promise.all([api(`/charts/${chartId}`), api(`/charts/${chartId}/proposals`)]).then(([chart, proposals]) => {
      if (loaded) return;
      chartLoaded(chart, proposals);
      proposalsChanged(chart, proposals);
    }, () => {});
  }
}
