// WebAuthn in JSON: the server sends the options with binary fields in base64url and wants the
// credential back the same way.

export function available() {
  return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

export function fromB64url(text) {
  const b64 = String(text).replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const bin = atob(padded);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

export function toB64url(buffer) {
  if (!buffer) return null;
  const bytes = new Uint8Array(buffer);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeCreation(pk) {
  const o = {...pk, challenge: fromB64url(pk.challenge)};
  if (pk.user) o.user = {...pk.user, id: fromB64url(pk.user.id)};
  if (pk.excludeCredentials) {
    o.excludeCredentials = pk.excludeCredentials.map((c) => ({...c, id: fromB64url(c.id)}));
  }
  return o;
}

function decodeRequest(pk) {
  const o = {...pk, challenge: fromB64url(pk.challenge)};
  if (pk.allowCredentials) {
    o.allowCredentials = pk.allowCredentials.map((c) => ({...c, id: fromB64url(c.id)}));
  }
  return o;
}

// A credential as the server takes it: its ids, and the named members of its response as
// base64url.
function credentialJson(cred, members) {
  const response = {};
  for (const m of members) response[m] = toB64url(cred.response[m]);
  return {id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response};
}

// navigator.credentials.get with the options of auth/webauthn/begin → the body of
// auth/webauthn/finish.
export async function getAssertion(publicKey) {
  const cred = await navigator.credentials.get({publicKey: decodeRequest(publicKey)});
  return credentialJson(cred, ['clientDataJSON', 'authenticatorData', 'signature', 'userHandle']);
}

// navigator.credentials.create with the options of me/webauthn/begin → the credential part of
// the body of me/webauthn/finish.
export async function createCredential(publicKey) {
  const cred = await navigator.credentials.create({publicKey: decodeCreation(publicKey)});
  return credentialJson(cred, ['clientDataJSON', 'attestationObject']);
}
