// pivotlog console: the timeline of one call. Its records grouped by iteration, each
// request beside its response (headers, bodies, elapsed time, JSON and schema errors),
// paged in by "load more", a request's "copy as curl", and each response's signature
// linking to the search of its records.
import { api, isAbort } from './api.js';
import { $, h, clear, timeEl, fmtBytes, statusBadge, errorBox, makeList } from './dom.js';
import { bodyView } from './bodies.js';

const DETAIL_PAGE_SIZE = 100; // records of one call per request

// ---------- headers, query parameters, copy as curl ----------
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

// ---------- records by iteration ----------
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
function responseCard(resp, req, it, sigHref) {
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
      elapsed ? h('span', { class: 'muted small', 'data-test': 'elapsed', text: ` · ${elapsed}` }) : null,
      resp.signature ? h('span', { class: 'spacer' }) : null,
      resp.signature ? h('a', { href: sigHref(resp.signature), class: 'sig-link', 'data-test': 'signature-link', title: 'Every record with this signature (status and body template)', text: `sig ${resp.signature}` }) : null),
    h('details', {}, h('summary', { text: `Response headers (${Object.keys(resp.resp_headers || {}).length})` }), kvTable(resp.resp_headers, 'resp-headers', 'Response headers')),
    publishNote(resp),
    h('div', { class: errs.length ? 'resp-grid with-errors' : 'resp-grid' }, body, errs.length ? h('aside', { class: 'err-col', 'aria-label': 'Errors in this response' }, errs) : null));
}
function renderTimeline(container, records, sigHref) {
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
      row.append(resp ? responseCard(resp, req, i === 0 ? it : null, sigHref) : h('article', { class: 'card muted small', 'data-test': 'no-response', text: 'No response record (yet).' }));
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
// ---------- the view ----------
/** The #/accounts/A/calls/ID view; `app` is the entry module's view context. */
export function viewTimeline(r, app) {
  const view = app.newView('timeline');
  app.setNav('calls');
  const root = $('view');
  const id = r.id;
  const back = h('a', { href: app.lastListHash || app.hashFor('calls', r.account), class: 'btn', 'data-test': 'back', text: '← Back' });
  back.addEventListener('click', (ev) => { ev.preventDefault(); app.goBack(); });
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
      if (!app.isCurrent(view)) return;
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
      const sigHref = (sig) => app.hashFor('search', r.account, null, new URLSearchParams({ q: `signature:${sig}` }));
      const sections = renderTimeline(tl, records, sigHref);
      view.list = makeList(sections.map((sec) => { sec.tabIndex = -1; return sec; }));
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
      if (isAbort(e) || !app.isCurrent(view)) return;
      clear(status);
      status.append(errorBox(e));
    }
  };
  load(null);
}
