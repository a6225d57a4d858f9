// Under a line, on demand: its fields (each one a filter), its context columns (tracebacks),
// and grep -C: N lines before/after it, from all hosts or the same host/process.

import { ApiError, api, el, query, shortTs, valueText } from "./dom.js";
import { CONTEXT_FIELDS } from "./lines.js";
import { longMessage } from "./longline.js";

const CONTEXT_N = 10;
const SAME = ["host", "process"];

export function toggleDetails(row, state, focusField) {
  const open = row.nextElementSibling;
  if (open?.classList.contains("details")) {
    open.remove();
    row.classList.remove("open");
    return null;
  }
  const box = el("div", "details");
  box.dataset.for = row.dataset.id;
  box.append(fieldsTable(row.line), contextButtons(row, state, box));
  for (const name of CONTEXT_FIELDS) {
    const text = row.line.fields[name];
    if (!text) continue;
    const pre = el("pre", "ctxtext", valueText(text));
    pre.dataset.ctx = name;
    box.append(pre);
  }
  row.after(box);
  row.classList.add("open");
  reveal(row, box);
  if (focusField) box.querySelector(`pre[data-ctx="${CSS.escape(focusField)}"]`)?.scrollIntoView(
    { block: "nearest" });
  return box;
}

function fieldsTable(line) {
  const list = el("div", "fields");
  for (const [name, value] of Object.entries(line.fields).sort()) {
    if (CONTEXT_FIELDS.includes(name) || value === null || typeof value === "object") continue;
    const item = el("span", "field");
    item.append(el("span", "fname", name + "="));
    const cell = el("span", "cell", valueText(value));
    cell.dataset.field = name;
    cell.title = "click to filter, ctrl-click to add";
    item.append(cell);
    list.append(item);
  }
  return list;
}

function contextButtons(row, state, box) {
  const bar = el("div", "ctxbar");
  const size = el("select", "ctxsize");
  for (const n of [5, 10, 25, 100]) {
    size.append(Object.assign(el("option", null, `±${n}`), { value: n, selected: n === CONTEXT_N }));
  }
  size.title = "lines before and after";
  bar.append(el("span", "dim", "context"), size);
  const all = el("button", "ctxbtn", "all hosts");
  all.dataset.same = "";
  const same = el("button", "ctxbtn", "same host/process");
  same.dataset.same = SAME.join(",");
  for (const btn of [all, same]) {
    btn.type = "button";
    btn.addEventListener("click", () => showContext(row, state, box, btn.dataset.same,
      Number(size.value))
      .catch((err) => box.append(el("div", "note", String(err.message || err)))));
    bar.append(btn);
  }
  return bar;
}

async function showContext(row, state, box, same, n) {
  const lines = await contextLines(row.line, state, same, n);
  box.querySelector(".ctxlines")?.remove();
  const list = el("div", "ctxlines");
  for (const line of lines) {
    const r = el("div", "ctxline" + (line.id === row.line.id ? " anchor" : ""));
    r.append(el("span", "ts", shortTs(line.ts)));
    r.append(el("span", "cell dim", valueText(line.fields.host)));
    r.append(longMessage(line.message));
    list.append(r);
  }
  if (!lines.length) list.append(el("div", "note", "no lines around this one"));
  box.append(list);
  reveal(row, box);
}

// Opened under the last lines, the details would be below the fold: scroll them into view,
// keeping their line on screen.
function reveal(row, box) {
  const pane = row.parentElement;
  const view = pane.getBoundingClientRect();
  const below = box.getBoundingClientRect().bottom - view.bottom;
  const room = row.getBoundingClientRect().top - view.top;
  if (below > 0 && room > 0) pane.scrollTop += Math.min(below, room);
}

async function contextLines(line, state, same, n) {
  const index = encodeURIComponent(state.index);
  const qs = query({ before: n, after: n, same });
  try {
    const page = await api(`/api/${index}/context/${encodeURIComponent(line.id)}?${qs}`);
    if (page.lines) return page.lines;
    return [...(page.before || []), page.line, ...(page.after || [])].filter(Boolean);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404 || err.message.includes("line")) {
      throw err;
    }
  }
  return contextFromLines(line, state, same, n); // no context endpoint: emulate it
}

async function contextFromLines(line, state, same, n) {
  const index = encodeURIComponent(state.index);
  const parts = [];
  for (const name of same ? same.split(",") : []) {
    const value = line.fields[name];
    if (value !== undefined && value !== null) parts.push(`${name}:"${valueText(value)}"`);
  }
  const q = parts.join(" ");
  const older = await api(`/api/${index}/lines?${query({ q, order: "asc", limit: n + 1,
    before: (BigInt(line.id) + 1n).toString() })}`);
  const newer = await api(`/api/${index}/lines?${query({ q, order: "asc", limit: n,
    after: line.id })}`);
  return [...older.lines, ...newer.lines];
}
