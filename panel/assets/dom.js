// Building DOM without HTML strings: text is always text (no injection), and no inline style
// or handler attributes (the panel's CSP forbids them).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (name === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name === 'value' && 'value' in el) {
      el.value = value;
    } else if (name === 'style' || name.startsWith('on')) {
      throw new Error(`attribute ${name} is not allowed (CSP)`);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

// h('button', {class: 'primary', on: {click}}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// An SVG document from the server (QR codes) as a node of this document, parsed as XML so
// nothing in it runs.
export function importSvg(text, label) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (!root || root.nodeName !== 'svg' || doc.getElementsByTagName('parsererror').length) {
    return h('span', {}, '');
  }
  for (const bad of root.querySelectorAll('script, foreignObject, style')) bad.remove();
  const node = document.importNode(root, true);
  node.setAttribute('role', 'img');
  if (label) node.setAttribute('aria-label', label);
  node.setAttribute('class', 'qr');
  return node;
}

let uid = 0;
export function newId(prefix) {
  uid += 1;
  return `${prefix || 'id'}-${uid}`;
}
