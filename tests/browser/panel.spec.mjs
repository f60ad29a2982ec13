// The control panel end to end in a real browser (Debian's chromium driven by playwright-core)
// against a running kura-server: first sign-in with password change and TOTP enrollment, the
// provider creating an institution and its staff, security keys (Chromium's virtual
// authenticator), lockout without enumeration, the idle timeout, a viewer's limits, every role ×
// every action (each affordance shown iff allowed, the API refusing what is hidden), CSRF, the
// language switch, a real `kura` device enrolled from the panel and its backup on the dashboard,
// an axe-core scan and screenshots of every main page in both languages and sizes.
// Run by tests/panel_test.sh browser:
//   node panel.spec.mjs --url https://localhost:PORT --data DIR --init-log FILE --kura BIN
//                       --fp SHA256:... --shots DIR
import {execFile} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {chromium} from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['url', 'data', 'init-log', 'kura', 'fp', 'shots']) {
  if (!args[k]) {
    console.error(`panel.spec.mjs: --${k} is required`);
    process.exit(2);
  }
}
const BASE = args.url.replace(/\/$/, '');
const PANEL = `${BASE}/panel/`;
const SHOTS = args.shots;
fs.mkdirSync(SHOTS, {recursive: true});
const SIZES = [[1280, 800], [768, 1024]];
const TENANT = 'sakura-clinic';
const TENANT_NAME = 'さくら内科クリニック';

// ---- a tiny harness: each step prints ok or FAIL; a failed step that others need stops ----

let passed = 0, failed = 0, skipped = 0;
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

class Skip extends Error {}

async function step(name, fn, {needed = false} = {}) {
  const start = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${((Date.now() - start) / 1000).toFixed(1)}s, at ${elapsed()})`);
    return true;
  } catch (err) {
    if (err instanceof Skip) {
      skipped++;
      console.log(`SKIP ${name}: ${err.message}`);
      return false;
    }
    failed++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    await failureShots(name);
    if (needed) await finish(`stopped: later steps need "${name}"`);
    return false;
  }
}

function check(ok, what) {
  if (!ok) throw new Error(what);
}

const pages = new Set();
async function failureShots(name) {
  let i = 0;
  for (const p of pages) {
    if (p.isClosed()) continue;
    try {
      await p.screenshot({path: path.join(SHOTS, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}-${i++}.png`), fullPage: true});
    } catch {
      // A page that cannot be photographed says nothing more.
    }
  }
}

let browser = null;
async function finish(note) {
  if (note) console.log(note);
  if (browser) await browser.close().catch(() => {});
  console.log(`panel.browser: ${passed} passed, ${failed} failed, ${skipped} skipped (${elapsed()})`);
  process.exit(failed ? 1 : 0);
}

// ---- what the test knows ----

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s): each code is accepted once, so every sign-in uses a
// later time step than the one before (the server accepts ±1 step).
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totpAt(secret, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac('sha1', base32(secret)).update(msg).digest();
  const o = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

async function nextTotp(actor) {
  const now = () => Math.floor(Date.now() / 30000);
  let counter = Math.max(now(), (actor.lastCounter ?? -1) + 1);
  if (counter > now() + 1) {
    await sleep((counter - 1) * 30000 - Date.now() + 500);
    counter = Math.max(now(), (actor.lastCounter ?? -1) + 1);
  }
  actor.lastCounter = counter;
  return totpAt(actor.totpSecret, counter);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// The catalogs as the server sends them: the test finds things by their text in the page's
// language, as a user does.
const catalogs = {};
function t(lang, key, ...a) {
  const text = catalogs[lang][key];
  if (text === undefined) throw new Error(`no text for ${key} (${lang})`);
  let i = 0;
  return text.replace(/\{\}/g, () => (i < a.length ? String(a[i++]) : '{}'));
}
async function lang(page) {
  return page.evaluate(() => document.documentElement.lang);
}
async function tp(page, key, ...a) {
  return t(await lang(page), key, ...a);
}

// ---- page helpers ----

async function newActor(name, extra = {}) {
  const context = await browser.newContext({ignoreHTTPSErrors: true, viewport: {width: 1280, height: 800},
                                            timezoneId: 'Asia/Tokyo', locale: 'ja-JP'});
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  pages.add(page);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[13]|Failed to load resource/.test(m.text())) {
      problems.push(`${name}: console error: ${m.text()}`);
    }
  });
  return {name, context, page, problems, ...extra};
}

async function booted(page) {
  await page.locator('.signin-page, .app.shell').first().waitFor();
}

async function heading(page, text) {
  await page.getByRole('heading', {level: 1, name: text, exact: true}).waitFor();
}

async function button(page, key, ...a) {
  return page.getByRole('button', {name: await tp(page, key, ...a), exact: true});
}

async function labelled(page, key) {
  return page.getByLabel(await tp(page, key), {exact: true});
}

async function errorText(page) {
  const box = page.locator('.error-box:not([hidden])').first();
  await box.waitFor();
  return (await box.innerText()).trim();
}

async function passwordStep(page, login, password) {
  await booted(page);
  await heading(page, await tp(page, 'signin.title'));
  await (await labelled(page, 'signin.login')).fill(login);
  await (await labelled(page, 'signin.password')).fill(password);
  await (await button(page, 'signin.next')).click();
}

