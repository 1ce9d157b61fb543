// A run's steps as progress bars, updated in place as events arrive.

import { h } from './dom.js';
import { label } from './format.js';

function pct(st) {
  if (st.status === 'SUCCEEDED') return 100;
  return Math.round(Math.max(0, Math.min(1, st.progress || 0)) * 100);
}

/** stepBars renders the steps; update(run) moves the bars. */
export function stepBars(run, idPrefix) {
  const el = h('div', { class: 'steps' });
  const items = new Map();
  const update = (r) => {
    for (const st of r.steps.values()) {
      let it = items.get(st.key);
      if (!it) {
        const lid = `${idPrefix}-${st.key}-label`;
        const fill = h('span');
        const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-labelledby': lid, 'aria-valuemin': 0, 'aria-valuemax': 100, dataset: { stepKey: st.key } }, fill);
        const status = h('span', { class: 'st' });
        const wrap = h('div', { class: 'step-bar' }, h('div', { class: 'label', id: lid }, h('span', {}, st.name), status), bar);
        it = { bar, fill, status };
        items.set(st.key, it);
        el.append(wrap);
      }
      const p = pct(st);
      if (it.bar.getAttribute('aria-valuenow') !== String(p)) {
        it.bar.setAttribute('aria-valuenow', String(p));
        it.bar.setAttribute('aria-valuetext', `${p}%, ${label(st.status)}`);
        it.fill.style.width = `${p}%`;
      }
      it.bar.className = `bar b-${st.status}`;
      it.bar.dataset.status = st.status;
      it.status.textContent = `${label(st.status)} ${p}%`;
    }
  };
  update(run);
  return { el, update };
}

export function statusBadge(status) {
  return h('span', { class: `badge s-${status}`, dataset: { status } }, label(status));
}
