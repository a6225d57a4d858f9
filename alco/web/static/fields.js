// Fields that say the same thing under different names (one shipper writes `levelname`,
// another `level`): one column per group, in the defaults and in the column list.

export const GROUPS = [["levelname", "level"], ["logger", "logger_name"],
  ["exc_info", "stack_trace"]];
export const LEVEL_FIELDS = GROUPS[0];

export function groupOf(name) {
  return GROUPS.find((g) => g.includes(name)) || [name];
}

// the other names of `name`'s group
export function synonyms(name) { return groupOf(name).filter((n) => n !== name); }

// A field's value in a line, under its own name or a synonym's; and the name it was found under.
export function lookup(fields, name) {
  for (const n of [name, ...synonyms(name)]) {
    if (fields[n] !== undefined) return { name: n, value: fields[n] };
  }
  return { name, value: undefined };
}

// One entry per group, where its first member stood; `names` lists the group's members seen.
export function oneColumnPerGroup(columns) {
  const out = [];
  const byGroup = new Map();
  for (const col of columns) {
    const key = groupOf(col.name)[0];
    const seen = byGroup.get(key);
    if (seen) {
      const group = groupOf(col.name);
      seen.names.push(col.name);
      seen.names.sort((a, b) => group.indexOf(a) - group.indexOf(b));
      const better = col.role === "filtered" ? seen.role !== "filtered"
        || group.indexOf(col.name) < group.indexOf(seen.name) : false;
      if (better) Object.assign(seen, { name: col.name, role: "filtered" }); // values kept
      continue;
    }
    const entry = { ...col, names: [col.name] };
    byGroup.set(key, entry);
    out.push(entry);
  }
  return out;
}

// names with no two of one group (the first one stays)
export function uniqueByGroup(names) {
  const seen = new Set();
  return names.filter((n) => {
    const key = groupOf(n)[0];
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
