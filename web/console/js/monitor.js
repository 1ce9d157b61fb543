// Monitor: the organization's runs, live (runsUpdated), newest first, with
// status colours and a bar per step. Filters by status and package. The
// list is paged: only one page of rows is in the document, however many
// runs are loaded, so that 500 runs stay smooth; live changes re-render the
// visible rows at most once per frame.

import { h, field } from './dom.js';
import { RUN_FIELDS } from './runs.js';
import { stepBars, statusBadge } from './bars.js';
import { packages } from './catalog.js';
import { dateTime, label } from './format.js';

const PAGE = 25;
const FETCH = 100;
const STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELING', 'CANCELED'];

export function renderMonitor(main, session) {
  const store = session.store;
  const statusSelect = h('select', { id: 'monitor-status' }, h('option', { value: '' }, 'Any status'), STATUSES.map((st) => h('option', { value: st }, label(st))));
  const pkgSelect = h('select', { id: 'monitor-package' }, h('option', { value: '' }, 'Any package'));
  const list = h('ul', { class: 'runs-list', id: 'monitor-list', 'aria-label': 'Runs' });
  const count = h('p', { id: 'monitor-count', role: 'status' });
  const prev = h('button', { type: 'button', class: 'secondary', id: 'monitor-prev' }, 'Newer');
  const next = h('button', { type: 'button', class: 'secondary', id: 'monitor-next' }, 'Older');
  const pageLabel = h('span', { id: 'monitor-page' });
  const error = h('p', { class: 'error', role: 'alert' });
  main.append(h('h1', {}, 'Runs'),
    h('div', { class: 'row card' }, field('Status', statusSelect), field('Package', pkgSelect)),
    count, error, list,
    h('nav', { class: 'pager', 'aria-label': 'Pages of runs' }, prev, pageLabel, next));

  // ids: the runs matching the filters, newest first. rows: the rendered
  // rows of the current page, by run id.
  let ids = [];
  let page = 0;
  let total = 0;
  let cursor = null;
  let hasMore = false;
  let rows = new Map();
  let dirty = new Set();
  let frame = 0;
  let loading = 0;
  // Runs that arrive while the first page is being read: the answer may
  // predate them, and they must not be lost when it replaces the list.
  let arrived = null;
  let settle = 0;

  const matches = (r) => (!statusSelect.value || r.status === statusSelect.value) && (!pkgSelect.value || r.packageID === pkgSelect.value);
  const where = () => {
    const w = {};
    if (statusSelect.value) w.status = statusSelect.value;
    if (pkgSelect.value) w.packageID = pkgSelect.value;
    return w;
  };

  // A run that waits for a person says so beside its status; the detail
  // view has the Approve and Reject buttons.
  const badges = (r) => {
    const waiting = [...(r.steps?.values() || [])].filter((st) => st.status === 'AWAITING_APPROVAL');
    return [statusBadge(r.status), waiting.length
      ? h('a', { class: 'badge s-AWAITING_APPROVAL', href: `#/runs/${encodeURIComponent(r.id)}`, dataset: { awaiting: waiting.map((st) => st.key).join(',') } },
        `Awaiting approval: ${waiting.map((st) => st.name).join(', ')}`)
      : null];
  };

  const row = (r) => {
    const bars = stepBars(r, `m-${r.id}`);
    const badge = h('span', {}, badges(r));
    const subject = r.property?.address || r.client?.name || '';
    const li = h('li', { class: `run-row r-${r.status}`, dataset: { runId: r.id, status: r.status } },
      h('div', { class: 'run-head' },
        h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, `${r.package?.name || 'Run'} · ${subject}`),
        badge,
        h('span', { class: 'hint' }, `Run ${r.id}, started ${dateTime(r.createdAt)}`)),
      bars.el);
    return { li, bars, badge };
  };

  const render = () => {
    const start = page * PAGE;
    const visible = ids.slice(start, start + PAGE);
    const shown = new Map();
    const els = visible.map((id) => {
      const r = store.runs.get(id);
      let rw = rows.get(id);
      if (!rw) rw = row(r);
      else if (dirty.has(id)) {
        rw.bars.update(r);
        rw.badge.replaceChildren(...badges(r).filter(Boolean));
        rw.li.className = `run-row r-${r.status}`;
        rw.li.dataset.status = r.status;
      }
      shown.set(id, rw);
      return rw.li;
    });
    // Only the changed rows' nodes move; unchanged ones stay in place.
    if (els.length !== list.children.length || els.some((el, i) => list.children[i] !== el)) list.replaceChildren(...els);
    rows = shown;
    dirty = new Set();
    const pages = Math.max(1, Math.ceil(ids.length / PAGE));
    pageLabel.textContent = `Page ${page + 1} of ${pages}${hasMore ? '+' : ''}`;
    prev.disabled = page === 0;
    next.disabled = page + 1 >= pages && !hasMore;
    count.textContent = `${total} runs${statusSelect.value || pkgSelect.value ? ' match the filters' : ''}.`;
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
  };

  const load = async (append) => {
    const mine = ++loading;
    if (!append) arrived = new Set();
    try {
      const data = await session.request(`query($first: Int, $after: Cursor, $where: RunWhereInput) {
        runs(first: $first, after: $after, where: $where, orderBy: {field: CREATED_AT, direction: DESC}) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { ${RUN_FIELDS} } } } }`,
      { first: FETCH, after: append ? cursor : null, where: where() });
      if (mine !== loading) return;
      const got = data.runs.edges.map((e) => store.upsert(e.node).id);
      ids = append ? [...ids, ...got.filter((id) => !ids.includes(id))] : got;
      if (!append) rows = new Map();
      total = data.runs.totalCount;
      if (!append) {
        const seen = new Set(got);
        const newer = [...arrived].filter((id) => !seen.has(id) && matches(store.runs.get(id))).reverse();
        ids = [...newer, ...ids];
        total += newer.length;
        arrived = null;
      }
      cursor = data.runs.pageInfo.endCursor;
      hasMore = data.runs.pageInfo.hasNextPage;
      error.textContent = '';
      for (const id of ids) dirty.add(id);
      schedule();
    } catch (err) {
      if (mine === loading) error.textContent = `Could not load the runs: ${err.message}`;
    }
  };

  const stopStore = store.onChange((id) => {
    const r = store.runs.get(id);
    if (!r) return;
    const has = ids.includes(id);
    if (matches(r)) {
      if (!has) {
        // A run new to the list: runs arrive newest first, so it goes on top.
        ids = [id, ...ids];
        total += 1;
        arrived?.add(id);
        // runsUpdated has no cursor, and a slow page can be dropped from it
        // (SLOW_CONSUMER) in a burst: once the runs stop arriving, re-read
        // the first page so that the list and its count are exact.
        clearTimeout(settle);
        settle = setTimeout(() => { if (page === 0) load(false); }, 1500);
      }
      dirty.add(id);
      schedule();
    } else if (has) {
      ids = ids.filter((x) => x !== id);
      total -= 1;
      schedule();
    }
  });

  const reload = () => { page = 0; load(false); };
  statusSelect.addEventListener('change', reload);
  pkgSelect.addEventListener('change', reload);
  prev.addEventListener('click', () => { page = Math.max(0, page - 1); render(); });
  next.addEventListener('click', async () => {
    if ((page + 1) * PAGE >= ids.length && hasMore) await load(true);
    if ((page + 1) * PAGE < ids.length) page += 1;
    render();
  });
  const resync = () => load(false);
  window.addEventListener('console:resync', resync);

  packages(session).then((all) => pkgSelect.append(...all.map((p) => h('option', { value: p.id }, p.name)))).catch(() => {});
  load(false);
  return () => {
    stopStore();
    window.removeEventListener('console:resync', resync);
    if (frame) cancelAnimationFrame(frame);
    clearTimeout(settle);
  };
}
