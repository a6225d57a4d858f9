// The side panel: active filters, the top values of a field in the current search and range
// (facets, on demand: GET /api/<index>/facets), the recent values of `filtered` columns (from
// Redis; from the lines on screen when Redis has none), and the column toggles (one per group
// of synonyms). Every value is a `.cell[data-field]`: a click filters on it (app.js).

import { ApiError, api, el, query, valueText } from "./dom.js";
import { groupOf, oneColumnPerGroup } from "./fields.js";
import { countText } from "./histogram.js";
import { fullQuery } from "./state.js";
import { shortTs, zoneShort } from "./time.js";

const VALUES_SHOWN = 12;
const FACETS_SHOWN = 10;

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
    // an older server without /columns: null; an index that does not exist: the error
    if (err instanceof ApiError && err.status === 404 && !/^no index/.test(err.message)) {
      return null;
    }
    throw err;
  }
}

// actions: {removeFilter(field), toggleColumn(name, on), columns(), lineValues(names),
//           range()}
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
  const groups = oneColumnPerGroup(columns);
  box.append(facetPicker(state, groups, actions));
  for (const col of groups.filter((c) => c.role === "filtered")) {
    const section = el("section", "facet");
    section.dataset.field = col.name;
    const head = el("h3", null, col.names.join(" / "));
    head.append(countButton(state, col.name, section, actions));
    const list = el("div", "values");
    list.dataset.field = col.name;
    section.append(head, list);
    box.append(section);
    fillValues(list, state, col, actions);
  }
  box.append(columnToggles(groups, actions));
}

// --- recent values (Redis), else the values of the lines on screen ---
async function fillValues(list, state, col, actions) {
  let raw = [];
  try {
    const body = await api(`/api/${encodeURIComponent(state.index)}/values/`
      + `${encodeURIComponent(col.name)}?${query({ limit: VALUES_SHOWN })}`);
    raw = Array.isArray(body) ? body : body.values || [];
  } catch (err) {
    if (!(err instanceof ApiError) || err.status < 500) { list.append(quietNote(err, "values")); return; }
  }
  if (!raw.length) {
    list.dataset.fallback = col.names.join(",");
    fillFromLines(list, state, actions);
    return;
  }
  const chosen = state.filters.get(col.name) || [];
  for (const item of raw.slice(0, VALUES_SHOWN)) {
    const value = valueText(Array.isArray(item) ? item[0] : (item.value ?? item));
    list.append(valueCell(col.name, value, chosen.includes(value)));
  }
}

function valueCell(field, value, on) {
  const a = el("span", "cell val" + (on ? " on" : ""), value);
  a.dataset.field = field;
  a.dataset.value = value;
  a.title = "click to filter, ctrl-click to add, shift-click to exclude";
  return a;
}

// The values panel of a field Redis knows nothing of: the values of the lines on screen.
export function fillFromLines(list, state, actions) {
  const names = list.dataset.fallback.split(",");
  const counts = actions.lineValues(names); // [[value, name, n]] most frequent first
  list.replaceChildren();
  if (!counts.length) { list.append(el("div", "note", "no values yet")); return; }
  for (const [value, name, n] of counts.slice(0, VALUES_SHOWN)) {
    const chosen = state.filters.get(name) || [];
    const cell = valueCell(name, value, chosen.includes(value));
    cell.append(el("span", "n", String(n)));
    list.append(cell);
  }
  list.append(el("div", "note", "from the lines on screen"));
}

// --- facets: the top values of a field in this search and range, on demand ---
function facetPicker(state, groups, actions) {
  const section = el("section", "facets");
  section.append(el("h3", null, "top values"));
  const form = el("form", "facetform");
  const pick = el("select", "facetfield");
  pick.setAttribute("aria-label", "field to count");
  for (const col of groups) {
    if (col.role === "context" || col.role === "excluded") continue;
    pick.append(Object.assign(el("option", null, col.names.join(" / ")), { value: col.name }));
  }
  const first = groups.find((c) => c.role === "filtered");
  if (first) pick.value = first.name;
  const go = Object.assign(el("button", "facetgo", "count"), { type: "submit" });
  go.title = "the most frequent values of this field in the search and time range";
  form.append(pick, go);
  const out = el("div", "facetout");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    showFacets(out, state, pick.value, actions);
  });
  section.append(form, out);
  return section;
}

function countButton(state, field, section, actions) {
  const b = el("button", "facetbtn", "top");
  b.type = "button";
  b.title = `count the values of ${field} in this search and time range`;
  b.addEventListener("click", () => {
    let out = section.querySelector(".facetout");
    if (out) { out.remove(); b.classList.remove("on"); return; }
    out = el("div", "facetout");
    section.querySelector("h3").after(out);
    b.classList.add("on");
    showFacets(out, state, field, actions);
  });
  return b;
}

async function showFacets(out, state, field, actions) {
  const range = actions.range(); // the range of the search, else the histogram's
  const from = state.from || range?.from || "", to = state.to || range?.to || "";
  out.replaceChildren(el("div", "note", `counting ${field}…`));
  let body;
  try {
    body = await api(`/api/${encodeURIComponent(state.index)}/facets?` + query({
      field, q: fullQuery(state), from, to, limit: FACETS_SHOWN }));
  } catch (err) { out.replaceChildren(quietNote(err, "top values")); return; }
  out.replaceChildren();
  out.dataset.field = field;
  const total = body.total || 0;
  const head = el("div", "facethead", `${field}: ${total.toLocaleString("en")} lines`);
  head.title = `from ${from ? shortTs(from) : "the first line kept"} to `
    + `${to ? shortTs(to) : "now"} ${zoneShort()}`;
  out.append(head);
  const chosen = state.filters.get(field) || [];
  for (const { value, count } of body.values || []) {
    const row = el("div", "facetrow");
    const share = total ? count / total : 0;
    const barBox = el("span", "fbar");
    const fill = el("span", "ffill");
    fill.style.width = `${Math.max(share * 100, 1)}%`;
    barBox.append(fill);
    let label;
    if (value === null) {
      label = el("span", "none", "(no value)");
      label.title = "lines without this field";
    } else {
      label = valueCell(field, valueText(value), chosen.includes(valueText(value)));
    }
    const n = el("span", "n", countText(count));
    n.title = `${count.toLocaleString("en")} lines, ${(share * 100).toFixed(1)}%`;
    row.append(label, n, barBox);
    out.append(row);
  }
  if (body.other) out.append(el("div", "note", `${countText(body.other)} lines with other values`));
  if (!(body.values || []).length) out.append(el("div", "note", "no lines"));
  if (body.partial) {
    const until = body.searched_to ? ` (searched back to ${shortTs(body.searched_to)})` : "";
    out.append(el("div", "note partial", `partial: the time budget ran out${until}`));
  }
}

function columnToggles(groups, actions) {
  const section = el("section", "cols");
  section.append(el("h3", null, "columns"));
  const shown = new Set(actions.columns().map((n) => groupOf(n)[0]));
  for (const col of groups) {
    if (col.role === "context" || col.role === "excluded") continue;
    const label = el("label", "coltoggle");
    const box = el("input");
    box.type = "checkbox";
    box.checked = shown.has(groupOf(col.name)[0]);
    box.dataset.col = col.name;
    box.addEventListener("change", () => actions.toggleColumn(col.name, box.checked));
    label.append(box, document.createTextNode(" " + col.names.join(" / ")));
    section.append(label);
  }
  return section;
}
