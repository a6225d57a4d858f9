// The scrolling list of lines, oldest on top like less: loads older lines when scrolled to the
// top, newer ones at the bottom, keeps at most MAX_ROWS rows (cursors at both ends), marks hits.
// A read the server's time budget stopped (a pattern scan: `partial` with `searched_to`) pauses
// that end: it goes on when asked (continue) or when scrolled to, never by itself.

import { api, el, highlighted, query, shortTs, valueText } from "./dom.js";
import { emptyNote } from "./empty.js";
import { lookup } from "./fields.js";
import { levelClass } from "./histogram.js";
import { foldLong } from "./longline.js";
import { markHits } from "./marks.js";
import { listQuery } from "./state.js";
import { tracebackBlock } from "./traceback.js";

export const PAGE = 200;
const MAX_ROWS = 1200;
const EDGE_PX = 600;
const MAX_SIZED = 8; // style.css has .w0 ... .w7
const MAX_WIDTH = 24;
export const CONTEXT_FIELDS = ["exc_info", "stack_trace", "stack_info", "traceback"];

export class LineList {
  constructor(scroller, state, hooks) {
    this.box = scroller;
    this.state = state;
    this.hooks = hooks; // {status(text), error(err), onRows(lines), columns(), paused(p)}
    this.atTop = false;
    this.atBottom = false;
    this.busy = { up: false, down: false };
    this.paused = { up: null, down: null }; // how far a budget-stopped read got (ISO time)
    this.generation = 0;
    this.widths = [];
    this.lastTop = 0;
    this.pinned = false;  // scrolled to the very bottom: stays there when the pane resizes
    this.height = this.box.clientHeight;  // as the last resize left it
    new ResizeObserver(() => this.keepPinned()).observe(this.box);
    this.box.addEventListener("scroll", () => {  // which way: a paused end goes on if scrolled to
      const top = this.box.scrollTop;
      if (this.box.clientHeight === this.height) {  // (a resize not handled yet: keepPinned's)
        this.pinned = this.box.scrollHeight - top - this.box.clientHeight < 2;
      }
      const user = { up: top < this.lastTop, down: top > this.lastTop };
      this.lastTop = top;
      this.maybeLoad(user);
    });
    this.box.addEventListener("wheel", (ev) => {  // at an end already: no scroll event
      this.maybeLoad({ up: ev.deltaY < 0, down: ev.deltaY > 0 });
    }, { passive: true });
  }

  rows() { return this.box.querySelectorAll(":scope > .line"); }
  firstId() { return this.box.querySelector(":scope > .line")?.dataset.id; }
  lastId() {  // the newest line in order (a late line shown at the bottom is not one)
    const r = this.box.querySelectorAll(":scope > .line:not(.late)");
    return r.length ? r[r.length - 1].dataset.id : undefined;
  }
  // The histogram and the side panel fill in after the lines: the pane shrinks under them,
  // and the newest lines would slip below the fold while the status says "end".
  keepPinned() {
    this.height = this.box.clientHeight;
    if (this.pinned) this.box.scrollTop = this.box.scrollHeight;
  }

  row(id) { return this.box.querySelector(`:scope > .line[data-id="${CSS.escape(id)}"]`); }

  params(extra) {
    const s = this.state;
    return query({ q: listQuery(s), from: s.from, to: s.to, limit: PAGE, order: "asc", ...extra });
  }

  async fetchPage(extra) {
    const path = `/api/${encodeURIComponent(this.state.index)}/lines?${this.params(extra)}`;
    const page = await api(path);
    // A shard that did not answer: the lines are only those of the others. (A spent time
    // budget is said by the "searched back to … — continue" of the status line instead.)
    const warnings = page.warnings || [];
    this.warning = (page.searched_to ? warnings.filter((w) => !/time budget/.test(w)) : warnings)
      .join("; ");
    return page;
  }

  stopped(side, page) {
    // The server's time budget stopped this read: remember how far it got, do not go on alone.
    this.paused[side] = page.partial && page.searched_to ? page.searched_to : null;
  }

