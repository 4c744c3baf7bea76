// Building the page from data without innerHTML: every value becomes a text node.

/** An element with attributes (``on*`` functions become listeners) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** ``value`` as the API gave it (already quantized), or a dash. */
export function shown(value) {
  return value === undefined || value === null || value === "" ? "—" : String(value);
}

/** The sign class of a decimal string: "pos", "neg" or "". */
export function sign(value) {
  const text = String(value ?? "");
  if (text.startsWith("-")) return "neg";
  return /[1-9]/.test(text) ? "pos" : "";
}

/**
 * Fill ``table`` with a header and one row per item. A column is
 * ``{label, value: item => text|Node, num?: bool, signed?: bool}``; ``rowAttrs(item)`` adds attributes.
 */
export function fillTable(table, columns, items, rowAttrs = () => ({})) {
  const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c.label))));
  const rows = items.map((item) =>
    el("tr", rowAttrs(item), columns.map((c) => {
      const value = c.value(item);
      const cls = [c.num ? "num" : "", c.signed ? sign(value) : ""].join(" ").trim();
      return el("td", { class: cls || undefined }, value instanceof Node ? value : shown(value));
    })),
  );
  const body = el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, "none")));
  table.replaceChildren(head, body);
}

/** Fill a <dl> with ``[label, value, field, signed]`` rows (``signed``: coloured by its sign). */
export function fillList(list, rows) {
  list.replaceChildren(...rows.flatMap(([label, value, field, signed = false]) => [
    el("dt", {}, label),
    el("dd", { class: (signed && sign(value)) || undefined, dataset: { field } }, shown(value)),
  ]));
}

/** Show a result line: ``ok`` colours it. */
export function say(node, text, ok) {
  node.textContent = text;
  node.dataset.ok = String(ok);
}

/** The element with ``id`` (a missing one is a bug in the page). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`no #${id} in the page`);
  return node;
}
