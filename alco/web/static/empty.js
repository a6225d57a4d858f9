// What the main pane says when a search found nothing at all: where it looked (the search, the
// filters, the time range) and what to try, instead of a blank pane.

import { el } from "./dom.js";
import { filtersQuery } from "./state.js";

export function emptyNote(state) {
  const box = el("div", "empty");
  const q = state.q.trim();
  const filters = filtersQuery(state);
  box.append(el("h2", null, q || filters ? "No lines match this search" : "No lines here yet"));
  const where = el("dl");
  const item = (name, value) => where.append(el("dt", null, name), el("dd", null, value));
  if (q) item("search", q);
  if (filters) item("filters", filters);
  item("time", timeRange(state));
  box.append(where, el("p", "dim", hint(q, filters, state)));
  return box;
}

function timeRange(state) {
  if (state.from && state.to) return `from ${state.from} to ${state.to}`;
  if (state.from) return `from ${state.from} to now`;
  if (state.to) return `up to ${state.to}`;
  return "all the lines kept (the whole retention)";
}

function hint(q, filters, state) {
  const tries = [];
  if (q) tries.push("fewer or other words (each word must match)");
  if (filters) tries.push("removing a filter in the side panel");
  if (state.from || state.to) tries.push("a wider time range");
  if (!tries.length) return "Lines appear here as the collector stores them.";
  return `Try ${tries.join(", or ")}.`;
}
