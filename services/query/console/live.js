// pivotlog console: the Live view. It follows /pivot/tail (Server-Sent Events) with fetch,
// because EventSource cannot send the X-Auth-Token header and the token never goes in a URL.
// Records appear newest on top (at most MAX_ROWS kept); `partial`, `dropped` and `end`
// events are shown in the status line; a dropped connection reconnects with
// Last-Event-ID, so nothing is shown twice or skipped.
import { getToken, isAbort } from './api.js';
import { $, h, clear, timeEl, statusBadge, errorBox } from './dom.js';

const MAX_ROWS = 500;
const EXAMPLES = ['*', 'status_code:>=400', 'kind:json_error OR kind:schema_error', 'method:post'];

/** Splits SSE text into events; returns the events and the unfinished rest. */
export function parseEvents(text) {
  const events = [];
  const blocks = text.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    const ev = { kind: 'message', id: null, data: '' };
    let comment = true;
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      comment = false;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') ev.kind = value;
      else if (field === 'id') ev.id = value;
      else if (field === 'data') ev.data += (ev.data ? '\n' : '') + value;
    }
    if (!comment) events.push(ev);
  }
  return { events, rest };
}

/** The #/accounts/A/live?q= view; `app` is the entry module's view context. */
export function viewLive(r, app) {
  const view = app.newView('live');
  app.setNav('live');
  const root = $('view');
  const q = r.query.get('q') || '*';
  const input = h('input', { id: 'live-q', type: 'search', 'data-test': 'live-input', 'aria-label': 'Filter query', autocomplete: 'off', spellcheck: 'false', value: q, maxlength: '2048' });
  const form = h('form', { class: 'search-form', 'data-test': 'live-form', role: 'search' },
    input, h('button', { type: 'submit', class: 'btn primary', 'data-test': 'live-submit', text: 'Follow' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const nq = new URLSearchParams();
    nq.set('q', input.value.trim() || '*');
    app.navigate(app.hashFor('live', r.account, null, nq));
  });
  const examples = h('div', { class: 'examples small' }, 'Filters: ',
    EXAMPLES.map((ex) => h('a', { class: 'btn small example', 'data-test': 'live-example', href: app.hashFor('live', r.account, null, new URLSearchParams({ q: ex })), text: ex })));
  const status = h('p', { class: 'summary-line', 'data-test': 'live-status', 'aria-live': 'polite', text: 'Connecting…' });
  const notes = h('div', { 'data-test': 'live-notes' });
  const pause = h('button', { type: 'button', class: 'btn', 'data-test': 'live-pause', text: 'Pause' });
  const rows = h('ol', { class: 'hits live-rows', 'data-test': 'live-rows' });
  root.append(h('div', { class: 'toolbar' }, h('h1', { text: 'Live' }), pause), form, examples, status, notes, rows);

  const st = { lastId: null, shown: 0, dropped: 0, paused: false, queued: [] };
  const counts = () => `${st.shown} record${st.shown === 1 ? '' : 's'} shown${st.dropped ? ` · ${st.dropped} dropped (the browser read too slowly)` : ''}`;
  const note = (text, kind) => {
    clear(notes);
    if (text) notes.append(h('p', { class: kind === 'warn' ? 'warn-text' : 'muted', 'data-test': 'live-note', text }));
  };
  const addRow = (rec) => {
    const qq = new URLSearchParams();
    if (rec.iteration) qq.set('it', String(rec.iteration));
    const link = h('a', { href: app.hashFor('calls', r.account, rec.debug_id, qq), class: 'call-link', 'data-test': 'live-link', text: rec.call_id || rec.debug_id || '' });
    const kind = rec.resp_status_code !== undefined ? 'response' : rec.req_body !== undefined || rec.method ? 'request' : 'error';
    const li = h('li', { class: 'hit', 'data-test': 'live-row', 'data-id': rec.id },
      h('div', { class: 'hit-head' }, timeEl(rec.created), link,
        h('span', { class: 'kind', text: kind }),
        rec.resp_status_code !== undefined ? statusBadge(rec.resp_status_code) : null,
        h('span', { class: 'muted small', text: `iteration ${rec.iteration ?? '?'}` }),
        rec.method ? h('span', { class: 'method small', text: String(rec.method).toUpperCase() }) : null,
        rec.signature ? h('span', { class: 'muted small', text: `sig ${rec.signature}` }) : null),
      rec.uri ? h('div', { class: 'uri small muted', title: String(rec.uri), text: String(rec.uri) }) : null);
    rows.prepend(li);
    while (rows.childElementCount > MAX_ROWS) rows.lastElementChild.remove();
  };
  pause.addEventListener('click', () => {
    st.paused = !st.paused;
    pause.textContent = st.paused ? 'Resume' : 'Pause';
    if (!st.paused) { for (const rec of st.queued) addRow(rec); st.queued = []; }
  });
  const handle = (ev) => {
    if (ev.id) st.lastId = ev.id;
    let data = null;
    try { data = JSON.parse(ev.data); } catch { return; }
    if (ev.kind === 'message') {
      st.shown++;
      if (st.paused) { st.queued.push(data); if (st.queued.length > MAX_ROWS) st.queued.shift(); } else addRow(data);
      status.textContent = `Following ${q} · ${counts()}`;
    } else if (ev.kind === 'dropped') {
      st.dropped += Number(data.dropped) || 0;
      status.textContent = `Following ${q} · ${counts()}`;
    } else if (ev.kind === 'partial') {
      const missing = Array.isArray(data.missing_partitions) ? data.missing_partitions : [];
      note(missing.length ? `Partitions ${missing.join(', ')} cannot be read now: their records will follow once they are back.` : '', 'warn');
    } else if (ev.kind === 'end') {
      st.ended = String(data.reason || 'end');
    }
  };
  const follow = async () => {
    let attempt = 0;
    while (app.isCurrent(view)) {
      const headers = { 'X-Auth-Token': getToken(), Accept: 'text/event-stream' };
      if (st.lastId !== null) headers['Last-Event-ID'] = st.lastId;
      st.ended = null;
      try {
        const resp = await fetch(`/v2/accounts/${encodeURIComponent(r.account)}/pivot/tail?${new URLSearchParams({ q })}`, {
          headers, signal: view.abort.signal, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', redirect: 'error',
        });
        if (!resp.ok) {
          let body = null;
          try { body = await resp.json(); } catch { body = null; }
          const msg = body && body.data ? (body.data.message || JSON.stringify(body.data)) : `HTTP ${resp.status}`;
          if (resp.status === 429) {
            const wait = Math.min(Math.max(parseInt(resp.headers.get('Retry-After') || '5', 10) || 5, 1), 60);
            status.textContent = `Too many live tails (${msg}); trying again in ${wait} s.`;
            await new Promise((done) => setTimeout(done, wait * 1000));
            continue;
          }
          clear(notes);
          notes.append(errorBox({ message: `${resp.status}: ${msg}` }));
          status.textContent = 'Stopped.';
          return;
        }
        attempt = 0;
        status.textContent = `Following ${q} · ${counts()}`;
        const reader = resp.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          const parsed = parseEvents(buffer);
          buffer = parsed.rest;
          for (const ev of parsed.events) handle(ev);
        }
      } catch (e) {
        if (isAbort(e) || !app.isCurrent(view)) return;
      }
      if (st.ended === 'token_expired') { status.textContent = 'Stopped: the token expired. Sign in again to follow.'; return; }
      // The server ended the stream (longest duration, restart) or the network broke:
      // reconnect from the last position, after a short pause that grows on failures.
      attempt++;
      status.textContent = `Reconnecting (${st.ended || 'connection lost'})… · ${counts()}`;
      await new Promise((done) => setTimeout(done, Math.min(500 * attempt, 5000)));
    }
  };
  follow();
}
