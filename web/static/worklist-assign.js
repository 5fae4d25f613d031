// A lead assigns a chart to a coder or lead (or to no one) from its worklist row. The people
// come from GET /users (active coders and leads, read once); the change is a PUT of the
// chart's assignee with the version the row showed, so a chart someone changed meanwhile is
// refused and said so rather than overwritten.

import { announce, api, el } from "./api.js";

const dialog = document.getElementById("assign-dialog");

let people = null; // GET /users, once per page
let current = null; // { chart, done } while the dialog is open

async function assignable() {
  if (!people) {
    const users = await api("/users");
    people = users
      .filter((u) => u.active && (u.role === "coder" || u.role === "lead"))
      .sort((a, b) => a.name.localeCompare(b.name));
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
export async function openAssign(chart, { done, stale }) {
  if (!dialog) return;
  const select = document.getElementById("assignee");
  showError("");
  document.getElementById("assign-chart").textContent = capital(chartName(chart));
  select.replaceChildren(el("option", { value: "" }, "No one"));
  current = { chart, done, stale };
  dialog.showModal();
  try {
    const found = await assignable();
    select.append(...found.map((u) => el("option", { value: String(u.id) }, `${u.name} (${u.role})`)));
    select.value = chart.assigned_to ? String(chart.assigned_to.id) : "";
  } catch (error) {
    if (error.status !== 401) showError(`The people to assign could not be loaded: ${error.message}`);
  }
  select.focus();
}

function setup() {
  if (!dialog) return;
  const form = document.getElementById("assign-form");
  const submit = document.getElementById("assign-submit");
  document.getElementById("assign-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    current = null;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current || submit.disabled) return;
    const { chart, done, stale } = current;
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
        showError(`Someone changed ${chartName(chart)} first; the list now shows it as it is. Choose again.`);
        const fresh = await stale();
        if (fresh && current) current.chart = fresh;
      } else if (error.status !== 401) {
        showError(`Not assigned: ${error.message}`);
      }
    } finally {
      submit.disabled = false;
    }
  });
}

setup();