// Password and second factor; the actor's home page afterwards.
async function signIn(actor) {
  const {page} = actor;
  await page.goto(PANEL);
  await passwordStep(page, actor.login, actor.password);
  await heading(page, await tp(page, 'signin.second_title'));
  if (!actor.useKey) {
    await (await labelled(page, 'signin.code')).fill(await nextTotp(actor));
    await (await button(page, 'signin.verify')).click();
  } else {
    await (await button(page, 'signin.use_key')).click();
  }
  await page.locator('.app.shell main h1').first().waitFor();
}

// Back to a page of an actor whose session may have lapsed while others worked (the idle
// limit is one minute in this configuration).
async function visit(actor, hash) {
  const {page} = actor;
  // A fresh load, as after a reload: the panel asks the server for the session first.
  await page.goto('about:blank');
  await page.goto(`${PANEL}${hash}`);
  await booted(page);
  if (await page.locator('.signin-page').count()) {
    await signIn(actor);
    await page.goto(`${PANEL}${hash}`);
  }
  await page.locator('.app.shell main h1').first().waitFor();
  await page.locator('main .loading').waitFor({state: 'detached'});
}

// Follows the main menu's links, each to its page.
async function clickThrough(page, links) {
  for (const [nav, title] of links) {
    await page.getByRole('navigation', {name: await tp(page, 'nav.label')})
      .getByRole('link', {name: await tp(page, nav), exact: true}).click();
    await heading(page, await tp(page, title));
  }
}

async function setLanguage(page, l) {
  await page.evaluate((v) => localStorage.setItem('kura.panel.lang', v), l);
  await page.reload();
  await booted(page);
  check(await lang(page) === l, `language ${l} not taken`);
}

// First sign-in: the forced password change (a weak password shows the policy's problems),
// then the second factor: TOTP (secret read from the page) or a security key.
async function firstSignIn(actor, {weakFirst = false, key = false} = {}) {
  const {page} = actor;
  await page.goto(PANEL);
  await passwordStep(page, actor.login, actor.initial);
  await heading(page, await tp(page, 'password.change_title'));
  const change = async (pw) => {
    await (await labelled(page, 'password.current_initial')).fill(actor.initial);
    await (await labelled(page, 'password.new')).fill(pw);
    await (await labelled(page, 'password.again')).fill(pw);
    await (await button(page, 'password.change')).click();
  };
  if (weakFirst) {
    await change('password1');
    const text = await errorText(page);
    check(text.includes(await tp(page, 'password.policy')), `weak password: "${text}"`);
    check(text.includes(await tp(page, 'pw.common')), `weak password without the common-password problem: "${text}"`);
    await page.screenshot({path: path.join(SHOTS, `signin-password-policy-${await lang(page)}-1280x800.png`)});
  }
  await change(actor.password);
  await heading(page, await tp(page, 'enroll.title'));
  if (key) {
    await (await button(page, 'enroll.use_key_instead')).click();
    await heading(page, await tp(page, 'enroll.key_title'));
    await (await button(page, 'enroll.key_register')).click();
  } else {
    await page.locator('summary', {hasText: await tp(page, 'enroll.manual')}).click();
    const secret = (await page.locator('.secret code').innerText()).replace(/\s/g, '');
    check(/^[A-Z2-7]{16,}$/.test(secret), `TOTP secret on the page: ${secret}`);
    check(await page.locator('.qr-wrap svg').count() === 1, 'no QR code');
    actor.totpSecret = secret;
    await page.screenshot({path: path.join(SHOTS, `signin-totp-enrollment-${await lang(page)}-1280x800.png`), fullPage: true});
    await (await labelled(page, 'enroll.code')).fill(await nextTotp(actor));
    await (await button(page, 'enroll.confirm')).click();
  }
  await heading(page, await tp(page, 'recovery.title'));
  const codes = await page.locator('ol.codes li').allInnerTexts();
  check(codes.length === 10, `${codes.length} recovery codes`);
  actor.recovery = codes;
  const cont = await button(page, 'recovery.continue');
  check(await cont.isDisabled(), 'continue before the codes were saved');
  await page.getByLabel(await tp(page, 'recovery.saved')).check();
  await cont.click();
  await page.locator('.app.shell main h1').first().waitFor();
}

// An account created in the UI by a page that shows the users list (an institution's Users or
// the provider's staff); its generated initial password.
async function createUser(page, login, name, role) {
  await (await button(page, 'users.create')).click();
  const d = page.getByRole('dialog');
  await d.getByLabel(await tp(page, 'user.login'), {exact: true}).fill(login);
  await d.getByLabel(await tp(page, 'user.name'), {exact: true}).fill(name);
  await d.getByLabel(await tp(page, 'user.role'), {exact: true}).selectOption(role);
  const initial = await d.getByLabel(await tp(page, 'user.initial_password'), {exact: true}).inputValue();
  check(initial.length >= 12, 'no generated initial password');
  await d.getByRole('button', {name: await tp(page, 'users.create_submit'), exact: true}).click();
  await d.waitFor({state: 'detached'});
  await page.getByRole('cell', {name: login}).first().waitFor();
  return initial;
}

async function fetchJson(page, method, apiPath, body, {csrf = true, contentType = 'application/json'} = {}) {
  return page.evaluate(async ({method, apiPath, body, csrf, contentType}) => {
    let token = '';
    if (csrf) {
      const s = await fetch('api/auth/session', {credentials: 'same-origin'});
      token = (await s.json()).csrf_token || '';
    }
    const init = {method, credentials: 'same-origin', headers: {}};
    if (method !== 'GET') {
      init.headers['Content-Type'] = contentType;
      if (token) init.headers['X-CSRF-Token'] = token;
      init.body = JSON.stringify(body || {});
    }
    const r = await fetch(`api/${apiPath}`, init);
    let j = null;
    try {
      j = await r.json();
    } catch {
      j = null;
    }
    return {status: r.status, body: j};
  }, {method, apiPath, body, csrf, contentType});
}

