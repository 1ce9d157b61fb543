// Run detail: the steps' bars (live), the steps awaiting approval with
// Approve and Reject (and a choice among their options), each step's typed
// output rendered for a person, the posts, emails and tasks the run
// created, Cancel and Retry, and the report.

import { h, announce, field } from './dom.js';
import { RUN_FIELDS, TERMINAL_RUN } from './runs.js';
import { stepBars, statusBadge } from './bars.js';
import { OUTPUT_FRAGMENT, renderOutput } from './outputs.js';
import { dateTime, label } from './format.js';

const POST_FIELDS = 'edges { node { id platform scheduledAt text status runID stepKey } }';
const TASK_FIELDS = 'edges { node { id type title notes dueAt status runID stepKey } }';
const EMAIL_FIELDS = 'edges { node { id to subject scheduledAt status runID stepKey } }';

const DETAIL = `query($id: ID!) { node(id: $id) { ... on Run { ${RUN_FIELDS} params
  steps { key output { ${OUTPUT_FRAGMENT} }
    approval { review options { name label price } approverRoles approverUserIds deadlineAt deadlineAction defaultChoice } }
  property { id address city zip sqft beds baths
    scheduledPosts(first: 50, orderBy: {field: SCHEDULED_AT}) { ${POST_FIELDS} }
    tasks(first: 50, orderBy: {field: DUE_AT}) { ${TASK_FIELDS} } }
  client { id name email
    tasks(first: 50, orderBy: {field: DUE_AT}) { ${TASK_FIELDS} }
    emailMessages(first: 50, orderBy: {field: SCHEDULED_AT}) { ${EMAIL_FIELDS} } } } } }`;

/** reportURL is where the server serves a run's report. */
export const reportURL = (id, format = 'html') => `/api/v1/runs/${encodeURIComponent(id)}/report?format=${format}`;