  reset() {
    this.generation += 1;
    this.box.replaceChildren();
    this.atTop = this.atBottom = this.pinned = false;
    // Where to go on after a partial page (the server's time budget stopped it): past the
    // lines shown, so that the next page does not read the same stretch again.
    this.upCursor = this.downCursor = null;
    this.busy = { up: false, down: false };
    this.paused = { up: null, down: null };
    this.hooks.paused?.(this.paused);
    this.widths.forEach((_, i) => this.box.style.removeProperty(`--w${i}`));
    this.widths = [];
  }

  // --- the three ways in: newest, oldest, around a line ---
  async loadEnd() {
    this.reset();
    const gen = this.generation;
    const page = await this.fetchPage({ order: "desc" });
    if (gen !== this.generation) return;
    this.atBottom = true;
    this.atTop = page.next == null;  // a cursor, even after a short (partial) page: go on
    this.upCursor = page.partial ? page.next : null;
    this.stopped("up", page);
    this.append(page.lines.reverse());
    this.box.scrollTop = this.box.scrollHeight;
    this.pinned = true;
    this.after(page.lines);
  }

  async loadStart() {
    this.reset();
    const gen = this.generation;
    const page = await this.fetchPage({});
    if (gen !== this.generation) return;
    this.atTop = true;
    this.atBottom = page.next == null;
    this.downCursor = page.partial ? page.next : null;
    this.stopped("down", page);
    this.append(page.lines);
    this.box.scrollTop = 0;
    this.after(page.lines);
  }

  async loadAround(id) {
    this.reset();
    const gen = this.generation;
    const half = PAGE / 2;
    const [older, newer] = await Promise.all([
      this.fetchPage({ before: (BigInt(id) + 1n).toString(), limit: half }),
      this.fetchPage({ after: id, limit: half }),
    ]);
    if (gen !== this.generation) return;
    this.atTop = older.prev == null;
    this.atBottom = newer.next == null;
    this.upCursor = older.partial ? older.prev : null;
    this.downCursor = newer.partial ? newer.next : null;
    this.stopped("up", older);
    this.stopped("down", newer);
    const lines = [...older.lines, ...newer.lines];
    this.append(lines);
    this.after(lines);
  }

  // --- infinite scroll ---
  maybeLoad(user = {}) {  // user: {up, down} the way the reader scrolled (a paused end goes on)
    const box = this.box;
    const go = (side) => !this.paused[side] || user[side];
    if (box.scrollTop < EDGE_PX && !this.atTop && go("up")) this.loadOlder();
    if (box.scrollHeight - box.scrollTop - box.clientHeight < EDGE_PX && !this.atBottom
        && go("down")) {
      this.loadNewer();
    }
  }

  goOn(side) { return side === "up" ? this.loadOlder() : this.loadNewer(); }

  async loadOlder() {
    const from = this.upCursor ?? this.firstId();  // a partial page may have had no lines
    if (this.busy.up || from === undefined) return;
    this.busy.up = true;
    const gen = this.generation;
    try {
      const page = await this.fetchPage({ before: from });
      if (gen !== this.generation) return;
      this.atTop = page.prev == null;
      this.upCursor = page.partial ? page.prev : null;
      this.stopped("up", page);
      this.prepend(page.lines);
      this.after(page.lines);
    } catch (err) { this.hooks.error(err); } finally { this.busy.up = false; }
  }

  async loadNewer() {
    const from = this.downCursor ?? this.lastId();
    if (this.busy.down || from === undefined) return;
    this.busy.down = true;
    const gen = this.generation;
    try {
      const page = await this.fetchPage({ after: from });
      if (gen !== this.generation) return;
      this.atBottom = page.next == null;
      this.downCursor = page.partial ? page.next : null;
      this.stopped("down", page);
      this.append(page.lines);
      this.after(page.lines);
    } catch (err) { this.hooks.error(err); } finally { this.busy.down = false; }
  }

  after(lines) {
    this.showEmpty();
    this.hooks.onRows(lines);
    this.markHits(lines);
    this.hooks.status(this.summary());
    this.hooks.paused?.(this.paused);
    requestAnimationFrame(() => this.maybeLoad());
  }

