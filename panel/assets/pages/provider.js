// The provider's screens: tenants (institutions), usage across them, maintenance notices.
import {del, enc, get, post, put} from '../api.js';
import {h, replace} from '../dom.js';
import {currentLang, t} from '../i18n.js';
import {formatBytes, formatDate, formatTime, jstInputToUnix, percent} from '../format.js';
import {usageChart, withToday} from '../charts.js';
import {can, tenantHref} from '../state.js';
import {badge, busy, button, confirmDialog, errorBox, errorText, field, form, loading, openDialog, pageHeader,
        section, submit, table, toast, usageMeter} from '../ui.js';

const GIB = 1024 ** 3;

function quotaFields(quotaBytes) {
  const gib = quotaBytes ? quotaBytes / GIB : 0;
  const unit = gib && gib % 1024 === 0 ? 'tib' : 'gib';
  const amount = field(t('tenant.quota'), {type: 'number', min: 0, step: 'any', required: true,
                                          value: unit === 'tib' ? gib / 1024 : gib}, t('tenant.quota_hint'));
  const units = field(t('tenant.quota_unit'), {tag: 'select', options: [['gib', 'GiB'], ['tib', 'TiB']]});
  units.input.value = unit;
  const bytes = () => Math.round(Number(amount.input.value || 0) * GIB * (units.input.value === 'tib' ? 1024 : 1));
  return {rows: h('div', {class: 'inline-fields'}, amount.row, units.row), bytes};
}

function usageCell(tn) {
  const q = tn.quota_bytes || 0;
  const label = q ? t('dash.used_of', formatBytes(tn.used_bytes), formatBytes(q), percent(tn.used_bytes, q))
                  : t('dash.used_no_quota', formatBytes(tn.used_bytes));
  return usageMeter(tn.used_bytes || 0, q, label);
}

export async function renderTenants(main) {
  replace(main, loading());
  const {tenants = []} = await get('tenants');
  const reload = () => renderTenants(main);
  const manage = can('panel.tenant.manage');
  replace(main,
    pageHeader(t('tenants.title'), manage ? button(t('tenants.create'), () => tenantDialog(null, reload), 'primary') : null),
    section(t('tenants.list'),
      table(t('tenants.list'), [
        {label: t('tenant.display_name'), cell: (x) => h('span', {}, h('a', {href: tenantHref(x.name, 'dashboard')}, h('strong', {}, x.display_name || x.name)),
                                                        h('br'), h('span', {class: 'muted'}, x.name))},
        {label: t('tenant.region'), cell: (x) => x.region, class: 'nowrap'},
        {label: t('tenant.usage'), cell: usageCell, class: 'wide-cell'},
        {label: t('tenant.devices'), cell: (x) => String(x.devices ?? 0), class: 'num'},
        {label: t('common.actions'), class: 'actions', cell: (x) => h('div', {class: 'row-actions'},
          h('a', {class: 'btn secondary small', href: tenantHref(x.name, 'dashboard')}, t('tenants.open')),
          manage ? button(t('tenants.edit'), () => tenantDialog(x, reload), 'secondary small') : null)},
      ], tenants, t('tenants.none'))));
}

async function tenantDialog(tenant, reload) {
  let regions = [];
  try {
    regions = (await get('regions')).regions || [];
  } catch {
    regions = tenant ? [tenant.region] : [];
  }
  return openDialog(tenant ? t('tenants.edit_title', tenant.display_name || tenant.name) : t('tenants.create'), (close) => {
    const err = errorBox();
    const name = tenant ? null : field(t('tenant.name'), {type: 'text', required: true, pattern: '[a-z0-9][a-z0-9\\-]*', maxlength: 63,
                                                          autocapitalize: 'none', spellcheck: 'false'}, t('tenant.name_hint'));
    const display = field(t('tenant.display_name'), {type: 'text', required: true, maxlength: 100, value: tenant ? tenant.display_name : ''},
                          t('tenant.display_name_hint'));
    // A tenant's region never changes (its data would have to move): shown, not editable.
    const region = field(t('tenant.region'), {tag: 'select', disabled: !!tenant, options: regions.map((r) => [r, r])},
                         tenant ? t('tenant.region_fixed_hint') : t('tenant.region_hint'));
    if (tenant) region.input.value = tenant.region;
    const quota = quotaFields(tenant ? tenant.quota_bytes : 0);
    return form({class: 'stack'}, [err, name && name.row, display.row, region.row, quota.rows,
      h('div', {class: 'dialog-actions'}, button(t('common.cancel'), () => close()), submit(tenant ? t('common.save') : t('tenants.create_submit')))],
    (btn) => busy(btn, err, async () => {
      if (tenant) {
        const body = {};
        if (display.input.value.trim() !== tenant.display_name) body.display_name = display.input.value.trim();
        if (quota.bytes() !== (tenant.quota_bytes || 0)) body.quota = quota.bytes();
        if (Object.keys(body).length) await put(`tenants/${enc(tenant.name)}`, body);
      } else {
        await post('tenants', {name: name.input.value.trim(), display_name: display.input.value.trim(),
                               region: region.input.value, quota: quota.bytes()});
      }
      close(true);
      toast(tenant ? t('tenants.saved') : t('tenants.created'));
      reload();
    }));
  }, {wide: true});
}

