// Small helpers shared by the page's modules: elements, highlights, the API client with auth.
// Log text only ever reaches the DOM through textContent / text nodes.

const TOKEN_KEY = "alco.token";

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export function highlighted(html, cls = "msg") {
  // The server escaped everything but <mark>; parse that small language without innerHTML.
  const span = el("span", cls);
  let inMark = false;
  for (const part of html.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") { inMark = true; continue; }
    if (part === "</mark>") { inMark = false; continue; }
    const text = part.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
      .replace(/&#x27;/g, "'").replace(/&amp;/g, "&");
    span.append(inMark ? el("mark", null, text) : document.createTextNode(text));
  }
  return span;
}

export function shortTs(ts) {
  // "2026-11-24T10:00:00.123456+00:00" -> "11-24 10:00:00.123" (UTC, as stored)
  const m = /^\d{4}-(\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(ts);
  if (!m) return ts;
  return `${m[1]} ${m[2]}.${(m[3] || "").padEnd(3, "0").slice(0, 3)}`;
}

export function valueText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

// --- auth: ?token= is taken once from the URL, kept in sessionStorage, sent as a header ---

export function adoptUrlToken() {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

export function withToken(path) {
  // For EventSource and download links, which cannot send headers.
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
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
