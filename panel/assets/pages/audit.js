// Access records of one institution (auditors and admins), filtered by date (JST days).
import {enc, get} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';
import {formatTime, jstInputToUnix} from '../format.js';
import {badge, busy, errorBox, field, form, pageHeader, section, submit, table} from '../ui.js';

const PAGE = 200;

function jstToday(offsetDays = 0) {
  const d = new Date(Date.now() + 9 * 3600 * 1000 + offsetDays * 86400 * 1000);
  return d.toISOString().slice(0, 10);
}

// "ok", "denied: <why>", "error: <what>" → a word, with the server's words as the tooltip.
function resultBadge(r) {
  const text = String(r.result || '');
  const kind = text === 'ok' ? 'ok' : text.startsWith('denied') ? 'denied' : 'error';
  const b = badge(t(`audit.result_${kind}`), kind === 'ok' ? 'ok' : kind === 'denied' ? 'warn' : 'error');
  if (kind !== 'ok' && text) b.setAttribute('title', text);
  return b;
}

export async function renderAudit(main, tenant) {
  const err = errorBox();
  const since = field(t('audit.since'), {type: 'date', value: jstToday(-6), required: true});
  const until = field(t('audit.until'), {type: 'date', value: jstToday(0), required: true});
  const results = h('div', {});
  let records = [];

  const load = async (append) => {
    const from = jstInputToUnix(since.input.value);
    const to = jstInputToUnix(until.input.value) + 86400;
    const after = append && records.length ? records[records.length - 1].id : 0;
    const r = await get(`tenants/${enc(tenant)}/audit?since=${from}&until=${to}&after=${after}&limit=${PAGE}`);
    const page = Array.isArray(r) ? r : r.records || [];
    records = append ? records.concat(page) : page;
    const more = page.length === PAGE
      ? h('button', {type: 'button', class: 'btn secondary', on: {click: (e) => busy(e.currentTarget, err, () => load(true))}}, t('audit.more'))
      : null;
    replace(results, section(t('audit.records', records.length),
      table(t('audit.records', records.length), [
        {label: t('audit.time'), class: 'nowrap', cell: (x) => formatTime(x.time_ms ?? x.time)},
        {label: t('audit.actor'), cell: (x) => h('span', {class: 'wrap'}, x.actor)},
        {label: t('audit.action'), cell: (x) => h('code', {}, x.action)},
        {label: t('audit.object'), cell: (x) => h('span', {class: 'wrap'}, x.object || '—')},
        {label: t('audit.source'), cell: (x) => x.source_ip || '—'},
        {label: t('audit.result'), cell: resultBadge},
      ], records, t('audit.none')), more));
  };

  replace(main,
    pageHeader(t('audit.title')),
    h('p', {class: 'lead'}, t('audit.lead')),
    err,
    form({class: 'filter-bar'}, [since.row, until.row, submit(t('audit.show'))], (btn) => busy(btn, err, () => load(false))),
    results);
  await load(false).catch((e) => {
    replace(results);
    throw e;
  });
}