// ---- axe-core and screenshots ----

const axeSource = fs.readFileSync(path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const axeFindings = [];

// The page's CSP allows no inline script; code evaluated over the DevTools protocol is not
// subject to it, so axe goes in that way.
async function axeScan(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, {resultTypes: ['violations']}));
  check(res.passes.length + res.violations.length > 10, `axe checked only ${res.passes.length} rules`);
  const bad = [];
  for (const v of res.violations) {
    const where = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
    const line = `${name}: [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length}×: ${where})`;
    if (v.impact === 'serious' || v.impact === 'critical') bad.push(line);
    else axeFindings.push(line);
  }
  check(!bad.length, `axe found serious or critical problems:\n  ${bad.join('\n  ')}`);
}

// Screenshots of the page as it is now, in both languages and both sizes, and an axe scan in
// each language at the laptop size. `ready` waits for the page's content after a reload.
async function capture(page, name, ready) {
  const errors = [];
  for (const l of ['ja', 'en']) {
    // Each size loaded afresh, as a tablet would (charts are drawn for the width they get);
    // the laptop size last, for axe.
    for (const [w, h] of [...SIZES].reverse()) {
      await page.setViewportSize({width: w, height: h});
      await setLanguage(page, l);
      await ready(l);
      // The whole page, up to three screens (the access records run on).
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.screenshot({path: path.join(SHOTS, `${name}-${l}-${w}x${h}.png`), fullPage: true,
                             clip: {x: 0, y: 0, width: w, height: Math.min(height, 3 * h)}});
      // Nothing wider than the screen: no sideways scrolling of the page or of a table.
      const wide = await page.evaluate(() => {
        const out = [];
        if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('the page');
        for (const t of document.querySelectorAll('.table-wrap')) {
          if (t.scrollWidth > t.clientWidth + 1) out.push(`table "${t.querySelector('caption')?.textContent}"`);
        }
        return out;
      });
      if (wide.length) errors.push(`${name} (${l}, ${w}×${h}): wider than the screen: ${wide.join(', ')}`);
    }
    try {
      await axeScan(page, `${name} (${l})`);
    } catch (e) {
      errors.push(e.message);
    }
  }
  check(!errors.length, errors.join('\n'));
}

function shellReady(page, titleKey, ...a) {
  return async (l) => {
    await page.getByRole('heading', {level: 1, name: t(l, titleKey, ...a), exact: true}).waitFor();
    await page.locator('main .loading').waitFor({state: 'detached'});
  };
}

// ---- the real device ----

const execFileP = promisify(execFile);
async function runKura(home, argv, env = {}) {
  const e = {...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'),
             XDG_CACHE_HOME: path.join(home, 'cache'), KURA_CACHE_DIR: path.join(home, 'cache', 'kura'),
             KURA_LANG: 'en', ...env};
  for (const v of ['KURA_PASSWORD', 'RESTIC_PASSWORD', 'KURA_REPOSITORY', 'RESTIC_REPOSITORY']) delete e[v];
  try {
    return await execFileP(args.kura, argv, {env: e, timeout: 120000, maxBuffer: 16 << 20});
  } catch (err) {
    throw new Error(`kura ${argv[0]} failed (${err.code}): ${err.stderr || err.message}`);
  }
}

// ================================================================================================

const initLog = fs.readFileSync(args['init-log'], 'utf8');
const m = /one-time password[^:]*: (\S+)/.exec(initLog);
if (!m) {
  console.error(`no one-time password in ${args['init-log']}`);
  process.exit(2);
}

browser = await chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true});

const admin = await newActor('admin', {login: 'admin', initial: m[1], password: 'Kura#Provider-Ops-2026'});
await step('the panel serves its page and catalogs', async () => {
  // Through the browser, which accepts the server's certificate for this test.
  for (const l of ['ja', 'en']) {
    const resp = await admin.page.goto(`${PANEL}assets/i18n/${l}.json`);
    check(resp.ok(), `catalog ${l}: HTTP ${resp.status()}`);
    catalogs[l] = await resp.json();
  }
  const page = await admin.page.goto(PANEL);
  check(page.ok(), `the page: HTTP ${page.status()}`);
}, {needed: true});
const sato = await newActor('sato', {login: 'sato', password: 'Sakura-Clinic#Admin-2026'});
const suzuki = await newActor('suzuki', {login: 'suzuki', password: 'Viewer#Reception-2026'});
const tanakaLogin = 'tanaka';
let tanakaInitial = '';
let webauthnReady = false;

await step('sign-in page: both languages and sizes, axe', async () => {
  const {page} = await newActor('anonymous');
  await page.goto(PANEL);
  await booted(page);
  await capture(page, 'signin', async (l) => heading(page, t(l, 'signin.title')));
  await page.context().close();
});

await step('1. first provider admin: one-time password, forced change, TOTP, recovery codes', async () => {
  await firstSignIn(admin, {weakFirst: true});
  await heading(admin.page, await tp(admin.page, 'tenants.title'));
  check(admin.page.url().endsWith('#/tenants'), `home is ${admin.page.url()}`);
  await clickThrough(admin.page, [['nav.usage', 'usage.title'], ['nav.notices', 'notices.title'],
                                   ['nav.staff', 'staff.title'], ['nav.tenants', 'tenants.title']]);
}, {needed: true});

