// ALCO reading page: index list at "/", shortcuts at "/s", log view at "/<index>".
// The view's state is the URL (state.js); the list of lines is lines.js; keys are below.

import { toggleDetails } from "./details.js";
import { ApiError, api, downloadWithTicket, el, query, shortTs } from "./dom.js";
import { LEVEL_FIELDS, groupOf, lookup, uniqueByGroup } from "./fields.js";
import { renderHistogram } from "./histogram.js";
import { HitCounter, findHit } from "./hits.js";
import { LineList } from "./lines.js";
import { toggleLong } from "./longline.js";
import { openShortcut, showIndexes, showShortcuts, showTokenForm, showUnknownIndex }
  from "./pages.js";
import { fillFromLines, loadColumns, renderFilters } from "./side.js";
import { fullQuery, listQuery, readState, saveState, toggleFilter } from "./state.js";
import { Tail } from "./tail.js";
import { browserZone, setZone, shownTime, typedTime, zoneLabel, zoneShort } from "./time.js";
import { toggleTraceback } from "./traceback.js";

const $ = (id) => document.getElementById(id);
const main = $("main");
const statusBox = $("status");
const DEFAULT_COLUMNS = ["host", "levelname"];

function status(text) { statusBox.textContent = text; }

function fail(err) {
  if (err instanceof ApiError && err.status === 401) { showTokenForm(main); return; }
  status("");
  const box = el("div", "error", String(err.message || err));
  if (main.querySelector(":scope > .line")) { status(String(err.message || err)); return; }
  main.replaceChildren(box);
}

class LogView {
  constructor() {
    this.state = readState();
    setZone(this.state.tz);
    this.columns = null; // [{name, role}] or null when /columns is not there
    this.shown = this.state.cols && uniqueByGroup(this.state.cols);
    this.histRange = null; // the range the histogram shows ({from, to}): facets count in it
    this.list = new LineList(main, this.state, {
      status, error: fail, onRows: (lines) => this.onRows(lines), columns: () => this.shown,
      paused: (paused) => this.showPaused(paused),
    });
    this.counter = new HitCounter(this.state);
    this.hitId = null; // the hit n / N / [ / ] went to last; "hit 37 of 412" is about it
    this.hitSeq = 0;   // bumped by each hit search and each other move: a stale one gives up
    this.tail = new Tail(this.list, $("follow"), { status });
    this.actions = {
      removeFilter: (field) => { this.state.filters.delete(field); this.changed(); },
      toggleColumn: (name, on) => this.toggleColumn(name, on),
      columns: () => this.shown,
      lineValues: (names) => this.lineValues(names),
      range: () => this.histRange,
    };
  }

  async open() {
    const columns = await loadColumns(this.state.index).catch((err) => err);
    if (columns instanceof ApiError && columns.status === 404) { // no index of that name
      return showUnknownIndex(main, this.state.index);
    }
    this.columns = columns instanceof Error ? null : columns;
    $("search").hidden = $("toolbar").hidden = $("histogram").hidden = $("side").hidden = false;
    $("ixname").textContent = this.state.index;
    document.title = `${this.state.index} · ALCO`;
    this.fillInputs();
    this.showZone();
    this.wire();
    if (!this.shown) this.shown = this.defaultColumns();
    this.refresh();
  }

  defaultColumns() {
    if (!this.columns) return DEFAULT_COLUMNS;
    const filtered = this.columns.filter((c) => c.role === "filtered").map((c) => c.name);
    return filtered.length ? uniqueByGroup(filtered).slice(0, 4) : DEFAULT_COLUMNS;
  }

  // the level-like fields the histogram is stacked by: levelname and/or level, if the index
  // has them (synonyms: their values count as one field's)
  levelField() {
    const names = this.columns ? this.columns.filter((c) => c.role !== "excluded")
      : this.seenColumns();
    const known = LEVEL_FIELDS.filter((n) => names.some((c) => c.name === n));
    return known.length ? known.join(",") : null;
  }

