// Staff accounts: of one institution, or (tenant "") the provider's own staff.
import {enc, get, post, put} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';
import {formatTime} from '../format.js';
import {can, user as me} from '../state.js';
import {badge, busy, joinList, button, confirmDialog, copyText, errorBox, errorText, field, form, loading, openDialog,
        pageHeader, section, submit, table, toast} from '../ui.js';
import {policyList} from './signin.js';

const TENANT_ROLES = ['institution_admin', 'institution_operator', 'auditor', 'viewer'];
const PROVIDER_ROLES = ['provider_admin', 'provider_operator'];

function status(u) {
  const out = [];
  if (u.disabled) out.push(badge(t('user.disabled'), 'muted'));
  if (u.locked) out.push(badge(t('user.locked'), 'error'));
  if (!u.factors || !u.factors.length) out.push(badge(t('user.no_factor'), 'warn'));
  if (!out.length) out.push(badge(t('user.active'), 'ok'));
  return h('span', {class: 'badges'}, out);
}

async function act(work, doneKey, reload) {
  try {
    await work();
    toast(t(doneKey));
  } catch (err) {
    toast(errorText(err), 'error');
  }
  reload();
}

// A random initial password that meets the policy (upper, lower, digit, symbol; 16 characters).
function generatePassword() {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#$%&*+-=?@'];
  const all = sets.join('');
  const rnd = new Uint32Array(16);
  crypto.getRandomValues(rnd);
  const chars = Array.from(rnd, (r, i) => (i < sets.length ? sets[i] : all)[r % (i < sets.length ? sets[i] : all).length]);
  const order = new Uint32Array(chars.length);
  crypto.getRandomValues(order);
  return chars.map((c, i) => [order[i], c]).sort((a, b) => a[0] - b[0]).map((p) => p[1]).join('');
}

export async function renderUsers(main, tenant) {
  replace(main, loading());
  const [{users = []}, resets] = await Promise.all([
    get(`users?tenant=${enc(tenant)}`),
    can('panel.factor.reset') ? get('factor-resets').catch(() => ({requests: []})) : Promise.resolve({requests: []}),
  ]);
  const reload = () => renderUsers(main, tenant);
  const manage = can('panel.user.manage');
  const roles = tenant ? TENANT_ROLES : PROVIDER_ROLES;
  const ids = new Set(users.map((u) => u.id));
  const pending = (resets.requests || []).filter((r) => r.state === 'pending' && ids.has(r.user_id));

  const actions = (u) => {
    if (!manage || u.id === me().id) return u.id === me().id ? h('span', {class: 'muted'}, t('user.you')) : null;
    return h('div', {class: 'row-actions'},
      button(t('user.edit'), () => editUser(u, roles, reload), 'secondary small'),
      u.locked ? button(t('user.unlock'), () => act(() => post(`users/${u.id}/unlock`, {}), 'user.unlocked', reload), 'secondary small') : null,
      button(t('user.end_sessions'), async () => {
        if (await confirmDialog(t('user.end_sessions_title', u.login), t('user.end_sessions_body'), t('user.end_sessions'))) {
          act(() => post(`users/${u.id}/end-sessions`, {}), 'user.sessions_ended', reload);
        }
      }, 'secondary small'),
      can('panel.factor.reset')
        ? button(t('user.factor_reset'), async () => {
          if (await confirmDialog(t('user.factor_reset_title', u.login), t('user.factor_reset_body'), t('user.factor_reset_request'), true)) {
            act(() => post(`users/${u.id}/factor-reset`, {}), 'user.factor_reset_requested', reload);
          }
        }, 'secondary small')
        : null);
  };

  replace(main,
    pageHeader(tenant ? t('users.title') : t('staff.title'),
      manage ? button(t('users.create'), () => createUser(tenant, roles, reload), 'primary') : null),
    pending.length ? section(t('resets.title'),
      h('p', {class: 'hint'}, t('resets.lead')),
      table(t('resets.title'), [
        {label: t('user.login'), cell: (r) => r.user_login},
        {label: t('resets.requested_by'), cell: (r) => r.requested_by},
        {label: t('resets.requested'), cell: (r) => formatTime(r.requested)},
        {label: t('common.actions'), class: 'actions', cell: (r) => [String(me().login), String(me().id)].includes(String(r.requested_by))
          ? h('span', {class: 'muted'}, t('resets.waiting_other'))
          : button(t('resets.approve'), async () => {
            if (await confirmDialog(t('resets.approve_title', r.user_login), t('resets.approve_body'), t('resets.approve'), true)) {
              act(() => post(`factor-resets/${enc(r.id)}/approve`, {}), 'resets.approved', reload);
            }
          }, 'primary small')},
      ], pending)) : null,
    section(t('users.list'),
      table(t('users.list'), [
        {label: t('user.name'), class: 'nowrap', cell: (u) => h('span', {}, h('strong', {}, u.display_name || u.login), h('br'), h('span', {class: 'muted'}, u.login))},
        {label: t('user.role'), class: 'nowrap', cell: (u) => t(`role.${u.role}`)},
        {label: t('user.status'), cell: status},
        {label: t('user.factors'), class: 'keep-words', cell: (u) => ((u.factors || []).length
          ? joinList(u.factors.map((f) => t(`factor.kind.${f}`))) : '—')},
        {label: t('user.password_changed'), class: 'nowrap', cell: (u) => formatTime(u.password_changed)},
        {label: t('common.actions'), cell: actions, class: 'actions'},
      ], users, t('users.none'))));
}