  showEmpty() {  // nothing found and nothing left to read: the pane says so, not a corner
    this.box.querySelector(":scope > .empty")?.remove();
    if (!this.rows().length && this.atTop && this.atBottom && !this.paused.up
        && !this.paused.down) {
      this.box.append(emptyNote(this.state));
    }
  }

  summary() {
    const n = this.rows().length;
    const partial = this.warning ? ` · PARTIAL RESULTS: ${this.warning}` : "";
    if (!n) return `no lines${partial}`;
    return `${n} line${n === 1 ? "" : "s"}${this.atTop ? " · top" : ""}${this.atBottom ? " · end" : ""}${partial}`;
  }

  // --- DOM ---
  append(lines) {
    if (!lines.length) return;
    this.box.querySelector(":scope > .empty")?.remove();
    const frag = document.createDocumentFragment();
    for (const line of lines) frag.append(this.render(line));
    this.box.append(frag);
    this.trim("top");
  }

  prepend(lines) {
    if (!lines.length) return;
    const frag = document.createDocumentFragment();
    for (const line of lines) frag.append(this.render(line));
    const before = this.box.scrollHeight;
    this.box.prepend(frag);
    this.box.scrollTop += this.box.scrollHeight - before;
    this.trim("bottom");
  }

  trim(side) {
    const rows = this.rows();
    const extra = rows.length - MAX_ROWS;
    if (extra <= 0) return;
    const before = this.box.scrollHeight;
    const doomed = side === "top" ? [...rows].slice(0, extra) : [...rows].slice(-extra);
    for (const row of doomed) {
      if (row.nextElementSibling?.classList.contains("details")) row.nextElementSibling.remove();
      row.remove();
    }
    if (side === "top") {
      this.atTop = false;
      this.box.scrollTop -= before - this.box.scrollHeight;
    } else {
      this.atBottom = false;
    }
  }

  render(line) {
    const row = el("div", "line");
    row.dataset.id = line.id;
    row.dataset.ts = line.ts;
    row.line = line;
    const ts = el("span", "ts", shortTs(line.ts));
    ts.title = line.ts + " — click for fields and context";
    row.append(ts);
    if (line.late) {  // stored after newer lines: shown where it arrived, marked
      row.classList.add("late");
      const mark = el("span", "latemark", "late");
      mark.title = "arrived after newer lines; its place in time is " + line.ts;
      row.append(mark);
    }
    this.hooks.columns().forEach((name, i) => {
      const found = lookup(line.fields, name); // under its own name or a synonym's
      const cell = el("span", "cell", valueText(found.value));
      if (i < MAX_SIZED) cell.classList.add(`w${i}`);
      this.fit(i, cell.textContent.length);
      cell.dataset.field = found.name;
      cell.dataset.col = name;
      if (found.value !== undefined) {
        cell.title = `${found.name}: click to filter, ctrl-click to add, shift-click to exclude`;
      }
      if (/level/.test(name)) cell.classList.add(levelClass(valueText(found.value)));
      row.append(cell);
    });
    row.append(line.highlight ? highlighted(line.highlight) : el("span", "msg", line.message));
    const fold = foldLong(row, line.message);  // a very long line: its first rows, then a button
    if (fold) row.append(fold);
    const tracebacks = [];
    for (const name of CONTEXT_FIELDS) {
      if (line.fields[name]) {
        const tag = el("span", "ctxtag", name);
        tag.dataset.ctx = name;
        tag.title = "show " + name + " and the line's fields";
        row.append(tag);
        tracebacks.push(tracebackBlock(name, line.fields[name]));
      }
    }
    row.append(...tracebacks);  // under the message, folded to its first and last line
    return row;
  }

  fit(i, chars) {
    // Columns line up: column i is as wide as its widest value so far (capped), for all rows.
    if (i >= MAX_SIZED) return;
    const width = Math.min(Math.max(chars, 3), MAX_WIDTH);
    if (width <= (this.widths[i] || 0)) return;
    this.widths[i] = width;
    this.box.style.setProperty(`--w${i}`, `${width}ch`);
  }

  // --- hits: in context mode the list holds every line; marks.js asks which of them match ---
  markHits(lines) { return markHits(this, lines); }
}
