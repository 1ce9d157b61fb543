// The package preview: steps as boxes laid out in columns by depth (a
// step sits one column right of its deepest dependency), with an arrow per
// dependency.

import { s } from './dom.js';

const W = 170, H = 46, GX = 60, GY = 18, PAD = 16;

/** depths returns each step's depth, or null when dependsOn has a cycle. */
export function depths(steps) {
  const byKey = new Map(steps.map((st) => [st.key, st]));
  const depth = new Map();
  const visiting = new Set();
  const visit = (key) => {
    if (depth.has(key)) return depth.get(key);
    if (visiting.has(key)) throw new Error('cycle');
    visiting.add(key);
    let d = 0;
    for (const dep of byKey.get(key).dependsOn || []) {
      if (byKey.has(dep)) d = Math.max(d, visit(dep) + 1);
    }
    visiting.delete(key);
    depth.set(key, d);
    return d;
  };
  try {
    for (const st of steps) visit(st.key);
  } catch {
    return null;
  }
  return depth;
}

export function dagSVG(steps, { errorKeys = new Set() } = {}) {
  const named = steps.filter((st) => st.key);
  const depth = depths(named);
  const title = s('title', { id: 'dag-title' }, 'Preview of the package’s steps and their dependencies');
  if (!depth) {
    return s('svg', { class: 'dag', role: 'img', 'aria-labelledby': 'dag-title', viewBox: '0 0 420 40', width: 420, height: 40 },
      title, s('text', { x: 10, y: 25, fill: '#991b1b' }, 'The dependencies form a cycle: no order can satisfy them.'));
  }
  const layers = [];
  for (const st of named) {
    const d = depth.get(st.key);
    (layers[d] ||= []).push(st);
  }
  const pos = new Map();
  layers.forEach((layer, d) => layer.forEach((st, i) => pos.set(st.key, { x: PAD + d * (W + GX), y: PAD + i * (H + GY) })));
  const width = PAD * 2 + Math.max(1, layers.length) * (W + GX) - GX;
  const height = PAD * 2 + Math.max(1, ...layers.map((l) => l.length)) * (H + GY) - GY;
  const svg = s('svg', { class: 'dag', role: 'img', 'aria-labelledby': 'dag-title', viewBox: `0 0 ${width} ${height}`, width, height, id: 'dag' },
    title,
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#334155' }))));
  for (const st of named) {
    const to = pos.get(st.key);
    for (const dep of st.dependsOn || []) {
      const from = pos.get(dep);
      if (!from) continue;
      svg.append(s('path', {
        d: `M${from.x + W},${from.y + H / 2} C${from.x + W + GX / 2},${from.y + H / 2} ${to.x - GX / 2},${to.y + H / 2} ${to.x},${to.y + H / 2}`,
        fill: 'none', stroke: '#334155', 'stroke-width': 1.5, 'marker-end': 'url(#arrow)',
      }));
    }
  }
  for (const st of named) {
    const p = pos.get(st.key);
    const bad = errorKeys.has(st.key);
    svg.append(s('g', { dataset: { stepKey: st.key } },
      s('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6, fill: bad ? '#fee2e2' : '#ecfeff', stroke: bad ? '#991b1b' : '#0891b2', 'stroke-width': 2 }),
      s('text', { x: p.x + 8, y: p.y + 18, 'font-size': 13, 'font-weight': 700, fill: '#0f172a' }, clip(st.name || st.key, 22)),
      s('text', { x: p.x + 8, y: p.y + 35, 'font-size': 11, fill: '#334155' }, clip(st.kind, 26))));
  }
  return svg;
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
