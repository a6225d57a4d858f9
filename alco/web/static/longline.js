// A very long line (a 20,000-character dump, a huge JSON) folded like a traceback: its first
// rows shown, a button under it to unfold the whole line in place (or t on the current line).

import { el } from "./dom.js";

export const LONG_CHARS = 1000;
const LONG_ROWS = 8; // a message of more lines than this is long too

export function isLong(text) {
  if (text.length > LONG_CHARS) return true;
  let rows = 0;
  for (let i = text.indexOf("\n"); i >= 0 && rows <= LONG_ROWS; i = text.indexOf("\n", i + 1)) {
    rows += 1;
  }
  return rows > LONG_ROWS;
}

// fold the row's message when it is long: returns the button that unfolds it, or null
export function foldLong(row, text) {
  if (!isLong(text)) return null;
  row.classList.add("long", "longfold");
  const more = el("button", "longmore");
  more.type = "button";
  more.dataset.chars = text.length;
  label(row, more);
  return more;
}

function label(row, more) {
  const chars = Number(more.dataset.chars).toLocaleString("en");
  const hits = row.querySelectorAll(":scope > .msg mark").length; // some may be in the fold
  const size = `${chars} characters` + (hits ? `, ${hits} hit${hits === 1 ? "" : "s"}` : "");
  const folded = row.classList.contains("longfold");
  more.textContent = folded ? `⋯ show the whole line (${size})` : "fold the line";
  more.title = folded ? "unfold the whole line in place (t)" : "fold the line again (t)";
}

// the row's message got its highlights later (context mode): say how many
export function relabel(row) {
  const more = row.querySelector(":scope > .longmore");
  if (more) label(row, more);
}

// unfold a folded long line, fold an unfolded one
export function toggleLong(row) {
  const more = row.querySelector(":scope > .longmore");
  if (!more) return;
  row.classList.toggle("longfold");
  label(row, more);
}

// a message of the lines around another (the details' context): the same fold, a click toggles
export function longMessage(text) {
  const msg = el("span", "msg", text);
  if (!isLong(text)) return msg;
  msg.classList.add("long");
  msg.title = "click to show the whole line, again to fold it";
  msg.addEventListener("click", () => msg.classList.toggle("open"));
  return msg;
}
