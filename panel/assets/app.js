// The panel's entry point: loads the catalog and the session, then shows either the sign-in
// steps or the signed-in shell (header, navigation, notices) with the page of location.hash.
import {ApiError, get, post, setHandlers} from './api.js';
import {h, replace} from './dom.js';
import {currentLang, loadLanguage, t} from './i18n.js';
import {formatTime} from './format.js';
import {startIdle, stopIdle, touched} from './idle.js';
import {can, isProvider, ownTenant, setSession, state, tenantHref, user} from './state.js';
import {closePageDialogs, errorText} from './ui.js';
import {renderSignIn} from './pages/signin.js';
import {renderDashboard} from './pages/dashboard.js';
import {renderDevices, renderPolicy} from './pages/devices.js';
import {renderRepos, renderSnapshots} from './pages/repos.js';
import {renderUsers} from './pages/users.js';
import {renderAccount} from './pages/account.js';
import {renderAudit} from './pages/audit.js';
import {renderNotices, renderTenants, renderUsage} from './pages/provider.js';

const root = document.getElementById('app');

// [pattern, render(main, ...params), action needed, tenant page key]
const ROUTES = [
  [/^#\/t\/([^/]+)\/dashboard$/, renderDashboard, 'panel.tenant.view', 'dashboard'],
  [/^#\/t\/([^/]+)\/devices$/, renderDevices, 'panel.tenant.view', 'devices'],
  [/^#\/t\/([^/]+)\/devices\/([^/]+)\/policy$/, renderPolicy, 'panel.tenant.view', 'devices'],
  [/^#\/t\/([^/]+)\/repos$/, renderRepos, 'panel.tenant.view', 'repos'],
  [/^#\/t\/([^/]+)\/repos\/([^/]+)$/, renderSnapshots, 'panel.tenant.view', 'repos'],
  [/^#\/t\/([^/]+)\/users$/, renderUsers, 'panel.user.view', 'users'],
  [/^#\/t\/([^/]+)\/audit$/, renderAudit, 'audit.read', 'audit'],
  [/^#\/staff$/, (main) => renderUsers(main, ''), 'panel.user.view', null],
  [/^#\/account$/, renderAccount, 'panel.self', null],
  [/^#\/tenants$/, renderTenants, 'panel.tenant.view', null],
  [/^#\/usage$/, renderUsage, 'panel.usage.all', null],
  [/^#\/notices$/, renderNotices, 'panel.notice.manage', null],
];

const TENANT_PAGES = [
  ['dashboard', 'nav.dashboard', 'panel.tenant.view'],
  ['devices', 'nav.devices', 'panel.tenant.view'],
  ['repos', 'nav.repos', 'panel.tenant.view'],
  ['users', 'nav.users', 'panel.user.view'],
  ['audit', 'nav.audit', 'audit.read'],
];

function homeHash() {
  if (isProvider()) return '#/tenants';
  if (ownTenant() && can('panel.tenant.view')) return tenantHref(ownTenant(), 'dashboard');
  return '#/account';
}

// ---- signing in and out ----

function showSignIn(message = '') {
  stopIdle();
  closePageDialogs();
  root.className = 'app';
  renderSignIn(root, {message, session: state.session, onReady: enterPanel, onLanguage: switchLanguage});
}

function sessionLost(key) {
  if (key.startsWith('stage.')) {
    get('auth/session').then((view) => {
      setSession(view);
      if (view.stage === 'ready') enterPanel(view); else showSignIn();
    }).catch(() => {});
    return;
  }
  const wasSignedIn = state.session && state.session.stage === 'ready';
  setSession(null);
  if (key === 'session.expired') showSignIn(t('signin.msg_expired'));
  else showSignIn(wasSignedIn ? t('signin.msg_signed_out_elsewhere') : '');
}

async function signOut() {
  try {
    await post('auth/sign-out', {});
  } catch {
    // Signed out on this page whatever the server answered.
  }
  setSession(null);
  // The next person to sign in here starts at their own home page.
  history.replaceState(null, '', location.pathname);
  showSignIn(t('signin.msg_signed_out'));
}

function enterPanel(view) {
  setSession(view);
  startIdle(() => {
    setSession(null);
    showSignIn(t('signin.msg_idle'));
  });
  if (!location.hash || location.hash === '#/' || location.hash.startsWith('#/signin')) {
    history.replaceState(null, '', homeHash());
  }
  route();
}

async function switchLanguage(lang) {
  await loadLanguage(lang);
  if (state.session && state.session.stage === 'ready') route(); else showSignIn();
}

// ---- the shell ----

function languageSwitch() {
  const other = currentLang() === 'ja' ? 'en' : 'ja';
  return h('button', {type: 'button', class: 'btn link lang-switch', lang: other,
                      'aria-label': t('nav.language_to', t(`lang.${other}`)),
                      on: {click: () => switchLanguage(other)}}, t(`lang.${other}`));
}

function header() {
  const u = user();
  const org = u.tenant_display_name || (isProvider() ? t('header.provider') : '');
  return h('header', {class: 'topbar'},
    h('div', {class: 'brand'},
      h('img', {src: 'assets/logo.svg', alt: '', width: 28, height: 28}),
      h('span', {class: 'brand-name'}, t('app.name')),
      org ? h('span', {class: 'org'}, org) : null),
    h('div', {class: 'who'},
      h('span', {class: 'user-name'}, u.display_name || u.login || ''),
      h('span', {class: 'role'}, t(`role.${u.role}`)),
      languageSwitch(),
      h('button', {type: 'button', class: 'btn secondary small', on: {click: signOut}}, t('nav.sign_out'))));
}

function navLink(href, labelKey, current) {
  return h('li', {}, h('a', {href, 'aria-current': current ? 'page' : null}, t(labelKey)));
}

function nav(hash) {
  const items = [];
  const isCur = (href) => hash === href || hash.startsWith(`${href}/`);
  if (isProvider()) {
    if (can('panel.tenant.view')) items.push(navLink('#/tenants', 'nav.tenants', isCur('#/tenants') || hash.startsWith('#/t/')));
    if (can('panel.usage.all')) items.push(navLink('#/usage', 'nav.usage', isCur('#/usage')));
    if (can('panel.notice.manage')) items.push(navLink('#/notices', 'nav.notices', isCur('#/notices')));
    if (can('panel.user.view')) items.push(navLink('#/staff', 'nav.staff', isCur('#/staff')));
  } else if (ownTenant()) {
    for (const [page, key, action] of TENANT_PAGES) {
      const href = tenantHref(ownTenant(), page);
      if (can(action)) items.push(navLink(href, key, isCur(href)));
    }
  }
  items.push(navLink('#/account', 'nav.account', isCur('#/account')));
  return h('nav', {class: 'mainnav', 'aria-label': t('nav.label')}, h('ul', {}, items));
}

// Provider staff looking at one institution: its pages as tabs, with its name.
function tenantTabs(tenant, current) {
  if (!isProvider()) return null;
  return h('nav', {class: 'tabs', 'aria-label': t('nav.tenant_label', tenant)},
    h('a', {href: '#/tenants', class: 'back'}, t('nav.back_to_tenants')),
    h('ul', {}, TENANT_PAGES.filter(([, , action]) => can(action)).map(([page, key]) =>
      h('li', {}, h('a', {href: tenantHref(tenant, page), 'aria-current': page === current ? 'page' : null}, t(key))))));
}

function noticeBanner(notices) {
  const current = Date.now() / 1000;
  const lang = currentLang();
  const shown = notices.filter((n) => !n.ends || n.ends > current);
  if (!shown.length) return null;
  return h('div', {class: 'notices', role: 'region', 'aria-label': t('notice.region')},
    shown.map((n) => h('div', {class: ['notice', `notice-${n.severity || 'info'}`]},
      h('p', {class: 'notice-title'},
        h('span', {class: 'notice-kind'}, t(`notice.severity.${n.severity || 'info'}`)),
        n[`title_${lang}`] || n.title_ja || n.title_en),
      h('p', {class: 'notice-dates'}, t('notice.dates', formatTime(n.starts), formatTime(n.ends)),
        n.starts > current ? h('span', {class: 'badge badge-info'}, t('notice.upcoming')) : null),
      (n[`body_${lang}`] || n.body_ja) ? h('p', {class: 'notice-body'}, n[`body_${lang}`] || n.body_ja) : null)));
}

let noticesCache = null;

async function loadNotices(slot) {
  if (!can('panel.notice.view')) return;
  try {
    if (!noticesCache) noticesCache = (await get('notices')).notices || [];
    replace(slot, noticeBanner(noticesCache));
  } catch {
    // The banner is a courtesy; the page works without it.
  }
}

export function invalidateNotices() {
  noticesCache = null;
}

// ---- routing ----

async function route() {
  closePageDialogs();
  if (!state.session || state.session.stage !== 'ready') {
    showSignIn();
    return;
  }
  const hash = location.hash || homeHash();
  let match = null;
  let spec = null;
  for (const r of ROUTES) {
    match = r[0].exec(hash);
    if (match) {
      spec = r;
      break;
    }
  }
  const main = h('main', {id: 'main', tabindex: '-1'});
  const noticeSlot = h('div', {});
  const params = match ? match.slice(1).map(decodeURIComponent) : [];
  const tabs = spec && spec[3] && params[0] ? tenantTabs(params[0], spec[3]) : null;
  root.className = 'app shell';
  replace(root,
    h('a', {href: '#main', class: 'skip-link', on: {click: (e) => { e.preventDefault(); main.focus(); }}}, t('nav.skip')),
    header(), nav(hash),
    h('div', {class: 'content'}, noticeSlot, tabs, main));
  loadNotices(noticeSlot);
  if (!spec) {
    history.replaceState(null, '', homeHash());
    route();
    return;
  }
  if (!can(spec[2])) {
    replace(main, h('h1', {}, t('error.not_allowed_title')), h('p', {}, t('error.not_allowed')));
    return;
  }
  document.title = t('app.name');
  try {
    await spec[1](main, ...params);
  } catch (err) {
    if (!(err instanceof ApiError)) console.error(err);
    replace(main, h('h1', {}, t('error.page_title')), h('p', {class: 'error-box', role: 'alert'}, errorText(err)));
  }
  const title = main.querySelector('h1');
  if (title) document.title = `${title.textContent} — ${t('app.name')}`;
  if (routed && title) title.focus();
  routed = true;
}

let routed = false;

async function boot() {
  try {
    await loadLanguage();
  } catch (err) {
    root.textContent = 'kura: the panel could not load its messages. Reload the page.';
    throw err;
  }
  let message = '';
  try {
    setSession(await get('auth/session'));
  } catch (err) {
    setSession(null);
    if (err.key === 'session.expired') message = t('signin.msg_expired');
    else if (err.status !== 401) message = errorText(err);
  }
  setHandlers({lost: sessionLost, activity: touched});
  document.addEventListener('kura:sign-out', signOut);
  document.addEventListener('kura:notices-changed', invalidateNotices);
  window.addEventListener('hashchange', () => {
    if (state.session && state.session.stage === 'ready') route();
  });
  if (state.session && state.session.stage === 'ready') enterPanel(state.session);
  else showSignIn(message);
}

boot();
