// Builder: compose a package from the step kinds. Each step has a key, a
// name, a kind, its dependencies and its limits; a drawn DAG previews the
// package. createPackage's validation errors are shown against the step at
// fault (extensions.field, such as input.steps[1].dependsOn). Saving a
// package that exists creates its next version (updatePackage).

import { h, field, newID, announce } from './dom.js';
import { dagSVG } from './dag.js';
import { packages, stepKinds } from './catalog.js';
import { label } from './format.js';

const PACKAGE_FIELDS = 'id key name description subject version steps { key name kind dependsOn config maxAttempts timeoutSeconds position }';

function blankStep(n) {
  return { uid: newID('step'), key: '', name: '', kind: '', dependsOn: [], maxAttempts: '', timeoutSeconds: '', config: null, n };
}

function toInput(st) {
  const out = { key: st.key.trim(), name: st.name.trim(), kind: st.kind, dependsOn: st.dependsOn };
  if (st.config) out.config = st.config;
  if (String(st.maxAttempts).trim() !== '') out.maxAttempts = Number(st.maxAttempts);
  if (String(st.timeoutSeconds).trim() !== '') out.timeoutSeconds = Number(st.timeoutSeconds);
  return out;
}

export function renderBuilder(main, session) {
  const state = { id: null, version: 0, key: '', name: '', description: '', subject: 'PROPERTY', steps: [blankStep()] };
  let kinds = [];
  let errors = { steps: new Map(), fields: new Map(), general: '' };

  const loadSelect = h('select', { id: 'build-load' }, h('option', { value: '' }, 'A new package'));
  const keyInput = h('input', { id: 'build-key', type: 'text', required: true, pattern: '[a-z0-9-]+', spellcheck: 'false' });
  const nameInput = h('input', { id: 'build-name', type: 'text', required: true });
  const descInput = h('textarea', { id: 'build-description', rows: 2, cols: 60 });
  const subjectSelect = h('select', { id: 'build-subject' }, h('option', { value: 'PROPERTY' }, 'Property'), h('option', { value: 'CLIENT' }, 'Client'));
  const stepsList = h('ol', { class: 'steps-list', 'aria-label': 'Steps', id: 'build-steps' });
  const addButton = h('button', { type: 'button', class: 'secondary', id: 'build-add' }, 'Add a step');
  const saveButton = h('button', { type: 'submit', id: 'build-save' }, 'Save package');
  const general = h('p', { class: 'error', role: 'alert', id: 'build-error' });
  const saved = h('p', { role: 'status', id: 'build-status' });
  const preview = h('div', { id: 'build-preview' });
  const version = h('p', { class: 'hint', id: 'build-version' });

  const fieldErrorSlot = (id) => h('p', { class: 'error', id: `${id}-error` });
  const keyErr = fieldErrorSlot('build-key');
  const nameErr = fieldErrorSlot('build-name');

  const form = h('form', { class: 'card', 'aria-labelledby': 'build-title', novalidate: true },
    field('Start from', loadSelect, 'Edit an existing package (saving creates its next version) or compose a new one.'),
    version,
    h('div', { class: 'row' },
      h('div', {}, field('Key', keyInput, 'Lowercase letters, digits and dashes; unique in your organization.'), keyErr),
      h('div', {}, field('Name', nameInput), nameErr),
      field('Subject', subjectSelect, 'What every step works on.')),
    field('Description', descInput),
    h('h2', {}, 'Steps'),
    stepsList,
    h('div', { class: 'actions' }, addButton),
    h('h2', {}, 'Preview'),
    preview,
    general, saved,
    h('div', { class: 'actions' }, saveButton));
  main.append(h('h1', { id: 'build-title' }, 'Package builder'), form);

  const kindsFor = () => kinds.filter((k) => k.subject === state.subject);

  const drawPreview = () => {
    const bad = new Set([...errors.steps.keys()].map((i) => state.steps[i]?.key).filter(Boolean));
    preview.replaceChildren(dagSVG(state.steps, { errorKeys: bad }));
  };

  const dependsOnBoxes = (st) => {
    const others = state.steps.filter((o) => o !== st && o.key.trim());
    if (!others.length) return [h('span', { class: 'hint' }, 'No other steps yet.')];
    return others.map((o) => {
      const id = `${st.uid}-dep-${o.uid}`;
      return h('label', { class: 'check', for: id },
        h('input', {
          id, type: 'checkbox', checked: st.dependsOn.includes(o.key.trim()), dataset: { dep: o.key.trim() },
          onchange: (ev) => {
            const k = o.key.trim();
            st.dependsOn = ev.target.checked ? [...new Set([...st.dependsOn, k])] : st.dependsOn.filter((d) => d !== k);
            drawPreview();
          },
        }), o.key.trim());
    });
  };

  const refreshDependsOn = () => {
    for (const st of state.steps) {
      const keys = new Set(state.steps.filter((o) => o !== st).map((o) => o.key.trim()));
      st.dependsOn = st.dependsOn.filter((d) => keys.has(d));
      const fs = stepsList.querySelector(`[data-uid="${st.uid}"] .deps`);
      if (fs) fs.replaceChildren(fs.firstChild, ...dependsOnBoxes(st));
    }
    drawPreview();
  };

  const kindHint = (kind) => {
    const k = kinds.find((x) => x.kind === kind);
    if (!k) return 'Choose what the step does.';
    const needs = k.requiredUpstreamKinds.length ? `Reads the output of ${k.requiredUpstreamKinds.join(', ')}, which must be among its dependencies.` : 'Needs no other step.';
    return `${label(k.module)} module. ${needs}`;
  };

  const stepEditor = (st, i) => {
    const err = errors.steps.get(i);
    const base = `step-${i}`;
    const text = (prop, lbl, attrs = {}) => {
      const input = h('input', {
        id: `${base}-${prop}`, type: 'text', value: st[prop], ...attrs,
        'aria-invalid': err?.field === prop ? 'true' : undefined,
        'aria-describedby': err?.field === prop ? `${base}-error` : undefined,
        oninput: (ev) => { st[prop] = ev.target.value; drawPreview(); },
      });
      return h('div', {}, h('label', { for: input.id }, lbl), input);
    };
    const kindSelect = h('select', {
      id: `${base}-kind`,
      'aria-invalid': err?.field === 'kind' ? 'true' : undefined,
      'aria-describedby': `${base}-kind-hint${err?.field === 'kind' ? ` ${base}-error` : ''}`,
    }, h('option', { value: '' }, 'Choose a kind…'), kindsFor().map((k) => h('option', { value: k.kind, selected: k.kind === st.kind }, k.kind)));
    const hint = h('p', { class: 'hint', id: `${base}-kind-hint` }, kindHint(st.kind));
    kindSelect.addEventListener('change', () => {
      st.kind = kindSelect.value;
      hint.textContent = kindHint(st.kind);
      drawPreview();
    });
    const keyBox = text('key', 'Key', { spellcheck: 'false' });
    keyBox.querySelector('input').addEventListener('change', refreshDependsOn);
    const deps = h('fieldset', {
      class: 'deps', 'aria-describedby': err?.field === 'dependsOn' ? `${base}-error` : undefined,
    }, h('legend', {}, 'Depends on'), dependsOnBoxes(st));
    const remove = h('button', {
      type: 'button', class: 'danger', 'aria-label': `Remove step ${st.key || i + 1}`,
      onclick: () => {
        state.steps.splice(state.steps.indexOf(st), 1);
        errors.steps.clear();
        renderSteps();
        refreshDependsOn();
        addButton.focus();
      },
    }, 'Remove');
    return h('li', { class: `step-editor${err ? ' invalid' : ''}`, dataset: { uid: st.uid, index: i, errorField: err?.field } },
      h('h3', {}, `Step ${i + 1}`),
      h('div', { class: 'grid' },
        keyBox,
        text('name', 'Name'),
        h('div', {}, h('label', { for: kindSelect.id }, 'Kind'), kindSelect),
        text('maxAttempts', 'Max attempts', { type: 'number', min: 1, max: 25, placeholder: 'default' }),
        text('timeoutSeconds', 'Timeout (seconds)', { type: 'number', min: 1, max: 86400, placeholder: 'default' })),
      hint,
      deps,
      err ? h('p', { class: 'error', id: `${base}-error` }, err.message) : null,
      h('div', { class: 'actions' }, remove));
  };

  const renderSteps = () => {
    stepsList.replaceChildren(...state.steps.map(stepEditor));
    drawPreview();
  };

  const clearErrors = () => {
    errors = { steps: new Map(), fields: new Map(), general: '' };
    general.textContent = '';
    keyErr.textContent = '';
    nameErr.textContent = '';
    keyInput.removeAttribute('aria-invalid');
    nameInput.removeAttribute('aria-invalid');
  };

  const showErrors = (err) => {
    const unplaced = [];
    for (const e of err.errors || [{ message: err.message }]) {
      const f = e.extensions?.field || '';
      const m = f.match(/^input\.steps\[(\d+)\](?:\.(\w+))?/);
      if (m) {
        errors.steps.set(Number(m[1]), { field: m[2] || '', message: e.message });
      } else if (f === 'input.key') {
        keyErr.textContent = e.message;
        keyInput.setAttribute('aria-invalid', 'true');
        keyInput.setAttribute('aria-describedby', 'build-key-error');
      } else if (f === 'input.name') {
        nameErr.textContent = e.message;
        nameInput.setAttribute('aria-invalid', 'true');
      } else {
        unplaced.push(e.message);
      }
    }
    renderSteps();
    const first = [...errors.steps.keys()].sort((a, b) => a - b)[0];
    if (first !== undefined) {
      general.textContent = `Step ${first + 1} (${state.steps[first]?.key || 'no key'}): ${errors.steps.get(first).message}`;
      const fld = errors.steps.get(first).field || 'key';
      const target = stepsList.querySelector(`#step-${first}-${fld}`) || stepsList.querySelector(`[data-index="${first}"] input`);
      target?.focus();
    } else if (unplaced.length) {
      general.textContent = unplaced.join(' ');
    } else {
      general.textContent = 'The package was not saved: see the fields marked above.';
    }
  };

  const fill = (pkg) => {
    clearErrors();
    saved.textContent = '';
    if (!pkg) {
      Object.assign(state, { id: null, version: 0, key: '', name: '', description: '', subject: 'PROPERTY', steps: [blankStep()] });
    } else {
      Object.assign(state, {
        id: pkg.id, version: pkg.version, key: pkg.key, name: pkg.name, description: pkg.description, subject: pkg.subject,
        steps: (pkg.steps || []).slice().sort((a, b) => a.position - b.position).map((st) => ({
          ...blankStep(), key: st.key, name: st.name, kind: st.kind, dependsOn: [...st.dependsOn], config: st.config,
          maxAttempts: st.maxAttempts ?? '', timeoutSeconds: st.timeoutSeconds ?? '',
        })),
      });
    }
    keyInput.value = state.key;
    keyInput.disabled = !!state.id;
    nameInput.value = state.name;
    descInput.value = state.description;
    subjectSelect.value = state.subject;
    subjectSelect.disabled = !!state.id;
    version.textContent = state.id ? `Version ${state.version}; saving creates version ${state.version + 1}.` : 'Not saved yet.';
    renderSteps();
  };

  loadSelect.addEventListener('change', async () => {
    const all = await packages(session);
    fill(all.find((p) => p.id === loadSelect.value) || null);
  });
  keyInput.addEventListener('input', () => { state.key = keyInput.value; });
  nameInput.addEventListener('input', () => { state.name = nameInput.value; });
  descInput.addEventListener('input', () => { state.description = descInput.value; });
  subjectSelect.addEventListener('change', () => {
    state.subject = subjectSelect.value;
    for (const st of state.steps) if (!kindsFor().some((k) => k.kind === st.kind)) st.kind = '';
    renderSteps();
  });
  addButton.addEventListener('click', () => {
    state.steps.push(blankStep());
    renderSteps();
    stepsList.querySelector(`#step-${state.steps.length - 1}-key`)?.focus();
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    saved.textContent = '';
    saveButton.disabled = true;
    const steps = state.steps.map(toInput);
    try {
      let pkg;
      if (state.id) {
        pkg = (await session.request(`mutation($id: ID!, $input: UpdatePackageInput!) { updatePackage(id: $id, input: $input) { ${PACKAGE_FIELDS} } }`,
          { id: state.id, input: { name: state.name.trim(), description: state.description, steps } })).updatePackage;
      } else {
        pkg = (await session.request(`mutation($input: CreatePackageInput!) { createPackage(input: $input) { ${PACKAGE_FIELDS} } }`,
          { input: { key: state.key.trim(), name: state.name.trim(), description: state.description, subject: state.subject, steps } })).createPackage;
      }
      session.forget('packages');
      await refreshLoad(pkg.id);
      fill(pkg);
      saved.textContent = `Saved ${pkg.name} as version ${pkg.version}.`;
      announce(saved.textContent);
    } catch (err) {
      showErrors(err);
    } finally {
      saveButton.disabled = false;
    }
  });

  const refreshLoad = async (selected) => {
    const all = await packages(session);
    loadSelect.replaceChildren(h('option', { value: '' }, 'A new package'),
      ...all.map((p) => h('option', { value: p.id, selected: p.id === selected }, `${p.name} (${p.key}, v${p.version})`)));
  };

  Promise.all([stepKinds(session), refreshLoad()]).then(([k]) => {
    kinds = k;
    renderSteps();
  }).catch((err) => { general.textContent = `Could not load the step kinds: ${err.message}`; });
  renderSteps();
}