await step('1. the provider admin\'s own account page', async () => {
  await clickThrough(admin.page, [['nav.account', 'account.title'], ['nav.tenants', 'tenants.title']]);
});

await step('2. provider admin creates an institution, its administrator, a viewer and an auditor', async () => {
  const {page} = admin;
  await visit(admin, '#/tenants');
  await (await button(page, 'tenants.create')).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel(await tp(page, 'tenant.name'), {exact: true}).fill(TENANT);
  await dlg.getByLabel(await tp(page, 'tenant.display_name'), {exact: true}).fill(TENANT_NAME);
  await dlg.getByLabel(await tp(page, 'tenant.quota'), {exact: true}).fill('50');
  await dlg.getByRole('button', {name: await tp(page, 'tenants.create_submit'), exact: true}).click();
  await dlg.waitFor({state: 'detached'});
  await page.getByRole('link', {name: TENANT_NAME}).click();
  await heading(page, await tp(page, 'dash.title', TENANT_NAME));
  await page.getByRole('navigation', {name: await tp(page, 'nav.tenant_label', TENANT)})
    .getByRole('link', {name: await tp(page, 'nav.users'), exact: true}).click();
  await heading(page, await tp(page, 'users.title'));
  const create = (login, name, role) => createUser(page, login, name, role);
  sato.initial = await create('sato', '佐藤 花子', 'institution_admin');
  suzuki.initial = await create('suzuki', '鈴木 一郎', 'viewer');
  tanakaInitial = await create(tanakaLogin, '田中 次郎', 'auditor');
}, {needed: true});

await step('6. a viewer: first sign-in, no admin actions in the UI, 403 from the API', async () => {
  const {page} = suzuki;
  await firstSignIn(suzuki);
  await heading(page, await tp(page, 'dash.title', TENANT_NAME));
  // The API first, from the page with the viewer's cookie and CSRF token.
  const users = await fetchJson(page, 'POST', 'users', {tenant: TENANT, login: 'mallory', display_name: 'x',
                                                       role: 'institution_admin', initial_password: 'Aa1!aaaaaaaaaaaa'});
  check(users.status === 403 && users.body && users.body.error !== 'csrf', `viewer creating a user: ${JSON.stringify(users)}`);
  const code = await fetchJson(page, 'POST', `tenants/${TENANT}/enroll-codes`, {device: 'evil-pc', repo: ''});
  check(code.status === 403 && code.body.error !== 'csrf', `viewer creating an enrollment code: ${JSON.stringify(code)}`);
  const list = await fetchJson(page, 'GET', `users?tenant=${TENANT}`);
  check(list.status === 403, `viewer listing users: ${JSON.stringify(list)}`);
  // The UI: no users or audit in the menu, no enrollment on the devices page.
  const nav = page.getByRole('navigation', {name: await tp(page, 'nav.label')});
  const links = await nav.getByRole('link').allInnerTexts();
  check(!links.includes(await tp(page, 'nav.users')), `viewer's menu has users: ${links}`);
  check(links.includes(await tp(page, 'nav.devices')), `viewer's menu: ${links}`);
  await page.goto(`${PANEL}#/t/${TENANT}/users`);
  await heading(page, await tp(page, 'error.not_allowed_title'));
  await nav.getByRole('link', {name: await tp(page, 'nav.devices'), exact: true}).click();
  await heading(page, await tp(page, 'devices.title'));
  check(await (await button(page, 'devices.enroll')).count() === 0, 'viewer sees "add a device"');
});

// 5. The viewer now leaves the panel alone: the warning, then the sign-in page, while the other
// steps go on in other browser contexts.
const idleWatch = (async () => {
  const {page} = suzuki;
  const start = Date.now();
  const dlg = page.getByRole('dialog', {name: t('ja', 'idle.title')});
  await dlg.waitFor({timeout: 75000});
  const warned = (Date.now() - start) / 1000;
  await page.screenshot({path: path.join(SHOTS, 'idle-warning-ja-1280x800.png')});
  await page.getByText(t('ja', 'signin.msg_idle')).waitFor({timeout: 45000});
  const ended = (Date.now() - start) / 1000;
  await page.screenshot({path: path.join(SHOTS, 'idle-signed-out-ja-1280x800.png')});
  await sleep(2000);
  const s = await page.evaluate(async () => (await fetch('api/auth/session')).status);
  return {warned, ended, status: s};
})();
idleWatch.catch(() => {});

