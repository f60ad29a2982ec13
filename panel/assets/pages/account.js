// One's own account: password, second factors, recovery codes, sign out everywhere.
import {del, get, post} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';
import {formatTime} from '../format.js';
import {setSession, user} from '../state.js';
import {available as webauthnAvailable} from '../webauthn.js';
import {busy, button, confirmDialog, errorBox, errorText, field, form, loading, openDialog, pageHeader,
        section, showError, submit, table, toast, usernameHint} from '../ui.js';
import {policyList, recoveryCodesBlock, registerKey, totpSetup} from './signin.js';

export async function renderAccount(main) {
  replace(main, loading());
  const {factors = [], recovery_codes_left: left = 0} = await get('me/factors');
  const reload = () => renderAccount(main);
  const u = user();

  const pwErr = errorBox();
  const old = field(t('password.current'), {type: 'password', autocomplete: 'current-password', required: true});
  const fresh = field(t('password.new'), {type: 'password', autocomplete: 'new-password', required: true, minlength: 8});
  const again = field(t('password.again'), {type: 'password', autocomplete: 'new-password', required: true});
  const pwForm = form({class: 'stack narrow'}, [pwErr, usernameHint(u.login), old.row, fresh.row, again.row, submit(t('password.change'))], (btn) =>
    busy(btn, pwErr, async () => {
      if (fresh.input.value !== again.input.value) {
        showError(pwErr, t('password.mismatch'));
        return;
      }
      setSession(await post('me/password', {old: old.input.value, new: fresh.input.value}));
      for (const f of [old, fresh, again]) f.input.value = '';
      toast(t('password.changed'));
    }));

  const removable = factors.length > 1;
  replace(main,
    pageHeader(t('account.title')),
    section(t('account.profile'),
      h('dl', {class: 'props'},
        h('dt', {}, t('user.name')), h('dd', {}, u.display_name || '—'),
        h('dt', {}, t('user.login')), h('dd', {}, u.login || ''),
        h('dt', {}, t('user.role')), h('dd', {}, t(`role.${u.role}`)),
        u.tenant_display_name ? [h('dt', {}, t('account.institution')), h('dd', {}, u.tenant_display_name)] : null)),
    section(t('account.factors'),
      h('p', {class: 'hint'}, t('account.factors_lead')),
      table(t('account.factors'), [
        {label: t('factor.kind'), cell: (f) => t(`factor.kind.${f.kind}`)},
        {label: t('factor.name'), cell: (f) => f.name || '—'},
        {label: t('factor.created'), cell: (f) => formatTime(f.created)},
        {label: t('common.actions'), class: 'actions', cell: (f) => removable
          ? button(t('factor.remove'), async () => {
            if (!(await confirmDialog(t('factor.remove_title'), t('factor.remove_body', f.name || t(`factor.kind.${f.kind}`)), t('factor.remove'), true))) return;
            try {
              await del(`me/factors/${encodeURIComponent(f.id)}`);
              toast(t('factor.removed'));
            } catch (err) {
              toast(errorText(err), 'error');
            }
            reload();
          }, 'danger small')
          : h('span', {class: 'muted'}, t('factor.last_hint'))},
      ], factors),
      h('div', {class: 'row-actions'},
        // One authenticator app per account (the server refuses a second): a key-first account adds one here.
        factors.some((f) => f.kind === 'totp') ? null : button(t('factor.add_app'), () => addApp(reload), 'secondary'),
        webauthnAvailable() ? button(t('factor.add_key'), () => addKey(reload), 'secondary') : null)),
    section(t('recovery.title'),
      h('p', {}, t('recovery.left', left)),
      button(t('recovery.regenerate'), () => regenerate(reload), 'secondary')),
    section(t('password.change_title'), h('div', {class: 'policy-box'}, h('p', {}, t('pwrule.title')), policyList()), pwForm),
    section(t('account.sessions'),
      h('p', {}, t('account.sessions_lead')),
      button(t('account.sign_out_everywhere'), async (e) => {
        if (!(await confirmDialog(t('account.sign_out_everywhere'), t('account.sign_out_everywhere_body'), t('account.sign_out_everywhere'), true))) return;
        busy(e.target, null, async () => {
          const r = await post('auth/sign-out-everywhere', {});
          toast(t('account.signed_out_everywhere', r.ended ?? 0));
          document.dispatchEvent(new CustomEvent('kura:sign-out'));
        });
      }, 'danger')));
}

function addKey(reload) {
  return openDialog(t('factor.add_key'), (close) => {
    const err = errorBox();
    const name = field(t('factor.key_name'), {type: 'text', required: true, maxlength: 60, value: t('factor.key_default_name')},
                       t('factor.key_name_hint'));
    const body = h('div', {class: 'stack'});
    replace(body, h('p', {}, t('factor.add_key_lead')),
      form({class: 'stack'}, [err, name.row,
        h('div', {class: 'dialog-actions'}, button(t('common.cancel'), () => close()), submit(t('factor.register')))],
      (btn) => busy(btn, err, async () => {
        const r = await registerKey(name.input.value.trim(), err);
        if (!r) return;
        if (r.session) setSession(r.session);
        toast(t('factor.key_added'));
        closeOrShowCodes(body, r, close);
      })));
    return body;
  }).then(reload);
}

// After a factor was added: the recovery codes made with the first one (the dialog closes
// once they are confirmed), otherwise the dialog closes now.
function closeOrShowCodes(body, r, close) {
  if (r.recovery_codes && r.recovery_codes.length) {
    replace(body, recoveryCodesBlock(r.recovery_codes, () => close(true)));
    body.querySelector('input[type=checkbox]').focus();
  } else {
    close(true);
  }
}

// me/totp/begin → the QR code (and the key to type) → a code from the app → me/totp/confirm.
function addApp(reload) {
  return openDialog(t('factor.add_app'), (close) => {
    const err = errorBox();
    const body = h('div', {class: 'stack'}, h('p', {class: 'loading', role: 'status'}, t('common.loading')));
    post('me/totp/begin', {}).then((begin) => {
      const {steps, code} = totpSetup(begin);
      replace(body, err, steps,
        form({class: 'stack'}, [code.row,
          h('div', {class: 'dialog-actions'}, button(t('common.cancel'), () => close()), submit(t('factor.register')))],
        (btn) => busy(btn, err, async () => {
          const r = await post('me/totp/confirm', {secret: begin.secret, code: code.input.value.replace(/\s/g, '')});
          toast(t('factor.app_added'));
          closeOrShowCodes(body, r, close);
        })));
      code.input.focus();
    }).catch((e) => {
      replace(body, err);
      showError(err, e);
    });
    return body;
  }, {wide: true}).then(reload);
}

async function regenerate(reload) {
  const ok = await confirmDialog(t('recovery.regenerate'), t('recovery.regenerate_body'), t('recovery.regenerate'), true);
  if (!ok) return;
  let codes;
  try {
    codes = (await post('me/recovery-codes', {})).recovery_codes || [];
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  await openDialog(t('recovery.title'), (close) => recoveryCodesBlock(codes, () => close(true)), {dismissable: false});
  reload();
}