  // the zone button says which zone times are in; the boxes that take times say it too
  showZone() {
    const tz = $("tz");
    tz.textContent = zoneLabel();
    tz.classList.toggle("on", Boolean(this.state.tz));
    tz.title = this.state.tz ? "times in your browser's zone: click for UTC"
      : `times in UTC: click for your browser's zone (${browserZone()})`;
    const zone = zoneShort();
    $("from").placeholder = `from: 15m, 2h, ISO (${zone})`;
    $("from").title = `from: ISO time, read in ${zone}, or relative: 15m, 2h, 3d`;
    $("to").placeholder = `to (${zone})`;
    $("to").title = `to: ISO time, read in ${zone}, or relative`;
    $("jumpto").placeholder = `jump to time (${zone})`;
  }

  toggleZone() {
    const s = this.state;
    s.tz = s.tz ? "" : "local";
    setZone(s.tz);
    s.from = shownTime(s.from);
    s.to = shownTime(s.to);
    this.fillInputs();
    this.showZone();
    this.changed();
  }

  fillInputs() {
    $("q").value = this.state.q;
    $("from").value = this.state.from;
    $("to").value = this.state.to;
    $("ctx").checked = this.state.ctx;
  }

  // --- reloads ---
  refresh() {
    this.tail.stop();
    this.counter.reset();
    this.clearWhere();
    this.hitSeq += 1;
    for (const id of ["firsthit", "prevhit", "nexthit", "lasthit"]) {
      $(id).disabled = !this.state.q.trim();
    }
    this.renderSide();
    this.exportLinks();
    this.histRange = null;
    renderHistogram($("histogram"), this.state, this.levelField(),
      (from, to) => this.zoom(from, to)).then((range) => { this.histRange = range; });
    return this.reloadLines().catch(fail);
  }

  async reloadLines() {
    status("searching…");
    if (this.state.at) {
      await this.list.loadAround(this.state.at);
      this.setCursor(this.nearest(this.state.at), "center");
    } else {
      await this.list.loadEnd();
      const rows = this.list.rows();
      this.setCursor(rows[rows.length - 1], null, false);
    }
  }

  changed() {
    saveState(this.state, true);
    this.refresh();
  }

  renderSide() {
    renderFilters($("side"), this.state, this.columns || this.seenColumns(), this.actions);
  }

  seenColumns() {
    const names = new Set(this.shown);
    for (const row of this.list.rows()) Object.keys(row.line.fields).forEach((k) => names.add(k));
    return [...names].sort().map((name) => ({ name, role: "display" }));
  }

  onRows(lines) {
    if (!this.columns && !this.sideFromLines && lines.length) {
      this.sideFromLines = true;
      this.renderSide();
      return;
    }
    // values panels Redis had nothing for: the values of the lines now on screen
    for (const list of $("side").querySelectorAll(".values[data-fallback]")) {
      fillFromLines(list, this.state, this.actions);
    }
  }

  // [[value, field it is under, lines]] of the lines on screen, most frequent first
  lineValues(names) {
    const counts = new Map();
    for (const row of this.list.rows()) {
      const found = lookup(row.line.fields, names[0]);
      if (found.value === undefined || found.value === null || typeof found.value === "object") {
        continue;
      }
      const key = JSON.stringify([String(found.value), found.name]);
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => [...JSON.parse(k), n]);
  }

  exportLinks() {
    const s = this.state;
    for (const format of ["text", "ndjson"]) {
      const qs = query({ format, q: fullQuery(s), from: s.from, to: s.to });
      const link = $(`export-${format}`);
      link.href = `/api/${encodeURIComponent(s.index)}/export?${qs}`;
      link.onclick = (ev) => downloadWithTicket(ev, link, s.index);
    }
  }

  toggleColumn(name, on) {
    const group = groupOf(name);
    const cols = this.shown.filter((c) => !group.includes(c));
    if (on) cols.push(name);
    this.shown = this.state.cols = cols;
    saveState(this.state, true);
    this.reloadLines().catch(fail);
  }

  zoom(from, to) {
    Object.assign(this.state, { from, to, at: "" });
    this.fillInputs();
    this.changed();
  }

  nearest(id) {
    // the line itself, else the last line before it (filters may have hidden it)
    const rows = [...this.list.rows()];
    const at = BigInt(id);
    return this.list.row(id) || rows.filter((r) => BigInt(r.dataset.id) <= at).pop() || rows[0];
  }

  // --- the cursor line ---
  cursor() { return main.querySelector(":scope > .line.cur"); }