await step('3. institution admin: a security key as first factor, then password + key', async () => {
  const {page, context} = sato;
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', {enableUI: false});
  const {authenticatorId} = await cdp.send('WebAuthn.addVirtualAuthenticator', {options: {
    protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: true, isUserVerified: true,
    automaticPresenceSimulation: true}});
  sato.cdp = cdp;
  sato.authenticatorId = authenticatorId;
  // Is the key path served? (Until it is, the key registration answers 404.)
  await page.goto(PANEL);
  await booted(page);
  const probe = await page.evaluate(async () => (await fetch('api/me/webauthn/begin', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: '{}'})).status);
  if (probe === 404) {
    await firstSignIn(sato);
    throw new Skip('the server has no me/webauthn/* endpoints yet: the institution admin enrolled TOTP instead');
  }
  await firstSignIn(sato, {key: true});
  await heading(page, await tp(page, 'dash.title', TENANT_NAME));
  const {credentials} = await cdp.send('WebAuthn.getCredentials', {authenticatorId});
  check(credentials.length === 1, `${credentials.length} credentials on the authenticator`);
  await (await button(page, 'nav.sign_out')).click();
  await page.getByText(await tp(page, 'signin.msg_signed_out')).waitFor();
  await passwordStep(page, sato.login, sato.password);
  await heading(page, await tp(page, 'signin.second_title'));
  await page.screenshot({path: path.join(SHOTS, `signin-key-${await lang(page)}-1280x800.png`)});
  await (await button(page, 'signin.use_key')).click();
  await heading(page, await tp(page, 'dash.title', TENANT_NAME));
  const after = await cdp.send('WebAuthn.getCredentials', {authenticatorId});
  check(after.credentials[0].signCount >= 2, `sign count ${after.credentials[0].signCount}`);
  webauthnReady = true;
  sato.useKey = true;
}, {needed: false});

await step('3. the key-first institution admin adds an authenticator app from My account', async () => {
  if (!webauthnReady) throw new Skip('no security key first');
  const {page} = sato;
  await visit(sato, '#/account');
  await (await button(page, 'factor.add_app')).click();
  const dlg = page.getByRole('dialog');
  await dlg.locator('summary', {hasText: await tp(page, 'enroll.manual')}).click();
  sato.totpSecret = (await dlg.locator('.secret code').innerText()).replace(/\s/g, '');
  await dlg.getByLabel(await tp(page, 'enroll.code'), {exact: true}).fill(await nextTotp(sato));
  await dlg.getByRole('button', {name: await tp(page, 'factor.register'), exact: true}).click();
  await dlg.waitFor({state: 'detached'});
  // The page reloads its list: wait for the second row.
  await page.locator('main table tbody tr').nth(1).waitFor();
  const kinds = await page.locator('main table tbody tr td:first-child').allInnerTexts();
  check(kinds.includes(await tp(page, 'factor.kind.totp')) && kinds.includes(await tp(page, 'factor.kind.webauthn')),
        `factors listed: ${kinds}`);
  check(await (await button(page, 'factor.add_app')).count() === 0, 'a second app offered');
});

if (!webauthnReady && !sato.totpSecret && !(await sato.page.locator('.app.shell').count())) {
  finish('stopped: the institution admin could not sign in');
}

let deviceName = 'reception-pc';
await step('9. enrollment code in the UI, a real kura device enrolls and backs up, the dashboard shows it', async () => {
  const {page} = sato;
  await visit(sato, `#/t/${TENANT}/devices`);
  await (await button(page, 'devices.enroll')).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel(await tp(page, 'device.name'), {exact: true}).fill(deviceName);
  await dlg.getByRole('button', {name: await tp(page, 'enrollcode.create'), exact: true}).click();
  const code = (await dlg.locator('.big-code code').innerText()).trim();
  check(code.length >= 8, `enrollment code "${code}"`);
  check(await dlg.locator('.qr-wrap svg').count() === 1, 'no QR code for the enrollment code');
  const command = await dlg.locator('pre.command').innerText();
  check(command.includes('kura enroll'), `command shown: ${command}`);
  await page.screenshot({path: path.join(SHOTS, `enrollment-code-${await lang(page)}-1280x800.png`)});
  await dlg.getByRole('button', {name: await tp(page, 'common.close'), exact: true}).click();
  await dlg.waitFor({state: 'detached'});

  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-device-'));
  try {
    const src = path.join(home, 'karte');
    fs.mkdirSync(src);
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `patient-${i}.txt`), crypto.randomBytes(20000).toString('hex'));
    const pwFile = path.join(home, 'repo-password');
    fs.writeFileSync(pwFile, 'clinic repository password\n', {mode: 0o600});
    await runKura(home, ['enroll', BASE, '--code', code, '--ca-fingerprint', args.fp, '--profile', 'clinic']);
    const env = {RESTIC_PASSWORD_FILE: pwFile};
    await runKura(home, ['--profile', 'clinic', 'init'], env);
    await runKura(home, ['--profile', 'clinic', 'backup', src], env);
  } finally {
    fs.rmSync(home, {recursive: true, force: true});
  }

  await visit(sato, `#/t/${TENANT}/dashboard`);
  const row = page.locator('main table tr', {has: page.getByRole('link', {name: deviceName, exact: true})});
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  check(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/.test(cells[2]), `last backup cell: ${cells}`);
  check(cells[3] === await tp(page, 'device.result.ok'), `result cell: ${cells}`);
  const gens = page.locator('.stat', {hasText: await tp(page, 'dash.generations')}).locator('.stat-value');
  check(Number(await gens.innerText()) >= 1, `generations: ${await gens.innerText()}`);
  const bars = await page.locator('svg.chart rect.bar:not(.zero)').count();
  check(bars >= 1, 'no backups in the backups-per-day chart');
});

