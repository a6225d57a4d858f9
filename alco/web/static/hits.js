// The search's hits, one at a time: find the next / previous / first / last one (going on
// where the server's time budget stopped a pattern scan), and say where it is, "hit 37 of 412",
// from GET /api/<index>/count (asked in the background; a count that fails is left out).

import { api, query } from "./dom.js";
import { fullQuery } from "./state.js";

function indexPath(state, what) { return `/api/${encodeURIComponent(state.index)}/${what}`; }

function range(state) { return { q: fullQuery(state), from: state.from, to: state.to }; }

// The hit after `from` (dir > 0; the oldest without `from`) or before it (dir < 0; the newest
// without). Its id, null when there is none, undefined when `alive()` turned false meanwhile.
// `progress(isoTime)` hears how far a scan got when the budget stopped it short of a hit.
export async function findHit(state, dir, from, progress, alive) {
  const order = dir > 0 ? "asc" : "desc";
  let cursor = from;
  for (;;) {
    const qs = query({ ...range(state), limit: 1, order, [dir > 0 ? "after" : "before"]: cursor });
    const page = await api(`${indexPath(state, "lines")}?${qs}`);
    if (!alive()) return undefined;
    if (page.lines.length) return page.lines[0].id;
    if (!(page.partial && page.searched_to && page.next)) return null;
    progress(page.searched_to);
    cursor = page.next; // in the direction read, for either order
  }
}

// "412", "412+" (the count stopped at its cap), "≥ 412" (the time budget stopped it)
function amount(c, n = c.count) {
  if (c.partial) return `≥ ${n}`;
  return c.capped ? `${n}+` : String(n);
}

export class HitCounter {
  constructor(state) {
    this.state = state;
    this.totals = new Map(); // query and range -> promise of the count, for this view
  }

  reset() { this.totals.clear(); }

  count(extra) {
    const qs = query({ ...range(this.state), ...extra });
    return api(`${indexPath(this.state, "count")}?${qs}`).catch(() => null);
  }

  total() {
    const key = JSON.stringify(range(this.state));
    if (!this.totals.has(key)) this.totals.set(key, this.count({}));
    return this.totals.get(key);
  }

  // "hit 37 of 412" for the hit `id`; "hit 37" without the total; "" when unknown
  async where(id) {
    const [before, total] = await Promise.all([this.count({ before: id }), this.total()]);
    if (!before || typeof before.count !== "number") return "";
    const n = before.count + 1;
    const at = `hit ${amount(before, n)}`;
    if (!total || typeof total.count !== "number") return at;
    return `${at} of ${amount(total, total.partial ? Math.max(n, total.count) : total.count)}`;
  }
}
