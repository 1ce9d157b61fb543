// A search-as-you-type list, after the WAI-ARIA combobox pattern: arrows
// move through the options, Enter picks, Escape closes.

import { h } from './dom.js';

export function combobox({ id, label, hint, search, onPick }) {
  const listID = `${id}-list`;
  const input = h('input', {
    id, type: 'text', role: 'combobox', autocomplete: 'off', 'aria-autocomplete': 'list',
    'aria-expanded': 'false', 'aria-controls': listID, 'aria-describedby': `${id}-hint`,
  });
  const list = h('ul', { id: listID, role: 'listbox', 'aria-label': label, hidden: true });
  const status = h('p', { class: 'hint', id: `${id}-hint`, 'aria-live': 'polite' }, hint);
  let options = [];
  let active = -1;
  let seq = 0;
  let timer = null;
  let picked = false;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const highlight = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    if (i >= 0) {
      input.setAttribute('aria-activedescendant', `${id}-opt-${i}`);
      list.children[i].scrollIntoView({ block: 'nearest' });
    }
  };
  const pick = (i) => {
    const opt = options[i];
    if (!opt) return;
    input.value = opt.label;
    close();
    status.textContent = `Selected: ${opt.label}`;
    onPick(opt);
  };
  const show = (opts) => {
    options = opts;
    list.replaceChildren(...opts.map((o, i) => h('li', {
      id: `${id}-opt-${i}`, role: 'option', 'aria-selected': 'false', dataset: { value: o.value },
      onmousedown: (ev) => { ev.preventDefault(); pick(i); },
    }, o.label)));
    input.removeAttribute('aria-activedescendant');
    list.hidden = opts.length === 0;
    input.setAttribute('aria-expanded', String(opts.length > 0));
    status.textContent = opts.length ? `${opts.length} matches; use the arrow keys and Enter to choose.` : 'No matches.';
    active = -1;
  };
  const run = async () => {
    const mine = ++seq;
    try {
      const opts = await search(input.value.trim());
      if (mine === seq) show(opts);
    } catch (err) {
      if (mine === seq) status.textContent = `Search failed: ${err.message}`;
    }
  };
  input.addEventListener('input', () => {
    onPick(null);
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  input.addEventListener('focus', () => { if (!options.length) run(); });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      if (list.hidden) { run(); return; }
      highlight(Math.min(options.length - 1, active + 1));
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      highlight(Math.max(0, active - 1));
    } else if (ev.key === 'Enter' && !list.hidden && active >= 0) {
      ev.preventDefault();
      picked = true;
      pick(active);
    } else if (ev.key === 'Escape') {
      close();
    }
  });
  // The Enter that picks an option must not also submit the form, which
  // a keypress dispatched apart from its keydown (as by automation) would.
  input.addEventListener('keypress', (ev) => {
    if (ev.key === 'Enter' && picked) ev.preventDefault();
  });
  input.addEventListener('keyup', () => { picked = false; });
  input.addEventListener('blur', () => setTimeout(close, 100));
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('div', { class: 'combo' }, input, list),
    status);
  return { el: wrap, input, reset: () => { input.value = ''; options = []; close(); } };
}
