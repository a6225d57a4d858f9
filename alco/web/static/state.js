// The view's whole state lives in the URL: /<index>?q=&from=&to=&cols=&f=&at=&ctx=1
//   q     the search box        from/to  time range (ISO or relative: 15m, 2h, 3d)
//   cols  shown columns         f        filters, repeated: "host:vm1,vm2" or "-host:vm3"
//                                        (each value URI-encoded, so "," inside survives)
//   at    the cursor line id    ctx      1 = context mode (all lines, hits marked)
//   tz    local = times in the browser's zone (default: UTC)
//   hscale  log = the histogram's count scale is logarithmic (default: linear)

export function readState() {
  const p = new URLSearchParams(location.search);
  const filters = new Map();
  for (const raw of p.getAll("f")) {
    const i = raw.indexOf(":");
    if (i <= 0) continue;
    const values = splitValues(raw.slice(i + 1));
    if (values.length) filters.set(raw.slice(0, i), values);
  }
  const cols = p.get("cols");
  return {
    index: decodeURIComponent(location.pathname.slice(1)),
    q: p.get("q") || "",
    from: p.get("from") || "",
    to: p.get("to") || "",
    cols: cols === null ? null : cols.split(",").filter(Boolean),
    filters,
    at: /^\d{1,20}$/.test(p.get("at") || "") ? p.get("at") : "",
    ctx: p.get("ctx") === "1",
    tz: p.get("tz") === "local" ? "local" : "",
    hscale: p.get("hscale") === "log" ? "log" : "",
  };
}

function splitValues(text) {
  // values are joined with "," and each one is URI-encoded, so commas inside survive
  return text.split(",").filter(Boolean).map((v) => decodeURIComponent(v));
}

export function stateUrl(state) {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  if (state.from) p.set("from", state.from);
  if (state.to) p.set("to", state.to);
  if (state.cols) p.set("cols", state.cols.join(","));
  for (const [field, values] of state.filters) {
    p.append("f", field + ":" + values.map((v) => encodeURIComponent(v)).join(","));
  }
  if (state.ctx) p.set("ctx", "1");
  if (state.tz) p.set("tz", state.tz);
  if (state.hscale) p.set("hscale", state.hscale);
  if (state.at) p.set("at", state.at);
  const rest = p.toString();
  return "/" + encodeURIComponent(state.index) + (rest ? "?" + rest : "");
}

export function saveState(state, push = false) {
  const url = stateUrl(state);
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

function term(value) {
  const clean = String(value).replace(/"/g, " ").trim();
  return /[\s,:]/.test(clean) || clean === "" ? `"${clean}"` : clean;
}

export function filtersQuery(state) {
  const parts = [];
  for (const [field, values] of state.filters) {
    parts.push(field + ":" + values.map(term).join(","));
  }
  return parts.join(" ");
}

export function fullQuery(state) {
  return [state.q.trim(), filtersQuery(state)].filter(Boolean).join(" ");
}

// What the list shows: in context mode all lines of the filters, else the search's hits.
export function listQuery(state) {
  return state.ctx ? filtersQuery(state) : fullQuery(state);
}

export function toggleFilter(state, field, value, add, exclude = false) {
  const key = (exclude ? "-" : "") + String(field);
  const current = state.filters.get(key) || [];
  const text = String(value);
  if (!add) {
    state.filters.set(key, [text]);
  } else if (current.includes(text)) {
    const rest = current.filter((v) => v !== text);
    if (rest.length) state.filters.set(key, rest); else state.filters.delete(key);
  } else {
    state.filters.set(key, [...current, text]);
  }
}
