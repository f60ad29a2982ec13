// What the panel knows about the signed-in user: the session view of GET auth/session.
import {setCsrfToken} from './api.js';

export const state = {session: null};

export function setSession(view) {
  state.session = view || null;
  setCsrfToken(view ? view.csrf_token : '');
}

export function can(action) {
  const s = state.session;
  return !!(s && Array.isArray(s.actions) && s.actions.includes(action));
}

export function user() {
  return (state.session && state.session.user) || {};
}

export function isProvider() {
  return String(user().role || '').startsWith('provider_');
}

export function ownTenant() {
  return user().tenant || '';
}

// The tenant-scoped route of a page, e.g. tenantHref('sakura', 'devices').
export function tenantHref(tenant, page) {
  return `#/t/${encodeURIComponent(tenant)}/${page}`;
}