export function renderDetail(main, session, runID) {
  const store = session.store;
  const heading = h('h1', { id: 'run-title' }, `Run ${runID}`);
  const badge = h('span', { id: 'run-status' });
  const meta = h('p', { class: 'hint', id: 'run-meta' });
  const barsSlot = h('div', { id: 'run-bars' });
  const message = h('p', { role: 'status', id: 'run-message' });
  const error = h('p', { class: 'error', role: 'alert', id: 'run-error' });
  const cancel = h('button', { type: 'button', class: 'danger', id: 'run-cancel', disabled: true }, 'Cancel run');
  const retry = h('button', { type: 'button', class: 'secondary', id: 'run-retry', disabled: true }, 'Retry run');
  const report = h('a', { href: reportURL(runID), id: 'run-report' }, 'Download the report (HTML)');
  const approvals = h('div', { id: 'run-approvals' });
  const outputs = h('div', { id: 'run-outputs' });
  const effects = h('div', { id: 'run-effects' });
  main.append(heading, h('div', { class: 'run-head' }, badge, meta),
    h('div', { class: 'actions' }, cancel, retry, report),
    message, error,
    h('section', { class: 'card', 'aria-labelledby': 'steps-title' }, h('h2', { id: 'steps-title' }, 'Steps'), barsSlot),
    approvals, outputs, effects);

  let bars = null;
  let timer = 0;
  let closed = false;

  const paint = () => {
    const r = store.runs.get(runID);
    if (!r) return;
    heading.textContent = `${r.package?.name || 'Run'}: ${r.property?.address || r.client?.name || ''}`;
    badge.replaceChildren(statusBadge(r.status));
    badge.dataset.status = r.status;
    meta.textContent = `Run ${r.id} · package version ${r.packageVersion} · started ${dateTime(r.createdAt)}${r.error ? ` · ${r.error}` : ''}`;
    if (!bars) {
      bars = stepBars(r, `d-${r.id}`);
      barsSlot.replaceChildren(bars.el);
    } else {
      bars.update(r);
    }
    cancel.disabled = TERMINAL_RUN.has(r.status) || r.status === 'CANCELING';
    retry.disabled = !(r.status === 'FAILED' || r.status === 'CANCELED');
  };

  const effectsOf = (node) => {
    const mine = (edges) => (edges || []).map((e) => e.node).filter((n) => String(n.runID) === String(runID));
    const posts = mine(node.property?.scheduledPosts?.edges);
    const tasks = [...mine(node.property?.tasks?.edges), ...mine(node.client?.tasks?.edges)]
      .filter((t, i, all) => all.findIndex((x) => x.id === t.id) === i);
    const mails = mine(node.client?.emailMessages?.edges);
    return { posts, tasks, mails };
  };

  const renderEffects = (node) => {
    const { posts, tasks, mails } = effectsOf(node);
    const section = (id, title, items, render) => h('section', { class: 'card', 'aria-labelledby': id },
      h('h2', { id }, `${title} (${items.length})`),
      items.length ? h('ul', {}, items.map(render)) : h('p', {}, 'None.'));
    effects.replaceChildren(
      section('effects-posts', 'Social posts created', posts, (p) => h('li', { dataset: { postId: p.id } },
        h('strong', {}, `${label(p.platform)}, ${dateTime(p.scheduledAt)} (${label(p.status)}): `), p.text)),
      section('effects-emails', 'Emails scheduled', mails, (m) => h('li', {}, `${dateTime(m.scheduledAt)} to ${m.to}: ${m.subject} (${label(m.status)})`)),
      section('effects-tasks', 'Tasks created', tasks, (t) => h('li', {}, `${dateTime(t.dueAt)} · ${label(t.type)}: ${t.title} (${label(t.status)})`)));
  };

  const renderOutputs = (node) => {
    const run = store.runs.get(runID) || node;
    const steps = (node.steps || []).slice().sort((a, b) => a.position - b.position);
    outputs.replaceChildren(...steps.map((st) => h('section', { class: 'card', 'aria-labelledby': `out-${st.key}`, dataset: { outputOf: st.key } },
      h('h2', { id: `out-${st.key}` }, `${st.name} `, statusBadge(st.status)),
      st.output ? renderOutput(st.output, run) : h('p', {}, st.error ? `Error: ${st.error}` : st.status === 'SUCCEEDED' ? 'No output.' : 'No output yet.'))));
  };

  // renderApprovals shows each step awaiting approval: what is to be
  // approved, by whom, until when, the options, and the two decisions. A
  // step still waiting keeps its card, so that a re-read of the run (a
  // live update, a resync) does not lose the choice and comment being
  // written.
  const cards = new Map();
  const renderApprovals = (node) => {
    const run = store.runs.get(runID);
    const waiting = (node.steps || []).filter((st) => st.approval && (run?.steps.get(st.key)?.status || st.status) === 'AWAITING_APPROVAL');
    const keep = new Set(waiting.map((st) => st.key));
    for (const key of [...cards.keys()]) if (!keep.has(key)) cards.delete(key);
    for (const st of waiting) if (!cards.has(st.key)) cards.set(st.key, approvalCard(st));
    const els = waiting.map((st) => cards.get(st.key));
    if (els.length !== approvals.children.length || els.some((el, i) => approvals.children[i] !== el)) approvals.replaceChildren(...els);
  };

  const approvalCard = (st) => {
    const a = st.approval;
    const id = `approve-${st.key}`;
    const comment = h('textarea', { id: `${id}-comment`, rows: 2, maxlength: 2000 });
    const choice = a.options.length
      ? h('select', { id: `${id}-choice` }, a.options.map((o) => h('option', { value: o.name, selected: o.name === a.defaultChoice }, o.label)))
      : null;
    const approve = h('button', { type: 'button', id: `${id}-approve`, dataset: { stepKey: st.key } }, 'Approve');
    const reject = h('button', { type: 'button', class: 'danger', id: `${id}-reject`, dataset: { stepKey: st.key } }, 'Reject');
    const who = [...a.approverRoles.map((r) => `${label(r)}s`), ...a.approverUserIds.map((u) => `user ${u}`)].join(' or ');
    const deadline = a.deadlineAt ? ` Deadline ${dateTime(a.deadlineAt)}, then ${label(a.deadlineAction)}.` : '';
    const decide = async (button, mutation, vars, verb) => {
      approve.disabled = reject.disabled = true;
      error.textContent = '';
      try {
        const data = await session.request(`mutation($runId: ID!, $stepKey: String!, $comment: String${mutation === 'approveStep' ? ', $choice: String' : '!'}) {
          ${mutation}(runId: $runId, stepKey: $stepKey, comment: $comment${mutation === 'approveStep' ? ', choice: $choice' : ''}) { ${RUN_FIELDS} } }`,
        { runId: runID, stepKey: st.key, ...vars });
        store.upsert(data[mutation]);
        store.track(runID);
        message.textContent = `${st.name}: ${verb}.`;
        announce(message.textContent);
        reload();
      } catch (err) {
        error.textContent = `${verb} failed: ${err.message}`;
        approve.disabled = reject.disabled = false;
      }
    };
    approve.addEventListener('click', () => decide(approve, 'approveStep', { comment: comment.value || null, choice: choice ? choice.value : null }, 'approved'));
    reject.addEventListener('click', () => {
      if (!comment.value.trim()) {
        error.textContent = 'A rejection needs a reason: write it in the comment.';
        comment.focus();
        return;
      }
      decide(reject, 'rejectStep', { comment: comment.value }, 'rejected');
    });
    return h('section', { class: 'card approval', 'aria-labelledby': `${id}-title`, dataset: { approvalOf: st.key } },
      h('h2', { id: `${id}-title` }, `Awaiting approval: ${st.name}`),
      h('p', {}, `Review the output of ${a.review.join(', ') || 'the steps before it'} below. Who may decide: ${who}.${deadline}`),
      choice ? field('Choice', choice, 'Carried to the steps after it (the campaign advertises the chosen price).') : null,
      field('Comment', comment, 'Required to reject: the run fails with it.'),
      h('div', { class: 'actions' }, approve, reject));
  };

  let loads = 0;
  const load = async () => {
    const mine = ++loads;
    try {
      const { node } = await session.request(DETAIL, { id: runID });
      // A slower, older answer must not replace a newer one.
      if (closed || mine !== loads) return;
      if (!node) {
        error.textContent = `Run ${runID} was not found.`;
        return;
      }
      store.upsert(node);
      renderApprovals(node);
      renderOutputs(node);
      renderEffects(node);
      paint();
    } catch (err) {
      if (!closed) error.textContent = `Could not load the run: ${err.message}`;
    }
  };
  // Outputs and effects are read again when a step finishes, at most a few
  // times a second.
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  };

  const stop = store.onChange((id, ev) => {
    if (id !== runID) return;
    paint();
    if (ev && (ev.type === 'STREAM_COMPLETE' || /^(STEP_(SUCCEEDED|FAILED|SKIPPED|CANCELED|AWAITING)|RUN_)/.test(ev.type))) reload();
  });
  window.addEventListener('console:resync', reload);

  const act = async (button, mutation, verb) => {
    button.disabled = true;
    error.textContent = '';
    try {
      const data = await session.request(`mutation($id: ID!) { ${mutation}(id: $id) { ${RUN_FIELDS} } }`, { id: runID });
      store.upsert(data[mutation]);
      store.track(runID);
      message.textContent = `${verb} requested.`;
      announce(message.textContent);
    } catch (err) {
      error.textContent = `${verb} failed: ${err.message}`;
    }
    paint();
  };
  cancel.addEventListener('click', () => act(cancel, 'cancelRun', 'Cancel'));
  retry.addEventListener('click', () => act(retry, 'retryRun', 'Retry'));

  // The report needs the token, which a plain link cannot carry: fetch it
  // and hand it to the browser as a download.
  report.addEventListener('click', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      const resp = await fetch(report.href, { headers: { Authorization: `Bearer ${session.token}` } });
      if (!resp.ok) throw new Error(`the server answered ${resp.status}`);
      const url = URL.createObjectURL(await resp.blob());
      const a = h('a', { href: url, download: `run-${runID}-report.html` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      error.textContent = `Could not fetch the report: ${err.message}`;
    }
  });

  store.track(runID);
  paint();
  load();
  return () => {
    closed = true;
    clearTimeout(timer);
    stop();
    window.removeEventListener('console:resync', reload);
  };
}
