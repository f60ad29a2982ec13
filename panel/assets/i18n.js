// The message catalogs (assets/i18n/<lang>.json, made from i18n/panel.<lang>.msg) and the
// language switch. Japanese unless the user chose English on this browser.

const STORAGE_KEY = 'kura.panel.lang';
export const LANGS = ['ja', 'en'];
let lang = 'ja';
let catalog = {};

function stored() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return LANGS.includes(v) ? v : 'ja';
  } catch {
    return 'ja';
  }
}

export async function loadLanguage(wanted) {
  const next = LANGS.includes(wanted) ? wanted : stored();
  const res = await fetch(`assets/i18n/${next}.json`, {credentials: 'same-origin'});
  if (!res.ok) throw new Error(`catalog ${next}: HTTP ${res.status}`);
  catalog = await res.json();
  lang = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

export function currentLang() {
  return lang;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(catalog, key);
}

// The text of `key` with its {} filled by args in order; the key itself when missing.
export function t(key, ...args) {
  const pattern = has(key) ? catalog[key] : key;
  let i = 0;
  return pattern.replace(/\{\}/g, () => (i < args.length ? String(args[i++]) : '{}'));
}
