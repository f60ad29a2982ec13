// The sign-in steps: ID and password, then the second factor; on a first sign-in also the
// forced password change and the second-factor enrollment (with the recovery codes, shown once).
import {post} from '../api.js';
import {h, importSvg, replace} from '../dom.js';
import {currentLang, t} from '../i18n.js';
import {available as webauthnAvailable, createCredential, getAssertion} from '../webauthn.js';
import {setSession} from '../state.js';
import {busy, button, checkbox, copyText, errorBox, field, form, showError, submit, usernameHint} from '../ui.js';

let ctx = null;  // {root, onReady, onLanguage}

export function renderSignIn(root, {message, session, onReady, onLanguage}) {
  ctx = {root, onReady, onLanguage};
  next(session, message);
}

// Every answer of a sign-in step is the session view: keep it (its CSRF token guards the next
// step, and a language switch resumes at the same stage).
function next(view, message) {
  setSession(view || null);
  const stage = view ? view.stage : 'password';
  if (stage === 'ready') return ctx.onReady(view);
  if (stage === 'second_factor') return secondFactor(view, message);
  if (stage === 'password_change') return passwordChange(view, message);
  if (stage === 'enrollment') return enrollment(view, message);
  return passwordStep(message);
}

// The frame of every step: the product's name, the language switch, one card.
function frame(title, lead, ...body) {
  const other = currentLang() === 'ja' ? 'en' : 'ja';
  const page = h('div', {class: 'signin-page'},
    h('header', {class: 'signin-top'},
      h('div', {class: 'brand'}, h('img', {src: 'assets/logo.svg', alt: '', width: 32, height: 32}),
        h('span', {class: 'brand-name'}, t('app.name'))),
      h('button', {type: 'button', class: 'btn link lang-switch', lang: other,
                   'aria-label': t('nav.language_to', t(`lang.${other}`)),
                   on: {click: () => ctx.onLanguage(other)}}, t(`lang.${other}`))),
    h('main', {id: 'main', class: 'signin-main'},
      h('div', {class: 'signin-card'},
        h('h1', {}, title),
        lead ? h('p', {class: 'lead'}, lead) : null,
        body)),
    h('footer', {class: 'signin-foot'}, t('signin.footer')));
  replace(ctx.root, page);
  document.title = `${title} — ${t('app.name')}`;
  const first = page.querySelector('input, button.primary');
  if (first) first.focus();
}

function info(message) {
  return message ? h('p', {class: 'info-box', role: 'status'}, message) : null;
}

function startOver() {
  return button(t('signin.start_over'), async () => {
    try {
      await post('auth/sign-out', {});
    } catch {
      // Starting over works without the server's answer.
    }
    next(null);
  }, 'link');
}

// ---- step 1 ----

function passwordStep(message) {
  const err = errorBox();
  const login = field(t('signin.login'), {type: 'text', autocomplete: 'username', required: true,
                                          autocapitalize: 'none', spellcheck: 'false'});
  const pass = field(t('signin.password'), {type: 'password', autocomplete: 'current-password', required: true});
  frame(t('signin.title'), t('signin.lead'), info(message), err,
    form({class: 'stack'}, [login.row, pass.row, submit(t('signin.next'))], (btn) =>
      busy(btn, err, async () => {
        const view = await post('auth/password', {login: login.input.value.trim(), password: pass.input.value});
        next(view);
      }).finally(() => {
        pass.input.value = '';
      })));
}

// ---- step 2 ----

function secondFactor(view, message, recoveryChosen = false) {
  const err = errorBox();
  const factors = view.second_factors || [];
  const totpOk = factors.length === 0 || factors.includes('totp');
  // Without an authenticator app the code field takes recovery codes (the key is the main way).
  const recovery = recoveryChosen || !totpOk;
  const code = recovery
    ? field(t('signin.recovery_code'), {type: 'text', autocomplete: 'off', required: true, autocapitalize: 'characters', spellcheck: 'false'},
            t('signin.recovery_hint'))
    : field(t('signin.code'), {type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true,
                               pattern: '[0-9 ]{6,7}', maxlength: 7}, t('signin.code_hint'));
  const keyButton = factors.includes('webauthn') && webauthnAvailable()
    ? button(t('signin.use_key'), (e) => busy(e.currentTarget, err, async () => {
      const begin = await post('auth/webauthn/begin', {});
      let assertion;
      try {
        assertion = await getAssertion(begin.publicKey);
      } catch {
        showError(err, t('signin.key_cancelled'));
        return;
      }
      next(await post('auth/webauthn/finish', assertion));
    }), totpOk ? 'secondary wide' : 'primary wide')
    : null;
  const codeForm = form({class: 'stack'}, [code.row, submit(t('signin.verify'), keyButton && !totpOk ? 'secondary' : 'primary')], (btn) =>
    busy(btn, err, async () => {
      const value = recovery ? code.input.value.trim() : code.input.value.replace(/\s/g, '');
      next(await post('auth/second-factor', {code: value}));
    }).finally(() => {
      code.input.value = '';
    }));
  const or = keyButton ? h('div', {class: 'or'}, h('span', {}, t('signin.or'))) : null;
  const lead = !totpOk && keyButton ? t('signin.key_lead') : recovery ? t('signin.recovery_lead') : t('signin.second_lead');
  // A key-only account sees its key first, the recovery code as the fallback.
  const body = !totpOk && keyButton ? [keyButton, or, codeForm] : [codeForm, or, keyButton];
  frame(t('signin.second_title'), lead, info(message), err, body,
    h('div', {class: 'signin-links'},
      totpOk ? button(recovery ? t('signin.use_code') : t('signin.use_recovery'), () => secondFactor(view, '', !recovery), 'link') : null,
      startOver()));
}

