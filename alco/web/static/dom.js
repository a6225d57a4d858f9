// Small helpers shared by the page's modules: elements, highlights, the API client with auth.
// Log text only ever reaches the DOM through textContent / text nodes.

const TOKEN_KEY = "alco.token";

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

const ENTITIES = { "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'",
  "&amp;": "&" };
export const TERM_COLOURS = 6; // style.css has mark.t0 ... mark.t5

export function highlighted(html, cls = "msg") {
  // The server escaped everything but <mark> and <mark class="tN"> (N: which query term);
  // parse that small language without innerHTML. Anything else is text.
  const span = el("span", cls);
  let mark = null; // the class of the open mark, "" for a plain one, null outside
  const parts = html.split(/(<mark(?: class="t\d{1,4}")?>|<\/mark>)/);
  parts.forEach((part, i) => {
    if (i % 2) { // a tag (split puts the captured separators at the odd places)
      const n = /\d+/.exec(part);
      mark = part === "</mark>" ? null : n ? `t${Number(n[0]) % TERM_COLOURS}` : "";
      return;
    }
    if (!part) return;
    const text = part.replace(/&(?:lt|gt|quot|amp|#x27|#39);/g, (e) => ENTITIES[e]);
    span.append(mark === null ? document.createTextNode(text) : el("mark", mark || null, text));
  });
  return span;
}

// times are shown in the zone chosen (time.js): UTC or the browser's
export { shortTs } from "./time.js";

export function valueText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

// --- auth: the token is kept in sessionStorage and sent as a header, never in a URL; the tail
// and export links, which cannot send headers, carry a one-minute ticket for one index ---

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

export async function withTicket(path, index, purpose) {
  // Without a token (no auth, or basic auth the browser sends itself) the path as it is.
  if (!sessionStorage.getItem(TOKEN_KEY)) return path;
  const { ticket } = await api(`/api/${encodeURIComponent(index)}/ticket?`
    + query({ for: purpose }), { method: "POST" });
  return path + (path.includes("?") ? "&" : "?") + "ticket=" + encodeURIComponent(ticket);
}

export function downloadWithTicket(ev, link, index) {
  // A click on an export link: with a token, the same URL plus a fresh ticket.
  if (!sessionStorage.getItem(TOKEN_KEY)) return;
  ev.preventDefault();
  withTicket(link.href, index, "export").then((url) => location.assign(url));
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...authHeaders(), ...(options.headers || {}) };
  const resp = await fetch(path, { ...options, headers });
  if (resp.status === 204) return null;
  const text = await resp.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!resp.ok) {
    const message = (body && body.error) || text.slice(0, 200) || resp.statusText;
    throw new ApiError(resp.status, message);
  }
  return body;
}

export function query(params) {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") out.set(k, v);
  }
  return out.toString();
}