await step('7. CSRF: no token → 403 csrf; a cross-site form cannot act', async () => {
  const {page} = sato;
  await visit(sato, `#/t/${TENANT}/devices`);
  const r = await fetchJson(page, 'POST', `tenants/${TENANT}/enroll-codes`, {device: 'no-token-pc', repo: 'main'}, {csrf: false});
  check(r.status === 403 && r.body && r.body.error === 'csrf', `without X-CSRF-Token: ${JSON.stringify(r)}`);
  // A page of another origin posts a form to the panel (the user's browser, the user's cookie).
  const evil = await sato.context.newPage();
  pages.add(evil);
  await evil.goto('about:blank');
  await evil.setContent(`<form method="post" enctype="text/plain" action="${BASE}/panel/api/tenants/${TENANT}/enroll-codes">
    <input name='{"device":"form-pc","repo":"main","x":"' value='"}'></form>`);
  const [resp] = await Promise.all([
    evil.waitForResponse((res) => res.url().includes('/enroll-codes')),
    evil.evaluate(() => document.forms[0].submit()),
  ]);
  const status = resp.status();
  const text = await resp.text();
  check(status === 403 || status === 401, `cross-site form post: ${status} ${text}`);
  check(!text.includes('"code"'), `cross-site form post produced a code: ${text}`);
  await evil.close();
  pages.delete(evil);
});

await step('8. language switch ja ↔ en changes the texts and lasts across a reload', async () => {
  const {page} = sato;
  await setLanguage(page, 'ja');
  await visit(sato, `#/t/${TENANT}/devices`);
  await heading(page, t('ja', 'devices.title'));
  await page.getByRole('button', {name: t('ja', 'nav.language_to', t('ja', 'lang.en'))}).click();
  await heading(page, t('en', 'devices.title'));
  check(await page.getByRole('link', {name: t('en', 'nav.dashboard'), exact: true}).count() === 1, 'menu not in English');
  check(await lang(page) === 'en', 'html lang is not en');
  await page.reload();
  await heading(page, t('en', 'devices.title'));
  await page.getByRole('button', {name: t('en', 'nav.language_to', t('en', 'lang.ja'))}).click();
  await heading(page, t('ja', 'devices.title'));
  await page.reload();
  await heading(page, t('ja', 'devices.title'));
  check(await lang(page) === 'ja', 'html lang is not ja after the reload');
});

await step('4. lockout after 3 wrong passwords, and the same answer as an unknown ID', async () => {
  const anon = await newActor('lockout');
  const {page} = anon;
  const attempt = async (login, password) => {
    await page.goto('about:blank');
    await page.goto(PANEL);
    await passwordStep(page, login, password);
    return errorText(page);
  };
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await attempt(tanakaLogin, `Wrong-password-${i}!`));
  const locked = await attempt(tanakaLogin, tanakaInitial);
  // The unknown ID by keyboard alone: the page starts in the ID field; Tab, Enter.
  await page.goto('about:blank');
  await page.goto(PANEL);
  await heading(page, await tp(page, 'signin.title'));
  await page.keyboard.type('no-such-user');
  await page.keyboard.press('Tab');
  await page.keyboard.type(tanakaInitial);
  await page.keyboard.press('Enter');
  const unknown = await errorText(page);
  const want = await tp(page, 'signin.failed');
  check(answers.every((a) => a === want), `wrong passwords: ${JSON.stringify(answers)}`);
  check(locked === want, `locked account with the right password: "${locked}"`);
  check(unknown === want, `unknown ID: "${unknown}"`);
  check(await page.locator('.signin-page').count() === 1, 'not on the sign-in page');
  await page.screenshot({path: path.join(SHOTS, `signin-failed-${await lang(page)}-1280x800.png`)});
  await anon.context.close();
  pages.delete(page);
});

const NOTICE = {ja: 'サーバー保守のお知らせ', en: 'Server maintenance'};
await step('notices: the provider publishes a maintenance notice, the institution sees it in its language', async () => {
  const {page} = admin;
  await visit(admin, '#/notices');
  await page.getByLabel(await tp(page, 'notice.title_ja'), {exact: true}).fill(NOTICE.ja);
  await page.getByLabel(await tp(page, 'notice.title_en'), {exact: true}).fill(NOTICE.en);
  await page.getByLabel(await tp(page, 'notice.body_ja'), {exact: true}).fill('バックアップの受付を一時停止します。');
  await page.getByLabel(await tp(page, 'notice.body_en'), {exact: true}).fill('Backups are paused meanwhile.');
  await (await button(page, 'notices.publish')).click();
  await page.getByRole('cell', {name: NOTICE[await lang(page)], exact: true}).waitFor();
  await visit(sato, `#/t/${TENANT}/dashboard`);
  const banner = sato.page.getByRole('region', {name: await tp(sato.page, 'notice.region')});
  await banner.getByText(NOTICE[await lang(sato.page)]).waitFor();
  check((await banner.innerText()).includes(await tp(sato.page, 'notice.upcoming')), 'the notice is not marked upcoming');
});

// 12. Every role × every action in the UI (the API side is server/panel_test.cc
// EveryRoleTimesEveryEndpoint; the rule is service/authz.cc kUserTable): for each of the six
// roles, each affordance is on the page iff the role may do its action, and for each action
// the role may not do, the API answers 403 as well, so that hiding matches refusing.
//                        PA PO IA IO AU VI   ("x" may, "-" may not)
const ROLE_TABLE = {
  'panel.self':          'x x x x x x',
  'panel.notice.view':   'x x x x x x',
  'panel.tenant.view':   'x x x x x x',
  'audit.read':          'x x x - x -',
  'panel.restore':       'x x x x - -',
  'panel.device.enroll': 'x x x x - -',
  'panel.device.manage': 'x x x - - -',
  'panel.policy.edit':   'x x x - - -',
  'panel.user.view':     'x x x - - -',
  'panel.user.manage':   'x - x - - -',
  'panel.factor.reset':  'x - x - - -',
  'panel.tenant.manage': 'x - - - - -',
  'panel.usage.all':     'x x - - - -',
  'panel.notice.manage': 'x x - - - -',
};
const ROLES = ['provider_admin', 'provider_operator', 'institution_admin', 'institution_operator', 'auditor', 'viewer'];
const allowed = (action, role) => ROLE_TABLE[action].split(' ')[ROLES.indexOf(role)] === 'x';

