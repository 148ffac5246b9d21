// Builds DOM nodes. Text always goes in as text nodes (never parsed as HTML), so a payload
// such as `<img src=x onerror=alert(1)>` is shown as those characters and runs nothing.

/** `h('td', { class: 'n' }, 'text', child…)`: attributes by name, `onclick` etc. as listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A link to a page of the dashboard (`#/queue/mail`), absolute so `<base>` does not move it. */
export function link(hash, ...children) {
  return h('a', { href: `${location.pathname}${location.search}#${hash}` }, ...children);
}

/** Replaces the children of `el` (arrays flattened, null and false left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A date as local time; '—' when there is none. */
export function when(value) {
  if (!value) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

/** Pretty JSON, as text. */
export function json(value) {
  return value === undefined ? '—' : JSON.stringify(value, null, 2);
}

export function button(label, onclick, attrs = {}) {
  return h('button', { type: 'button', onclick, ...attrs }, label);
}

let toastTimer;
/** A short message at the bottom of the page. */
export function toast(message, isError = false) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = isError ? 'error' : '';
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 5000);
}
