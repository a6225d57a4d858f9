// The simple pages: the index list at "/", shortcuts at "/s" and "/s/<name>/<value>", and the
// token form shown when the API answers 401.

import { api, el, setToken } from "./dom.js";

export async function showIndexes(main) {
  const { indexes } = await api("/api/indexes");
  const table = el("table", "indexes");
  const head = el("tr");
  head.append(el("th", null, "index"), el("th", "num", "last 5 minutes"),
    el("th", "num", "retention"));
  table.append(head);
  for (const ix of indexes) {
    const tr = el("tr");
    const a = el("a", null, ix.name);
    a.href = "/" + encodeURIComponent(ix.name);
    const name = el("td");
    name.append(a);
    tr.append(name, el("td", "num", `${ix.last_5m} lines`),
      el("td", "num", ix.retention_days ? `${ix.retention_days} days` : ""));
    table.append(tr);
  }
  const more = el("p", "dim", "saved searches: ");
  more.append(Object.assign(el("a", null, "shortcuts"), { href: "/s" }));
  main.replaceChildren(table, more);
  if (!indexes.length) main.append(el("p", "note", "no indexes configured"));
}

// /<name> of an index that does not exist: say so, and link the real ones (keeping the search)
export async function showUnknownIndex(main, name) {
  document.title = "no such index · ALCO";
  const { indexes } = await api("/api/indexes");
  const list = el("ul", "indexlist");
  for (const ix of indexes) {
    const a = el("a", null, ix.name);
    a.href = "/" + encodeURIComponent(ix.name) + location.search;
    const item = el("li");
    item.append(a, el("span", "dim", ` ${ix.last_5m} lines in the last 5 minutes`));
    list.append(item);
  }
  main.replaceChildren(el("h2", null, `No index named “${name}”`), el("p", null,
    indexes.length ? "The indexes are:" : "No indexes are configured."), list);
}

export async function openShortcut(path) {
  // /s/<name>/<value...>: resolve through the API, then show the lines.
  const [, , name, ...rest] = path.split("/");
  const value = rest.map(decodeURIComponent).join("/");
  const body = await api(`/api/shortcuts/${name}?value=${encodeURIComponent(value)}`);
  location.replace(body.url);
}

export async function showShortcuts(main) {
  const [{ shortcuts }, { indexes }] = await Promise.all([api("/api/shortcuts"),
    api("/api/indexes")]);
  const table = el("table", "shortcuts");
  const head = el("tr");
  for (const h of ["name", "index", "query", "description", ""]) head.append(el("th", null, h));
  table.append(head);
  for (const s of shortcuts) {
    const tr = el("tr");
    const link = el("a", null, `/s/${s.name}/…`);
    link.href = `/s/${encodeURIComponent(s.name)}/`;
    const del = el("button", "x", "delete");
    del.type = "button";
    del.addEventListener("click", async () => {
      await api(`/api/shortcuts/${encodeURIComponent(s.name)}`, { method: "DELETE" });
      showShortcuts(main);
    });
    const cells = [link, el("span", null, s.index), el("code", null, s.query),
      el("span", "dim", s.description || ""), del];
    for (const c of cells) { const td = el("td"); td.append(c); tr.append(td); }
    table.append(tr);
  }
  main.replaceChildren(el("h2", null, "Shortcuts"), el("p", "dim",
    "/s/<name>/<value> opens the saved query with the value in its {} slot " +
    "(or appended when the query has none)."), table, shortcutForm(main, indexes));
}

function shortcutForm(main, indexes) {
  const form = el("form", "newshortcut");
  const name = Object.assign(el("input"), { name: "name", placeholder: "name", required: true });
  const index = el("select");
  index.name = "index";
  for (const ix of indexes) index.append(Object.assign(el("option", null, ix.name),
    { value: ix.name }));
  const q = Object.assign(el("input"), { name: "query", placeholder: "query, e.g. request_id:{}" });
  const d = Object.assign(el("input"), { name: "description", placeholder: "description" });
  const msg = el("span", "note");
  form.append(el("h3", null, "new shortcut"), name, index, q, d,
    Object.assign(el("button", null, "save"), { type: "submit" }), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { name: name.value, index: index.value, query: q.value, description: d.value };
    try {
      await api("/api/shortcuts", { method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json" } });
      showShortcuts(main);
    } catch (err) { msg.textContent = err.message; }
  });
  return form;
}

export function showTokenForm(main) {
  const form = el("form", "tokenform");
  const input = Object.assign(el("input"), { type: "password", placeholder: "access token",
    autocomplete: "off" });
  form.append(el("p", null, "This ALCO needs an access token."), input,
    Object.assign(el("button", null, "use token"), { type: "submit" }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    location.reload();
  });
  main.replaceChildren(form);
  input.focus();
}
