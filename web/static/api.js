// The one way pages talk to the API: same origin, the session cookie, the page's CSRF token
// on every write, problem+json turned into ApiError, and a lapsed sign-in sent back to the
// sign-in page (which returns here afterwards).

const csrfMeta = document.querySelector('meta[name="csrf-token"]');
export const csrfToken = csrfMeta ? csrfMeta.content : "";
export const role = document.body.dataset.role || "";
export const userName = document.body.dataset.user || "";
export const canCode = role === "coder" || role === "lead";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// Several requests can be refused at once (the chart and its panels); the first leaves, and
// a second navigation would abort it.
let leaving = false;

export function signInAgain() {
  if (leaving) return;
  leaving = true;
  const here = location.pathname + location.search;
  location.assign(`/sign-in?expired=1&next=${encodeURIComponent(here)}`);
}

// fetch() for the API: `body` objects go as JSON, `ifMatch` as If-Match; the answer's JSON
// (or the Response itself with raw: true). Errors throw ApiError with the problem's detail.
export async function api(path, { method = "GET", body, ifMatch, headers = {}, raw = false } = {}) {
  const sent = { ...headers };
  if (method !== "GET" && method !== "HEAD") sent["X-CSRF-Token"] = csrfToken;
  if (ifMatch !== undefined) sent["If-Match"] = `"${ifMatch}"`;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers: sent, body: payload, credentials: "same-origin" });
  if (response.status === 401) {
    signInAgain();
    throw new ApiError(401, { detail: "your sign-in has ended; sign in again" });
  }
  if (!response.ok) {
    let problem = { detail: `HTTP ${response.status}` };
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

// Server-Sent Events over fetch (EventSource cannot POST or send the CSRF header): calls
// onEvent({event, data}) for each event, `data` parsed as JSON when it is JSON. Resolves at
// the end of the stream; abort with `signal`.
export async function streamEvents(path, { method = "GET", body, onEvent, signal } = {}) {
  const headers = { Accept: "text/event-stream" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, signal, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) { signInAgain(); throw new ApiError(401, {}); }
  if (!response.ok) {
    let problem = { detail: `HTTP ${response.status}` };
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (!data.length) continue;
      const text = data.join("\n");
      let parsed = text;
      try { parsed = JSON.parse(text); } catch { /* plain text */ }
      onEvent({ event, data: parsed });
    }
  }
}

// A tiny element builder: el("button", {class: "button", onclick}, "Accept").
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A short message in the page's live region (read out by screen readers too).
let statusTimer;
export function announce(message, { error = false } = {}) {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = message;
  status.classList.toggle("is-error", error);
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { status.textContent = ""; }, error ? 8000 : 3000);
}

// Whether a key press belongs to a text field (then single-letter shortcuts stay out of it).
export function typing(event) {
  const target = event.target;
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}
