// A lead assigns a chart to a coder or lead (or to no one) from its worklist row. The people
// come from GET /users (active coders and leads, read once); the change is a PUT of the
// chart's assignee with the version the row showed, so a chart someone changed meanwhile is
// refused and said so rather than overwritten.

import { announce, api, el } from "./api.js";

const dialog = document.getElementById("assign-dialog");

let people = null; // GET /users as a promise, asked once per page (a failure is asked again)
let current = null; // { chart, done, stale } while the dialog is open

function assignable() {
  if (!people) {
    people = api("/users").then(
      (users) => users
        .filter((u) => u.active && (u.role === "coder" || u.role === "lead"))
        .sort((a, b) => a.name.localeCompare(b.name)),
      (error) => {
        people = null;
        throw error;
      },
    );
  }
  return people;
}

function chartName(chart) {
  return chart.external_id ? `chart ${chart.id} (${chart.external_id})` : `chart ${chart.id}`;
}

const capital = (text) => text[0].toUpperCase() + text.slice(1);

function showError(message) {
  const box = document.getElementById("assign-error");
  box.textContent = message;
  box.hidden = !message;
}

// Opens the dialog for `chart` (a row of GET /charts); `done(updated)` runs after a change,
// `stale()` when the chart had changed first: it reads the list again and answers the
// chart as it is now (null when it left the list), which the next try uses.
export async function openAssign(chart, { done, stale, closed }) {
  if (!dialog) return;
  const select = document.getElementById("assignee");
  const submit = document.getElementById("assign-submit");
  showError("");
  document.getElementById("assign-chart").textContent = capital(chartName(chart));
  select.replaceChildren(el("option", { value: "" }, "Loading people…"));
  select.disabled = true;
  submit.disabled = true; // nothing to choose yet: an empty choice would unassign the chart
  const opened = { chart, done, stale, closed };
  current = opened;
  dialog.showModal();
  let found;
  try {
    found = await assignable();
  } catch (error) {
    if (current === opened && error.status !== 401) {
      showError(`The people to assign could not be loaded: ${error.message}`);
    }
    return;
  }
  if (current !== opened) return; // closed, or another chart's dialog, meanwhile
  select.replaceChildren(el("option", { value: "" }, "No one"),
    ...found.map((u) => el("option", { value: String(u.id) }, `${u.name} (${u.role})`)));
  choose(chart);
  select.disabled = false;
  submit.disabled = false;
  select.focus();
}

// The chart's assignee selected; one who is no longer assignable (deactivated) is listed so
// that the dialog never shows a choice the chart does not have.
function choose(chart) {
  const select = document.getElementById("assignee");
  const who = chart.assigned_to;
  if (who && ![...select.options].some((o) => o.value === String(who.id))) {
    select.append(el("option", { value: String(who.id) }, `${who.name} (current)`));
  }
  select.value = who ? String(who.id) : "";
}

function setup() {
  if (!dialog) return;
  const form = document.getElementById("assign-form");
  const submit = document.getElementById("assign-submit");
  document.getElementById("assign-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const closing = current;
    current = null;
    if (closing && closing.closed) closing.closed();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current || submit.disabled) return;
    const opened = current;
    const { chart, done, stale } = opened;
    const value = document.getElementById("assignee").value;
    const userId = value ? Number(value) : null;
    submit.disabled = true;
    showError("");
    try {
      const updated = await api(`/charts/${chart.id}/assignee`, {
        method: "PUT", body: { user_id: userId }, ifMatch: chart.version,
      });
      dialog.close();
      const who = updated.assigned_to ? updated.assigned_to.name : "no one";
      announce(`${capital(chartName(chart))} is assigned to ${who}.`);
      done(updated);
    } catch (error) {
      if (error.status === 409 || error.status === 412) {
        const fresh = await stale().catch(() => null);
        if (current !== opened) return; // the dialog was closed meanwhile
        if (fresh) {
          opened.chart = fresh;
          choose(fresh);
          showError(`Someone changed ${chartName(chart)} first; the list now shows it as it is. Choose again.`);
        } else {
          showError(`Someone changed ${chartName(chart)} first, and it is no longer in this list. Close and look again.`);
          return; // leaves Assign disabled: there is no version to send
        }
      } else if (error.status !== 401) {
        showError(`Not assigned: ${error.message}`);
      }
    }
    submit.disabled = false;
  });
}

setup();
