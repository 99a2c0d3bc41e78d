// pivotlog console: charts. The Search view's matches over time as an SVG bar chart,
// stacked by status class (one stats query per class), with axes and a legend; and the
// Signatures view's per-row sparklines.
import { api, isAbort } from './api.js';
import { h, s, clear, fmtTime, gToDate, pad2, statusClass, errorBox } from './dom.js';

const CLASSES = ['2xx', '3xx', '4xx', '5xx', 'none'];
const CLASS_QUERY = {
  '2xx': 'status_code:[200 TO 299]', '3xx': 'status_code:[300 TO 399]',
  '4xx': 'status_code:[400 TO 499]', '5xx': 'status_code:[500 TO 599]',
};

// ---------- buckets and drawing ----------
function pickInterval(seconds) {
  const c = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];
  for (const iv of c) if (seconds / iv <= 150) return iv;
  return 604800;
}
export function intervalParam(iv) {
  if (iv % 86400 === 0) return `${iv / 86400}d`;
  if (iv % 3600 === 0) return `${iv / 3600}h`;
  if (iv % 60 === 0) return `${iv / 60}m`;
  return `${iv}s`;
}
/** A bucket width (s) that splits a window of `seconds` into about 24 to 60 buckets. */
export function sparkInterval(seconds) {
  const c = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
  for (const iv of c) if (seconds / iv <= 60) return iv;
  return 604800;
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
// ---------- sparklines ----------
/** A small inline SVG of histogram buckets ({start, count}, oldest first): one bar each. */
export function sparkline(buckets, label) {
  const W = 120; const H = 24; const P = 1;
  const counts = (Array.isArray(buckets) ? buckets : []).map((b) => Math.max(0, Number(b && b.count) || 0));
  const n = counts.length;
  const max = Math.max(1, ...counts);
  const svg = s('svg', { class: 'spark', 'data-test': 'sparkline', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': label });
  svg.append(s('title', { text: label }));
  svg.append(s('line', { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, class: 'spark-base' }));
  const bw = W / Math.max(1, n);
  counts.forEach((c, i) => {
    if (!c) return;
    const hgt = Math.max(2, (c / max) * (H - 2 * P));
    svg.append(s('rect', { x: (i * bw + Math.min(0.5, bw * 0.15)).toFixed(2), y: (H - hgt).toFixed(2), width: Math.max(0.6, bw - Math.min(1, bw * 0.3)).toFixed(2), height: hgt.toFixed(2), class: i === n - 1 ? 'spark-bar last' : 'spark-bar' }));
  });
  return svg;
}
// ---------- loading ----------
/** Draws into `holder` the histogram of `q` over from..to (Gregorian seconds). */
export async function loadChart(holder, q, from, to, signal) {
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
