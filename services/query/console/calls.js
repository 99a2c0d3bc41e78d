// pivotlog console: the Calls view. One row per call in a time range, newest first, paged
// with start keys; or, with a status filter, calls grouped from search hits. Optional
// auto-refresh of the first page.
import { api, isAbort, backedOff, PAGE_SIZE } from './api.js';
import { $, h, clear, nowG, timeEl, statusBadge, errorBox, makeList, rangeFromQuery, resolveRange, rangeToQuery, rangePicker } from './dom.js';

const FILTER_PAGE_SIZE = 100; // search-backed status filter: hits per page, grouped by call
const AUTO_REFRESH_MS = 5000;
const STATUS_FILTERS = {
  '': { label: 'Any status' },
  '2xx': { label: '2xx responses', q: 'status_code:[200 TO 299]' },
  '3xx': { label: '3xx responses', q: 'status_code:[300 TO 399]' },
  '4xx': { label: '4xx responses', q: 'status_code:[400 TO 499]' },
  '5xx': { label: '5xx responses', q: 'status_code:[500 TO 599]' },
  ge400: { label: 'Any response ≥ 400', q: 'status_code:>=400' },
  errors: { label: 'JSON or schema errors', q: 'kind:json_error OR kind:schema_error' },
};

/** The #/accounts/A/calls view; `app` is the entry module's view context. */
export function viewCalls(r, app) {
  const view = app.newView('calls');
  app.setNav('calls');
  const key = `calls|${r.account}|${r.query.toString()}`;
  app.lastListHash = location.hash;
  let st = app.cache.get(key);
  if (!st) {
    st = { range: rangeFromQuery(r.query), status: STATUS_FILTERS[r.query.get('status') || ''] ? (r.query.get('status') || '') : '', stack: [], page: null, now: nowG(), auto: false, loading: false };
    app.cache.set(key, st);
  }
  const root = $('view');
  const changeQuery = (fn) => {
    const q = new URLSearchParams(r.query);
    fn(q);
    app.navigate(app.hashFor('calls', r.account, null, q));
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
      const link = h('a', { href: app.hashFor('calls', r.account, c.debug_id), class: 'call-link', text: c.call_id || c.debug_id });
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
      if (a) app.navigate(a.getAttribute('href'));
    }));
    tableWrap.append(h('table', { id: 'calls-table', class: 'list', 'data-test': 'calls-table' },
      h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows)));
    app.current.list = makeList(rows);
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
      if (app.isCurrent(view)) {
        const keepSel = quiet && app.current.list ? app.current.list.sel : -1;
        const hadFocus = tableWrap.contains(document.activeElement);
        clear(status);
        render();
        if (keepSel >= 0 && app.current.list) app.current.list.select(keepSel, hadFocus);
      }
    } catch (e) {
      st.loading = false;
      if (isAbort(e) || !app.isCurrent(view)) return;
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
    else if (app.current && app.current.list) app.current.list.select(0, true);
  };
  const goPrev = async () => {
    if (!st.stack.length || st.loading) return;
    const k = st.stack.pop();
    const prevPage = st.page;
    await load(k);
    if (st.page === prevPage) st.stack.push(k);
    else if (app.current && app.current.list) app.current.list.select(0, true);
  };
  next.addEventListener('click', goNext);
  prev.addEventListener('click', goPrev);
  refresh.addEventListener('click', () => {
    if (st.range.kind !== 'custom') st.now = nowG();
    load(st.page ? st.page.startKey : null);
  });
  auto.addEventListener('change', () => { st.auto = auto.checked; });
  view.timers.push(setInterval(() => {
    if (!st.auto || st.stack.length || st.loading || document.visibilityState !== 'visible' || backedOff()) return;
    if (st.range.kind !== 'custom') st.now = nowG();
    load(null, { quiet: true });
  }, AUTO_REFRESH_MS));
  view.pageNext = goNext;
  view.pagePrev = goPrev;
  if (st.page) render(); else load(null);
}
