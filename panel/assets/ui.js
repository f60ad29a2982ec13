// Shared pieces of the screens: errors, form fields, tables, dialogs, notices.
import {h, newId, replace} from './dom.js';
import {has, t} from './i18n.js';

// An error from the server (ApiError) or the browser as one sentence in the user's language.
export function errorText(err) {
  if (err && err.key && has(err.key)) return t(err.key, ...(err.args || []));
  const status = err && err.status;
  if (status === 0) return t('error.network');
  if (status && has(`error.http_${status}`)) return t(`error.http_${status}`);
  return t('error.unexpected');
}

// The password-policy problems of an error, each a sentence.
export function problemTexts(err) {
  return (err.problems || []).map((p, i) => t(p, ...((err.problemArgs || [])[i] || [])));
}

// A region that screen readers announce when an error is put into it.
export function errorBox() {
  return h('div', {class: 'error-box', role: 'alert', 'aria-live': 'assertive', hidden: true});
}

export function showError(box, err) {
  const problems = err && err.problems ? problemTexts(err) : [];
  // Details only where they name what to fix (a refused value), not for sign-in refusals.
  const detail = err && err.status === 400 && err.detail && !problems.length ? err.detail : '';
  replace(box, h('p', {}, typeof err === 'string' ? err : errorText(err)),
          problems.length ? h('ul', {}, problems.map((p) => h('li', {}, p))) : null,
          detail ? h('p', {class: 'detail', lang: 'en'}, detail) : null);
  box.hidden = false;
}

export function hideError(box) {
  replace(box);
  box.hidden = true;
}

// A labelled input: returns {row, input}.
export function field(label, attrs = {}, hint) {
  const id = newId('f');
  const hintId = hint ? `${id}-hint` : null;
  const tag = attrs.tag || 'input';
  const {tag: _ignored, options, ...rest} = attrs;
  const input = h(tag, {id, name: id, 'aria-describedby': hintId, ...rest},
                  options ? options.map(([value, text]) => h('option', {value}, text)) : null);
  const row = h('div', {class: 'field'},
                h('label', {for: id}, label),
                input,
                hint ? h('p', {class: 'hint', id: hintId}, hint) : null);
  return {row, input};
}

export function checkbox(label, checked) {
  const id = newId('c');
  const input = h('input', {type: 'checkbox', id});
  input.checked = !!checked;
  return {row: h('div', {class: 'field check'}, input, h('label', {for: id}, label)), input};
}

// The account's user ID for password managers, beside a password-change form (not shown).
export function usernameHint(login) {
  return h('input', {type: 'text', autocomplete: 'username', value: login || '', hidden: true, readonly: true});
}

export function button(text, onClick, cls = 'secondary', attrs = {}) {
  return h('button', {type: 'button', class: ['btn', cls], on: {click: onClick}, ...attrs}, text);
}

// Runs `work` with the button disabled; errors go to `box`.
export async function busy(btn, box, work) {
  if (box) hideError(box);
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } catch (err) {
    if (box) showError(box, err);
    else toast(errorText(err), 'error');
    return undefined;
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}

// A form whose submit runs `onSubmit` (Enter works, the browser validates required fields).
export function form(attrs, children, onSubmit) {
  const f = h('form', {novalidate: false, ...attrs}, children);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    onSubmit(f.querySelector('button[type=submit]'));
  });
  return f;
}

export function submit(text, cls = 'primary') {
  return h('button', {type: 'submit', class: ['btn', cls]}, text);
}

// columns: [{label, cell(row) → node|text, class}]
export function table(caption, columns, rows, emptyText) {
  if (!rows.length) return h('p', {class: 'empty'}, emptyText || t('common.none'));
  return h('div', {class: 'table-wrap'},
           h('table', {class: 'data'},
             h('caption', {class: 'visually-hidden'}, caption),
             h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col', class: c.class}, c.label)))),
             h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', {class: c.class}, c.cell(r))))))));
}

// Items of a list in one line: "a、b" in Japanese, "a, b" in English.
export function joinList(items) {
  const sep = t('common.list_sep');
  return items.join(/^[\x20-\x7e]+$/.test(sep) ? `${sep} ` : sep);
}

export function badge(text, kind) {
  return h('span', {class: ['badge', kind && `badge-${kind}`]}, text);
}

export function section(title, ...children) {
  const id = newId('s');
  return h('section', {class: 'card', 'aria-labelledby': id}, h('h2', {id}, title), children);
}

export function pageHeader(title, ...actions) {
  return h('div', {class: 'page-head'}, h('h1', {tabindex: '-1', id: 'page-title'}, title),
           actions.length ? h('div', {class: 'page-actions'}, actions) : null);
}

export function loading() {
  return h('p', {class: 'loading', role: 'status'}, t('common.loading'));
}

const toastRegion = () => document.getElementById('toasts');

export function toast(message, kind = 'ok') {
  const region = toastRegion();
  if (!region) return;
  const item = h('div', {class: ['toast', `toast-${kind}`]}, message);
  region.appendChild(item);
  setTimeout(() => item.remove(), 6000);
}

// A modal <dialog>: the browser keeps focus inside and Escape cancels. `build(close)` returns
// the body; resolves with what close() was given (undefined on cancel).
// `keep`: survives a change of page (the idle warning); other dialogs close with their page.
export function openDialog(title, build, {wide = false, dismissable = true, keep = false} = {}) {
  return new Promise((resolve) => {
    const titleId = newId('d');
    const dlg = h('dialog', {class: ['dialog', wide && 'wide', keep && 'keep'], 'aria-labelledby': titleId});
    const opener = document.activeElement;
    let result;
    const close = (value) => {
      result = value;
      dlg.close();
    };
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.focus && document.contains(opener)) opener.focus();
      resolve(result);
    });
    if (!dismissable) dlg.addEventListener('cancel', (e) => e.preventDefault());
    dlg.append(h('h2', {id: titleId}, title), build(close));
    document.body.appendChild(dlg);
    dlg.showModal();
    const first = ['[autofocus]', 'input, select, textarea', 'button.primary', 'button']
      .map((sel) => dlg.querySelector(sel)).find(Boolean);
    if (first) first.focus();
  });
}

export function closePageDialogs() {
  for (const dlg of document.querySelectorAll('dialog.dialog[open]:not(.keep)')) dlg.close();
}

export function confirmDialog(title, message, okText, danger = false) {
  return openDialog(title, (close) => h('div', {},
    h('p', {}, message),
    h('div', {class: 'dialog-actions'},
      button(t('common.cancel'), () => close(false)),
      button(okText, () => close(true), danger ? 'danger' : 'primary', {autofocus: true}))));
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast(t('common.copied'));
  } catch {
    toast(t('common.copy_failed'), 'error');
  }
}

export function copyButton(text, label) {
  return button(label || t('common.copy'), () => copyText(text), 'secondary small');
}

// A meter of used against quota with its numbers beside it.
export function usageMeter(used, quota, label) {
  const id = newId('m');
  if (!quota) {
    return h('div', {class: 'usage'}, h('span', {id}, label));
  }
  return h('div', {class: 'usage'},
           h('meter', {id, min: 0, max: quota, low: quota * 0.8, high: quota * 0.95, optimum: 0,
                       value: Math.min(used, quota), 'aria-label': label}),
           h('span', {class: 'usage-text'}, label));
}
