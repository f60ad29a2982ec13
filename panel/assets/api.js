// JSON calls to /panel/api/. State-changing calls carry Content-Type: application/json and the
// session's CSRF token (docs/panel-api.md, "Sessions and CSRF").

let csrfToken = '';
let onSessionLost = () => {};
let onActivity = () => {};

export function setCsrfToken(token) {
  csrfToken = token || '';
}

// `lost(errorKey)`: the server has no live session (401 session.*) or the session is in a
// sign-in stage (403 stage.*). `activity()`: any answer from the server touched the session.
export function setHandlers({lost, activity}) {
  if (lost) onSessionLost = lost;
  if (activity) onActivity = activity;
}

export class ApiError extends Error {
  constructor(status, body) {
    const key = body && typeof body.error === 'string' ? body.error : '';
    super(key || `HTTP ${status}`);
    this.status = status;
    this.key = key;
    this.args = Array.isArray(body && body.args) ? body.args : [];
    this.problems = Array.isArray(body && body.problems) ? body.problems : [];
    this.problemArgs = Array.isArray(body && body.problem_args) ? body.problem_args : [];
    // The server's own words (English, for administrators), beside the catalog text.
    this.detail = body && typeof body.message === 'string' ? body.message : '';
  }
}

export async function api(method, path, body) {
  const init = {method, credentials: 'same-origin', cache: 'no-store', headers: {Accept: 'application/json'}};
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['Content-Type'] = 'application/json';
    if (csrfToken) init.headers['X-CSRF-Token'] = csrfToken;
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  let res;
  try {
    res = await fetch(`api/${path}`, init);
  } catch {
    throw new ApiError(0, {error: 'net.failed'});
  }
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  if (res.ok) {
    onActivity();
    return data;
  }
  const err = new ApiError(res.status, data);
  if ((res.status === 401 && err.key.startsWith('session.')) ||
      (res.status === 403 && err.key.startsWith('stage.'))) {
    onSessionLost(err.key);
  }
  throw err;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

export function enc(part) {
  return encodeURIComponent(part);
}