// One API call per action, each harmless should the server wrongly allow it. (panel.restore
// has no endpoint or affordance yet; the three everyone may do are not refused to anyone.)
const refusalProbe = {
  'audit.read': ['GET', `tenants/${TENANT}/audit`],
  'panel.device.enroll': ['POST', `tenants/${TENANT}/enroll-codes`, {device: 'role-check-pc', repo: ''}],
  'panel.device.manage': ['PUT', `tenants/${TENANT}/devices/${deviceName}`, {name: deviceName}],
  'panel.policy.edit': ['PUT', `tenants/${TENANT}/devices/${deviceName}/policy`, {}],
  'panel.user.view': ['GET', `users?tenant=${TENANT}`],
  'panel.user.manage': ['POST', 'users', {tenant: TENANT, login: 'mallory', display_name: 'x', role: 'viewer',
                                          initial_password: 'Aa1!aaaaaaaaaaaa'}],
  'panel.factor.reset': ['GET', 'factor-resets'],
  'panel.tenant.manage': ['PUT', `tenants/${TENANT}`, {display_name: TENANT_NAME}],
  'panel.usage.all': ['GET', 'usage'],
  'panel.notice.manage': ['POST', 'notices', {}],
};

const roleActors = {provider_admin: admin, institution_admin: sato};
await step('12. every role × every action: the UI shows exactly what the role may do, the API refuses the rest', async () => {
  // The four roles not yet signed in, created in the UI by the provider admin (the auditor
  // of step 2 is locked out by now, the viewer is being watched going idle).
  const fresh = [['ito', '伊藤 三郎', 'provider_operator', 'Provider#Operator-2026'],
                 ['kato', '加藤 四郎', 'institution_operator', 'Clinic#Operator-2026'],
                 ['kobayashi', '小林 五郎', 'auditor', 'Clinic#Auditor-2026'],
                 ['yamada', '山田 六子', 'viewer', 'Clinic#Viewer-2026']];
  await visit(admin, '#/staff');
  for (const [login, name, role, password] of fresh) {
    // The provider operator on the staff page, the others on the institution's Users page.
    if (!role.startsWith('provider_') && !admin.page.url().endsWith(`#/t/${TENANT}/users`)) {
      await visit(admin, `#/t/${TENANT}/users`);
    }
    const actor = await newActor(login, {login, password, role});
    actor.initial = await createUser(admin.page, login, name, role);
    roleActors[role] = actor;
  }
  // Each in its own browser context: the four first sign-ins side by side.
  await Promise.all(fresh.map(([, , role]) => firstSignIn(roleActors[role])));

  const problems = [];
  const expect = (role, what, action, shown) => {
    const want = allowed(action, role);
    if (shown !== want) problems.push(`${role}: ${what} (${action}) is ${shown ? 'shown' : 'hidden'}`);
  };
  for (const role of ROLES) {
    const actor = roleActors[role];
    const {page} = actor;
    const provider = role.startsWith('provider_');
    // Admin and sato may have gone idle meanwhile: a fresh load (signing in again if need be);
    // then from page to page within the panel, as a user follows links.
    if (actor === admin || actor === sato) await visit(actor, '#/account');
    const l = await lang(page);
    const notAllowed = t(l, 'error.not_allowed_title');
    const go = async (hash, title) => {
      await page.evaluate((hsh) => { location.hash = hsh; }, hash);
      await page.waitForFunction((names) => {
        const h1 = document.querySelector('main h1');
        return h1 && names.includes(h1.textContent) && !document.querySelector('main .loading');
      }, [title, notAllowed]);
      return (await page.locator('main h1').innerText()) === title;
    };
    const texts = async (nav) => (await nav.count()) ? nav.getByRole('link').allInnerTexts() : [];
    const has = async (key) => (await page.getByRole('button', {name: t(l, key), exact: true}).count()) > 0;

    // The session's actions are the table's row.
    const view = await page.evaluate(async () => (await (await fetch('api/auth/session')).json()));
    const want = Object.keys(ROLE_TABLE).filter((a) => allowed(a, role)).sort();
    const got = (view.actions || []).slice().sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${role}: session actions ${got}, want ${want}`);
    check(view.user && view.user.role === role, `${actor.name} signed in as ${view.user && view.user.role}`);

    // Menus: the institution's pages (tabs for the provider's staff), the provider's pages.
    // (The order of the pages below makes each differ from the one before.)
    await go(`#/t/${TENANT}/dashboard`, t(l, 'dash.title', TENANT_NAME));
    const menu = await texts(page.getByRole('navigation', {name: t(l, 'nav.label')}));
    const tenantMenu = provider ? await texts(page.getByRole('navigation', {name: t(l, 'nav.tenant_label', TENANT)})) : menu;
    expect(role, 'menu Users', 'panel.user.view', tenantMenu.includes(t(l, 'nav.users')));
    expect(role, 'menu Access records', 'audit.read', tenantMenu.includes(t(l, 'nav.audit')));
    if (provider) {
      expect(role, 'menu Usage', 'panel.usage.all', menu.includes(t(l, 'nav.usage')));
      expect(role, 'menu Notices', 'panel.notice.manage', menu.includes(t(l, 'nav.notices')));
      expect(role, 'menu Provider staff', 'panel.user.view', menu.includes(t(l, 'nav.staff')));
    } else {
      for (const key of ['nav.tenants', 'nav.usage', 'nav.notices', 'nav.staff']) {
        if (menu.includes(t(l, key))) problems.push(`${role}: provider menu entry ${key}`);
      }
    }

    // Users: the page itself, adding a user, asking for a 2-step reset of another one.
    expect(role, 'Users page', 'panel.user.view', await go(`#/t/${TENANT}/users`, t(l, 'users.title')));
    expect(role, '"Add a user"', 'panel.user.manage', await has('users.create'));
    expect(role, '2-step reset', 'panel.factor.reset', await has('user.factor_reset'));

    // Devices: add, rename, revoke; a device's backup policy: editable or read only.
    await go(`#/t/${TENANT}/devices`, t(l, 'devices.title'));
    await page.getByRole('cell', {name: deviceName, exact: true}).waitFor();
    expect(role, '"Add a device"', 'panel.device.enroll', await has('devices.enroll'));
    expect(role, 'Rename', 'panel.device.manage', await has('device.rename'));
    expect(role, 'Revoke', 'panel.device.manage', await has('device.revoke'));

    expect(role, 'Usage page', 'panel.usage.all', await go('#/usage', t(l, 'usage.title')));

    await go(`#/t/${TENANT}/devices/${deviceName}/policy`, t(l, 'policy.title', deviceName));
    expect(role, 'policy Save', 'panel.policy.edit', await has('common.save'));
    expect(role, 'policy fields editable', 'panel.policy.edit',
           !(await page.getByLabel(t(l, 'policy.targets'), {exact: true}).isDisabled()));
    expect(role, 'policy read-only note', 'panel.policy.edit', !(await page.getByText(t(l, 'policy.read_only')).count()));

    expect(role, 'Notices page', 'panel.notice.manage', await go('#/notices', t(l, 'notices.title')));
    expect(role, 'notice Publish', 'panel.notice.manage', await has('notices.publish'));

    await go('#/tenants', t(l, 'tenants.title'));
    expect(role, '"Add an institution"', 'panel.tenant.manage', await has('tenants.create'));

    // Hidden is refused: the role's cookie and CSRF token, each action it may not do.
    for (const [action, [method, apiPath, body]] of Object.entries(refusalProbe)) {
      if (allowed(action, role)) continue;
      const r = await fetchJson(page, method, apiPath, body);
      if (r.status !== 403 || !r.body || r.body.error === 'csrf') {
        problems.push(`${role}: ${method} ${apiPath} (${action}) answered ${r.status} ${JSON.stringify(r.body)}`);
      }
    }
  }
  for (const role of ROLES) {
    if (roleActors[role] !== admin && roleActors[role] !== sato) {
      problems.push(...roleActors[role].problems);
      await roleActors[role].context.close();
      pages.delete(roleActors[role].page);
    }
  }
  check(!problems.length, problems.join('\n'));
});

