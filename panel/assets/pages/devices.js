// Devices of an institution: enrollment codes, rename, revoke, and each device's backup policy.
import {enc, get, post, put} from '../api.js';
import {h, importSvg, replace} from '../dom.js';
import {t} from '../i18n.js';
import {formatTime} from '../format.js';
import {can, tenantHref} from '../state.js';
import {busy, button, confirmDialog, copyButton, errorBox, field, form, loading, openDialog,
        pageHeader, section, showError, submit, table, toast} from '../ui.js';
import {POLICY_DEFAULTS, resultBadge} from './dashboard.js';

export async function renderDevices(main, tenant) {
  replace(main, loading());
  const {devices = []} = await get(`tenants/${enc(tenant)}/devices`);
  const reload = () => renderDevices(main, tenant);
  const actions = (d) => {
    if (d.revoked) return h('span', {class: 'muted'}, t('device.revoked'));
    return h('div', {class: 'row-actions'},
      h('a', {class: 'btn secondary small', href: tenantHref(tenant, `devices/${enc(d.name)}/policy`)}, t('device.policy')),
      can('panel.device.manage') ? button(t('device.rename'), () => rename(tenant, d, reload), 'secondary small') : null,
      can('panel.device.manage') ? button(t('device.revoke'), () => revoke(tenant, d, reload), 'danger small') : null);
  };
  replace(main,
    pageHeader(t('devices.title'),
      can('panel.device.enroll') ? button(t('devices.enroll'), () => enrollDialog(tenant), 'primary') : null),
    section(t('devices.list'),
      table(t('devices.list'), [
        {label: t('device.name'), class: 'nowrap', cell: (d) => h('strong', {}, d.name)},
        {label: t('device.repo'), cell: (d) => d.repo},
        {label: t('device.last_backup'), cell: (d) => formatTime(d.last_backup)},
        {label: t('device.result'), cell: resultBadge},
        {label: t('device.cert_until'), cell: (d) => formatTime(d.not_after)},
        {label: t('common.actions'), cell: actions, class: 'actions'},
      ], devices, t('dash.no_devices'))));
}

async function rename(tenant, device, reload) {
  const changed = await openDialog(t('device.rename_title', device.name), (close) => {
    const err = errorBox();
    const name = field(t('device.new_name'), {type: 'text', required: true, value: device.name, maxlength: 63,
                                             pattern: '[a-z0-9][a-z0-9\\-]*'}, t('device.name_hint'));
    return form({class: 'stack'}, [err, name.row,
      h('div', {class: 'dialog-actions'}, button(t('common.cancel'), () => close(false)), submit(t('common.save')))],
    (btn) => busy(btn, err, async () => {
      await put(`tenants/${enc(tenant)}/devices/${enc(device.name)}`, {name: name.input.value.trim()});
      close(true);
    }));
  });
  if (changed) {
    toast(t('device.renamed'));
    reload();
  }
}

async function revoke(tenant, device, reload) {
  const ok = await confirmDialog(t('device.revoke_title', device.name), t('device.revoke_body'), t('device.revoke'), true);
  if (!ok) return;
  try {
    await post(`tenants/${enc(tenant)}/devices/${enc(device.name)}/revoke`, {});
    toast(t('device.revoked_done', device.name));
  } catch (err) {
    toast(t('device.revoke_failed'), 'error');
  }
  reload();
}

async function enrollDialog(tenant) {
  let repos = [];
  try {
    repos = (await get(`tenants/${enc(tenant)}/repos`)).repos || [];
  } catch {
    repos = [];
  }
  await openDialog(t('enrollcode.title'), (close) => {
    const err = errorBox();
    const body = h('div', {class: 'stack'});
    const device = field(t('device.name'), {type: 'text', required: true, maxlength: 63, pattern: '[a-z0-9][a-z0-9\\-]*',
                                           autocapitalize: 'none', spellcheck: 'false'}, t('device.name_hint'));
    // No repository yet: the server creates the first one with the first device.
    const repo = repos.length
      ? field(t('device.repo'), {tag: 'select', required: true, options: repos.map((r) => [r.name, r.name])},
              t('enrollcode.repo_hint'))
      : null;
    replace(body, h('p', {}, t('enrollcode.lead')), err,
      form({class: 'stack'}, [device.row, repo ? repo.row : h('p', {class: 'hint'}, t('enrollcode.repo_auto')),
        h('div', {class: 'dialog-actions'}, button(t('common.cancel'), () => close()), submit(t('enrollcode.create')))],
      (btn) => busy(btn, err, async () => {
        const r = await post(`tenants/${enc(tenant)}/enroll-codes`, {device: device.input.value.trim(), repo: repo ? repo.input.value : ''});
        replace(body,
          h('p', {class: 'info-box'}, t('enrollcode.once')),
          h('div', {class: 'enroll-result'},
            h('div', {class: 'qr-wrap'}, importSvg(r.qr_svg || '', t('enrollcode.qr_label'))),
            h('div', {class: 'stack'},
              h('p', {class: 'label'}, t('enrollcode.code')),
              h('p', {class: 'big-code'}, h('code', {}, r.code)),
              h('p', {class: 'hint'}, t('enrollcode.expires', formatTime(r.expires))),
              copyButton(r.code))),
          h('p', {class: 'label'}, t('enrollcode.command')),
          h('pre', {class: 'command'}, h('code', {}, r.command || '')),
          h('div', {class: 'dialog-actions'}, copyButton(r.command || '', t('enrollcode.copy_command')),
            button(t('common.close'), () => close(), 'primary')));
        // The form is gone; keep the focus inside the dialog.
        body.querySelector('.dialog-actions .btn.primary').focus();
      })));
    return body;
  }, {wide: true});
  renderDevicesIfShown(tenant);
}