// ---- first sign-in: password change ----

export function policyList() {
  return h('ul', {class: 'policy'}, ['pwrule.length', 'pwrule.classes', 'pwrule.name', 'pwrule.common', 'pwrule.reuse']
    .map((k) => h('li', {}, t(k))));
}

function passwordChange(view, message) {
  const err = errorBox();
  const old = field(t('password.current_initial'), {type: 'password', autocomplete: 'current-password', required: true});
  const fresh = field(t('password.new'), {type: 'password', autocomplete: 'new-password', required: true, minlength: 8});
  const again = field(t('password.again'), {type: 'password', autocomplete: 'new-password', required: true});
  frame(t('password.change_title'), t('password.forced_lead'), info(message),
    h('div', {class: 'policy-box'}, h('p', {}, t('pwrule.title')), policyList()),
    err,
    form({class: 'stack'}, [usernameHint(view.user && view.user.login), old.row, fresh.row, again.row, submit(t('password.change'))], (btn) =>
      busy(btn, err, async () => {
        if (fresh.input.value !== again.input.value) {
          showError(err, t('password.mismatch'));
          again.input.focus();
          return;
        }
        next(await post('me/password', {old: old.input.value, new: fresh.input.value}), t('password.changed'));
      })),
    h('div', {class: 'signin-links'}, startOver()));
}

// ---- first sign-in: second factor enrollment ----

// The authenticator-app steps of me/totp/begin's answer (install, scan the QR code or type the
// key, enter the code) and the code field; shared by the first sign-in and My account.
export function totpSetup(begin) {
  const code = field(t('enroll.code'), {type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
                                       required: true, pattern: '[0-9 ]{6,7}', maxlength: 7}, t('signin.code_hint'));
  const steps = h('ol', {class: 'steps'},
    h('li', {}, t('enroll.step_app')),
    h('li', {}, t('enroll.step_scan'),
      h('div', {class: 'qr-wrap'}, importSvg(begin.qr_svg || '', t('enroll.qr_label'))),
      h('details', {class: 'manual'},
        h('summary', {}, t('enroll.manual')),
        h('p', {}, t('enroll.manual_lead')),
        h('p', {class: 'secret'}, h('code', {}, String(begin.secret).replace(/(.{4})/g, '$1 ').trim())),
        button(t('common.copy'), () => copyText(begin.secret), 'secondary small'))),
    h('li', {}, t('enroll.step_code')));
  return {steps, code};
}

function enrollment(view, message) {
  const err = errorBox();
  const body = h('div', {class: 'stack'}, h('p', {class: 'loading', role: 'status'}, t('common.loading')));
  frame(t('enroll.title'), t('enroll.lead'), info(message), err, body,
    webauthnAvailable()
      ? h('div', {class: 'signin-links'}, button(t('enroll.use_key_instead'), () => enrollKey(view), 'link'), startOver())
      : h('div', {class: 'signin-links'}, startOver()));
  post('me/totp/begin', {}).then((begin) => {
    const {steps, code} = totpSetup(begin);
    replace(body, steps,
      form({class: 'stack'}, [code.row, submit(t('enroll.confirm'))], (btn) =>
        busy(btn, err, async () => {
          const r = await post('me/totp/confirm', {secret: begin.secret, code: code.input.value.replace(/\s/g, '')});
          showRecoveryCodes(r.recovery_codes || [], () => next(r.session));
        })));
    const first = body.querySelector('input');
    if (first) first.focus();
  }).catch((e) => {
    replace(body);
    showError(err, e);
  });
}

function enrollKey(view) {
  const err = errorBox();
  const name = field(t('factor.key_name'), {type: 'text', required: true, maxlength: 60, value: t('factor.key_default_name')},
                     t('factor.key_name_hint'));
  frame(t('enroll.key_title'), t('enroll.key_lead'), err,
    form({class: 'stack'}, [name.row, submit(t('enroll.key_register'))], (btn) =>
      busy(btn, err, async () => {
        const r = await registerKey(name.input.value.trim(), err);
        if (!r) return;
        if (r.recovery_codes && r.recovery_codes.length) showRecoveryCodes(r.recovery_codes, () => next(r.session));
        else next(r.session);
      })),
    h('div', {class: 'signin-links'}, button(t('enroll.use_app_instead'), () => enrollment(view), 'link'), startOver()));
}

// me/webauthn/begin → the browser's dialog → me/webauthn/finish; undefined when cancelled.
export async function registerKey(name, err) {
  const begin = await post('me/webauthn/begin', {name});
  let cred;
  try {
    cred = await createCredential(begin.publicKey);
  } catch {
    showError(err, t('factor.key_cancelled'));
    return undefined;
  }
  return post('me/webauthn/finish', {name, ...cred});
}

// ---- recovery codes, shown once ----

export function recoveryCodesBlock(codes, onDone) {
  const saved = checkbox(t('recovery.saved'), false);
  const done = button(t('recovery.continue'), () => onDone(), 'primary');
  done.disabled = true;
  saved.input.addEventListener('change', () => {
    done.disabled = !saved.input.checked;
  });
  return h('div', {class: 'recovery stack'},
    h('p', {}, t('recovery.lead')),
    h('ol', {class: 'codes', 'aria-label': t('recovery.title')}, codes.map((c) => h('li', {}, h('code', {}, c)))),
    h('div', {class: 'row-actions no-print'},
      button(t('common.copy'), () => copyText(codes.join('\n')), 'secondary small'),
      button(t('recovery.print'), () => window.print(), 'secondary small')),
    h('div', {class: 'no-print stack'}, saved.row, done));
}

function showRecoveryCodes(codes, onDone) {
  frame(t('recovery.title'), t('enroll.done'), recoveryCodesBlock(codes, onDone));
}
