// One institution at a glance: capacity against the quota, devices and their last backups,
// alerts, and charts of the last 30 days.
import {enc, get} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';
import {formatBytes, formatTime, percent} from '../format.js';
import {barChart, usageChart, withToday} from '../charts.js';
import {tenantHref} from '../state.js';
import {badge, joinList, loading, pageHeader, section, table, usageMeter} from '../ui.js';

// What a device without a stored policy gets: the defaults service/backup_policy.cc fills in.
export const POLICY_DEFAULTS = {schedule: 'daily 02:00', retention: {keep_daily: 7, keep_weekly: 4, keep_monthly: 12}};

export function resultBadge(device) {
  if (device.revoked) return badge(t('device.revoked'), 'muted');
  if (device.schedule_missed) return badge(t('device.result.missed'), 'warn');
  const r = device.last_backup_result || 'none';
  return badge(t(`device.result.${r}`), r === 'ok' ? 'ok' : r === 'error' ? 'error' : 'muted');
}

function stat(label, value, sub) {
  return h('div', {class: 'stat'}, h('p', {class: 'stat-label'}, label), h('p', {class: 'stat-value'}, value),
           sub ? h('p', {class: 'stat-sub'}, sub) : null);
}

function alertItem(a) {
  const kind = a.kind || 'unknown';
  const level = kind === 'quota_95' ? 'error' : 'warn';
  return h('li', {class: ['alert', `alert-${level}`]},
           h('span', {class: 'alert-icon', 'aria-hidden': 'true'}, '!'),
           h('span', {}, t(`alert.${kind}`, a.device || '')));
}

// "7 daily · 4 weekly · 12 monthly", filled in when the device's policy arrives.
function retentionCell(tenant, device) {
  const cell = h('span', {class: 'muted'}, '…');
  get(`tenants/${enc(tenant)}/devices/${enc(device)}/policy`).then(({policy}) => {
    const r = (policy || POLICY_DEFAULTS).retention || {};
    const parts = ['keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly']
      .filter((k) => r[k] > 0).map((k) => t(`retention.${k}`, r[k]));
    cell.textContent = parts.length ? joinList(parts) : t('retention.none');
    cell.className = '';
  }).catch(() => {
    cell.textContent = '—';
  });
  return cell;
}

export async function renderDashboard(main, tenantName) {
  replace(main, loading());
  const d = await get(`tenants/${enc(tenantName)}/dashboard`);
  const tn = d.tenant || {};
  const used = tn.used_bytes || 0;
  const quota = tn.quota_bytes || 0;
  const devices = d.devices || [];
  const active = devices.filter((x) => !x.revoked);
  const alerts = d.alerts || [];
  const usedText = quota
    ? t('dash.used_of', formatBytes(used), formatBytes(quota), percent(used, quota))
    : t('dash.used_no_quota', formatBytes(used));

  replace(main,
    pageHeader(t('dash.title', tn.display_name || tn.name || tenantName)),
    h('div', {class: 'stats'},
      stat(t('dash.used'), formatBytes(used), quota ? t('dash.of_quota', formatBytes(quota)) : t('dash.no_quota')),
      stat(t('dash.remaining'), quota ? formatBytes(Math.max(0, quota - used)) : '—',
           quota ? t('dash.percent_used', percent(used, quota)) : null),
      stat(t('dash.region'), tn.region || '—'),
      stat(t('dash.generations'), String(d.generations ?? 0), t('dash.devices_count', active.length))),
    section(t('dash.capacity'), usageMeter(used, quota, usedText)),
    section(t('dash.alerts'),
      alerts.length
        ? h('ul', {class: 'alerts'}, alerts.map(alertItem))
        : h('p', {class: 'all-clear'}, h('span', {class: 'ok-icon', 'aria-hidden': 'true'}, '✓'), t('dash.no_alerts'))),
    h('div', {class: 'grid-2'},
      section(t('dash.usage_chart'),
        usageChart(withToday(d.usage_history || [], used), t('dash.usage_chart_label'), (v) => formatBytes(v))),
      section(t('dash.backups_chart'),
        barChart(d.backups_per_day || [], t('dash.backups_chart_label')))),
    section(t('dash.devices'),
      table(t('dash.devices'), [
        {label: t('device.name'), class: 'nowrap', cell: (x) => h('a', {href: tenantHref(tenantName, `devices/${enc(x.name)}/policy`)}, x.name)},
        {label: t('device.repo'), cell: (x) => x.repo},
        {label: t('device.last_backup'), class: 'nowrap', cell: (x) => formatTime(x.last_backup)},
        {label: t('device.result'), cell: resultBadge},
        {label: t('device.retention'), cell: (x) => retentionCell(tenantName, x.name)},
        {label: t('device.last_seen'), class: 'nowrap', cell: (x) => formatTime(x.last_seen)},
      ], active, t('dash.no_devices')),
      h('p', {class: 'more'}, h('a', {href: tenantHref(tenantName, 'devices')}, t('dash.manage_devices')))));
}
