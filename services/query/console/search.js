// pivotlog console: the Search and Signatures views. Search: a query box with examples,
// hits with highlighted snippets (inserted as text, highlights as <mark>), paging, a syntax
// error shown with a caret under its position, and the matches-over-time chart.
// Signatures: the distinct errors of a window, each with its counts, growth and a
// sparkline, opening the search of its records.
import { api, isAbort, PAGE_SIZE } from './api.js';
import { $, h, clear, nowG, timeEl, relTime, utf8Len, statusBadge, errorBox, makeList, rangeFromQuery, resolveRange, rangeToQuery, rangePicker } from './dom.js';
import { loadChart, sparkline, sparkInterval, intervalParam } from './chart.js';

const HL_PRE = '\u0001';
const HL_POST = '\u0002';
const SIG_PAGE_SIZE = 25;
const SIG_SORTS = { records: 'Most records', last_seen: 'Last seen', growth: 'Growth' };
const EXAMPLES = ['status_code:>=500', 'ECONNREFUSED', '"404 Not Found"', 'kind:json_error',
  'timeout AND NOT status_code:200', 'method:post', '*'];

// ---------- snippets and syntax errors ----------
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
// ---------- the view ----------
/** The #/accounts/A/search?q= view; `app` is the entry module's view context. */
export function viewSearch(r, app) {
  const view = app.newView('search');
  app.setNav('search');
  const root = $('view');
  const q = r.query.get('q') || '';
  const key = `search|${r.account}|${r.query.toString()}`;
  let st = app.cache.get(key);
  if (!st) { st = { range: rangeFromQuery(r.query), stack: [], page: null, now: nowG(), loading: false, chartNode: null, error: null }; app.cache.set(key, st); }
  const input = h('input', { id: 'search-q', type: 'search', 'data-test': 'search-input', 'aria-label': 'Search query', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. ECONNREFUSED AND status_code:>=500', value: q, maxlength: '2048' });
  const submit = (text) => {
    const nq = new URLSearchParams(r.query);
    nq.delete('focus');
    nq.set('q', text);
    app.navigate(app.hashFor('search', r.account, null, nq));
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
      rangePicker(st.range, (range) => { const nq = new URLSearchParams(r.query); rangeToQuery(range, nq); app.navigate(app.hashFor('search', r.account, null, nq)); })),
    form, errHolder, examples, summary, chart, hitsHolder, h('div', { class: 'pager' }, prev, info, next));
  if (view === app.current && (r.query.get('focus') === '1' || !q)) setTimeout(() => input.focus(), 0);
  if (!q) {
    summary.textContent = 'Type a query and press Enter. Words match response bodies; fields: status_code, kind, uri, method, call_id, iteration, signature, request_body, response_headers.';
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
      const link = h('a', { href: app.hashFor('calls', r.account, hit.debug_id, qq), class: 'call-link', 'data-test': 'hit-link', text: hit.call_id || hit.debug_id });
      const sq = new URLSearchParams(r.query);
      sq.delete('focus');
      sq.set('q', `signature:${hit.signature}`);
      const li = h('li', { class: 'hit', 'data-test': 'search-hit', 'data-debug-id': hit.debug_id, 'data-signature': hit.signature || null },
        h('div', { class: 'hit-head' }, timeEl(hit.created), link,
          h('span', { class: 'kind', text: String(hit.kind || '') }),
          hit.status_code !== undefined ? statusBadge(hit.status_code) : null,
          h('span', { class: 'muted small', text: `iteration ${hit.iteration ?? '?'}` }),
          hit.method ? h('span', { class: 'method small', text: String(hit.method).toUpperCase() }) : null,
          hit.signature ? h('a', { href: app.hashFor('search', r.account, null, sq), class: 'sig-link', 'data-test': 'hit-signature', title: 'The records with this signature', text: `sig ${hit.signature}` }) : null,
          hit.body_truncated ? h('span', { class: 'warn-text small', text: 'body over 256 KiB: only its start is searchable' }) : null),
        hit.uri ? h('div', { class: 'uri small muted', title: String(hit.uri), text: String(hit.uri) }) : null,
        hit.snippet ? snippetNode(hit.snippet) : null);
      li.addEventListener('click', (ev) => { if (ev.target.closest('a') || ev.target.closest('mark') && window.getSelection().toString()) return; app.navigate(link.getAttribute('href')); });
      return li;
    });
    hitsHolder.append(h('ol', { id: 'search-hits', class: 'hits', 'data-test': 'search-hits' }, items));
    app.current.list = makeList(items);
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
      if (!app.isCurrent(view)) return;
      render();
      return true;
    } catch (e) {
      st.loading = false;
      if (isAbort(e) || !app.isCurrent(view)) return false;
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
    if (!app.isCurrent(view)) return;
    await loadChart(chart, q, from, to, view.abort.signal);
    if (app.isCurrent(view) && chart.querySelector('svg')) st.chartNode = [...chart.childNodes];
  })();
}

