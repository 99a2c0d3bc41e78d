// pivotlog console: element helpers, text-only insertion, time and size formatting,
// the status banner, keyboard-selectable lists and the time-range picker.
// Every piece of data from the API is inserted with textContent / createElement: never as HTML.

export const GREG = 62167219200; // Unix seconds + GREG = Gregorian seconds
export const MAX_RANGE = 2682000; // the API's widest created_from..created_to
const RANGES = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '31d': MAX_RANGE };
const RANGE_LABELS = { '1h': 'Last 1 h', '24h': 'Last 24 h', '7d': 'Last 7 d', '31d': 'Last 31 d', custom: 'Custom…' };

export const $ = (id) => document.getElementById(id);

// ---------- elements ----------
export function h(tag, attrs, ...children) {
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
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') el.textContent = String(v); else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c) el.append(c);
  return el;
}
export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

// ---------- times and sizes ----------
export function nowG() { return Math.floor(Date.now() / 1000) + GREG; }
export function gToDate(g) { return new Date((Number(g) - GREG) * 1000); }
export const pad2 = (n) => String(n).padStart(2, '0');
export function fmtTime(g) {
  if (g === undefined || g === null || !Number.isFinite(Number(g))) return '';
  const d = gToDate(g);
  if (Number.isNaN(d.getTime())) return String(g);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}
function isoTime(g) { const d = gToDate(g); return Number.isNaN(d.getTime()) ? '' : d.toISOString(); }
/** "5 min ago" for a Gregorian time, against `now` (default: the clock). */
export function relTime(g, now) {
  const d = (now ?? nowG()) - Number(g);
  if (!Number.isFinite(d)) return '';
  if (d < 45) return 'just now';
  for (const [sec, unit] of [[86400, 'd'], [3600, 'h'], [60, 'min']]) {
    if (d >= sec) return `${Math.round(d / sec)} ${unit} ago`;
  }
  return `${Math.round(d)} s ago`;
}
export function timeEl(g) { return h('time', { datetime: isoTime(g), title: isoTime(g) + ' (UTC)', text: fmtTime(g) }); }
export function utf8Len(str) {
  let n = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
  }
  return n;
}
export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

// ---------- statuses, errors, banner ----------
export function statusClass(code) {
  const n = parseInt(code, 10);
  if (!Number.isFinite(n)) return 'none';
  if (n >= 200 && n < 600) return `${Math.floor(n / 100)}xx`;
  return 'none';
}
export function statusBadge(code, testId) {
  const text = code === undefined || code === null || code === '' ? '—' : String(code);
  return h('span', { class: `status s${statusClass(code)}`, 'data-test': testId || null, text });
}
export function errorBox(e) {
  return h('p', { class: 'error', role: 'alert', 'data-test': 'error', text: e && e.message ? e.message : String(e) });
}
let bannerTimer = 0;
export function showBanner(msg, kind, seconds) {
  const b = $('banner');
  b.textContent = msg;
  b.className = `banner ${kind || ''}`;
  b.hidden = false;
  clearTimeout(bannerTimer);
  if (seconds) bannerTimer = setTimeout(() => { b.hidden = true; }, seconds * 1000);
}
export function safeDecode(x) { try { return decodeURIComponent(x); } catch { return x; } }
export function isTyping(el) {
  if (!el) return false;
  const t = el.tagName;
  return t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT' || el.isContentEditable;
}

// ---------- keyboard list navigation ----------
export function makeList(items, onOpen) {
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

// ---------- time range (in the URL hash: range=1h|24h|7d|custom&from&to) ----------
export function rangeFromQuery(q) {
  const r = q.get('range') || '31d';
  if (r === 'custom') {
    const from = parseInt(q.get('from') || '', 10);
    const to = parseInt(q.get('to') || '', 10);
    if (Number.isFinite(from) && Number.isFinite(to)) return { kind: 'custom', from, to };
    return { kind: '31d' };
  }
  return { kind: RANGES[r] ? r : '31d' };
}
export function resolveRange(range, now) {
  if (range.kind === 'custom') return { from: range.from, to: range.to };
  return { from: now - RANGES[range.kind], to: now };
}
export function rangeToQuery(range, q) {
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
export function rangePicker(range, onChange) {
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
