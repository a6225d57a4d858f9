// Live tail (less +F): new matching lines arrive as server-sent events and are appended at a
// bounded rate; scrolling up pauses, F or the button resumes (from the newest lines, no gap).
// Without the SSE endpoint it falls back to asking for lines after the last one every 2 s.

import { el, query, withTicket } from "./dom.js";
import { listQuery } from "./state.js";

const FLUSH_MS = 250;
const PER_FLUSH = 200;
const MAX_QUEUE = 2000;
const POLL_MS = 2000;

export class Tail {
  constructor(list, button, hooks) {
    this.list = list;
    this.button = button;
    this.hooks = hooks; // {status(text)}
    this.following = false;
    this.source = null;
    this.queue = [];
    this.dropped = 0;
    this.timer = null;
    list.box.addEventListener("scroll", () => this.onScroll());
  }

  async start() {
    this.stop();
    this.following = true;
    this.paint();
    if (!this.list.atBottom) await this.list.loadEnd();
    this.list.box.scrollTop = this.list.box.scrollHeight;
    this.connect();
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
  }

  async connect() {
    const s = this.list.state;
    const path = `/api/${encodeURIComponent(s.index)}/tail?`
      + query({ q: listQuery(s), after: this.list.lastId() });
    let opened = false;
    let url;
    try { url = await withTicket(path, s.index, "tail"); } catch { url = null; }
    if (!this.following) return;
    if (url === null) { this.poll(); return; }
    const source = new EventSource(url);
    source.addEventListener("open", () => { opened = true; });
    source.addEventListener("line", (ev) => this.receive(JSON.parse(ev.data)));
    source.addEventListener("skipped", (ev) => { this.dropped += JSON.parse(ev.data).count; });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED && !opened && this.following) {
        this.source = null;
        this.poll(); // no SSE endpoint (or refused): poll instead
      } else if (source.readyState === EventSource.CLOSED && this.following) {
        this.source = null;
        this.connect(); // its ticket has expired since: again with a new one
      }
    });
    this.source = source;
  }

  poll() {
    this.pollTimer = setInterval(async () => {
      if (!this.following) return;
      this.list.atBottom = false;
      await this.list.loadNewer();
      this.list.box.scrollTop = this.list.box.scrollHeight;
    }, POLL_MS);
  }

  receive(line) {
    this.queue.push(line);
    if (this.queue.length > MAX_QUEUE) {
      this.dropped += this.queue.length - MAX_QUEUE;
      this.queue.splice(0, this.queue.length - MAX_QUEUE);
    }
  }

  flush() {
    if (!this.following || !this.queue.length) return;
    const last = this.list.lastId();
    const batch = this.queue.splice(0, PER_FLUSH)  // late lines come from behind the cursor
      .filter((ln) => ln.late || last === undefined || BigInt(ln.id) > BigInt(last));
    this.list.append(batch);
    this.list.markHits(batch);
    this.list.box.scrollTop = this.list.box.scrollHeight;
    const skipped = this.dropped ? ` · ${this.dropped} skipped (too fast)` : "";
    this.hooks.status(`${this.list.summary()} · following${skipped}`);
  }

  onScroll() {
    const box = this.list.box;
    if (this.following && box.scrollHeight - box.scrollTop - box.clientHeight > 40) {
      this.stop();
      this.hooks.status(`${this.list.summary()} · paused (F to follow)`);
    }
  }

  stop() {
    this.following = false;
    this.source?.close();
    this.source = null;
    clearInterval(this.timer);
    clearInterval(this.pollTimer);
    this.queue = [];
    this.dropped = 0;
    this.paint();
  }

  toggle() { return this.following ? this.stop() : this.start(); }

  paint() {
    this.button.replaceChildren(el("span", null, this.following ? "■ following" : "▶ follow (F)"));
    this.button.classList.toggle("on", this.following);
  }
}