// ---------- the Signatures view ----------
function growthCell(g, iv) {
  const last = Number(g && g.last_interval) || 0;
  const prevN = Number(g && g.previous_interval) || 0;
  const ch = Number(g && g.change) || 0;
  const arrow = ch > 0 ? `▲ +${ch}` : ch < 0 ? `▼ −${-ch}` : '= 0';
  return h('span', { class: `growth ${ch > 0 ? 'up' : ch < 0 ? 'down' : 'flat'}`, 'data-test': 'sig-growth', 'data-change': String(ch), title: `Last ${iv}: ${last} records; the ${iv} before: ${prevN}` },
    arrow, h('span', { class: 'muted small', text: ` (${last} vs ${prevN})` }));
}
function seenCell(g, now) {
  return h('span', {}, h('span', { text: relTime(g, now) }), h('br'), h('span', { class: 'muted small' }, timeEl(g)));
}
/** The #/accounts/A/signatures view (the landing view); `app` is the entry module's view context. */
export function viewSignatures(r, app) {
  const view = app.newView('signatures');
  app.setNav('signatures');
  app.lastListHash = location.hash;
  const root = $('view');
  const q = (r.query.get('q') || '').trim();
  const sort = SIG_SORTS[r.query.get('sort')] ? r.query.get('sort') : 'records';
  const key = `signatures|${r.account}|${r.query.toString()}`;
  let st = app.cache.get(key);
  if (!st) { st = { range: rangeFromQuery(r.query), stack: [], page: null, now: nowG(), loading: false }; app.cache.set(key, st); }
  const change = (fn) => { const nq = new URLSearchParams(r.query); fn(nq); app.navigate(app.hashFor('signatures', r.account, null, nq)); };
  const sortSel = h('select', { id: 'sig-sort', 'data-test': 'sig-sort', 'aria-label': 'Sort by' },
    Object.entries(SIG_SORTS).map(([k, label]) => h('option', { value: k, selected: k === sort, text: label })));
  sortSel.addEventListener('change', () => change((nq) => { if (sortSel.value === 'records') nq.delete('sort'); else nq.set('sort', sortSel.value); }));
  const input = h('input', { id: 'sig-q', type: 'search', 'data-test': 'sig-filter-input', 'aria-label': 'Filter the records counted', autocomplete: 'off', spellcheck: 'false', placeholder: 'Filter (optional), e.g. status_code:>=500', value: q, maxlength: '2048' });
  const form = h('form', { id: 'sig-filter', class: 'search-form', 'data-test': 'sig-filter', role: 'search' },
    input, h('button', { type: 'submit', class: 'btn', 'data-test': 'sig-filter-submit', text: 'Filter' }));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); change((nq) => { const v = input.value.trim(); if (v) nq.set('q', v); else nq.delete('q'); }); });
  const refresh = h('button', { type: 'button', class: 'btn', 'data-test': 'refresh', text: 'Refresh' });
  const errHolder = h('div', {});
  const summary = h('p', { id: 'sig-total', class: 'summary-line', 'data-test': 'sig-total', 'aria-live': 'polite' });
  const tableWrap = h('div', { class: 'table-wrap' });
  const prev = h('button', { type: 'button', class: 'btn', id: 'prev-page', 'data-test': 'prev-page', text: '← Previous' });
  const next = h('button', { type: 'button', class: 'btn', id: 'next-page', 'data-test': 'next-page', text: 'Next →' });
  const info = h('span', { id: 'page-info', class: 'muted small', 'data-test': 'page-info' });
  root.append(
    h('div', { class: 'toolbar' }, h('h1', { text: 'Signatures' }),
      rangePicker(st.range, (range) => change((nq) => rangeToQuery(range, nq))),
      h('label', { for: 'sig-sort', class: 'small' }, 'Sort '), sortSel, refresh),
    form, errHolder, summary, tableWrap, h('div', { class: 'pager' }, prev, info, next));
  const { from, to } = resolveRange(st.range, st.now);
  const iv = intervalParam(sparkInterval(to - from));
  const render = () => {
    clear(tableWrap);
    const p = st.page;
    prev.disabled = !st.stack.length || st.loading;
    next.disabled = !p || !p.next || st.loading;
    if (!p) return;
    summary.textContent = `${p.total} signature${p.total === 1 ? '' : 's'} of responses and errors${q ? ` matching ${q}` : ''}${p.partial ? ' · partial answer' : ''}`;
    info.textContent = `Page ${st.stack.length + 1} · ${p.rows.length} shown`;
    if (!p.rows.length) { tableWrap.append(h('p', { class: 'muted', 'data-test': 'empty', text: 'No response or error records in this range.' })); return; }
    const rows = p.rows.map((sg) => {
      // The records of this signature in this very window (and filter): its search's hits.
      const sq = new URLSearchParams();
      sq.set('q', q && q !== '*' ? `signature:${sg.signature} AND (${q})` : `signature:${sg.signature}`);
      rangeToQuery({ kind: 'custom', from, to }, sq);
      const tmpl = typeof sg.template === 'string' && sg.template ? sg.template : '(empty body)';
      const link = h('a', { href: app.hashFor('search', r.account, null, sq), class: 'tmpl', 'data-test': 'sig-link', title: tmpl, text: tmpl });
      const more = h('button', { type: 'button', class: 'btn small expand', 'aria-expanded': 'false', title: 'Show the whole template', text: '⋯' });
      more.addEventListener('click', () => {
        const on = link.classList.toggle('expanded');
        more.setAttribute('aria-expanded', String(on));
      });
      const smp = sg.sample || {};
      const sampleQ = new URLSearchParams();
      if (smp.iteration) sampleQ.set('it', String(smp.iteration));
      const sample = smp.debug_id
        ? h('a', { href: app.hashFor('calls', r.account, smp.debug_id, sampleQ), class: 'call-link sample', 'data-test': 'sig-sample', title: `The newest record's call ${smp.call_id || smp.debug_id}, iteration ${smp.iteration ?? '?'}`, text: smp.call_id || smp.debug_id })
        : h('span', { class: 'muted', text: '—' });
      const hist = sg.histogram || {};
      const cells = [
        h('div', { class: 'tmpl-cell' }, link, more, h('div', { class: 'muted small mono', text: sg.signature })),
        h('span', { class: 'codes' }, (sg.status_codes || []).map((c) => {
          const b = statusBadge(c.status_code);
          b.title = `${c.records} record${c.records === 1 ? '' : 's'}`;
          return b;
        })),
        h('span', { 'data-test': 'sig-records', text: String(sg.records ?? '') }),
        String(sg.calls ?? ''),
        seenCell(sg.first_seen, st.now),
        seenCell(sg.last_seen, st.now),
        growthCell(sg.growth, hist.interval || iv),
        sparkline(hist.buckets, `${sg.records} records over the window, ${hist.interval || iv} per bar`),
        sample,
      ];
      return h('tr', { 'data-test': 'signature-row', 'data-signature': sg.signature, 'data-records': String(sg.records ?? ''), 'data-last-seen': String(sg.last_seen ?? ''), 'data-change': String(sg.growth ? sg.growth.change : '') },
        cells.map((x) => h('td', {}, x)));
    });
    rows.forEach((tr) => tr.addEventListener('click', (ev) => {
      if (ev.target.closest('a') || ev.target.closest('button')) return;
      app.navigate(tr.querySelector('a').getAttribute('href'));
    }));
    const head = ['Template (signature)', 'Status', 'Records', 'Calls', 'First seen', 'Last seen', `Growth (last ${iv})`, `Trend (${iv} bars)`, 'Sample'];
    tableWrap.append(h('table', { id: 'signatures-table', class: 'list signatures', 'data-test': 'signatures-table' },
      h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows)));
    app.current.list = makeList(rows);
  };
  const load = async (startKey) => {
    if (st.loading) return false;
    st.loading = true;
    clear(errHolder);
    summary.textContent = 'Loading…';
    prev.disabled = true; next.disabled = true;
    try {
      const d = await api('pivot/signatures', { q: q || undefined, sort, interval: iv, page_size: SIG_PAGE_SIZE, start_key: startKey, created_from: from, created_to: to }, view.abort.signal);
      st.page = { rows: Array.isArray(d.data) ? d.data : [], next: d.next_start_key, startKey, total: d.total_hits ?? 0, partial: d.partial };
      st.loading = false;
      if (app.isCurrent(view)) render();
      return true;
    } catch (e) {
      st.loading = false;
      if (isAbort(e) || !app.isCurrent(view)) return false;
      summary.textContent = '';
      if (e.status === 400 && q) errHolder.append(syntaxError(e, q)); else errHolder.append(errorBox(e));
      render();
      return false;
    }
  };
  const step = async (toKey, undo) => {
    const old = st.page;
    await load(toKey);
    if (st.page === old) undo();
    else if (app.current && app.current.list) app.current.list.select(0, true);
  };
  const goNext = () => {
    if (!st.page || !st.page.next || st.loading) return;
    st.stack.push(st.page.startKey ?? null);
    step(st.page.next, () => st.stack.pop());
  };
  const goPrev = () => {
    if (!st.stack.length || st.loading) return;
    const k = st.stack.pop();
    step(k, () => st.stack.push(k));
  };
  next.addEventListener('click', goNext);
  prev.addEventListener('click', goPrev);
  refresh.addEventListener('click', () => {
    if (st.range.kind !== 'custom') { st.now = nowG(); st.stack = []; st.page = null; app.navigate(location.hash); return; }
    load(st.page ? st.page.startKey : null);
  });
  view.pageNext = goNext;
  view.pagePrev = goPrev;
  if (st.page) render(); else load(null);
}