// 10 and 11: every main page, both languages, both sizes; axe on each.
const tenantPages = [
  ['dashboard', `#/t/${TENANT}/dashboard`, 'dash.title', TENANT_NAME],
  ['devices', `#/t/${TENANT}/devices`, 'devices.title'],
  ['policy', `#/t/${TENANT}/devices/${deviceName}/policy`, 'policy.title', deviceName],
  ['repos', `#/t/${TENANT}/repos`, 'repos.title'],
  ['snapshots', `#/t/${TENANT}/repos/main`, 'snapshots.title', 'main'],
  ['users', `#/t/${TENANT}/users`, 'users.title'],
  ['audit', `#/t/${TENANT}/audit`, 'audit.title'],
  ['account', '#/account', 'account.title'],
];
for (const [name, hash, key, ...a] of tenantPages) {
  await step(`10/11. institution page ${name}: axe and screenshots`, async () => {
    await visit(sato, hash);
    await capture(sato.page, `inst-${name}`, shellReady(sato.page, key, ...a));
  });
}
const providerPages = [
  ['tenants', '#/tenants', 'tenants.title'],
  ['usage', '#/usage', 'usage.title'],
  ['notices', '#/notices', 'notices.title'],
  ['staff', '#/staff', 'staff.title'],
  ['tenant-dashboard', `#/t/${TENANT}/dashboard`, 'dash.title', TENANT_NAME],
  ['account', '#/account', 'account.title'],
];
for (const [name, hash, key, ...a] of providerPages) {
  await step(`10/11. provider page ${name}: axe and screenshots`, async () => {
    await visit(admin, hash);
    await capture(admin.page, `prov-${name}`, shellReady(admin.page, key, ...a));
  });
}

await step('5. idle timeout: the warning, then signed out with a message', async () => {
  const r = await idleWatch;
  check(r.warned >= 30, `the warning came after ${r.warned}s`);
  check(r.ended >= 55, `signed out after ${r.ended}s`);
  check(r.status === 401, `the server still had the session: ${r.status}`);
  console.log(`     warning after ${r.warned.toFixed(0)}s, signed out after ${r.ended.toFixed(0)}s`);
});

await step('no script errors in any page', async () => {
  const all = [admin, sato, suzuki].flatMap((a) => a.problems);
  check(!all.length, all.join('\n'));
});

for (const line of axeFindings) console.log(`     axe (minor/moderate): ${line}`);
await finish();
