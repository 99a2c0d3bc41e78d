// pivotlog browser console: the entry module. No framework, no build step.
// It holds the view state, routes by the URL hash, signs in and out, and handles the
// keyboard and the colour theme; each view and concern lives in its own module.
// Every piece of data from the API is inserted with textContent / createElement: never as HTML.
import { rawApi, ApiError, isAbort, configureApi, getToken, getAccount, saveSession, forgetToken } from './api.js';
import { $, clear, safeDecode, isTyping } from './dom.js';
import { viewCalls } from './calls.js';
import { viewTimeline } from './timeline.js';
import { viewSearch, viewSignatures } from './search.js';
import { viewLive } from './live.js';

const THEME_KEY = 'pivotlog.theme';
const ACCOUNT_RE = /^[0-9a-f]{32}$/;

// The view context handed to every view: the view in the page (`current`: {name, abort,
// timers, list, pageNext, pagePrev}), view states by hash key (paging stacks, pages; cleared
// on sign out), the last listing's hash (for "back"), and the routing helpers.
const app = {
  current: null,
  cache: new Map(),
  lastListHash: '',
  newView, setNav, navigate, hashFor, goBack,
  isCurrent: (view) => !!app.current && app.current.abort.signal === view.abort.signal,
};
let inAppNavigations = 0;

