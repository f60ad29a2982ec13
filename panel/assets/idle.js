// The idle limit: a warning two minutes before the session would end, "stay signed in" touches
// it (GET auth/session), and at the end the sign-in page with a message. Every answer from the
// server counts as activity (the server touches the session on each request).
import {get} from './api.js';
import {h} from './dom.js';
import {t} from './i18n.js';
import {formatTime} from './format.js';
import {state, setSession} from './state.js';
import {button, openDialog} from './ui.js';

// Two minutes before the end; with a short idle limit (test configurations) a third of it, so
// the warning does not cover the page at once.
const warnSeconds = (s) => Math.min(120, Math.floor((s.idle_seconds || 900) / 3));
let expiresAt = 0;
let warnTimer = 0, endTimer = 0;
let warning = null;  // the open dialog's close()
let countdown = 0;
let onExpired = () => {};

const now = () => Date.now() / 1000;

export function startIdle(expired) {
  onExpired = expired;
  const s = state.session;
  expiresAt = Math.min(s.idle_expires || now() + (s.idle_seconds || 900), s.absolute_expires || Infinity);
  schedule();
}

export function stopIdle() {
  clearTimeout(warnTimer);
  clearTimeout(endTimer);
  expiresAt = 0;
  if (warning) warning(undefined);
}

export function touched() {
  const s = state.session;
  if (!s || s.stage !== 'ready' || !expiresAt || warning) return;
  expiresAt = Math.min(now() + (s.idle_seconds || 900), s.absolute_expires || Infinity);
  schedule();
}

function schedule() {
  clearTimeout(warnTimer);
  clearTimeout(endTimer);
  const left = expiresAt - now();
  warnTimer = setTimeout(warn, Math.max(0, (left - warnSeconds(state.session)) * 1000));
  endTimer = setTimeout(end, Math.max(0, left * 1000));
}

function end() {
  if (warning) warning(undefined);
  stopIdle();
  onExpired();
}

function warn() {
  if (warning) return;
  const s = state.session;
  const absolute = s.absolute_expires && s.absolute_expires - now() <= warnSeconds(s) + 1;
  openDialog(t('idle.title'), (close) => {
    warning = (v) => close(v);
    const count = h('strong', {}, '');
    const tick = () => {
      const left = Math.max(0, Math.round(expiresAt - now()));
      count.textContent = t('idle.seconds', left);
    };
    tick();
    countdown = setInterval(tick, 1000);
    return h('div', {},
      h('p', {}, absolute ? t('idle.absolute', formatTime(s.absolute_expires)) : t('idle.body')),
      h('p', {class: 'countdown'}, count),
      h('div', {class: 'dialog-actions'},
        button(t('nav.sign_out'), () => close('out')),
        absolute ? button(t('common.ok'), () => close(undefined), 'primary')
                 : button(t('idle.stay'), () => close('stay'), 'primary', {autofocus: true})));
  }, {dismissable: !absolute, keep: true}).then(async (choice) => {
    clearInterval(countdown);
    warning = null;
    if (choice === 'stay') {
      try {
        const view = await get('auth/session');
        setSession(view);
        startIdle(onExpired);
      } catch {
        // A lost session reaches the sign-in page through api.js.
      }
    } else if (choice === 'out') {
      document.dispatchEvent(new CustomEvent('kura:sign-out'));
    }
  });
}