function renderDevicesIfShown(tenant) {
  if (location.hash === tenantHref(tenant, 'devices')) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

// ---- backup policy ----

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function parseSchedule(text) {
  const s = String(text || '').trim().split(/\s+/);
  if (s[0] === 'hourly') return {kind: 'hourly', day: 'sun', time: '02:00'};
  if (s[0] === 'weekly') return {kind: 'weekly', day: DAYS.includes(s[1]) ? s[1] : 'sun', time: s[2] || '03:00'};
  return {kind: 'daily', day: 'sun', time: s[1] || '02:00'};
}

function lines(text) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}

export async function renderPolicy(main, tenant, deviceName) {
  replace(main, loading());
  // A device with no stored policy yet answers {"policy": null}: the form shows the defaults.
  const policy = (await get(`tenants/${enc(tenant)}/devices/${enc(deviceName)}/policy`)).policy || POLICY_DEFAULTS;
  const editable = can('panel.policy.edit');
  const ro = editable ? {} : {disabled: true};
  const err = errorBox();
  const sched = parseSchedule(policy.schedule);
  const ret = policy.retention || {};
  const bw = policy.bandwidth || {};
  const [winFrom, winTo] = (bw.window || '').split('-');

  const targets = field(t('policy.targets'), {tag: 'textarea', rows: 4, value: (policy.targets || []).join('\n'), ...ro}, t('policy.targets_hint'));
  const kind = field(t('policy.schedule'), {tag: 'select', ...ro, options: [
    ['hourly', t('policy.hourly')], ['daily', t('policy.daily')], ['weekly', t('policy.weekly')]]});
  kind.input.value = sched.kind;
  const day = field(t('policy.day'), {tag: 'select', ...ro, options: DAYS.map((d) => [d, t(`day.${d}`)])});
  day.input.value = sched.day;
  const time = field(t('policy.time'), {type: 'time', value: sched.time, ...ro});
  const showSchedule = () => {
    day.row.hidden = kind.input.value !== 'weekly';
    time.row.hidden = kind.input.value === 'hourly';
  };
  kind.input.addEventListener('change', showSchedule);
  showSchedule();
  const exclusions = field(t('policy.exclusions'), {tag: 'textarea', rows: 3, value: (policy.exclusions || []).join('\n'), ...ro}, t('policy.exclusions_hint'));
  const keep = ['keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'].map((k) =>
    [k, field(t(`policy.${k}`), {type: 'number', min: 0, max: 10000, step: 1, value: ret[k] ?? 0, ...ro})]);
  const limit = field(t('policy.limit'), {type: 'number', min: 0, step: 1, value: bw.limit_kbps ?? 0, ...ro}, t('policy.limit_hint'));
  const from = field(t('policy.window_from'), {type: 'time', value: winFrom || '', ...ro});
  const to = field(t('policy.window_to'), {type: 'time', value: winTo || '', ...ro});

  const save = async (btn) => busy(btn, err, async () => {
    const k = kind.input.value;
    const schedule = k === 'hourly' ? 'hourly' : k === 'weekly' ? `weekly ${day.input.value} ${time.input.value}` : `daily ${time.input.value}`;
    const window = from.input.value && to.input.value ? `${from.input.value}-${to.input.value}` : '';
    if (!!from.input.value !== !!to.input.value) {
      showError(err, t('policy.window_incomplete'));
      return;
    }
    const body = {
      targets: lines(targets.input.value),
      schedule,
      exclusions: lines(exclusions.input.value),
      retention: Object.fromEntries(keep.map(([key, f]) => [key, Number(f.input.value) || 0])),
      bandwidth: {limit_kbps: Number(limit.input.value) || 0, window},
    };
    await put(`tenants/${enc(tenant)}/devices/${enc(deviceName)}/policy`, body);
    toast(t('policy.saved'));
    renderPolicy(main, tenant, deviceName);
  });

  replace(main,
    h('p', {class: 'crumbs'}, h('a', {href: tenantHref(tenant, 'devices')}, t('devices.title')), ' / ', deviceName),
    pageHeader(t('policy.title', deviceName)),
    h('p', {class: 'muted'}, policy.updated ? t('policy.updated', formatTime(policy.updated), policy.updated_by || '—') : t('policy.never')),
    editable ? null : h('p', {class: 'info-box'}, t('policy.read_only')),
    err,
    form({class: 'policy-form'}, [
      section(t('policy.what'), targets.row, exclusions.row),
      section(t('policy.when'), h('div', {class: 'inline-fields'}, kind.row, day.row, time.row)),
      section(t('policy.retention'), h('p', {class: 'hint'}, t('policy.retention_hint')),
        h('div', {class: 'inline-fields'}, keep.map(([, f]) => f.row))),
      section(t('policy.bandwidth'), h('div', {class: 'inline-fields'}, limit.row, from.row, to.row),
        h('p', {class: 'hint'}, t('policy.window_hint'))),
      editable ? h('div', {class: 'form-actions'}, submit(t('common.save'))) : null,
    ], save));
}
