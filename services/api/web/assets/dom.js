// Small DOM helpers. Text is always inserted as text nodes, never parsed as
// HTML: every stored string (page paths, site names) goes through here.

export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

// el("td", {class: "num"}, "12") builds <td class="num">12</td>. Attribute
// values are set with setAttribute (no "on…" handlers accepted); children
// are nodes or strings, and strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (/^on/i.test(name)) throw new Error(`refusing event attribute ${name}`);
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
}

export function show(node, visible) {
  node.hidden = !visible;
}

// setState(p, "Loading…") shows a status line; setState(p, "") hides it.
export function setState(node, text) {
  node.textContent = text;
  node.hidden = text === "";
}
