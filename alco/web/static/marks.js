// Context mode: the list holds every line of the filters; ask which of a batch match the
// search, mark them and put in their highlights. A pattern scan the server's time budget
// stopped goes on over the rest of the batch, a bounded number of times.

import { api, highlighted, query } from "./dom.js";
import { relabel } from "./longline.js";
import { fullQuery } from "./state.js";

const MAX_MARK_ROUNDS = 20; // budget-stopped reads to mark the hits of one batch of lines

export async function markHits(list, lines) {
  const state = list.state;
  if (!state.ctx || !state.q.trim() || !lines.length) return;
  const gen = list.generation;
  const hi = (BigInt(lines[lines.length - 1].id) + 1n).toString();
  let after = (BigInt(lines[0].id) - 1n).toString();
  for (let round = 0; round < MAX_MARK_ROUNDS && after; round += 1) {
    const q = query({ q: fullQuery(state), from: state.from, to: state.to, after, before: hi,
      order: "asc", limit: 1000 });
    let page;
    try {
      page = await api(`/api/${encodeURIComponent(state.index)}/lines?${q}`);
    } catch (err) { list.hooks.error(err); return; }
    if (gen !== list.generation) return;
    for (const hit of page.lines) mark(list.row(hit.id), hit);
    after = page.partial && page.searched_to ? page.next : null;
  }
}

function mark(row, hit) {
  if (!row || row.classList.contains("hit")) return;
  row.classList.add("hit");
  if (!hit.highlight) return;
  row.querySelector(":scope > .msg")?.replaceWith(highlighted(hit.highlight));
  relabel(row);
}
