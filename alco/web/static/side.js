// The side panel (active filters, values of `filtered` columns, column toggles) and the
// histogram of hits over the range (click a bar or drag over bars to zoom in).

import { ApiError, api, el, query, valueText } from "./dom.js";
import { fullQuery } from "./state.js";

const VALUES_SHOWN = 12;
const BUCKETS = 80;

function quietNote(err, what) {
  if (err instanceof ApiError && err.status === 404) return el("div", "note", `${what}: not available`);
  return el("div", "note", `${what}: ${err.message || err}`);
}

// --- columns: [{name, role}] from /columns, else from the fields of the loaded lines ---
export async function loadColumns(index) {
  try {
    const body = await api(`/api/${encodeURIComponent(index)}/columns`);
    const raw = Array.isArray(body) ? body : body.columns || [];
    return raw.map((c) => (typeof c === "string" ? { name: c, role: "display" }
      : { name: c.name, role: c.role || "display" }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export function renderFilters(box, state, columns, actions) {
  box.replaceChildren();
  if (state.filters.size) {
    box.append(el("h3", null, "filters"));
    for (const [field, values] of state.filters) {
      const chip = el("div", "chip");
      chip.append(el("span", "fname", field + ": "), el("span", null, values.join(", ")));
      const x = el("button", "x", "×");
      x.type = "button";
      x.title = "remove this filter";
      x.addEventListener("click", () => actions.removeFilter(field));
      chip.append(x);
      box.append(chip);
    }
  }
  for (const col of columns.filter((c) => c.role === "filtered")) {
    const section = el("section", "facet");
    section.append(el("h3", null, col.name));
    const list = el("div", "values");
    section.append(list);
    box.append(section);
    fillValues(list, state, col.name);
  }
  box.append(columnToggles(state, columns, actions));
}

async function fillValues(list, state, field) {
  let body;
  try {
    body = await api(`/api/${encodeURIComponent(state.index)}/values/${encodeURIComponent(field)}?`
      + query({ limit: VALUES_SHOWN }));
  } catch (err) { list.append(quietNote(err, "values")); return; }
  const raw = Array.isArray(body) ? body : body.values || [];
  const chosen = state.filters.get(field) || [];
  for (const item of raw.slice(0, VALUES_SHOWN)) {
    const value = valueText(Array.isArray(item) ? item[0] : (item.value ?? item));
    const a = el("span", "cell val" + (chosen.includes(value) ? " on" : ""), value);
    a.dataset.field = field;
    a.title = "click to filter, ctrl-click to add";
    list.append(a);
  }
  if (!raw.length) list.append(el("div", "note", "no values yet"));
}

function columnToggles(state, columns, actions) {
  const section = el("section", "cols");
  section.append(el("h3", null, "columns"));
  const shown = new Set(actions.columns());
  for (const col of columns) {
    if (col.role === "context" || col.role === "excluded") continue;
    const label = el("label", "coltoggle");
    const box = el("input");
    box.type = "checkbox";
    box.checked = shown.has(col.name);
    box.dataset.col = col.name;
    box.addEventListener("change", () => actions.toggleColumn(col.name, box.checked));
    label.append(box, document.createTextNode(" " + col.name));
    section.append(label);
  }
  return section;
}

// --- histogram ---
function bucketsOf(body) {
  // Accepts {buckets: [{from|start|ts|t, count|n}...], step?} or [[t, n], ...]; times are ISO
  // strings, µs or ms numbers.  Returns [{t0, t1, n}] with times in ms.
  const raw = Array.isArray(body) ? body : body.buckets || [];
  const toMs = (t) => (typeof t === "string" ? Date.parse(t)
    : t > 1e14 ? t / 1000 : t > 1e11 ? t : t * 1000);
  const pts = raw.map((b) => (Array.isArray(b) ? { t: b[0], n: b[1] }
    : { t: b.from ?? b.start ?? b.ts ?? b.t ?? b.time, n: b.count ?? b.n ?? b.hits ?? 0,
      end: b.to ?? b.end }));
  const step = body.bucket_seconds ? body.bucket_seconds * 1000
    : pts.length > 1 ? toMs(pts[1].t) - toMs(pts[0].t) : 60000;
  return pts.map((p) => ({ t0: toMs(p.t), t1: p.end !== undefined ? toMs(p.end)
    : toMs(p.t) + step, n: Number(p.n) || 0 }));
}

async function fetchHistogram(state) {
  // Without a range: the last hour, else the last day, else the whole retention.
  const tries = state.from ? [state.from] : ["1h", "1d", ""];
  let body;
  for (const from of tries) {
    body = await api(`/api/${encodeURIComponent(state.index)}/histogram?` + query({
      q: fullQuery(state), from, to: state.to, buckets: BUCKETS }));
    if (body.total === undefined || body.total > 0) break;
  }
  return body;
}

export async function renderHistogram(box, state, onZoom) {
  let body;
  try {
    body = await fetchHistogram(state);
  } catch (err) { box.replaceChildren(quietNote(err, "histogram")); return; }
  const buckets = bucketsOf(body).filter((b) => Number.isFinite(b.t0));
  box.replaceChildren();
  if (!buckets.length) { box.append(el("div", "note", "histogram: no hits")); return; }
  const max = Math.max(1, ...buckets.map((b) => b.n));
  const bars = el("div", "bars");
  buckets.forEach((b, i) => {
    const bar = el("div", "bar");
    bar.dataset.i = i;
    bar.title = `${new Date(b.t0).toISOString().slice(0, 19)}Z  ${b.n} lines`;
    const fill = el("div", "fill");
    fill.style.height = `${Math.round((b.n / max) * 100)}%`;
    bar.append(fill);
    bars.append(bar);
  });
  dragToZoom(bars, buckets, onZoom);
  const axis = el("div", "axis");
  axis.append(el("span", null, new Date(buckets[0].t0).toISOString().slice(0, 16) + "Z"),
    el("span", null, `max ${max}/bar`),
    el("span", null, new Date(buckets[buckets.length - 1].t1).toISOString().slice(0, 16) + "Z"));
  box.append(bars, axis);
}

function dragToZoom(bars, buckets, onZoom) {
  let start = null;
  const index = (ev) => ev.target.closest(".bar")?.dataset.i;
  const paint = (a, b) => bars.querySelectorAll(".bar").forEach((bar, i) => {
    bar.classList.toggle("sel", a !== null && i >= Math.min(a, b) && i <= Math.max(a, b));
  });
  bars.addEventListener("mousedown", (ev) => {
    const i = index(ev);
    if (i === undefined) return;
    ev.preventDefault();
    start = Number(i);
    paint(start, start);
  });
  bars.addEventListener("mouseover", (ev) => {
    const i = index(ev);
    if (start !== null && i !== undefined) paint(start, Number(i));
  });
  bars.addEventListener("mouseup", (ev) => {
    const i = index(ev);
    if (start === null) return;
    const end = i === undefined ? start : Number(i);
    const lo = buckets[Math.min(start, end)], hi = buckets[Math.max(start, end)];
    start = null;
    paint(null);
    onZoom(new Date(lo.t0).toISOString(), new Date(hi.t1).toISOString());
  });
}