  setCursor(row, scroll, remember = true) {
    if (!row) return;
    this.cursor()?.classList.remove("cur");
    row.classList.add("cur");
    if (scroll) row.scrollIntoView({ block: scroll });
    if (remember) { this.state.at = row.dataset.id; saveState(this.state); }
    if (row.dataset.id !== this.hitId) this.clearWhere();
  }

  move(dir) {
    const cur = this.cursor();
    const next = cur ? (dir > 0 ? cur.nextElementSibling : cur.previousElementSibling) : null;
    let row = next;
    while (row && !row.classList.contains("line")) {
      row = dir > 0 ? row.nextElementSibling : row.previousElementSibling;
    }
    if (row) this.setCursor(row, "nearest");
  }

  // n / N: the next / previous hit after the cursor; edge ([ / ]): the first / last hit
  async nextHit(dir, edge = false) {
    const s = this.state;
    const seq = ++this.hitSeq;
    const alive = () => seq === this.hitSeq;
    const from = this.cursor()?.dataset.id;
    if (!s.ctx && s.q.trim()) { // context mode: every line, hits marked, around the cursor
      s.ctx = true;
      $("ctx").checked = true;
      if (from) await this.list.loadAround(from);
    }
    const what = edge ? (dir > 0 ? "the first hit" : "the last hit")
      : (dir > 0 ? "the next hit" : "the previous hit");
    const reading = dir > 0 ? "up to" : "back to";
    const id = await findHit(s, dir, edge ? undefined : from,
      (to) => status(`looking for ${what}: searched ${reading} ${shortTs(to)}…`), alive);
    if (id === undefined) return;
    if (id === null) {
      status(edge ? "no hits" : `no ${dir > 0 ? "newer" : "older"} hit`);
      return;
    }
    if (!this.list.row(id)) await this.list.loadAround(id);
    if (!alive()) return;
    this.hitId = id;
    this.setCursor(this.list.row(id), "center");
    saveState(this.state);
    if (s.q.trim()) this.showWhere(id, alive);
  }

  async showWhere(id, alive) {
    const text = await this.counter.where(id);
    if (alive() && this.hitId === id) $("where").textContent = text;
  }

  clearWhere() {
    this.hitId = null;
    $("where").textContent = "";
  }

  // "searched back to 10:42:05 — continue": a read the server's time budget stopped
  showPaused(paused) {
    const parts = [];
    for (const [side, words] of [["up", "searched back to"], ["down", "searched up to"]]) {
      if (!paused[side]) continue;
      const go = el("button", "go", "continue");
      go.type = "button";
      go.dataset.side = side;
      go.title = side === "up" ? "read on into older lines" : "read on into newer lines";
      go.addEventListener("click", () => {
        status("searching…");
        this.list.goOn(side).catch(fail);
      });
      parts.push(el("span", "paused", `${words} ${shortTs(paused[side])} — `), go);
    }
    $("more").replaceChildren(...parts);
  }

  async jumpTo(time) {
    const s = this.state;
    const base = { q: listQuery(s), limit: 1 };
    const idx = encodeURIComponent(s.index);
    let page = await api(`/api/${idx}/lines?${query({ ...base, from: time, order: "asc" })}`);
    if (!page.lines.length) {
      page = await api(`/api/${idx}/lines?${query({ ...base, to: time, order: "desc" })}`);
    }
    if (!page.lines.length) { status(`nothing near ${time}`); return; }
    s.at = page.lines[0].id;
    saveState(s, true);
    await this.reloadLines();
  }

