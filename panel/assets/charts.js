// Small SVG charts drawn here (no library): usage over time and backups per day. Sizes are
// SVG attributes in a viewBox, so CSS only scales the whole chart (no inline style needed).
import {svg} from './dom.js';
import {lastDays, shortDay} from './format.js';

// The frame is about as wide as the chart is drawn (half or full width of the content; one
// column on a tablet), so that its text keeps its size whatever the screen.
const HEIGHTS = {narrow: 240, wide: 260};
const PAD = {left: 72, right: 14, top: 14, bottom: 34};

function frameWidth(size) {
  const vw = window.innerWidth || 1280;
  if (vw <= 1100) return Math.max(320, vw - 80);
  const content = vw - 260;  // the menu and the page's padding
  return Math.round(size === 'wide' ? content : Math.max(320, content / 2 - 40));
}

// The usage history with today's value as its last point: the server samples once an hour, so
// a new institution would otherwise show an empty chart beside its used bytes.
export function withToday(points, bytes) {
  const today = lastDays(1)[0];
  if (points.some((p) => p.day === today)) return points;
  return [...points, {day: today, bytes: bytes || 0}];
}

// The smallest round number ≥ v, counted in `base` units (1024 for bytes, so the ticks read
// 150 GiB, 300 GiB, … rather than 161 GB), whose quarters are round too.
function niceMax(v, base) {
  if (v <= 0) return 4;
  let unit = 1;
  while (v / unit >= base) unit *= base;
  const x = v / unit;
  const p = 10 ** Math.floor(Math.log10(x));
  const m = [1, 1.2, 2, 4, 6, 8, 10].find((k) => k * p >= x);
  return m * p * unit;
}

// band: bars centred in equal slots; otherwise points from edge to edge.
function frame(label, yMax, yFormat, days, band, size) {
  const W = frameWidth(size);
  const H = HEIGHTS[size] || HEIGHTS.narrow;
  const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label});
  root.append(svg('title', {}, label));
  const innerH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + innerH - (innerH * i) / 4;
    root.append(svg('line', {x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: i ? 'grid' : 'axis'}));
    root.append(svg('text', {x: PAD.left - 8, y: y + 4, class: 'tick', 'text-anchor': 'end'}, yFormat((yMax * i) / 4)));
  }
  const innerW = W - PAD.left - PAD.right;
  const n = days.length;
  const x = (i) => (band ? PAD.left + (innerW * (i + 0.5)) / n : PAD.left + (n > 1 ? (innerW * i) / (n - 1) : 0));
  const every = Math.max(1, Math.ceil(n / 5));
  days.forEach((d, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    if (i !== n - 1 && n - 1 - i < every / 2) return;
    const anchor = band ? 'middle' : i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
    root.append(svg('text', {x: x(i), y: H - 10, class: 'tick', 'text-anchor': anchor}, shortDay(d)));
  });
  return {root, innerH, innerW, x};
}

// points: [{day, bytes}], one per JST day that has a sample (days without one are gaps in
// the data, not in the axis): placed on the last 30 days.
export function usageChart(points, label, yFormat, size = 'narrow') {
  let days = lastDays(30);
  if (points.length && !points.some((p) => days.includes(p.day))) days = points.map((p) => p.day);
  points = points.filter((p) => days.includes(p.day)).sort((a, b) => (a.day < b.day ? -1 : 1));
  const yMax = niceMax(Math.max(0, ...points.map((p) => p.bytes)), 1024);
  const short = (v) => yFormat(v).replace(/\.0+(?= )/, '');
  const {root, innerH, x} = frame(label, yMax, short, days, false, size);
  if (!points.length) return root;
  const xy = points.map((p) => [x(days.indexOf(p.day)), PAD.top + innerH - (innerH * p.bytes) / yMax]);
  const line = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const base = PAD.top + innerH;
  root.append(svg('path', {d: `${line} L${xy[xy.length - 1][0].toFixed(1)},${base} L${xy[0][0].toFixed(1)},${base} Z`, class: 'area'}));
  root.append(svg('path', {d: line, class: 'line'}));
  const [lx, ly] = xy[xy.length - 1];
  root.append(svg('circle', {cx: lx, cy: ly, r: 4, class: 'dot'}));
  return root;
}

// points: [{day, count}]
export function barChart(points, label, size = 'narrow') {
  const days = points.map((p) => p.day);
  const yMax = Math.max(4, Math.ceil(Math.max(1, ...points.map((p) => p.count)) / 4) * 4);
  const {root, innerH, innerW, x} = frame(label, yMax, (v) => String(Math.round(v * 10) / 10), days, true, size);
  const bw = Math.max(2, Math.min(16, (innerW / Math.max(points.length, 1)) * 0.62));
  points.forEach((p, i) => {
    const hgt = (innerH * p.count) / yMax;
    root.append(svg('rect', {x: (x(i) - bw / 2).toFixed(1), y: (PAD.top + innerH - hgt).toFixed(1),
                             width: bw.toFixed(1), height: Math.max(0, hgt).toFixed(1), rx: 2,
                             class: p.count ? 'bar' : 'bar zero'},
                        svg('title', {}, `${shortDay(p.day)}: ${p.count}`)));
  });
  return root;
}
