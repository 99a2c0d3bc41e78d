// pivotlog console: how a request or response body is shown. Kind detection, JSON/XML
// pretty-printing (below a size limit), truncation with "show all", and HTML as source
// text with an optional rendering in a sandboxed frame where nothing can run.
import { h, clear, utf8Len, fmtBytes } from './dom.js';

const SHOW_LIMIT = 65536; // characters of a body shown before "show all"
const PRETTY_LIMIT = 512 * 1024; // pretty-print JSON/XML only below this
const RENDER_LIMIT = 2 * 1024 * 1024; // most HTML handed to the sandboxed frame

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
export function bodyView(body, contentType, label) {
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