  // --- events ---
  wire() {
    $("search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      // times without an offset are read in the zone shown (and kept with it in the URL)
      Object.assign(this.state, { q: $("q").value, from: typedTime($("from").value),
        to: typedTime($("to").value), at: "" });
      this.fillInputs();
      $("q").blur();
      this.changed();
    });
    $("ctx").addEventListener("change", () => { this.state.ctx = $("ctx").checked; this.changed(); });
    $("follow").addEventListener("click", () => this.follow());
    $("tz").addEventListener("click", () => this.toggleZone());
    $("top").addEventListener("click", () => this.key("g"));
    $("end").addEventListener("click", () => this.key("G"));
    $("firsthit").addEventListener("click", () => this.key("["));
    $("prevhit").addEventListener("click", () => this.key("N"));
    $("nexthit").addEventListener("click", () => this.key("n"));
    $("lasthit").addEventListener("click", () => this.key("]"));
    $("jump").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.jumpTo(typedTime($("jumpto").value)).catch(fail);
    });
    main.addEventListener("click", (ev) => this.click(ev));
    $("side").addEventListener("click", (ev) => this.click(ev));
    main.addEventListener("scroll", () => {
      clearTimeout(this.scrollTimer);
      this.scrollTimer = setTimeout(() => this.cursorOnScreen(), 250);
    });
    addEventListener("popstate", () => location.reload());
  }

  follow() {
    this.state.at = "";
    saveState(this.state);
    this.tail.toggle().catch(fail);
  }

  click(ev) {
    const cell = ev.target.closest(".cell[data-field]");
    const value = cell ? cell.dataset.value ?? cell.textContent : "";
    if (cell && value !== "") {
      toggleFilter(this.state, cell.dataset.field, value, ev.ctrlKey || ev.metaKey,
        ev.shiftKey);
      this.changed();
      return;
    }
    const row = ev.target.closest(".line");
    if (!row) return;
    if (ev.target.closest(".longmore")) {
      toggleLong(row);
      this.setCursor(row);
      return;
    }
    const tb = ev.target.closest(".tb");
    if (tb) {
      if (!window.getSelection()?.toString()) toggleTraceback(tb); // selecting text: no fold
      this.setCursor(row);
      return;
    }
    const tag = ev.target.closest(".ctxtag");
    if (tag || ev.target.closest(".ts")) toggleDetails(row, this.state, tag?.dataset.ctx);
    this.setCursor(row);
  }

  cursorOnScreen() {
    const cur = this.cursor();
    const top = main.getBoundingClientRect().top;
    const bottom = top + main.clientHeight;
    const visible = (r) => r.getBoundingClientRect().top >= top
      && r.getBoundingClientRect().bottom <= bottom;
    if (cur && visible(cur)) return;
    const first = [...this.list.rows()].find(visible);
    if (first && !this.tail.following) this.setCursor(first);
  }

  key(k) {
    const acts = {
      n: () => this.nextHit(1), N: () => this.nextHit(-1),
      "[": () => this.nextHit(1, true), "]": () => this.nextHit(-1, true),
      j: () => this.move(1), k: () => this.move(-1),
      g: async () => { this.state.at = ""; await this.list.loadStart();
        this.setCursor(this.list.rows()[0]); },
      G: async () => { this.state.at = ""; saveState(this.state); await this.list.loadEnd();
        const r = this.list.rows(); this.setCursor(r[r.length - 1], null, false); },
      F: () => this.follow(),
      t: () => { const cur = this.cursor(); const tb = cur?.querySelector(".tb");
        if (tb) toggleTraceback(tb); else if (cur) toggleLong(cur); },
      c: () => { $("ctx").checked = !$("ctx").checked; $("ctx").dispatchEvent(new Event("change")); },
      Enter: () => { const cur = this.cursor(); if (cur) toggleDetails(cur, this.state); },
    };
    const act = acts[k];
    if (!act) return false;
    this.hitSeq += 1; // whatever hit search is still going on: this key moved on
    Promise.resolve(act()).catch(fail);
    return true;
  }
}

function keyboard(view) {
  addEventListener("keydown", (ev) => {
    const typing = ev.target.closest?.("input, select, textarea");
    if (ev.key === "Escape") { $("help").hidden = true; if (typing) ev.target.blur(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "?") { $("help").hidden = !$("help").hidden; ev.preventDefault(); return; }
    if (ev.key === "/" && view) { $("q").focus(); $("q").select(); ev.preventDefault(); return; }
    if (view && view.key(ev.key)) ev.preventDefault();
  });
  $("helpbtn").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
}

// storing paused while the disk is full (/healthz says so): the status line says it too
async function diskNote() {
  const text = await fetch("/healthz").then((r) => r.text()).catch(() => "");
  if (text.startsWith("disk full")) status("disk full: new lines wait to be stored; reading goes on");
}

async function start() {
  diskNote();
  setInterval(diskNote, 30000);
  const path = location.pathname;
  if (path === "/") { keyboard(null); return showIndexes(main); }
  if (path === "/s" || path === "/s/") { keyboard(null); return showShortcuts(main); }
  if (path.startsWith("/s/")) return openShortcut(path);
  const view = new LogView();
  keyboard(view);
  window.alcoView = view; // for the curious, from the console
  return view.open();
}

start().catch(fail);