export async function renderUsage(main) {
  replace(main, loading());
  const u = await get('usage');
  const tenants = [...(u.tenants || [])].sort((a, b) => (b.used_bytes || 0) - (a.used_bytes || 0));
  const quotaSum = tenants.reduce((s, x) => s + (x.quota_bytes || 0), 0);
  const near = tenants.filter((x) => x.quota_bytes && x.used_bytes / x.quota_bytes >= 0.8);
  replace(main,
    pageHeader(t('usage.title')),
    h('div', {class: 'stats'},
      h('div', {class: 'stat'}, h('p', {class: 'stat-label'}, t('usage.total')), h('p', {class: 'stat-value'}, formatBytes(u.total_bytes))),
      h('div', {class: 'stat'}, h('p', {class: 'stat-label'}, t('usage.quota_sum')), h('p', {class: 'stat-value'}, formatBytes(quotaSum))),
      h('div', {class: 'stat'}, h('p', {class: 'stat-label'}, t('usage.tenants')), h('p', {class: 'stat-value'}, String(tenants.length))),
      h('div', {class: 'stat'}, h('p', {class: 'stat-label'}, t('usage.near_quota')), h('p', {class: 'stat-value'}, String(near.length)))),
    section(t('usage.history'), usageChart(withToday(u.history || [], u.total_bytes), t('usage.history_label'), (v) => formatBytes(v), 'wide')),
    section(t('usage.by_tenant'),
      table(t('usage.by_tenant'), [
        {label: t('tenant.display_name'), cell: (x) => h('a', {href: tenantHref(x.name, 'dashboard')}, x.display_name || x.name)},
        {label: t('tenant.region'), cell: (x) => x.region, class: 'nowrap'},
        {label: t('tenant.usage'), cell: usageCell, class: 'wide-cell'},
        {label: t('tenant.repos'), cell: (x) => String(x.repos ?? 0), class: 'num'},
        {label: t('tenant.devices'), cell: (x) => String(x.devices ?? 0), class: 'num'},
      ], tenants, t('tenants.none'))));
}

// ---- notices ----

function jstLocalInput(offsetDays, hour) {
  const d = new Date(Date.now() + 9 * 3600 * 1000 + offsetDays * 86400 * 1000);
  return `${d.toISOString().slice(0, 10)}T${String(hour).padStart(2, '0')}:00`;
}

export async function renderNotices(main) {
  replace(main, loading());
  const {notices = []} = await get('notices');
  const reload = () => {
    document.dispatchEvent(new CustomEvent('kura:notices-changed'));
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  };
  const lang = currentLang();
  const err = errorBox();
  const titleJa = field(t('notice.title_ja'), {type: 'text', required: true, maxlength: 120, lang: 'ja'});
  const titleEn = field(t('notice.title_en'), {type: 'text', required: true, maxlength: 120, lang: 'en'});
  const bodyJa = field(t('notice.body_ja'), {tag: 'textarea', rows: 3, maxlength: 2000, lang: 'ja'});
  const bodyEn = field(t('notice.body_en'), {tag: 'textarea', rows: 3, maxlength: 2000, lang: 'en'});
  const starts = field(t('notice.starts'), {type: 'datetime-local', required: true, value: jstLocalInput(1, 22)}, t('notice.jst_hint'));
  const ends = field(t('notice.ends'), {type: 'datetime-local', required: true, value: jstLocalInput(2, 6)}, t('notice.jst_hint'));
  const severity = field(t('notice.severity'), {tag: 'select', options: ['info', 'maintenance', 'warning'].map((s) => [s, t(`notice.severity.${s}`)])});
  severity.input.value = 'maintenance';

  replace(main,
    pageHeader(t('notices.title')),
    section(t('notices.current'),
      table(t('notices.current'), [
        {label: t('notice.severity'), cell: (n) => badge(t(`notice.severity.${n.severity}`), n.severity === 'warning' ? 'warn' : 'info')},
        {label: t('notice.title'), cell: (n) => n[`title_${lang}`] || n.title_ja},
        {label: t('notice.period'), cell: (n) => t('notice.dates', formatTime(n.starts), formatTime(n.ends))},
        {label: t('notice.created_by'), cell: (n) => n.created_by || '—'},
        {label: t('common.actions'), class: 'actions', cell: (n) => button(t('common.delete'), async () => {
          if (!(await confirmDialog(t('notices.delete_title'), t('notices.delete_body', n[`title_${lang}`] || n.title_ja), t('common.delete'), true))) return;
          try {
            await del(`notices/${enc(n.id)}`);
            toast(t('notices.deleted'));
          } catch (e) {
            toast(errorText(e), 'error');
          }
          reload();
        }, 'danger small')},
      ], notices, t('notices.none'))),
    section(t('notices.create'),
      h('p', {class: 'hint'}, t('notices.create_lead')),
      err,
      form({class: 'stack'}, [
        h('div', {class: 'grid-2'}, titleJa.row, titleEn.row, bodyJa.row, bodyEn.row),
        h('div', {class: 'inline-fields'}, severity.row, starts.row, ends.row),
        h('div', {class: 'form-actions'}, submit(t('notices.publish')))],
      (btn) => busy(btn, err, async () => {
        const s = jstInputToUnix(starts.input.value);
        const e = jstInputToUnix(ends.input.value);
        if (e <= s) throw {key: 'notices.ends_before_starts', args: []};
        await post('notices', {title_ja: titleJa.input.value.trim(), title_en: titleEn.input.value.trim(),
                               body_ja: bodyJa.input.value.trim(), body_en: bodyEn.input.value.trim(),
                               starts: s, ends: e, severity: severity.input.value});
        toast(t('notices.published', formatDate(s)));
        reload();
      }))));
}
