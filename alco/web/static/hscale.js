// The histogram's count scale: linear (counts read plainly) or log, where a quiet hour of a
// few lines stays visible next to a burst of thousands. The choice is in the URL (hscale=log).

import { el } from "./dom.js";
import { saveState } from "./state.js";

function niceCeil(n) {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

// {top, mid, y(n)}: the axis's top and middle values, and a count's height (0..1)
export function countScale(log, max) {
  if (!log) {
    const top = niceCeil(max);
    return { top, mid: top / 2, y: (n) => n / top };
  }
  const top = 10 ** Math.max(1, Math.ceil(Math.log10(max)));
  const span = Math.log10(top + 1);
  return { top, mid: Math.round(10 ** (span / 2) - 1), y: (n) => Math.log10(n + 1) / span };
}

// "scale: linear | log" under the histogram; a click redraws it (redraw(), no new request)
export function scaleSwitch(state, redraw) {
  const box = el("span", "hscale");
  box.append(el("span", null, "scale "));
  for (const [kind, title] of [["", "counts read plainly"],
    ["log", "log scale: a few lines stay visible next to a burst"]]) {
    const btn = el("button", state.hscale === kind ? "on" : null, kind || "linear");
    btn.type = "button";
    btn.title = title;
    btn.addEventListener("click", () => {
      if (state.hscale === kind) return;
      state.hscale = kind;
      saveState(state);
      redraw();
    });
    box.append(btn);
  }
  return box;
}
