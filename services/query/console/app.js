'use strict';
// pivotlog browser console. One file, no framework, no build step.
// Every piece of data from the API is inserted with textContent / createElement: never as HTML.
(() => {
  const TOKEN_KEY = 'pivotlog.token';
  const ACCOUNT_KEY = 'pivotlog.account';
  const THEME_KEY = 'pivotlog.theme';
  const GREG = 62167219200; // Unix seconds + GREG = Gregorian seconds
  const PAGE_SIZE = 50; // listing and search pages (never above 100)
  const FILTER_PAGE_SIZE = 100; // search-backed status filter: hits per page, grouped by call
  const DETAIL_PAGE_SIZE = 100; // records of one call per request
  const SHOW_LIMIT = 65536; // characters of a body shown before "show all"
  const PRETTY_LIMIT = 512 * 1024; // pretty-print JSON/XML only below this
  const RENDER_LIMIT = 2 * 1024 * 1024; // most HTML handed to the sandboxed frame
  const MAX_RANGE = 2682000; // the API's widest created_from..created_to
  const AUTO_REFRESH_MS = 5000;
  const HL_PRE = '\u0001';
  const HL_POST = '\u0002';
  const RANGES = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '31d': MAX_RANGE };
  const RANGE_LABELS = { '1h': 'Last 1 h', '24h': 'Last 24 h', '7d': 'Last 7 d', '31d': 'Last 31 d', custom: 'Custom…' };
  const STATUS_FILTERS = {
    '': { label: 'Any status' },
    '2xx': { label: '2xx responses', q: 'status_code:[200 TO 299]' },
    '3xx': { label: '3xx responses', q: 'status_code:[300 TO 399]' },
    '4xx': { label: '4xx responses', q: 'status_code:[400 TO 499]' },
    '5xx': { label: '5xx responses', q: 'status_code:[500 TO 599]' },
    ge400: { label: 'Any response ≥ 400', q: 'status_code:>=400' },
    errors: { label: 'JSON or schema errors', q: 'kind:json_error OR kind:schema_error' },
  };
  const CLASSES = ['2xx', '3xx', '4xx', '5xx', 'none'];
  const CLASS_QUERY = {
    '2xx': 'status_code:[200 TO 299]', '3xx': 'status_code:[300 TO 399]',
    '4xx': 'status_code:[400 TO 499]', '5xx': 'status_code:[500 TO 599]',
  };
  const EXAMPLES = ['status_code:>=500', 'ECONNREFUSED', '"404 Not Found"', 'kind:json_error',
    'timeout AND NOT status_code:200', 'method:post', '*'];

  const $ = (id) => document.getElementById(id);
  const cache = new Map(); // view states by hash key (paging stacks, pages), cleared on sign out
  let current = null; // {name, abort, timers, list}
  let inAppNavigations = 0;
  let backoffUntil = 0;
  let bannerTimer = 0;
  let lastListHash = '';

  // ---------- small helpers ----------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = String(v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }
  const SVGNS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') el.textContent = String(v); else el.setAttribute(k, String(v));
    }
    for (const c of children) if (c) el.append(c);
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function nowG() { return Math.floor(Date.now() / 1000) + GREG; }
  function gToDate(g) { return new Date((Number(g) - GREG) * 1000); }
  const pad2 = (n) => String(n).padStart(2, '0');
  function fmtTime(g) {
    if (g === undefined || g === null || !Number.isFinite(Number(g))) return '';
    const d = gToDate(g);
    if (Number.isNaN(d.getTime())) return String(g);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }
  function isoTime(g) { const d = gToDate(g); return Number.isNaN(d.getTime()) ? '' : d.toISOString(); }
  function timeEl(g) { return h('time', { datetime: isoTime(g), title: isoTime(g) + ' (UTC)', text: fmtTime(g) }); }
  function utf8Len(str) {
    let n = 0;
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
    }
    return n;
  }
  function fmtBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  }
  function statusClass(code) {
    const n = parseInt(code, 10);
    if (!Number.isFinite(n)) return 'none';
    if (n >= 200 && n < 600) return `${Math.floor(n / 100)}xx`;
    return 'none';
  }
  function statusBadge(code, testId) {
    const text = code === undefined || code === null || code === '' ? '—' : String(code);
    return h('span', { class: `status s${statusClass(code)}`, 'data-test': testId || null, text });
  }
  function safeDecode(x) { try { return decodeURIComponent(x); } catch { return x; } }
  function isTyping(el) {
    if (!el) return false;
    const t = el.tagName;
    return t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT' || el.isContentEditable;
  }
  function getToken() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
  function getAccount() { return sessionStorage.getItem(ACCOUNT_KEY) || ''; }
  const ACCOUNT_RE = /^[0-9a-f]{32}$/;

  // ---------- banner ----------
  function showBanner(msg, kind, seconds) {
    const b = $('banner');
    b.textContent = msg;
    b.className = `banner ${kind || ''}`;
    b.hidden = false;
    clearTimeout(bannerTimer);
    if (seconds) bannerTimer = setTimeout(() => { b.hidden = true; }, seconds * 1000);
  }

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, message, body, retryAfter) {
      super(message);
      this.status = status;
      this.body = body;
      this.retryAfter = retryAfter;
    }
  }
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
  function buildUrl(account, path, params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    }
    const q = qs.toString();
    return `/v2/accounts/${encodeURIComponent(account)}/${path}${q ? `?${q}` : ''}`;
  }
  async function rawApi(token, account, path, params, signal) {
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
  async function api(path, params, signal) {
    const token = getToken();
    const account = currentAccount();
    if (!token) { toLogin('Please sign in.'); throw new ApiError(401, 'Not signed in'); }
    try {
      return await rawApi(token, account, path, params, signal);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) toLogin(`Signed out: ${e.message}`);
      else if (e instanceof ApiError && e.status === 403) e.message = `This token may not read account ${account} (${e.message}).`;
      throw e;
    }
  }
  function isAbort(e) { return e && e.name === 'AbortError'; }
  function errorBox(e) {
    return h('p', { class: 'error', role: 'alert', 'data-test': 'error', text: e && e.message ? e.message : String(e) });
  }

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
      if (segs[2] === 'calls' && segs.length === 3) r.name = 'calls';
      else if (segs[2] === 'calls' && segs.length >= 4) { r.name = 'timeline'; r.id = segs.slice(3).join('/'); } else if (segs[2] === 'search') r.name = 'search';
      else if (!segs[2]) r.name = 'calls';
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
    if (!current) return;
    current.abort.abort();
    for (const t of current.timers) clearInterval(t);
    current = null;
  }
  function newView(name) {
    leaveView();
    current = { name, abort: new AbortController(), timers: [], list: null };
    const v = $('view');
    clear(v);
    v.hidden = false;
    $('login-view').hidden = true;
    return current;
  }
  function setNav(active) {
    $('nav').hidden = false;
    $('sign-out').hidden = false;
    const acct = currentAccount();
    const al = $('account-label');
    al.hidden = false;
    al.textContent = `account ${acct}`;
    $('nav-calls').setAttribute('href', lastListHash && lastListHash.includes(`/accounts/${acct}/`) ? lastListHash : hashFor('calls', acct));
    $('nav-search').setAttribute('href', hashFor('search', acct));
    for (const [id, n] of [['nav-calls', 'calls'], ['nav-search', 'search']]) {
      const a = $(id);
      if (n === active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
  }
  function route() {
    const r = parseHash();
    if (!getToken()) { showLogin(r.account && ACCOUNT_RE.test(r.account) ? r.account : getAccount(), ''); return; }
    if (r.name === 'home' || r.name === 'unknown' || !ACCOUNT_RE.test(r.account)) {
      const a = ACCOUNT_RE.test(r.account) ? r.account : getAccount();
      location.replace(hashFor('calls', a));
      return;
    }
    routeAccount = r.account;
    if (r.name === 'calls') viewCalls(r);
    else if (r.name === 'timeline') viewTimeline(r);
    else if (r.name === 'search') viewSearch(r);
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
    sessionStorage.removeItem(TOKEN_KEY);
    cache.clear();
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
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ACCOUNT_KEY, account);
    $('login-token').value = '';
    err.hidden = true;
    const r = parseHash();
    if (r.account === account && r.name !== 'home' && r.name !== 'unknown') route();
    else navigate(hashFor('calls', account));
  }
  function onSignOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    cache.clear();
    lastListHash = '';
    showLogin(currentAccount(), 'Signed out.');
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

  // ---------- time range ----------
  function rangeFromQuery(q) {
    const r = q.get('range') || '31d';
    if (r === 'custom') {
      const from = parseInt(q.get('from') || '', 10);
      const to = parseInt(q.get('to') || '', 10);
      if (Number.isFinite(from) && Number.isFinite(to)) return { kind: 'custom', from, to };
      return { kind: '31d' };
    }
    return { kind: RANGES[r] ? r : '31d' };
  }
  function resolveRange(range, now) {
    if (range.kind === 'custom') return { from: range.from, to: range.to };
    return { from: now - RANGES[range.kind], to: now };
  }
  function rangeToQuery(range, q) {
    q.delete('range'); q.delete('from'); q.delete('to');
    if (range.kind !== '31d') q.set('range', range.kind);
    if (range.kind === 'custom') { q.set('from', String(range.from)); q.set('to', String(range.to)); }
  }
  function gToLocalInput(g) {
    const d = gToDate(g);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  }
  function localInputToG(v) {
    const t = new Date(v).getTime();
    return Number.isFinite(t) ? Math.floor(t / 1000) + GREG : NaN;
  }
  function rangePicker(range, onChange) {
    const sel = h('select', { id: 'range-select', 'data-test': 'range-select', 'aria-label': 'Time range' },
      Object.entries(RANGE_LABELS).map(([k, label]) => h('option', { value: k, selected: k === range.kind, text: label })));
    const now = nowG();
    const cur = resolveRange(range.kind === 'custom' ? range : { kind: '24h' }, now);
    const from = h('input', { type: 'datetime-local', id: 'range-from', 'data-test': 'range-from', 'aria-label': 'From (local time)', value: gToLocalInput(cur.from) });
    const to = h('input', { type: 'datetime-local', id: 'range-to', 'data-test': 'range-to', 'aria-label': 'To (local time)', value: gToLocalInput(cur.to) });
    const msg = h('span', { class: 'error small', role: 'alert' });
    const apply = h('button', {
      type: 'button', class: 'btn', 'data-test': 'range-apply', text: 'Apply',
      onclick: () => {
        const f = localInputToG(from.value);
        const t = localInputToG(to.value) + 59;
        if (!Number.isFinite(f) || !Number.isFinite(t)) { msg.textContent = 'Enter both times.'; return; }
        if (f > t) { msg.textContent = '“From” is after “to”.'; return; }
        if (t - f > MAX_RANGE) { msg.textContent = 'At most 31 days (and an hour) at once.'; return; }
        onChange({ kind: 'custom', from: f, to: t });
      },
    });
    const custom = h('span', { class: 'custom-range' }, h('label', { class: 'small' }, 'from ', from), h('label', { class: 'small' }, ' to ', to), apply, msg);
    custom.hidden = sel.value !== 'custom';
    sel.addEventListener('change', () => {
      if (sel.value === 'custom') { custom.hidden = false; from.focus(); } else onChange({ kind: sel.value });
    });
    return h('span', { class: 'range-picker' }, h('label', { for: 'range-select', class: 'small' }, 'Time '), sel, custom);
  }
  function pickInterval(seconds) {
    const c = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];
    for (const iv of c) if (seconds / iv <= 150) return iv;
    return 604800;
  }
  function intervalParam(iv) {
    if (iv % 86400 === 0) return `${iv / 86400}d`;
    if (iv % 3600 === 0) return `${iv / 3600}h`;
    if (iv % 60 === 0) return `${iv / 60}m`;
    return `${iv}s`;
  }

  // ---------- keyboard list navigation ----------
  function makeList(items, onOpen) {
    // items: array of row elements, each holding a link to open
    const list = { items, sel: -1, onOpen };
    list.select = (i, focus) => {
      if (!items.length) return;
      i = Math.max(0, Math.min(items.length - 1, i));
      if (list.sel >= 0 && items[list.sel]) { items[list.sel].classList.remove('selected'); items[list.sel].removeAttribute('aria-selected'); }
      list.sel = i;
      const el = items[i];
      el.classList.add('selected');
      el.setAttribute('aria-selected', 'true');
      if (focus) {
        const a = el.querySelector('a');
        (a || el).focus({ preventScroll: true });
        el.scrollIntoView({ block: 'nearest' });
      }
    };
    items.forEach((el, i) => el.addEventListener('focusin', () => list.select(i, false)));
    return list;
  }

  // ---------- Calls ----------
  function viewCalls(r) {
    const view = newView('calls');
    setNav('calls');
    const key = `calls|${r.account}|${r.query.toString()}`;
    lastListHash = location.hash;
    let st = cache.get(key);
    if (!st) {
      st = { range: rangeFromQuery(r.query), status: STATUS_FILTERS[r.query.get('status') || ''] ? (r.query.get('status') || '') : '', stack: [], page: null, now: nowG(), auto: false, loading: false };
      cache.set(key, st);
    }
    const root = $('view');
    const changeQuery = (fn) => {
      const q = new URLSearchParams(r.query);
      fn(q);
      navigate(hashFor('calls', r.account, null, q));
    };
    const statusSel = h('select', { id: 'status-filter', 'data-test': 'status-filter', 'aria-label': 'Status filter' },
      Object.entries(STATUS_FILTERS).map(([k, f]) => h('option', { value: k, selected: k === st.status, text: f.label })));
    statusSel.addEventListener('change', () => changeQuery((q) => { if (statusSel.value) q.set('status', statusSel.value); else q.delete('status'); }));
    const auto = h('input', { type: 'checkbox', id: 'auto-refresh', 'data-test': 'auto-refresh', checked: st.auto });
    const refresh = h('button', { type: 'button', class: 'btn', 'data-test': 'refresh', text: 'Refresh' });
    const prev = h('button', { type: 'button', class: 'btn', id: 'prev-page', 'data-test': 'prev-page', text: '← Newer' });
    const next = h('button', { type: 'button', class: 'btn', id: 'next-page', 'data-test': 'next-page', text: 'Older →' });
    const info = h('span', { id: 'page-info', class: 'muted small', 'data-test': 'page-info', 'aria-live': 'polite' });
    const note = h('p', { class: 'muted small', 'data-test': 'filter-note' });
    const status = h('div', { 'data-test': 'calls-status' });
    const tableWrap = h('div', { class: 'table-wrap' });
    root.append(
      h('div', { class: 'toolbar' },
        h('h1', { text: 'Calls' }),
        rangePicker(st.range, (range) => changeQuery((q) => rangeToQuery(range, q))),
        h('label', { for: 'status-filter', class: 'small' }, 'Status '), statusSel,
        h('label', { class: 'small check' }, auto, ' Auto-refresh (5 s, first page)'),
        refresh),
      note, status, tableWrap,
      h('div', { class: 'pager' }, prev, info, next));
    if (st.status) {
      note.textContent = `Filtered by search (${STATUS_FILTERS[st.status].q}): calls with a matching record in the range, newest matching record first, ${FILTER_PAGE_SIZE} records per page grouped by call (a call can show on two pages). Without a filter the listing shows one row per call.`;
    } else note.hidden = true;

    const render = () => {
      clear(tableWrap);
      const p = st.page;
      prev.disabled = st.stack.length === 0 || st.loading;
      next.disabled = !p || !p.next || st.loading;
      auto.disabled = false;
      info.textContent = p ? `Page ${st.stack.length + 1} · ${p.rows.length} call${p.rows.length === 1 ? '' : 's'}${p.total !== undefined ? ` · ${p.total} matching records` : ''}${st.stack.length ? ' · auto-refresh only on page 1' : ''}` : '';
      if (!p) return;
      if (p.partial) status.append(h('p', { class: 'warn-text small', text: 'Partial answer: some partitions did not answer.' }));
      if (!p.rows.length) { tableWrap.append(h('p', { class: 'muted', 'data-test': 'empty', text: 'No calls in this range.' })); return; }
      const head = st.status
        ? ['Matched at', 'Call id', 'Status', 'Iteration', 'Matches', 'Request URI']
        : ['Started', 'Call id', 'First', 'Last', 'Iter.', 'Rec.', 'Errors', 'Request URI'];
      const rows = p.rows.map((c) => {
        const link = h('a', { href: hashFor('calls', r.account, c.debug_id), class: 'call-link', text: c.call_id || c.debug_id });
        const cells = st.status
          ? [timeEl(c.created), link, statusBadge(c.status_code), String(c.iteration ?? ''), String(c.hits), h('span', { class: 'uri', title: c.uri || '', text: c.uri || '' })]
          : [timeEl(c.created), link, statusBadge(c.status_code), statusBadge(c.last_status_code),
            String(c.iterations ?? ''), String(c.records ?? ''),
            h('span', {}, c.has_json_errors ? h('span', { class: 'flag', title: 'JSON errors', text: 'JSON' }) : null,
              c.has_schema_errors ? h('span', { class: 'flag', title: 'Schema errors', text: 'schema' }) : null),
            h('span', { class: 'uri', title: c.uri || '', text: c.uri || '' })];
        return h('tr', { 'data-test': 'call-row', 'data-debug-id': c.debug_id }, cells.map((x) => h('td', {}, x)));
      });
      rows.forEach((tr) => tr.addEventListener('click', (ev) => {
        if (ev.target.closest('a')) return;
        const a = tr.querySelector('a');
        if (a) navigate(a.getAttribute('href'));
      }));
      tableWrap.append(h('table', { id: 'calls-table', class: 'list', 'data-test': 'calls-table' },
        h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows)));
      current.list = makeList(rows);
    };

    const load = async (startKey, opts) => {
      const quiet = opts && opts.quiet;
      if (st.loading) return;
      st.loading = true;
      if (!quiet) { clear(status); status.append(h('p', { class: 'muted small', 'data-test': 'loading', text: 'Loading…' })); }
      prev.disabled = true; next.disabled = true;
      const { from, to } = resolveRange(st.range, st.now);
      try {
        let page;
        if (!st.status) {
          const d = await api('pivot/debug', { page_size: PAGE_SIZE, start_key: startKey, created_from: from, created_to: to }, view.abort.signal);
          page = { rows: Array.isArray(d.data) ? d.data : [], next: d.next_start_key, startKey, partial: d.partial };
        } else {
          const d = await api('pivot/search', { q: STATUS_FILTERS[st.status].q, page_size: FILTER_PAGE_SIZE, start_key: startKey, created_from: from, created_to: to, sort: 'newest', snippet_chars: 0 }, view.abort.signal);
          const by = new Map();
          for (const hit of Array.isArray(d.data) ? d.data : []) {
            const k = hit.debug_id;
            if (!by.has(k)) by.set(k, { debug_id: k, call_id: hit.call_id, created: hit.created, status_code: hit.status_code, iteration: hit.iteration, uri: hit.uri, hits: 0 });
            by.get(k).hits++;
          }
          page = { rows: [...by.values()], next: d.next_start_key, startKey, total: d.total_hits, partial: d.partial };
        }
        st.page = page;
        st.loading = false;
        if (current && current.abort.signal === view.abort.signal) {
          const keepSel = quiet && current.list ? current.list.sel : -1;
          const hadFocus = tableWrap.contains(document.activeElement);
          clear(status);
          render();
          if (keepSel >= 0 && current.list) current.list.select(keepSel, hadFocus);
        }
      } catch (e) {
        st.loading = false;
        if (isAbort(e) || !current || current.abort.signal !== view.abort.signal) return;
        clear(status);
        status.append(errorBox(e));
        render();
      }
    };
    const goNext = async () => {
      if (!st.page || !st.page.next || st.loading) return;
      const prevPage = st.page;
      st.stack.push(st.page.startKey ?? null);
      await load(st.page.next);
      if (st.page === prevPage) st.stack.pop();
      else if (current && current.list) current.list.select(0, true);
    };
    const goPrev = async () => {
      if (!st.stack.length || st.loading) return;
      const k = st.stack.pop();
      const prevPage = st.page;
      await load(k);
      if (st.page === prevPage) st.stack.push(k);
      else if (current && current.list) current.list.select(0, true);
    };
    next.addEventListener('click', goNext);
    prev.addEventListener('click', goPrev);
    refresh.addEventListener('click', () => {
      if (st.range.kind !== 'custom') st.now = nowG();
      load(st.page ? st.page.startKey : null);
    });
    auto.addEventListener('change', () => { st.auto = auto.checked; });
    view.timers.push(setInterval(() => {
      if (!st.auto || st.stack.length || st.loading || document.visibilityState !== 'visible' || Date.now() < backoffUntil) return;
      if (st.range.kind !== 'custom') st.now = nowG();
      load(null, { quiet: true });
    }, AUTO_REFRESH_MS));
    view.pageNext = goNext;
    view.pagePrev = goPrev;
    if (st.page) render(); else load(null);
  }

  // ---------- bodies ----------
  function detectKind(text, contentType) {
    const ct = (contentType || '').toLowerCase();
    const head = text.slice(0, 512).trimStart();
    if (ct.includes('html') || /^(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(head)) return 'html';
    if (ct.includes('json') || head.startsWith('{') || head.startsWith('[')) {
      if (text.length <= PRETTY_LIMIT) { try { JSON.parse(text); return 'json'; } catch { return ct.includes('json') ? 'invalid-json' : 'text'; } }
      return 'json-large';
    }
    if (ct.includes('xml') || head.startsWith('<?xml') || /^<Response[\s>]/.test(head)) return 'xml';
    return 'text';
  }
  function reindentJson(text) {
    const out = [];
    let depth = 0;
    let i = 0;
    const n = text.length;
    const nl = () => '\n' + '  '.repeat(depth);
    while (i < n) {
      const c = text[i];
      if (c === '"') {
        let j = i + 1;
        while (j < n) {
          const d = text[j];
          if (d === '\\') j += 2;
          else if (d === '"') break;
          else j++;
        }
        out.push(text.slice(i, j + 1));
        i = j + 1;
        continue;
      }
      if (c === '{' || c === '[') {
        let j = i + 1;
        while (j < n && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t')) j++;
        if (text[j] === (c === '{' ? '}' : ']')) { out.push(c, text[j]); i = j + 1; continue; }
        depth++;
        out.push(c, nl());
      } else if (c === '}' || c === ']') { depth = Math.max(0, depth - 1); out.push(nl(), c); } else if (c === ',') out.push(',', nl());
      else if (c === ':') out.push(': ');
      else if (c === ' ' || c === '\n' || c === '\r' || c === '\t') { /* skip */ } else {
        let j = i + 1;
        while (j < n && !'{}[],:" \n\r\t'.includes(text[j])) j++;
        out.push(text.slice(i, j));
        i = j;
        continue;
      }
      i++;
    }
    return out.join('');
  }
  function prettyXml(text) {
    const tokens = text.split(/(<[^>]*>)/).map((t) => t.trim()).filter(Boolean);
    const lines = [];
    let depth = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      const ind = '  '.repeat(depth);
      if (t.startsWith('</')) { depth = Math.max(0, depth - 1); lines.push('  '.repeat(depth) + t); } else if (t.startsWith('<?') || t.startsWith('<!') || t.endsWith('/>')) lines.push(ind + t);
      else if (t.startsWith('<')) {
        if (tokens[i + 1] !== undefined && !tokens[i + 1].startsWith('<') && tokens[i + 2] !== undefined && tokens[i + 2].startsWith('</')) {
          lines.push(ind + t + tokens[i + 1] + tokens[i + 2]);
          i += 2;
        } else { lines.push(ind + t); depth++; }
      } else lines.push(ind + t);
    }
    return lines.join('\n');
  }
  function renderFrame(text) {
    const f = document.createElement('iframe');
    f.setAttribute('sandbox', ''); // no allow-scripts, no allow-same-origin: nothing in it can run
    f.setAttribute('referrerpolicy', 'no-referrer');
    f.setAttribute('data-test', 'html-frame');
    f.setAttribute('title', 'Rendered response body (sandboxed: no scripts, no network)');
    f.className = 'html-frame';
    // The meta policy stops the frame loading anything (images, styles) from anywhere.
    const csp = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">';
    f.srcdoc = csp + text.slice(0, RENDER_LIMIT);
    return f;
  }
  function bodyView(body, contentType, label) {
    const text = typeof body === 'string' ? body : (body === undefined || body === null ? '' : JSON.stringify(body));
    const wrap = h('div', { class: 'body', 'data-test': 'body' });
    if (label) wrap.append(h('div', { class: 'body-label small muted', text: label }));
    if (!text) { wrap.append(h('p', { class: 'muted small', 'data-test': 'body-empty', text: '(empty body)' })); return wrap; }
    const kind = detectKind(text, contentType);
    const bytes = text.length > 8 * 1024 * 1024 ? text.length : utf8Len(text);
    let pretty = null;
    if (kind === 'json') pretty = reindentJson(text);
    else if (kind === 'xml' && text.length <= PRETTY_LIMIT) pretty = prettyXml(text);
    let mode = pretty ? 'pretty' : 'raw';
    let showAll = false;
    const pre = h('pre', { class: 'code', 'data-test': 'body-text', tabindex: '0' });
    const note = h('div', { class: 'body-note small' });
    const bar = h('div', { class: 'body-bar' });
    const kindLabel = { json: 'JSON', 'json-large': `JSON (over ${fmtBytes(PRETTY_LIMIT)}: not pretty-printed)`, 'invalid-json': 'invalid JSON', xml: 'XML', html: 'HTML source', text: 'text' }[kind];
    bar.append(h('span', { class: 'muted small', text: `${kindLabel} · ${fmtBytes(bytes)}` }));
    if (pretty) {
      const tog = h('button', { type: 'button', class: 'btn small', 'data-test': 'toggle-pretty', text: 'Raw' });
      tog.addEventListener('click', () => { mode = mode === 'pretty' ? 'raw' : 'pretty'; tog.textContent = mode === 'pretty' ? 'Raw' : 'Pretty'; paint(); });
      bar.append(tog);
    }
    let frameHolder = null;
    if (kind === 'html') {
      frameHolder = h('div', { class: 'frame-holder' });
      const rb = h('button', { type: 'button', class: 'btn small', 'data-test': 'render-html', text: 'Render in sandboxed frame' });
      rb.addEventListener('click', () => {
        if (frameHolder.firstChild) { clear(frameHolder); rb.textContent = 'Render in sandboxed frame'; return; }
        frameHolder.append(renderFrame(text));
        if (text.length > RENDER_LIMIT) frameHolder.append(h('p', { class: 'muted small', text: `Only the first ${fmtBytes(RENDER_LIMIT)} are rendered.` }));
        rb.textContent = 'Hide rendering';
      });
      bar.append(rb);
    }
    const paint = () => {
      const src = mode === 'pretty' ? pretty : text;
      clear(note);
      if (!showAll && src.length > SHOW_LIMIT) {
        pre.textContent = src.slice(0, SHOW_LIMIT);
        const all = h('button', { type: 'button', class: 'btn small', 'data-test': 'show-all', text: `Show all (${fmtBytes(bytes)})` });
        all.addEventListener('click', () => {
          all.disabled = true;
          all.textContent = 'Rendering…';
          setTimeout(() => { showAll = true; paint(); }, 0);
        });
        note.append(h('span', { 'data-test': 'body-truncated', class: 'warn-text', text: `Showing the first ${fmtBytes(SHOW_LIMIT)} characters of ${src.length.toLocaleString()}. ` }), all);
      } else pre.textContent = src;
    };
    paint();
    wrap.append(bar, pre, note);
    if (frameHolder) wrap.append(frameHolder);
    return wrap;
  }
  function kvTable(obj, testId, caption) {
    const entries = obj && typeof obj === 'object' ? Object.entries(obj) : [];
    if (!entries.length) return h('p', { class: 'muted small', text: `(no ${caption.toLowerCase()})` });
    return h('table', { class: 'kv', 'data-test': testId },
      h('caption', { class: 'small muted', text: caption }),
      h('tbody', {}, entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { text: typeof v === 'string' ? v : JSON.stringify(v) })))));
  }
  function queryParams(uri) {
    if (typeof uri !== 'string') return [];
    const qi = uri.indexOf('?');
    if (qi < 0) return [];
    let q = uri.slice(qi + 1);
    const hi = q.indexOf('#');
    if (hi >= 0) q = q.slice(0, hi);
    try { return [...new URLSearchParams(q).entries()]; } catch { return []; }
  }
  function shq(x) { return `'${String(x).replace(/'/g, "'\\''")}'`; }
  function curlFor(req) {
    const parts = ['curl'];
    const m = String(req.method || 'get').toUpperCase();
    if (m !== 'GET' || req.req_body) parts.push('-X', shq(m));
    for (const [k, v] of Object.entries(req.req_headers || {})) {
      if (k.toLowerCase() === 'content-length') continue;
      parts.push('-H', shq(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`));
    }
    if (req.req_body) parts.push('--data-raw', shq(req.req_body));
    parts.push(shq(req.uri || ''));
    return parts.join(' ');
  }
  function copyCurl(req, holder) {
    const cmd = curlFor(req);
    clear(holder);
    const showFallback = (why) => {
      const ta = h('textarea', { class: 'curl-text', 'data-test': 'curl-text', readonly: true, rows: '4', 'aria-label': 'curl command' });
      ta.value = cmd;
      holder.append(h('p', { class: 'small muted', text: `${why} Press Ctrl+C (⌘C) to copy the selected command.` }), ta);
      ta.focus();
      ta.select();
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(cmd).then(
        () => { holder.append(h('span', { class: 'small ok-text', 'data-test': 'curl-copied', text: 'Copied to the clipboard.' })); },
        () => showFallback('The clipboard is not available.'));
    } else showFallback('The clipboard is not available.');
  }

  // ---------- Timeline ----------
  function classify(rec) {
    if (rec && 'json_errors' in rec) return 'json';
    if (rec && 'schema_errors' in rec) return 'schema';
    if (rec && ('resp_status_code' in rec || 'resp_headers' in rec)) return 'response';
    if (rec && ('uri' in rec || 'method' in rec || 'req_headers' in rec || 'req_body' in rec)) return 'request';
    return 'other';
  }
  function ctOf(headers) {
    if (!headers || typeof headers !== 'object') return '';
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === 'content-type') return String(v);
    return '';
  }
  function publishNote(rec) {
    return rec.body_truncated_at_publish
      ? h('p', { class: 'warn-text small', text: `The publisher cut this body: ${fmtBytes(Number(rec.body_original_bytes) || 0)} originally, only its start was kept.` })
      : null;
  }
  function errorsAside(it, responseBody) {
    const items = [];
    for (const e of it.json) {
      const je = e.json_errors || {};
      const box = h('div', { class: 'err-box', 'data-test': 'json-error' },
        h('h4', { text: 'JSON error' }),
        h('p', { text: typeof je.message === 'string' ? je.message : JSON.stringify(je.message ?? je) }));
      if (je.before) box.append(h('div', { class: 'small muted', text: 'Before the error:' }), bodyView(String(je.before), 'text/plain'));
      if (je.after) box.append(h('div', { class: 'small muted', text: 'After the error:' }), bodyView(String(je.after), 'text/plain'));
      if (typeof e.resp_body === 'string' && e.resp_body && e.resp_body !== responseBody) box.append(bodyView(e.resp_body, '', 'Body of the error record'));
      items.push(box);
    }
    for (const e of it.schema) {
      let txt;
      try { txt = JSON.stringify(e.schema_errors, null, 2); } catch { txt = String(e.schema_errors); }
      const box = h('div', { class: 'err-box', 'data-test': 'schema-error' }, h('h4', { text: 'Schema errors' }), bodyView(txt || '', 'text/plain'));
      if (typeof e.resp_body === 'string' && e.resp_body && e.resp_body !== responseBody) box.append(bodyView(e.resp_body, '', 'Body of the error record'));
      items.push(box);
    }
    return items;
  }
  function requestCard(req) {
    const params = queryParams(req.uri);
    const curlHolder = h('div', { class: 'curl-holder' });
    const copyBtn = h('button', { type: 'button', class: 'btn small', 'data-test': 'copy-curl', text: 'Copy as curl' });
    copyBtn.addEventListener('click', () => copyCurl(req, curlHolder));
    return h('article', { class: 'card request', 'data-test': 'request' },
      h('header', { class: 'card-head' },
        h('span', { class: 'method', 'data-test': 'req-method', text: String(req.method || '?').toUpperCase() }),
        h('span', { class: 'muted small' }, 'Request · ', timeEl(req.created)),
        h('span', { class: 'spacer' }), copyBtn),
      h('pre', { class: 'uri-full', 'data-test': 'req-uri', text: String(req.uri ?? '') }),
      curlHolder,
      params.length ? h('table', { class: 'kv', 'data-test': 'query-params' },
        h('caption', { class: 'small muted', text: 'Query parameters (decoded)' }),
        h('tbody', {}, params.map(([k, v]) => h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { text: v }))))) : null,
      h('details', {}, h('summary', { text: `Request headers (${Object.keys(req.req_headers || {}).length})` }), kvTable(req.req_headers, 'req-headers', 'Request headers')),
      publishNote(req),
      req.req_body ? bodyView(req.req_body, ctOf(req.req_headers), 'Request body') : null);
  }
  function responseCard(resp, req, it) {
    let elapsed = '';
    if (req && Number.isFinite(Number(resp.created)) && Number.isFinite(Number(req.created))) {
      const d = Number(resp.created) - Number(req.created);
      elapsed = d <= 0 ? '< 1 s after the request' : `${d} s after the request`;
    }
    const errs = it ? errorsAside(it, resp.resp_body) : [];
    const body = h('div', { class: 'body-col' }, bodyView(resp.resp_body, ctOf(resp.resp_headers), 'Response body'));
    return h('article', { class: 'card response', 'data-test': 'response' },
      h('header', { class: 'card-head' },
        statusBadge(resp.resp_status_code, 'resp-status'),
        h('span', { class: 'muted small' }, 'Response · ', timeEl(resp.created)),
        elapsed ? h('span', { class: 'muted small', 'data-test': 'elapsed', text: ` · ${elapsed}` }) : null),
      h('details', {}, h('summary', { text: `Response headers (${Object.keys(resp.resp_headers || {}).length})` }), kvTable(resp.resp_headers, 'resp-headers', 'Response headers')),
      publishNote(resp),
      h('div', { class: errs.length ? 'resp-grid with-errors' : 'resp-grid' }, body, errs.length ? h('aside', { class: 'err-col', 'aria-label': 'Errors in this response' }, errs) : null));
  }
  function renderTimeline(container, records) {
    const its = new Map();
    for (const rec of records) {
      const n = Number(rec.iteration) || 0;
      if (!its.has(n)) its.set(n, { n, request: [], response: [], json: [], schema: [], other: [] });
      its.get(n)[classify(rec)].push(rec);
    }
    const sorted = [...its.values()].sort((a, b) => a.n - b.n);
    const sections = [];
    for (const it of sorted) {
      const sec = h('section', { class: 'iteration', 'data-test': 'iteration', 'data-iteration': String(it.n), id: `iteration-${it.n}` },
        h('h2', { text: `Iteration ${it.n}` }));
      const pairs = Math.max(it.request.length, it.response.length);
      for (let i = 0; i < pairs; i++) {
        const req = it.request[i];
        const resp = it.response[i];
        const row = h('div', { class: 'exchange' });
        row.append(req ? requestCard(req) : h('article', { class: 'card muted small', text: 'No request record.' }));
        row.append(h('div', { class: 'arrow', 'aria-hidden': 'true', text: '→' }));
        row.append(resp ? responseCard(resp, req, i === 0 ? it : null) : h('article', { class: 'card muted small', 'data-test': 'no-response', text: 'No response record (yet).' }));
        sec.append(row);
      }
      if (!it.response.length && (it.json.length || it.schema.length)) sec.append(h('div', { class: 'card' }, errorsAside(it, null)));
      for (const o of it.other) {
        let txt;
        try { txt = JSON.stringify(o, null, 2); } catch { txt = String(o); }
        sec.append(h('article', { class: 'card' }, h('div', { class: 'small muted', text: 'Other record' }), bodyView(txt, 'text/plain')));
      }
      sections.push(sec);
    }
    container.append(...sections);
    return sections;
  }
  function viewTimeline(r) {
    const view = newView('timeline');
    setNav('calls');
    const root = $('view');
    const id = r.id;
    const back = h('a', { href: lastListHash || hashFor('calls', r.account), class: 'btn', 'data-test': 'back', text: '← Back' });
    back.addEventListener('click', (ev) => { ev.preventDefault(); goBack(); });
    const summary = h('div', { class: 'summary', 'data-test': 'timeline-summary' });
    const status = h('div', {});
    const tl = h('div', { id: 'timeline', class: 'timeline', 'data-test': 'timeline' });
    const more = h('div', { class: 'pager' });
    root.append(h('div', { class: 'toolbar' }, back, h('h1', { text: 'Call ' }, h('span', { class: 'mono', 'data-test': 'timeline-id', text: id }))), summary, status, tl, more);
    const records = [];
    const load = async (startKey) => {
      clear(status);
      status.append(h('p', { class: 'muted small', 'data-test': 'loading', text: 'Loading…' }));
      try {
        const d = await api(`pivot/debug/${encodeURIComponent(id)}`, { page_size: DETAIL_PAGE_SIZE, start_key: startKey }, view.abort.signal);
        if (!current || current.abort.signal !== view.abort.signal) return;
        clear(status);
        const data = Array.isArray(d.data) ? d.data : [];
        records.push(...data);
        clear(summary); clear(tl); clear(more);
        if (!records.length) { tl.append(h('p', { class: 'muted', 'data-test': 'empty', text: 'No records for this call (unknown call id, or another account).' })); return; }
        const first = records[0];
        const last = records[records.length - 1];
        const iters = new Set(records.map((x) => x.iteration));
        summary.append(h('dl', { class: 'facts' },
          h('dt', { text: 'Call id' }), h('dd', { class: 'mono', text: String(first.call_id ?? '') }),
          h('dt', { text: 'Debug id' }), h('dd', { class: 'mono', text: String(first.debug_id ?? '') }),
          h('dt', { text: 'Node' }), h('dd', { text: String(first.node ?? '') }),
          h('dt', { text: 'From' }), h('dd', {}, timeEl(first.created)),
          h('dt', { text: 'To' }), h('dd', {}, timeEl(last.created)),
          h('dt', { text: 'Loaded' }), h('dd', { text: `${records.length} records, ${iters.size} iteration${iters.size === 1 ? '' : 's'}${d.next_start_key ? ' (more to load)' : ''}` })));
        const sections = renderTimeline(tl, records);
        current.list = makeList(sections.map((sec) => { sec.tabIndex = -1; return sec; }));
        if (d.next_start_key) {
          const b = h('button', { type: 'button', class: 'btn', 'data-test': 'load-more', text: `Load ${DETAIL_PAGE_SIZE} more records` });
          b.addEventListener('click', () => { b.disabled = true; load(d.next_start_key); });
          more.append(b);
        }
        const want = r.query.get('it');
        if (want && !startKey) {
          const target = document.getElementById(`iteration-${parseInt(want, 10)}`);
          if (target) { target.scrollIntoView({ block: 'start' }); target.focus({ preventScroll: true }); }
        }
      } catch (e) {
        if (isAbort(e) || !current || current.abort.signal !== view.abort.signal) return;
        clear(status);
        status.append(errorBox(e));
      }
    };
    load(null);
  }
  function goBack() {
    if (inAppNavigations > 0) history.back();
    else navigate(lastListHash || hashFor('calls', currentAccount()));
  }

  // ---------- Search ----------
  function unescapeHtml(x) {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
    return x.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
      const v = named[e.toLowerCase()];
      return v === undefined ? m : v;
    });
  }
  function snippetNode(snippet) {
    const div = h('div', { class: 'snippet', 'data-test': 'snippet' });
    let on = false;
    for (const t of String(snippet).split(/([\u0001\u0002])/)) {
      if (t === HL_PRE) { on = true; continue; }
      if (t === HL_POST) { on = false; continue; }
      if (!t) continue;
      const txt = unescapeHtml(t);
      div.append(on ? h('mark', { text: txt }) : document.createTextNode(txt));
    }
    return div;
  }
  function byteToCodePoints(str, pos) {
    let bytes = 0;
    let cps = 0;
    for (const ch of str) {
      if (bytes >= pos) break;
      bytes += utf8Len(ch);
      cps++;
    }
    return cps;
  }
  function syntaxError(e, q) {
    const box = h('div', { id: 'search-error', class: 'search-error', role: 'alert', 'data-test': 'search-error' });
    const data = e.body && e.body.data && typeof e.body.data === 'object' ? e.body.data : null;
    const syn = data && data.q && data.q.syntax;
    if (syn) {
      box.append(h('p', { class: 'error', 'data-test': 'search-error-message', text: String(syn.message || 'invalid query') }));
      const value = typeof syn.value === 'string' ? syn.value : q;
      if (Number.isInteger(syn.position)) {
        const col = byteToCodePoints(value, syn.position);
        box.append(h('pre', { class: 'caret', 'data-test': 'search-error-caret' }, `${value}\n${' '.repeat(col)}^`),
          h('p', { class: 'small muted', 'data-test': 'search-error-position', text: `at byte ${syn.position}` }));
      }
    } else box.append(h('p', { class: 'error', 'data-test': 'search-error-message', text: e.message }));
    return box;
  }
  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  function drawChart(holder, buckets, series, intervalS, totals) {
    // series: {class -> array of counts per bucket}; drawn stacked in CLASSES order
    clear(holder);
    const W = 960; const H = 240; const L = 52; const R = 12; const T = 12; const B = 44;
    const n = buckets.length;
    const stackTotals = buckets.map((_, i) => CLASSES.reduce((acc, c) => acc + (series[c] ? series[c][i] : 0), 0));
    const max = niceMax(Math.max(0, ...stackTotals));
    const pw = W - L - R; const ph = H - T - B;
    const bw = pw / Math.max(1, n);
    const svg = s('svg', { id: 'search-chart', 'data-test': 'search-chart', class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Matches over time, ${intervalParam(intervalS)} buckets, stacked by status class` });
    svg.append(s('title', { text: 'Matches over time by status class' }));
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      const y = T + ph - (ph * k) / 4;
      svg.append(s('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }));
      svg.append(s('text', { x: L - 6, y: y + 4, class: 'axis-label', 'text-anchor': 'end', text: Number.isInteger(v) ? String(v) : v.toFixed(1) }));
    }
    const labelEvery = Math.max(1, Math.ceil(n / 8));
    const longFmt = intervalS >= 86400;
    for (let i = 0; i < n; i++) {
      const b = buckets[i];
      const x = L + i * bw;
      let y0 = T + ph;
      const parts = [];
      for (const c of CLASSES) {
        const cnt = series[c] ? series[c][i] : 0;
        if (!cnt) continue;
        parts.push(`${c} ${cnt}`);
        const hgt = (cnt / max) * ph;
        y0 -= hgt;
        const rect = s('rect', { x: x + Math.min(1, bw * 0.1), y: y0, width: Math.max(0.5, bw - Math.min(2, bw * 0.2)), height: Math.max(0.5, hgt), class: `bar c${c}`, 'data-test': 'chart-bar' });
        rect.append(s('title', { text: `${fmtTime(b.start)}: ${cnt} × ${c}` }));
        svg.append(rect);
      }
      if (i % labelEvery === 0) {
        const d = gToDate(b.start);
        const lab = longFmt ? `${d.getMonth() + 1}/${d.getDate()}` : `${d.getMonth() + 1}/${d.getDate()} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
        svg.append(s('line', { x1: x, x2: x, y1: T + ph, y2: T + ph + 4, class: 'axis' }));
        svg.append(s('text', { x, y: T + ph + 18, class: 'axis-label', 'text-anchor': 'start', text: lab }));
      }
    }
    svg.append(s('line', { x1: L, x2: W - R, y1: T + ph, y2: T + ph, class: 'axis' }));
    svg.append(s('line', { x1: L, x2: L, y1: T, y2: T + ph, class: 'axis' }));
    svg.append(s('text', { x: L, y: H - 6, class: 'axis-title', text: `Local time, ${intervalParam(intervalS)} per bar` }));
    svg.append(s('text', { x: 12, y: T + ph / 2, class: 'axis-title', transform: `rotate(-90 12 ${T + ph / 2})`, 'text-anchor': 'middle', text: 'Matches' }));
    const legend = h('ul', { class: 'legend', 'data-test': 'chart-legend' },
      CLASSES.map((c) => h('li', {}, h('span', { class: `swatch c${c}`, 'aria-hidden': 'true' }), `${c === 'none' ? 'no status (requests, errors)' : c}: ${totals[c] || 0}`)));
    holder.append(svg, legend);
  }
  async function loadChart(holder, q, from, to, signal) {
    clear(holder);
    holder.append(h('p', { class: 'muted small', text: 'Loading the histogram…' }));
    const iv = pickInterval(to - from);
    const base = { created_from: from, created_to: to, interval: intervalParam(iv) };
    try {
      const d = await api('pivot/search/stats', { q, ...base }, signal);
      const data = d.data || {};
      const buckets = (data.histogram && Array.isArray(data.histogram.buckets)) ? data.histogram.buckets : [];
      const totals = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
      for (const [code, cnt] of Object.entries(data.status_codes || {})) totals[code === 'none' ? 'none' : statusClass(code)] += Number(cnt) || 0;
      const all = buckets.map((b) => Number(b.count) || 0);
      const present = CLASSES.filter((c) => totals[c] > 0);
      const series = {};
      // Histogram buckets have no status breakdown: count each class with its own stats query
      // (one at a time), and give the remainder to the last class present.
      let ok = true;
      const remainder = present.includes('none') ? 'none' : present[present.length - 1];
      for (const c of present) {
        if (c === remainder) continue;
        try {
          const dc = await api('pivot/search/stats', { q: `(${q}) AND ${CLASS_QUERY[c]}`, ...base }, signal);
          const bc = dc.data && dc.data.histogram && Array.isArray(dc.data.histogram.buckets) ? dc.data.histogram.buckets : [];
          series[c] = buckets.map((_, i) => (bc[i] ? Number(bc[i].count) || 0 : 0));
        } catch (e) {
          if (isAbort(e) || e.status === 401) throw e;
          ok = false;
          break;
        }
      }
      if (!ok) {
        for (const k of Object.keys(series)) delete series[k];
        series.none = all;
        drawChart(holder, buckets, series, iv, totals);
        holder.append(h('p', { class: 'muted small', text: 'Could not split the histogram by status; showing all matches.' }));
        return;
      }
      if (remainder) series[remainder] = all.map((v, i) => Math.max(0, v - present.filter((c) => c !== remainder).reduce((acc, c) => acc + series[c][i], 0)));
      drawChart(holder, buckets, series, iv, totals);
    } catch (e) {
      if (isAbort(e)) return;
      clear(holder);
      holder.append(errorBox(e));
    }
  }
  function viewSearch(r) {
    const view = newView('search');
    setNav('search');
    const root = $('view');
    const q = r.query.get('q') || '';
    const key = `search|${r.account}|${r.query.toString()}`;
    let st = cache.get(key);
    if (!st) { st = { range: rangeFromQuery(r.query), stack: [], page: null, now: nowG(), loading: false, chartNode: null, error: null }; cache.set(key, st); }
    const input = h('input', { id: 'search-q', type: 'search', 'data-test': 'search-input', 'aria-label': 'Search query', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. ECONNREFUSED AND status_code:>=500', value: q, maxlength: '2048' });
    const submit = (text) => {
      const nq = new URLSearchParams(r.query);
      nq.delete('focus');
      nq.set('q', text);
      navigate(hashFor('search', r.account, null, nq));
    };
    const form = h('form', { id: 'search-form', class: 'search-form', 'data-test': 'search-form', role: 'search' },
      input, h('button', { type: 'submit', class: 'btn primary', 'data-test': 'search-submit', text: 'Search' }));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); if (input.value.trim()) submit(input.value.trim()); });
    const examples = h('div', { class: 'examples small' }, 'Examples: ',
      EXAMPLES.map((ex) => {
        const b = h('button', { type: 'button', class: 'btn small example', 'data-test': 'search-example', text: ex });
        b.addEventListener('click', () => { input.value = ex; submit(ex); });
        return b;
      }));
    const errHolder = h('div', {});
    const summary = h('p', { id: 'search-total', class: 'summary-line', 'data-test': 'search-total', 'aria-live': 'polite' });
    const chart = h('div', { id: 'search-chart-wrap', class: 'chart-wrap', 'data-test': 'chart-wrap' });
    const hitsHolder = h('div', {});
    const prev = h('button', { type: 'button', class: 'btn', 'data-test': 'prev-page', text: '← Newer' });
    const next = h('button', { type: 'button', class: 'btn', 'data-test': 'next-page', text: 'Older →' });
    const info = h('span', { class: 'muted small', 'data-test': 'page-info' });
    root.append(
      h('div', { class: 'toolbar' }, h('h1', { text: 'Search' }),
        rangePicker(st.range, (range) => { const nq = new URLSearchParams(r.query); rangeToQuery(range, nq); navigate(hashFor('search', r.account, null, nq)); })),
      form, errHolder, examples, summary, chart, hitsHolder, h('div', { class: 'pager' }, prev, info, next));
    if (view === current && (r.query.get('focus') === '1' || !q)) setTimeout(() => input.focus(), 0);
    if (!q) {
      summary.textContent = 'Type a query and press Enter. Words match response bodies; fields: status_code, kind, uri, method, call_id, iteration, request_body, response_headers.';
      prev.hidden = true; next.hidden = true;
      return;
    }
    const { from, to } = resolveRange(st.range, st.now);
    const render = () => {
      clear(hitsHolder);
      const p = st.page;
      prev.disabled = !st.stack.length || st.loading;
      next.disabled = !p || !p.next || st.loading;
      if (!p) return;
      summary.textContent = `${p.total} hit${p.total === 1 ? '' : 's'} (records) for ${q}${p.partial ? ' · partial answer' : ''}`;
      info.textContent = `Page ${st.stack.length + 1} · ${p.hits.length} shown`;
      if (!p.hits.length) { hitsHolder.append(h('p', { class: 'muted', 'data-test': 'empty', text: 'No matches.' })); return; }
      const items = p.hits.map((hit) => {
        const qq = new URLSearchParams();
        if (hit.iteration) qq.set('it', String(hit.iteration));
        const link = h('a', { href: hashFor('calls', r.account, hit.debug_id, qq), class: 'call-link', 'data-test': 'hit-link', text: hit.call_id || hit.debug_id });
        const li = h('li', { class: 'hit', 'data-test': 'search-hit', 'data-debug-id': hit.debug_id },
          h('div', { class: 'hit-head' }, timeEl(hit.created), link,
            h('span', { class: 'kind', text: String(hit.kind || '') }),
            hit.status_code !== undefined ? statusBadge(hit.status_code) : null,
            h('span', { class: 'muted small', text: `iteration ${hit.iteration ?? '?'}` }),
            hit.method ? h('span', { class: 'method small', text: String(hit.method).toUpperCase() }) : null,
            hit.body_truncated ? h('span', { class: 'warn-text small', text: 'body over 256 KiB: only its start is searchable' }) : null),
          hit.uri ? h('div', { class: 'uri small muted', title: String(hit.uri), text: String(hit.uri) }) : null,
          hit.snippet ? snippetNode(hit.snippet) : null);
        li.addEventListener('click', (ev) => { if (ev.target.closest('a') || ev.target.closest('mark') && window.getSelection().toString()) return; navigate(link.getAttribute('href')); });
        return li;
      });
      hitsHolder.append(h('ol', { id: 'search-hits', class: 'hits', 'data-test': 'search-hits' }, items));
      current.list = makeList(items);
    };
    const load = async (startKey) => {
      if (st.loading) return;
      st.loading = true;
      clear(errHolder);
      summary.textContent = 'Searching…';
      prev.disabled = true; next.disabled = true;
      try {
        const d = await api('pivot/search', { q, page_size: PAGE_SIZE, start_key: startKey, created_from: from, created_to: to, sort: 'newest', highlight_pre: HL_PRE, highlight_post: HL_POST, snippet_chars: 240 }, view.abort.signal);
        st.page = { hits: Array.isArray(d.data) ? d.data : [], next: d.next_start_key, startKey, total: d.total_hits ?? 0, partial: d.partial };
        st.loading = false;
        if (!current || current.abort.signal !== view.abort.signal) return;
        render();
        return true;
      } catch (e) {
        st.loading = false;
        if (isAbort(e) || !current || current.abort.signal !== view.abort.signal) return false;
        summary.textContent = '';
        if (e.status === 400) errHolder.append(syntaxError(e, q)); else errHolder.append(errorBox(e));
        render();
        return false;
      }
    };
    next.addEventListener('click', async () => {
      if (!st.page || !st.page.next) return;
      const old = st.page;
      st.stack.push(st.page.startKey ?? null);
      await load(st.page.next);
      if (st.page === old) st.stack.pop();
    });
    prev.addEventListener('click', async () => {
      if (!st.stack.length) return;
      const k = st.stack.pop();
      const old = st.page;
      await load(k);
      if (st.page === old) st.stack.push(k);
    });
    view.pageNext = () => next.click();
    view.pagePrev = () => prev.click();
    (async () => {
      if (st.page) { render(); } else if (!(await load(null))) return;
      if (st.chartNode) { clear(chart); chart.append(...st.chartNode); return; }
      if (!current || current.abort.signal !== view.abort.signal) return;
      await loadChart(chart, q, from, to, view.abort.signal);
      if (current && current.abort.signal === view.abort.signal && chart.querySelector('svg')) st.chartNode = [...chart.childNodes];
    })();
  }

  // ---------- keyboard ----------
  function onKey(ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (isTyping(t)) {
      if (ev.key === 'Escape' && t.blur) t.blur();
      return;
    }
    if (!getToken() || !current) return;
    const list = current.list;
    switch (ev.key) {
      case '/':
        ev.preventDefault();
        if (current.name === 'search') { const i = $('search-q'); if (i) { i.focus(); i.select(); } } else {
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
      case 'n': if (current.pageNext) { ev.preventDefault(); current.pageNext(); } break;
      case 'p': if (current.pagePrev) { ev.preventDefault(); current.pagePrev(); } break;
      case 'Escape':
        if (current.name === 'timeline') { ev.preventDefault(); goBack(); }
        break;
      default: break;
    }
  }

  // ---------- start ----------
  function start() {
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
})();
