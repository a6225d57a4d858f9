// ALCO reading page: index list at "/", log view at "/<index>".
// Log text is only ever inserted with textContent; highlights come from the server already
// HTML-escaped, with <mark> as the only markup, and are rebuilt node by node.

const main = document.getElementById("main");
const status = document.getElementById("status");
const form = document.getElementById("search");
const input = document.getElementById("q");
const params = new URLSearchParams(location.search);
const indexName = decodeURIComponent(location.pathname.slice(1));

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function highlighted(html) {
  // The server escaped everything but <mark>; parse that small language without innerHTML.
  const span = el("span", "msg");
  const parts = html.split(/(<mark>|<\/mark>)/);
  let inMark = false;
  for (const part of parts) {
    if (part === "<mark>") { inMark = true; continue; }
    if (part === "</mark>") { inMark = false; continue; }
    const text = part.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    span.append(inMark ? el("mark", null, text) : document.createTextNode(text));
  }
  return span;
}

async function api(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

function renderLine(line) {
  const row = el("div", "line");
  row.dataset.id = line.id;
  row.append(el("span", "ts", line.ts.replace("T", " ").slice(0, 26)));
  for (const key of ["host", "levelname"]) {
    const value = line.fields[key] ?? line.fields[key === "levelname" ? "level" : key];
    if (value !== undefined) row.append(el("span", "col", String(value)));
  }
  row.append(line.highlight ? highlighted(line.highlight) : el("span", "msg", line.message));
  return row;
}

async function showIndexes() {
  form.hidden = true;
  const { indexes } = await api("/api/indexes");
  const list = el("ul", "indexes");
  for (const ix of indexes) {
    const li = el("li");
    const a = el("a", null, ix.name);
    a.href = "/" + encodeURIComponent(ix.name);
    li.append(a, document.createTextNode(`  ${ix.last_5m} lines in the last 5 minutes`));
    list.append(li);
  }
  main.replaceChildren(list);
}

async function showLines(next) {
  const query = new URLSearchParams({ q: params.get("q") || "", limit: "200" });
  if (next) query.set("before", next);
  status.textContent = "searching…";
  const page = await api(`/api/${encodeURIComponent(indexName)}/lines?${query}`);
  if (!next) main.replaceChildren();
  document.querySelector(".more")?.remove();
  for (const line of page.lines) main.append(renderLine(line));
  status.textContent = `${main.querySelectorAll(".line").length} lines`;
  if (page.next) {
    const more = el("button", "more", "older lines");
    more.addEventListener("click", () => showLines(page.next));
    main.append(more);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  params.set("q", input.value);
  history.pushState(null, "", `?${params}`);
  showLines().catch(fail);
});

function fail(err) {
  status.textContent = "";
  main.replaceChildren(el("div", "error", String(err.message || err)));
}

input.value = params.get("q") || "";
(indexName ? showLines() : showIndexes()).catch(fail);
