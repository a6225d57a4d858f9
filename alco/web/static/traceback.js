// A traceback under its line, in place: folded to its first and last line (where it started,
// what was raised) with the number of lines between; a click (or t on the current line)
// unfolds it, another folds it again.

import { el, valueText } from "./dom.js";

export function tracebackBlock(name, value) {
  const text = valueText(value).replace(/\s+$/, "");
  const lines = text.split("\n");
  const box = el("div", "tb");
  box.dataset.ctx = name;
  if (lines.length <= 2) {
    box.append(el("pre", "tbtext", text));
    return box;
  }
  box.classList.add("folded");
  box.title = `${name}: click to unfold (t)`;
  const more = el("button", "tbmore", `⋯ ${lines.length - 2} more lines`);
  more.type = "button";
  const full = el("pre", "tbtext", text);
  full.hidden = true;
  box.append(el("pre", "tbline first", lines[0]), more, el("pre", "tbline last",
    lines[lines.length - 1]), full);
  return box;
}

// unfold a folded traceback, fold an unfolded one; returns whether it is unfolded now
export function toggleTraceback(box) {
  const full = box.querySelector(".tbtext");
  if (!box.classList.contains("folded") && !box.classList.contains("unfolded")) return true;
  const unfold = box.classList.contains("folded");
  box.classList.toggle("folded", !unfold);
  box.classList.toggle("unfolded", unfold);
  full.hidden = !unfold;
  for (const part of box.querySelectorAll(".tbline, .tbmore")) part.hidden = unfold;
  box.title = `${box.dataset.ctx}: click to ${unfold ? "fold" : "unfold"} (t)`;
  return unfold;
}
