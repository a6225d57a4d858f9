// Times shown in one zone: UTC (as stored, the default) or the browser's own zone, a toggle
// kept in the URL (tz=local). The zone is always named on the page (the toolbar's zone button).
// Times typed in the range boxes and jump-to-time are read in the zone shown: a time without an
// offset typed while the local zone is shown is sent (and kept in the URL) with that offset.

let local = false;

export function setZone(zone) { local = zone === "local"; }
export function isLocal() { return local; }

export function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "local"; } catch { return "local"; }
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

function offsetText(minutes) {
  const sign = minutes < 0 ? "-" : "+";
  const m = Math.abs(minutes);
  return `${sign}${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

// minutes east of UTC of the zone shown, at `ms`
export function offsetAt(ms) { return local ? -new Date(ms).getTimezoneOffset() : 0; }

// "UTC", or "Asia/Kolkata (UTC+05:30)"
export function zoneLabel(ms = Date.now()) {
  return local ? `${browserZone()} (UTC${offsetText(offsetAt(ms))})` : "UTC";
}

export function zoneShort(ms = Date.now()) {
  return local ? `UTC${offsetText(offsetAt(ms))}` : "UTC";
}

// the calendar fields of `ms` in the zone shown
export function parts(ms) {
  const d = new Date(ms + offsetAt(ms) * 60000);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(),
    mi: d.getUTCMinutes(), s: d.getUTCSeconds(), ms: d.getUTCMilliseconds() };
}

// microseconds after the millisecond in an ISO time ("…:05.123456+00:00" -> "456")
function micros(iso) {
  const m = /\.\d{3}(\d+)/.exec(iso);
  return m ? m[1] : "";
}

export function toMs(ts) {
  if (typeof ts === "number") return ts;
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? ms : NaN;
}

// "11-24 10:00:00.123" in the zone shown
export function shortTs(ts) {
  const ms = toMs(ts);
  if (!Number.isFinite(ms)) return String(ts);
  const p = parts(ms);
  return `${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}.${pad(p.ms, 3)}`;
}

// full ISO time in the zone shown, with its offset ("Z" in UTC); keeps µs of an ISO input
export function isoInZone(ts, withMs = true) {
  const ms = toMs(ts);
  const p = parts(ms);
  const frac = withMs ? `.${pad(p.ms, 3)}${typeof ts === "string" ? micros(ts) : ""}` : "";
  const off = local ? offsetText(offsetAt(ms)) : "Z";
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${frac}${off}`;
}

// a tick label: as much as the step needs ("10:15", "10:15:30", "11-24 10:00", "11-24")
export function tickLabel(ms, stepMs, spanMs) {
  const p = parts(ms);
  const hm = `${pad(p.h)}:${pad(p.mi)}`;
  if (stepMs >= 86400000) return `${pad(p.mo)}-${pad(p.d)}`;
  const time = stepMs < 60000 ? `${hm}:${pad(p.s)}` : hm;
  return spanMs > 86400000 || (p.h === 0 && p.mi === 0 && p.s === 0) ? `${pad(p.mo)}-${pad(p.d)} ${time}` : time;
}

const NAIVE_ISO = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?)?$/;

// A time typed in a box, for the API and the URL: a time without an offset read in the zone
// shown (local: the offset is added; UTC: sent as typed, the server reads it as UTC). Relative
// times (15m), epochs and times with an offset go as they are.
export function typedTime(text) {
  const t = text.trim();
  const m = NAIVE_ISO.exec(t);
  if (!m || !local) return t;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = ""] = m;
  const asUtc = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  // the offset in force at that local time (twice: near a change the first guess may be off)
  let off = -new Date(asUtc).getTimezoneOffset();
  off = -new Date(asUtc - off * 60000).getTimezoneOffset();
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}${offsetText(off)}`;
}

// A range box's text shown in the zone shown: absolute ISO times are rewritten, the rest kept.
export function shownTime(text) {
  if (!text) return text;
  const m = NAIVE_ISO.exec(text);
  const absolute = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)$/i.test(text);
  if (!absolute && !m) return text;
  const ms = toMs(m ? text.replace(" ", "T") + (m[4] ? "Z" : "T00:00:00Z") : text);
  if (!Number.isFinite(ms)) return text;
  return isoInZone(ms, ms % 1000 !== 0);
}
