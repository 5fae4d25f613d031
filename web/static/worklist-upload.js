// The upload dialog: a chart pasted as text or read from a file (plain text, or FHIR JSON
// sent as `fhir`), with its metadata, posted to POST /charts. The API validates; its
// problem (detail, and field errors when it names fields) is shown next to the form, and
// what the coder typed stays.

import { api, ApiError, el } from "./api.js";

const META_FIELDS = ["setting", "age", "sex", "encounter_date", "admission_date", "discharge_date"];
const LABELS = {
  text: "Chart text", file: "Chart file", external_id: "External id", setting: "Setting",
  age: "Age", sex: "Sex", encounter_date: "Encounter date", admission_date: "Admission date",
  discharge_date: "Discharge date",
};

class LocalProblem extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// Wires the dialog (when the page has one: auditors get none). `onUploaded(chart, {code})`
// runs after a chart was stored; code: the coder chose "Upload and code".
export function setupUpload({ onUploaded }) {
  const dialog = document.getElementById("upload-dialog");
  const opener = document.getElementById("upload-open");
  if (!dialog || !opener) return;
  const form = document.getElementById("upload-form");
  const summary = document.getElementById("upload-error");
  const fileInput = document.getElementById("chart-file");
  const fileInfo = document.getElementById("chart-file-info");
  let loaded = null; // the chosen file, read: {name, size, raw, fhir}
  let reading = null; // the read under way (a submit waits for it)

  const field = (name) => form.querySelector(`[data-field="${name}"]`);
  const control = (name) => field(name).querySelector("input, select, textarea");
  const source = () => form.elements.source.value;

  function showSource() {
    for (const part of form.querySelectorAll("[data-source]")) part.hidden = part.dataset.source !== source();
  }
  function showSetting() {
    const setting = form.elements.setting.value;
    for (const part of form.querySelectorAll("[data-setting]")) part.hidden = part.dataset.setting !== setting;
  }

  function clearErrors() {
    summary.hidden = true;
    summary.replaceChildren();
    for (const message of form.querySelectorAll(".field-error")) {
      message.hidden = true;
      message.textContent = "";
    }
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  function markField(name, message) {
    const where = field(name);
    if (!where) return false;
    const input = control(name);
    const note = where.querySelector(".field-error");
    note.textContent = message;
    note.hidden = false;
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(note.id)) input.setAttribute("aria-describedby", [...described, note.id].join(" "));
    where.hidden = false;
    return true;
  }

  // The API's problem, shown: each field error by its field and listed in the summary
  // (a link to the field); the problem's detail as it is when it names no field here.
  function showProblem(detail, fieldErrors) {
    const listed = [];
    const unplaced = [];
    for (const { field: path, message } of fieldErrors) {
      const name = fieldName(path, message);
      const readable = String(message || "").replace(/^Value error, /, "");
      if (name && markField(name, readable)) listed.push({ name, readable });
      else unplaced.push(readable);
    }
    const items = [
      ...listed.map(({ name, readable }) =>
        el("li", {}, el("a", { href: `#${control(name).id}` }, LABELS[name]), `: ${readable}`)),
      ...unplaced.map((readable) => el("li", {}, readable)),
    ];
    const lead = el("p", {}, el("strong", {}, "The chart was not uploaded."), listed.length ? "" : ` ${detail}`);
    summary.replaceChildren(...(listed.length ? [lead, el("ul", {}, items)] : [lead]));
    summary.hidden = false;
    summary.focus();
  }

  // Which of the form's fields an API field path ("body.meta.age") is about.
  function fieldName(path, message) {
    const parts = String(path || "").split(".").filter((p) => p !== "body");
    const last = parts[parts.length - 1];
    if (last === "text") return source() === "file" ? "file" : "text";
    if (last === "fhir") return "file";
    if (last === "external_id" || META_FIELDS.includes(last)) return last;
    if (last === "meta") {
      // A rule between fields (discharge before admission): the first field it names.
      const named = META_FIELDS.map((n) => [n, String(message).indexOf(n)]).filter(([, at]) => at >= 0);
      named.sort((a, b) => a[1] - b[1]);
      return named.length ? named[0][0] : null;
    }
    return null;
  }

  async function readFile(file) {
    const raw = await new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error || new Error("the browser could not read it"));
      reader.readAsText(file);
    });
    let fhir = null;
    if (raw.trimStart().startsWith("{")) {
      // Not JSON after all: sent as text, and the API says what is wrong with it.
      try { fhir = JSON.parse(raw); } catch { fhir = null; }
      if (fhir === null || typeof fhir !== "object" || Array.isArray(fhir)) fhir = null;
    }
    return { name: file.name, size: file.size, raw, fhir };
  }

  fileInput.addEventListener("change", () => {
    loaded = null;
    fileInfo.textContent = "";
    const file = fileInput.files[0];
    if (!file) return;
    fileInfo.textContent = `Reading ${file.name}…`;
    reading = readFile(file).then((read) => {
      if (fileInput.files[0] !== file) return; // another file was chosen meanwhile
      loaded = read;
      const kind = read.fhir ? `FHIR ${read.fhir.resourceType || "JSON"}` : "plain text";
      let note = `${read.name}: ${kind}, ${size(read.size)}.`;
      const identifier = read.fhir && fhirIdentifier(read.fhir);
      const external = form.elements.external_id;
      if (identifier && !external.value.trim()) {
        external.value = identifier;
        note += ` External id ${identifier} taken from the file.`;
      }
      fileInfo.textContent = note;
    }, (error) => {
      if (fileInput.files[0] !== file) return;
      fileInfo.textContent = "";
      markField("file", `${file.name} could not be read: ${error.message}`);
    });
  });

  function body() {
    const data = {};
    if (source() === "text") {
      const text = form.elements.text.value;
      if (!text.trim()) throw new LocalProblem("text", "Paste the chart's text, or choose a file instead.");
      data.text = text;
    } else {
      if (!loaded) throw new LocalProblem("file", "Choose a chart file, or paste its text instead.");
      if (loaded.fhir) data.fhir = loaded.fhir;
      else data.text = loaded.raw;
    }
    const external = form.elements.external_id.value.trim();
    if (external) data.external_id = external;
    const meta = { setting: form.elements.setting.value };
    const age = form.elements.age;
    if (age.validity.badInput) throw new LocalProblem("age", "Age must be a whole number of years.");
    if (age.value !== "") meta.age = Number(age.value);
    if (form.elements.sex.value) meta.sex = form.elements.sex.value;
    for (const name of ["encounter_date", "admission_date", "discharge_date"]) {
      const input = form.elements[name];
      if (field(name).hidden) continue; // the other setting's dates
      if (input.validity.badInput) throw new LocalProblem(name, `${LABELS[name]} is not a whole date.`);
      if (input.value) meta[name] = input.value;
    }
    data.meta = meta;
    return data;
  }

  function busy(on) {
    form.setAttribute("aria-busy", String(on));
    for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = on;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = event.submitter ? event.submitter.value === "code" : false;
    clearErrors();
    busy(true);
    try {
      if (reading) await reading.catch(() => null);
      let sent;
      try {
        sent = body();
      } catch (problem) {
        if (!(problem instanceof LocalProblem)) throw problem;
        showProblem(problem.message, [{ field: problem.field, message: problem.message }]);
        return;
      }
      const chart = await api("/charts", { method: "POST", body: sent });
      dialog.close();
      form.reset();
      loaded = null;
      reading = null;
      fileInfo.textContent = "";
      showSource();
      showSetting();
      onUploaded(chart, { code });
    } catch (error) {
      if (error instanceof ApiError) {
        const problem = error.problem || {};
        const fields = Array.isArray(problem.errors) ? problem.errors
          : problem.field ? [{ field: problem.field, message: problem.detail }] : [];
        showProblem(problem.detail || error.message, fields);
      } else {
        showProblem(`The server could not be reached (${error.message}). Nothing was uploaded; try again.`, []);
      }
    } finally {
      busy(false);
    }
  });

  form.elements.source.forEach((radio) => radio.addEventListener("change", showSource));
  form.elements.setting.addEventListener("change", showSetting);
  opener.addEventListener("click", () => {
    showSource();
    showSetting();
    dialog.showModal();
    (source() === "text" ? form.elements.text : fileInput).focus();
  });
  document.getElementById("upload-cancel").addEventListener("click", () => dialog.close());
  // A link in the error summary moves to its field (inside a modal dialog, without a jump).
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    if (!link) return;
    event.preventDefault();
    document.getElementById(link.getAttribute("href").slice(1))?.focus();
  });
}

// The resource's business identifier: DocumentReference has a list, Bundle and Composition one.
function fhirIdentifier(resource) {
  const found = Array.isArray(resource.identifier) ? resource.identifier[0] : resource.identifier;
  const value = found && typeof found === "object" ? found.value : null;
  return typeof value === "string" && value.trim() ? value.trim().slice(0, 200) : null;
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
