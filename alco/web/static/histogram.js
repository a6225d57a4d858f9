// The histogram of hits over the range: a count scale, time ticks in the zone shown, the
// bucket's time and count on hover, bars stacked by level when the index has a level field
// (GET /api/<index>/histogram_by?field=levelname), and click or drag across bars to zoom in.

import { ApiError, api, el, query } from "./dom.js";
import { countScale, scaleSwitch } from "./hscale.js";
import { fullQuery } from "./state.js";
import { isoInZone, offsetAt, shortTs, tickLabel, zoneShort } from "./time.js";

const BUCKETS = 80;
const TOP_LEVELS = 6;
// stacked from the bottom: the rest, then the quiet levels, the loud ones on top
const SEVERITY = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERR", "ERROR",
  "CRITICAL", "ALERT", "EMERGENCY", "FATAL"];
const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800];
const MAX_TICKS = 8;

export function levelClass(value) {
  return "lv-" + String(value).toLowerCase().replace(/[^a-z0-9]/g, "");
}

function rank(value) {
  const i = SEVERITY.indexOf(String(value).toUpperCase());
  return i < 0 ? -1 : i;
}

export function countText(n) {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${+(n / 1e3).toFixed(0)}k`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function bucketsOf(body) {
  const step = (body.bucket_seconds || 60) * 1000;
  return (body.buckets || []).map((b) => {
    const t0 = Date.parse(b.ts);
    return { t0, t1: t0 + step, n: Number(b.count) || 0, by: b.by || null };
  }).filter((b) => Number.isFinite(b.t0));
}

async function fetchHistogram(state, levelField) {
  // Without a range: the last hour, else the last day, else the whole retention.
  const tries = state.from ? [state.from] : ["1h", "1d", ""];
  const idx = encodeURIComponent(state.index);
  let body;
  for (const from of tries) {
    const params = { q: fullQuery(state), from, to: state.to, buckets: BUCKETS };
    if (levelField) {
      try {
        body = await api(`/api/${idx}/histogram_by?`
          + query({ ...params, field: levelField, top: TOP_LEVELS }));
      } catch (err) {
        if (!(err instanceof ApiError) || err.status >= 500) throw err;
        levelField = null; // an older server, or a field it does not know: plain bars
      }
    }
    if (!levelField) body = await api(`/api/${idx}/histogram?${query(params)}`);
    if (body.total === undefined || body.total > 0) break;
  }
  return body;
}

// Renders into `box`; returns the range shown ({from, to} ISO) or null.
export async function renderHistogram(box, state, levelField, onZoom) {
  box.setAttribute("aria-busy", "true");
  try {
    return await draw(box, state, levelField, onZoom);
  } finally {
    box.removeAttribute("aria-busy");
  }
}

async function draw(box, state, levelField, onZoom) {
  let body;
  try {
    body = await fetchHistogram(state, levelField);
  } catch (err) {
    box.replaceChildren();  // a query the server refuses (400) is said once, in the main pane
    if (!(err instanceof ApiError && err.status === 400)) {
      box.append(el("div", "note", `histogram: ${err.message || err}`));
    }
    return null;
  }
  paint(box, body, state, onZoom);
  return body.from ? { from: body.from, to: body.to } : null;
}

// draws the fetched histogram; again, from the same body, when the scale switches
function paint(box, body, state, onZoom) {
  const buckets = bucketsOf(body);
  box.replaceChildren();
  if (!buckets.length || !buckets.some((b) => b.n)) {
    box.append(el("div", "note", "histogram: no hits"));
    return;
  }
  const levels = [...(body.values || [])].sort((a, b) => rank(a) - rank(b));
  const scale = countScale(state.hscale === "log", Math.max(...buckets.map((b) => b.n)));
  const plot = el("div", "plot");
  const bars = el("div", "bars");
  const tip = el("div", "tip");
  tip.hidden = true;
  buckets.forEach((b, i) => bars.append(bar(b, i, scale, levels)));
  plot.append(grid(scale.top), bars, ticks(buckets), tip);
  hover(bars, tip, buckets, levels);
  dragToZoom(bars, buckets, onZoom);
  const row = el("div", "hrow");
  row.append(yAxis(scale, state.hscale), plot);
  const foot = footer(body, buckets, levels);
  foot.append(scaleSwitch(state, () => paint(box, body, state, onZoom)));
  box.append(row, foot);
}

function bar(b, i, scale, levels) {
  const node = el("div", "bar");
  node.dataset.i = i;
  node.dataset.n = b.n;
  const fill = el("div", "fill");
  fill.style.height = `${scale.y(b.n) * 100}%`;
  if (levels.length && b.by) {
    let rest = b.n;
    const segs = [];
    for (const level of levels) {
      const n = b.by[level] || 0;
      rest -= n;
      if (n) segs.push([level, n]);
    }
    if (rest > 0) segs.unshift(["", rest]);
    for (const [level, n] of segs) {
      const seg = el("div", "seg " + (level ? levelClass(level) : "other"));
      seg.style.height = `${(n / Math.max(b.n, 1)) * 100}%`;
      fill.append(seg);
    }
  }
  node.append(fill);
  return node;
}

function grid(top) {
  const g = el("div", "grid");
  for (const f of [0.5, 1]) {
    const line = el("div", "gline");
    line.style.bottom = `${f * 100}%`;
    g.append(line);
  }
  g.dataset.top = top;
  return g;
}

function yAxis(scale, kind) {
  const axis = el("div", "yaxis");
  axis.title = kind === "log" ? "lines per bar (log scale)" : "lines per bar";
  axis.append(el("span", "ytop", countText(scale.top)), el("span", "ymid", countText(scale.mid)),
    el("span", "yzero", "0"));
  return axis;
}

function ticks(buckets) {
  const t0 = buckets[0].t0, t1 = buckets[buckets.length - 1].t1;
  const span = t1 - t0;
  const stepS = STEPS_S.find((s) => span / (s * 1000) <= MAX_TICKS) || STEPS_S[STEPS_S.length - 1];
  const step = stepS * 1000;
  const axis = el("div", "xaxis");
  const off = offsetAt(t0) * 60000; // ticks fall on round times of the zone shown
  for (let t = Math.ceil((t0 + off) / step) * step - off; t <= t1; t += step) {
    const tick = el("span", "tick", tickLabel(t, step, span));
    tick.style.left = `${((t - t0) / span) * 100}%`;
    tick.dataset.ts = new Date(t).toISOString();
    axis.append(tick);
  }
  return axis;
}

function tipText(b, levels) {
  const end = shortTs(b.t1).slice(6, 14);
  const parts = [`${shortTs(b.t0).slice(0, 14)} – ${end} ${zoneShort(b.t0)}`,
    `${b.n.toLocaleString("en")} line${b.n === 1 ? "" : "s"}`];
  if (b.by && levels.length) {
    let rest = b.n;
    for (const level of [...levels].reverse()) {
      const n = b.by[level] || 0;
      rest -= n;
      if (n) parts.push(`${level} ${n.toLocaleString("en")}`);
    }
    if (rest > 0) parts.push(`other ${rest.toLocaleString("en")}`);
  }
  return parts.join(" · ");
}

function hover(bars, tip, buckets, levels) {
  bars.addEventListener("mouseover", (ev) => {
    const node = ev.target.closest(".bar");
    if (!node) return;
    const b = buckets[Number(node.dataset.i)];
    tip.textContent = tipText(b, levels);
    tip.hidden = false;
    const width = bars.clientWidth;
    const x = node.offsetLeft + node.offsetWidth / 2;
    const right = x > width / 2;
    tip.style.left = right ? "" : `${x}px`;
    tip.style.right = right ? `${width - x}px` : "";
  });
  bars.addEventListener("mouseleave", () => { tip.hidden = true; });
}

function footer(body, buckets, levels) {
  const foot = el("div", "hfoot");
  const total = Number(body.total ?? buckets.reduce((s, b) => s + b.n, 0));
  const size = body.bucket_seconds ? duration(body.bucket_seconds) : "";
  foot.append(el("span", "dim", `${total.toLocaleString("en")} hits`
    + (size ? ` · ${size} a bar` : "") + ` · times in ${zoneShort(buckets[0].t0)}`));
  if (body.partial) foot.append(el("span", "partial", "partial: the time budget ran out"));
  if (levels.length) {
    const legend = el("span", "legend");
    for (const level of [...levels].reverse()) {
      const item = el("span", "key");
      item.append(el("span", "swatch " + levelClass(level)), document.createTextNode(
        `${level} ${countText(body.totals?.[level] ?? 0)}`));
      legend.append(item);
    }
    foot.append(legend);
  }
  return foot;
}

function duration(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function dragToZoom(bars, buckets, onZoom) {
  let start = null;
  const index = (ev) => ev.target.closest(".bar")?.dataset.i;
  const paint = (a, b) => bars.querySelectorAll(".bar").forEach((node, i) => {
    node.classList.toggle("sel", a !== null && i >= Math.min(a, b) && i <= Math.max(a, b));
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
    onZoom(isoInZone(lo.t0, false), isoInZone(hi.t1, false));
  });
}
