// Small SVG charts drawn here (no library): usage over time and backups per day. Sizes are
// SVG attributes in a viewBox, so CSS only scales the whole chart (no inline style needed).
import {svg} from './dom.js';
import {shortDay} from './format.js';

const W = 640, H = 220;
const PAD = {left: 64, right: 16, top: 16, bottom: 32};

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(label, yMax, yFormat, days) {
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
  const step = n > 1 ? innerW / (n - 1) : 0;
  const every = Math.max(1, Math.ceil(n / 6));
  days.forEach((d, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    root.append(svg('text', {x: PAD.left + step * i, y: H - 10, class: 'tick', 'text-anchor': 'middle'}, shortDay(d)));
  });
  return {root, innerH, innerW};
}

// points: [{day, bytes}]
export function usageChart(points, label, yFormat) {
  const days = points.map((p) => p.day);
  const yMax = niceMax(Math.max(0, ...points.map((p) => p.bytes)));
  const {root, innerH, innerW} = frame(label, yMax, yFormat, days);
  if (!points.length) return root;
  const step = points.length > 1 ? innerW / (points.length - 1) : 0;
  const xy = points.map((p, i) => [PAD.left + step * i, PAD.top + innerH - (innerH * p.bytes) / yMax]);
  const line = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const base = PAD.top + innerH;
  root.append(svg('path', {d: `${line} L${xy[xy.length - 1][0].toFixed(1)},${base} L${xy[0][0].toFixed(1)},${base} Z`, class: 'area'}));
  root.append(svg('path', {d: line, class: 'line'}));
  const [lx, ly] = xy[xy.length - 1];
  root.append(svg('circle', {cx: lx, cy: ly, r: 4, class: 'dot'}));
  return root;
}

// points: [{day, count}]
export function barChart(points, label) {
  const days = points.map((p) => p.day);
  const yMax = niceMax(Math.max(1, ...points.map((p) => p.count)));
  const {root, innerH, innerW} = frame(label, yMax, (v) => String(Math.round(v * 10) / 10), days);
  const n = Math.max(points.length, 1);
  const step = n > 1 ? innerW / (n - 1) : innerW;
  const bw = Math.max(2, Math.min(16, step * 0.6));
  points.forEach((p, i) => {
    const hgt = (innerH * p.count) / yMax;
    root.append(svg('rect', {x: (PAD.left + step * i - bw / 2).toFixed(1), y: (PAD.top + innerH - hgt).toFixed(1),
                             width: bw.toFixed(1), height: Math.max(0, hgt).toFixed(1), rx: 2,
                             class: p.count ? 'bar' : 'bar zero'},
                        svg('title', {}, `${shortDay(p.day)}: ${p.count}`)));
  });
  return root;
}
