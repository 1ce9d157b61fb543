// Launcher: pick a package, then its subject (a property or a client)
// through a search-as-you-type list, fill the run parameters the package's
// steps read (from the module registry), and start the run with an
// idempotency key.

import { h, field, announce } from './dom.js';
import { combobox } from './combobox.js';
import { packages, stepKinds, paramsOf } from './catalog.js';
import { label } from './format.js';

const SEARCH = {
  PROPERTY: {
    query: `query($q: String) { properties(first: 8, where: {addressContainsFold: $q}, orderBy: {field: ADDRESS}) {
      edges { node { id address city zip status } } } }`,
    options: (d) => d.properties.edges.map(({ node: p }) => ({ value: p.id, label: `${p.address}, ${p.city} ${p.zip} (${label(p.status)})` })),
  },
  CLIENT: {
    query: `query($q: String) { clients(first: 8, where: {nameContainsFold: $q}, orderBy: {field: NAME}) {
      edges { node { id name email stage } } } }`,
    options: (d) => d.clients.edges.map(({ node: c }) => ({ value: c.id, label: `${c.name}${c.email ? ` <${c.email}>` : ''} (${label(c.stage)})` })),
  },
};

/** idempotencyKey is a random UUID; crypto.randomUUID needs a secure
 * context, which a console served over plain HTTP to another host is not. */
export function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function paramInput(p) {
  const attrs = { name: p.name, dataset: { param: p.name, type: p.type } };
  if (p.type === 'number' || p.type === 'integer') {
    Object.assign(attrs, { type: 'number', step: p.type === 'integer' ? '1' : 'any', min: p.min ?? undefined, max: p.max ?? undefined });
  } else if (p.type === 'date') {
    attrs.type = 'date';
  } else {
    Object.assign(attrs, { type: 'text', placeholder: '2026-06-01T09:00:00Z' });
  }
  return field(`${p.name} (${p.type})`, h('input', attrs),
    `Default: ${p.default}. Accepts ${p.description}. Read by: ${p.steps.join(', ')}.`);
}

function readParams(form) {
  const params = {};
  for (const input of form.querySelectorAll('[data-param]')) {
    const v = input.value.trim();
    if (v === '') continue;
    const t = input.dataset.type;
    params[input.dataset.param] = t === 'number' || t === 'integer' ? Number(v) : v;
  }
  return params;
}

export function renderLauncher(main, session) {
  const title = h('h1', {}, 'Start a run');
  const pkgSelect = h('select', { id: 'launch-package', required: true }, h('option', { value: '' }, 'Choose a package…'));
  const subjectSlot = h('div');
  const paramsSlot = h('div');
  const error = h('p', { class: 'error', role: 'alert', id: 'launch-error' });
  const submit = h('button', { type: 'submit', id: 'launch-start', disabled: true }, 'Start run');
  const form = h('form', { class: 'card', 'aria-labelledby': 'launch-title' },
    field('Package', pkgSelect, 'The package decides the steps and whether the run is about a property or a client.'),
    subjectSlot, paramsSlot, error, submit);
  title.id = 'launch-title';
  main.append(title, form);

  let pkgs = [];
  let kinds = [];
  let subject = null;
  // One key per intended run: a retried click after a network failure
  // starts the same run, not a second one.
  let key = idempotencyKey();

  const choosePackage = () => {
    const pkg = pkgs.find((p) => p.id === pkgSelect.value);
    subject = null;
    submit.disabled = true;
    subjectSlot.replaceChildren();
    paramsSlot.replaceChildren();
    if (!pkg) return;
    const kind = pkg.subject === 'CLIENT' ? 'CLIENT' : 'PROPERTY';
    const what = kind === 'CLIENT' ? 'Client' : 'Property';
    const box = combobox({
      id: 'launch-subject',
      label: what,
      hint: kind === 'CLIENT' ? 'Type part of the client’s name.' : 'Type part of the address.',
      search: async (q) => SEARCH[kind].options(await session.request(SEARCH[kind].query, { q: q || null })),
      onPick: (opt) => {
        subject = opt;
        submit.disabled = !opt;
      },
    });
    subjectSlot.append(box.el);
    const params = paramsOf(pkg, kinds);
    paramsSlot.append(h('fieldset', { class: 'card' },
      h('legend', {}, 'Run parameters'),
      params.length
        ? [h('p', { class: 'hint' }, 'Leave a field empty to use its default.'), h('div', { class: 'params' }, params.map(paramInput))]
        : h('p', {}, 'This package’s steps read no parameters.')));
  };
  pkgSelect.addEventListener('change', choosePackage);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pkg = pkgs.find((p) => p.id === pkgSelect.value);
    if (!pkg || !subject) return;
    error.textContent = '';
    submit.disabled = true;
    const input = { packageId: pkg.id, params: readParams(form), idempotencyKey: key };
    input[pkg.subject === 'CLIENT' ? 'clientId' : 'propertyId'] = subject.value;
    try {
      const { startRun } = await session.request(`mutation($input: StartRunInput!) { startRun(input: $input) { id } }`, { input });
      key = idempotencyKey();
      announce(`Run ${startRun.id} started.`);
      session.store.track(startRun.id);
      location.hash = `#/runs/${encodeURIComponent(startRun.id)}`;
    } catch (err) {
      const f = err.errors?.[0]?.extensions?.field;
      error.textContent = `Could not start the run${f ? ` (${f})` : ''}: ${err.message}`;
      submit.disabled = false;
    }
  });

  Promise.all([packages(session), stepKinds(session)]).then(([p, k]) => {
    pkgs = p;
    kinds = k;
    pkgSelect.append(...pkgs.map((pk) => h('option', { value: pk.id, dataset: { key: pk.key } }, `${pk.name} (${label(pk.subject)}, v${pk.version})`)));
  }).catch((err) => { error.textContent = `Could not load the packages: ${err.message}`; });
}
