// The CMA chart: each comp's sale price against its living area, the
// subject's estimated value at its own living area, and the 80% range.

import { s } from './dom.js';
import { money, number } from './format.js';

const W = 640, H = 384, L = 84, R = 24, T = 24, B = 76;

function ticks(lo, hi, n) {
  const step = niceStep((hi - lo) / n);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

const short = (v) => (v >= 1e6 ? `$${(v / 1e6).toFixed(2)}M` : `$${Math.round(v / 1000)}k`);

/** cmaChart draws the report's comps; subjectSqft may be null. */
export function cmaChart(report, subjectSqft, id = 'cma-chart') {
  const comps = report.comps.filter((c) => c.sqft);
  const xs = comps.map((c) => c.sqft).concat(subjectSqft ? [subjectSqft] : []);
  const ys = comps.flatMap((c) => [c.salePrice, c.adjustedPrice]).concat([report.valueLow, report.valueHigh]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  const xpad = (x1 - x0) * 0.08 || 100, ypad = (y1 - y0) * 0.08 || 10000;
  x0 -= xpad; x1 += xpad; y0 = Math.max(0, y0 - ypad); y1 += ypad;
  const X = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);

  const titleID = `${id}-title`, descID = `${id}-desc`;
  const subjX = subjectSqft ? X(subjectSqft) : W - R - 10;
  const svg = s('svg', { id, class: 'chart', role: 'img', viewBox: `0 0 ${W} ${H}`, width: W, height: H, 'aria-labelledby': `${titleID} ${descID}` },
    s('title', { id: titleID }, 'Comparable sales: price against living area'),
    s('desc', { id: descID }, `${comps.length} comps. The subject${subjectSqft ? ` (${number(subjectSqft)} sq ft)` : ''} is valued at ${money(report.estimatedValue)}, with an 80% range of ${money(report.valueLow)} to ${money(report.valueHigh)}.`));

  // The range as a band across the chart, and the axes' grid.
  svg.append(s('rect', { x: L, y: Y(report.valueHigh), width: W - L - R, height: Math.max(1, Y(report.valueLow) - Y(report.valueHigh)), fill: '#cffafe', dataset: { range: 'true' } }));
  for (const v of ticks(y0, y1, 5)) {
    svg.append(s('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: '#e2e8f0' }),
      s('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#334155' }, short(v)));
  }
  for (const v of ticks(x0, x1, 6)) {
    svg.append(s('line', { x1: X(v), x2: X(v), y1: T, y2: H - B, stroke: '#e2e8f0' }),
      s('text', { x: X(v), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11, fill: '#334155' }, number(v)));
  }
  svg.append(
    s('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#334155' }),
    s('line', { x1: L, x2: L, y1: T, y2: H - B, stroke: '#334155' }),
    s('text', { x: (L + W - R) / 2, y: H - B + 34, 'text-anchor': 'middle', 'font-size': 12, fill: '#0f172a' }, 'Living area (sq ft)'),
    s('text', { x: 16, y: (T + H - B) / 2, 'text-anchor': 'middle', 'font-size': 12, fill: '#0f172a', transform: `rotate(-90 16 ${(T + H - B) / 2})` }, 'Price'));

  // Each comp: its sale price (filled) and its price adjusted to the
  // subject (hollow), joined by a line.
  for (const c of comps) {
    svg.append(s('g', { dataset: { comp: c.propertyId } },
      s('title', {}, `${c.address || 'Comp'}: sold ${money(c.salePrice)}, adjusted ${money(c.adjustedPrice)}, ${number(c.sqft)} sq ft`),
      s('line', { x1: X(c.sqft), x2: X(c.sqft), y1: Y(c.salePrice), y2: Y(c.adjustedPrice), stroke: '#64748b', 'stroke-dasharray': '3 2' }),
      s('circle', { cx: X(c.sqft), cy: Y(c.salePrice), r: 5, fill: '#0e7490' }),
      s('circle', { cx: X(c.sqft), cy: Y(c.adjustedPrice), r: 4, fill: '#fff', stroke: '#0e7490', 'stroke-width': 2 })));
  }

  // The subject: a diamond at its value, with whiskers to the range.
  const sy = Y(report.estimatedValue);
  svg.append(s('g', { id: `${id}-subject`, dataset: { subjectMarker: 'true', value: report.estimatedValue, low: report.valueLow, high: report.valueHigh } },
    s('title', {}, `Subject: ${money(report.estimatedValue)} (range ${money(report.valueLow)} to ${money(report.valueHigh)})`),
    s('line', { x1: subjX, x2: subjX, y1: Y(report.valueLow), y2: Y(report.valueHigh), stroke: '#9a3412', 'stroke-width': 2 }),
    s('line', { x1: subjX - 7, x2: subjX + 7, y1: Y(report.valueLow), y2: Y(report.valueLow), stroke: '#9a3412', 'stroke-width': 2 }),
    s('line', { x1: subjX - 7, x2: subjX + 7, y1: Y(report.valueHigh), y2: Y(report.valueHigh), stroke: '#9a3412', 'stroke-width': 2 }),
    s('path', { d: `M${subjX},${sy - 9} L${subjX + 9},${sy} L${subjX},${sy + 9} L${subjX - 9},${sy} z`, fill: '#9a3412', stroke: '#fff', 'stroke-width': 1.5 }),
    s('text', { x: subjX + 12, y: sy - 10, 'font-size': 12, 'font-weight': 700, fill: '#9a3412' }, `Subject ${short(report.estimatedValue)}`)));

  // Legend, in one row below the axis title, clear of the data.
  const lg = s('g', { transform: `translate(${L},${H - 18})`, 'font-size': 11, fill: '#0f172a' },
    s('circle', { cx: 6, cy: -4, r: 5, fill: '#0e7490' }), s('text', { x: 16, y: 0 }, 'Sale price'),
    s('circle', { cx: 90, cy: -4, r: 4, fill: '#fff', stroke: '#0e7490', 'stroke-width': 2 }), s('text', { x: 100, y: 0 }, 'Adjusted to the subject'),
    s('path', { d: 'M246,-11 L253,-4 L246,3 L239,-4 z', fill: '#9a3412' }), s('text', { x: 258, y: 0 }, 'Subject’s value and range'),
    s('rect', { x: 410, y: -9, width: 14, height: 10, fill: '#cffafe', stroke: '#94a3b8' }), s('text', { x: 428, y: 0 }, '80% range'));
  svg.append(lg);
  return svg;
}