function createUser(tenant, roles, reload) {
  return openDialog(t('users.create'), (close) => {
    const err = errorBox();
    const login = field(t('user.login'), {type: 'text', required: true, autocomplete: 'off', autocapitalize: 'none',
                                         spellcheck: 'false', maxlength: 64}, t('user.login_hint'));
    const name = field(t('user.name'), {type: 'text', required: true, maxlength: 100, autocomplete: 'off'});
    const role = field(t('user.role'), {tag: 'select', options: roles.map((r) => [r, t(`role.${r}`)])});
    role.input.value = roles[roles.length - 1];
    const pass = field(t('user.initial_password'), {type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', value: generatePassword()},
                       t('user.initial_password_hint'));
    return form({class: 'stack'}, [err, login.row, name.row, role.row, pass.row,
      h('div', {class: 'row-actions'},
        button(t('user.generate'), () => { pass.input.value = generatePassword(); }, 'secondary small'),
        button(t('common.copy'), () => copyText(pass.input.value), 'secondary small')),
      h('details', {}, h('summary', {}, t('pwrule.title')), policyList()),
      h('div', {class: 'dialog-actions'}, button(t('common.cancel'), () => close()), submit(t('users.create_submit')))],
    (btn) => busy(btn, err, async () => {
      await post('users', {tenant, login: login.input.value.trim(), display_name: name.input.value.trim(),
                           role: role.input.value, initial_password: pass.input.value});
      close(true);
      toast(t('users.created'));
      reload();
    }));
  }, {wide: true});
}

function editUser(u, roles, reload) {
  return openDialog(t('user.edit_title', u.login), (close) => {
    const err = errorBox();
    const name = field(t('user.name'), {type: 'text', required: true, value: u.display_name || '', maxlength: 100});
    const role = field(t('user.role'), {tag: 'select', options: roles.map((r) => [r, t(`role.${r}`)])});
    role.input.value = u.role;
    const state = field(t('user.status'), {tag: 'select', options: [['active', t('user.active')], ['disabled', t('user.disabled')]]});
    state.input.value = u.disabled ? 'disabled' : 'active';
    return form({class: 'stack'}, [err, name.row, role.row, state.row,
      h('p', {class: 'hint'}, t('user.disable_hint')),
      h('div', {class: 'dialog-actions'}, button(t('common.cancel'), () => close()), submit(t('common.save')))],
    (btn) => busy(btn, err, async () => {
      const body = {};
      if (name.input.value.trim() !== (u.display_name || '')) body.display_name = name.input.value.trim();
      if (role.input.value !== u.role) body.role = role.input.value;
      if ((state.input.value === 'disabled') !== !!u.disabled) body.disabled = state.input.value === 'disabled';
      if (Object.keys(body).length) await put(`users/${u.id}`, body);
      close(true);
      toast(t('user.saved'));
      reload();
    }));
  });
}
