// pivotlog console: the API client. Fetches with the X-Auth-Token header (never in a URL),
// turns Crossbar envelopes into errors, backs off on 429, and keeps the token and the
// account in this tab's session storage only.
import { showBanner } from './dom.js';

const TOKEN_KEY = 'pivotlog.token';
const ACCOUNT_KEY = 'pivotlog.account';
export const PAGE_SIZE = 50; // listing and search pages (never above 100)

let backoffUntil = 0;
// Set by the entry module: the account being read, and what to do when the token is refused.
const hooks = { account: () => getAccount(), signedOut: () => {} };
export function configureApi({ account, signedOut }) {
  hooks.account = account;
  hooks.signedOut = signedOut;
}

// ---------- session storage ----------
export function getToken() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function getAccount() { return sessionStorage.getItem(ACCOUNT_KEY) || ''; }
export function saveSession(token, account) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(ACCOUNT_KEY, account);
}
export function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }

// ---------- errors ----------
export class ApiError extends Error {
  constructor(status, message, body, retryAfter) {
    super(message);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}
export function isAbort(e) { return e && e.name === 'AbortError'; }
/** True while a 429's Retry-After has not passed: requests fail at once. */
export function backedOff() { return Date.now() < backoffUntil; }
function envelopeMessage(status, body) {
  if (!body || typeof body !== 'object') return `HTTP ${status}`;
  const data = body.data;
  const parts = [];
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    if (typeof data.message === 'string') parts.push(data.message);
    else {
      for (const [field, codes] of Object.entries(data)) {
        if (!codes || typeof codes !== 'object') continue;
        for (const [code, det] of Object.entries(codes)) {
          const m = det && typeof det === 'object' && typeof det.message === 'string' ? det.message : code;
          parts.push(`${field}: ${m}`);
        }
      }
    }
  }
  const head = typeof body.message === 'string' ? body.message : `HTTP ${status}`;
  return parts.length ? `${head}: ${parts.join('; ')}` : head;
}

// ---------- requests ----------
function buildUrl(account, path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const q = qs.toString();
  return `/v2/accounts/${encodeURIComponent(account)}/${path}${q ? `?${q}` : ''}`;
}
/** One request with an explicit token and account (the login form checks a token with it). */
export async function rawApi(token, account, path, params, signal) {
  if (Date.now() < backoffUntil) {
    const left = Math.ceil((backoffUntil - Date.now()) / 1000);
    throw new ApiError(429, `The server is overloaded; wait ${left} s and try again.`, null, left);
  }
  let resp;
  try {
    resp = await fetch(buildUrl(account, path, params), {
      headers: { 'X-Auth-Token': token, Accept: 'application/json' },
      signal, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', redirect: 'error',
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Network error: the server could not be reached.');
  }
  let body = null;
  try { body = await resp.json(); } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    body = null;
  }
  if (resp.ok && body && body.status === 'success') return body;
  const msg = envelopeMessage(resp.status, body);
  if (resp.status === 429) {
    let ra = parseInt(resp.headers.get('Retry-After') || '', 10);
    if (!Number.isFinite(ra) || ra < 1) ra = (body && body.data && Number(body.data.retry_after)) || 5;
    ra = Math.min(Math.max(ra, 1), 300);
    backoffUntil = Date.now() + ra * 1000;
    showBanner(`The server is overloaded (${msg}). Requests paused for ${ra} s.`, 'warn', ra);
    throw new ApiError(429, `The server is overloaded: ${msg}. Try again in ${ra} s.`, body, ra);
  }
  throw new ApiError(resp.status, msg, body);
}
/** A request as the signed-in user, for the account in view; a 401 signs out. */
export async function api(path, params, signal) {
  const token = getToken();
  const account = hooks.account();
  if (!token) { hooks.signedOut('Please sign in.'); throw new ApiError(401, 'Not signed in'); }
  try {
    return await rawApi(token, account, path, params, signal);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) hooks.signedOut(`Signed out: ${e.message}`);
    else if (e instanceof ApiError && e.status === 403) e.message = `This token may not read account ${account} (${e.message}).`;
    throw e;
  }
}