// ---------- routing ----------
function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const qi = raw.indexOf('?');
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const query = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  const segs = path.split('/').filter(Boolean).map(safeDecode);
  const r = { name: 'unknown', account: '', id: '', query };
  if (segs[0] === 'accounts' && segs[1]) {
    r.account = segs[1];
    if (segs[2] === 'signatures' || !segs[2]) { r.name = 'signatures'; r.bare = !segs[2]; }
    else if (segs[2] === 'calls' && segs.length === 3) r.name = 'calls';
    else if (segs[2] === 'calls' && segs.length >= 4) { r.name = 'timeline'; r.id = segs.slice(3).join('/'); } else if (segs[2] === 'search') r.name = 'search';
    else if (segs[2] === 'live') r.name = 'live';
  } else if (segs.length === 0) r.name = 'home';
  return r;
}
let routeAccount = '';
function currentAccount() { return routeAccount || getAccount(); }
function hashFor(name, account, extra, query) {
  const a = encodeURIComponent(account || currentAccount());
  let base = `#/accounts/${a}/${name}`;
  if (extra) base += `/${encodeURIComponent(extra)}`;
  const q = query ? query.toString() : '';
  return q ? `${base}?${q}` : base;
}
function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}
function leaveView() {
  if (!app.current) return;
  app.current.abort.abort();
  for (const t of app.current.timers) clearInterval(t);
  app.current = null;
}
function newView(name) {
  leaveView();
  app.current = { name, abort: new AbortController(), timers: [], list: null };
  const v = $('view');
  clear(v);
  v.hidden = false;
  $('login-view').hidden = true;
  return app.current;
}
function setNav(active) {
  $('nav').hidden = false;
  $('sign-out').hidden = false;
  const acct = currentAccount();
  const al = $('account-label');
  al.hidden = false;
  al.textContent = `account ${acct}`;
  const last = app.lastListHash || '';
  $('nav-signatures').setAttribute('href', last.includes(`/accounts/${acct}/signatures`) ? last : hashFor('signatures', acct));
  $('nav-calls').setAttribute('href', last.includes(`/accounts/${acct}/calls`) ? last : hashFor('calls', acct));
  $('nav-search').setAttribute('href', hashFor('search', acct));
  $('nav-live').setAttribute('href', hashFor('live', acct));
  for (const [id, n] of [['nav-signatures', 'signatures'], ['nav-calls', 'calls'], ['nav-search', 'search'], ['nav-live', 'live']]) {
    const a = $(id);
    if (n === active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}
function route() {
  const r = parseHash();
  if (!getToken()) { showLogin(r.account && ACCOUNT_RE.test(r.account) ? r.account : getAccount(), ''); return; }
  if (r.name === 'home' || r.name === 'unknown' || !ACCOUNT_RE.test(r.account)) {
    const a = ACCOUNT_RE.test(r.account) ? r.account : getAccount();
    location.replace(hashFor('signatures', a));
    return;
  }
  if (r.bare) { location.replace(hashFor('signatures', r.account, null, r.query)); return; } // the landing view
  routeAccount = r.account;
  if (r.name === 'signatures') viewSignatures(r, app);
  else if (r.name === 'calls') viewCalls(r, app);
  else if (r.name === 'timeline') viewTimeline(r, app);
  else if (r.name === 'search') viewSearch(r, app);
  else if (r.name === 'live') viewLive(r, app);
}

// ---------- login ----------
function decodeJwtAccount(token) {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return '';
  try {
    let b = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    while (b.length % 4) b += '=';
    const bin = atob(b);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    const a = payload && typeof payload.account_id === 'string' ? payload.account_id : '';
    return ACCOUNT_RE.test(a) ? a : '';
  } catch { return ''; }
}
function showLogin(account, message) {
  leaveView();
  $('view').hidden = true;
  clear($('view'));
  $('nav').hidden = true;
  $('sign-out').hidden = true;
  $('account-label').hidden = true;
  $('login-view').hidden = false;
  const acc = $('login-account');
  if (account && !acc.value) acc.value = account;
  const err = $('login-error');
  err.textContent = message || '';
  err.hidden = !message;
  $('login-token').focus();
}
function toLogin(message) {
  forgetToken();
  app.cache.clear();
  showLogin(currentAccount(), message);
}
async function onLogin(ev) {
  ev.preventDefault();
  const token = $('login-token').value.trim();
  const account = $('login-account').value.trim().toLowerCase();
  const err = $('login-error');
  const fail = (m) => { err.textContent = m; err.hidden = false; };
  if (!token) { fail('Enter a token.'); return; }
  if (!ACCOUNT_RE.test(account)) { fail('The account id is 32 lowercase hexadecimal characters.'); return; }
  const btn = $('login-submit');
  btn.disabled = true;
  err.hidden = true;
  try {
    await rawApi(token, account, 'pivot/debug', { page_size: 1 });
  } catch (e) {
    btn.disabled = false;
    if (e.status === 401) fail(`The token was refused: ${e.message}`);
    else if (e.status === 403) fail(`This token may not read account ${account}.`);
    else fail(e.message || String(e));
    return;
  }
  btn.disabled = false;
  saveSession(token, account);
  $('login-token').value = '';
  err.hidden = true;
  const r = parseHash();
  if (r.account === account && r.name !== 'home' && r.name !== 'unknown') route();
  else navigate(hashFor('signatures', account));
}
function onSignOut() {
  forgetToken();
  app.cache.clear();
  app.lastListHash = '';
  showLogin(currentAccount(), 'Signed out.');
}

function goBack() {
  if (inAppNavigations > 0) history.back();
  else navigate(app.lastListHash || hashFor('signatures', currentAccount()));
}

// ---------- theme ----------
function applyTheme() {
  const t = sessionStorage.getItem(THEME_KEY) || 'auto';
  if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
  else document.documentElement.removeAttribute('data-theme');
  $('theme-toggle').textContent = `Theme: ${t}`;
}
function cycleTheme() {
  const order = ['auto', 'light', 'dark'];
  const t = sessionStorage.getItem(THEME_KEY) || 'auto';
  sessionStorage.setItem(THEME_KEY, order[(order.indexOf(t) + 1) % order.length]);
  applyTheme();
}

// ---------- keyboard ----------
function onKey(ev) {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (isTyping(t)) {
    if (ev.key === 'Escape' && t.blur) t.blur();
    return;
  }
  if (!getToken() || !app.current) return;
  const list = app.current.list;
  switch (ev.key) {
    case '/':
      ev.preventDefault();
      if (app.current.name === 'search') { const i = $('search-q'); if (i) { i.focus(); i.select(); } } else {
        const nq = new URLSearchParams();
        nq.set('focus', '1');
        navigate(hashFor('search', currentAccount(), null, nq));
      }
      break;
    case 'j': case 'ArrowDown':
      if (list && list.items.length) { ev.preventDefault(); list.select(list.sel + 1, true); }
      break;
    case 'k': case 'ArrowUp':
      if (list && list.items.length) { ev.preventDefault(); list.select(list.sel < 0 ? 0 : list.sel - 1, true); }
      break;
    case 'Enter':
      if (list && list.sel >= 0 && (t === document.body || t === list.items[list.sel] || t.id === 'view')) {
        const a = list.items[list.sel].querySelector('a');
        if (a) { ev.preventDefault(); navigate(a.getAttribute('href')); }
      }
      break;
    case 'n': if (app.current.pageNext) { ev.preventDefault(); app.current.pageNext(); } break;
    case 'p': if (app.current.pagePrev) { ev.preventDefault(); app.current.pagePrev(); } break;
    case 'Escape':
      if (app.current.name === 'timeline') { ev.preventDefault(); goBack(); }
      break;
    default: break;
  }
}

// ---------- start ----------
function start() {
  configureApi({ account: currentAccount, signedOut: toLogin });
  applyTheme();
  $('theme-toggle').addEventListener('click', cycleTheme);
  $('sign-out').addEventListener('click', onSignOut);
  $('login-form').addEventListener('submit', onLogin);
  $('login-token').addEventListener('input', () => {
    const a = decodeJwtAccount($('login-token').value);
    const hint = $('login-hint');
    if (a) {
      hint.textContent = `The JWT names account ${a} (not verified here; the server checks it).`;
      if (!$('login-account').value) $('login-account').value = a;
    } else hint.textContent = '';
  });
  window.addEventListener('hashchange', () => { inAppNavigations++; route(); });
  document.addEventListener('keydown', onKey);
  window.addEventListener('unhandledrejection', (ev) => {
    if (isAbort(ev.reason) || ev.reason instanceof ApiError) ev.preventDefault();
  });
  route();
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
