// Automation: the organization's automation rules, schedules and webhook
// endpoints, each a table paged with its Relay connection (first/after,
// and the cursors of the pages already seen for going back). A rule's
// Enabled switch calls updateAutomationRule; a schedule's Pause and Resume
// call pauseSchedule and resumeSchedule. The server's refusals are shown
// with their message, code and field.

import { h, announce } from './dom.js';
import { dateTime, label } from './format.js';

const PAGE = 10;
const DELIVERIES = 5;

/** failure describes an API error for a person: its message, with the
 * code and the field at fault when the server gave them. */
export function failure(what, err) {
  const ext = err.errors?.[0]?.extensions || {};
  const tags = [ext.code, ext.field].filter(Boolean).join(', ');
  return `${what}: ${err.message}${tags ? ` (${tags})` : ''}`;
}

const RULE_FIELDS = `id name event fromStage toStage packageKey packageVersion
  conditionLeadSource conditionZips conditionPriceMin conditionPriceMax enabled`;
const SCHEDULE_FIELDS = `id name cron timezone packageKey packageVersion paused nextFireTimes(count: 5)
  lastFireAt lastOutcome { occurrenceAt firedAt matched runsStarted errors skippedOccurrences }`;
const ENDPOINT_FIELDS = `id url description eventTypes enabled consecutiveFailures disabledReason disabledAt
  deliveries(first: ${DELIVERIES}, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount edges { node {
    id eventType status responseCode attempt error scheduledAt attemptedAt } } }`;

export function renderAutomation(main, session) {
  const sections = [
    pagedTable(session, {
      id: 'rules',
      title: 'Automation rules',
      one: 'automation rule',
      connection: 'automationRules',
      query: `query($first: Int, $after: Cursor) { automationRules(first: $first, after: $after, orderBy: {field: NAME}) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { ${RULE_FIELDS} } } } }`,
      headers: ['Name', 'Event', 'Package', 'Conditions', 'Enabled'],
      empty: 'No automation rules yet. Create one with the createAutomationRule mutation (see “Triggers: automation rules” in the README): when its event happens to a record, its package starts on that record.',
      row: ruleRow,
    }),
    pagedTable(session, {
      id: 'schedules',
      title: 'Schedules',
      one: 'schedule',
      connection: 'schedules',
      query: `query($first: Int, $after: Cursor) { schedules(first: $first, after: $after, orderBy: {field: NAME}) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { ${SCHEDULE_FIELDS} } } } }`,
      headers: ['Name', 'Cron', 'Time zone', 'Package', 'Next five fire times', 'Last outcome', 'State'],
      empty: 'No schedules yet. Create one with the createSchedule mutation (see “Schedules” in the README) to start a package on a cron expression over a set of records.',
      row: scheduleRow,
    }),
    pagedTable(session, {
      id: 'webhooks',
      title: 'Webhook endpoints',
      one: 'webhook endpoint',
      connection: 'webhookEndpoints',
      query: `query($first: Int, $after: Cursor) { webhookEndpoints(first: $first, after: $after, orderBy: {field: URL}) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { ${ENDPOINT_FIELDS} } } } }`,
      headers: ['URL', 'Event types', 'Status', 'Recent deliveries'],
      empty: 'No webhook endpoints yet. Register one with the createWebhookEndpoint mutation (see “Webhooks” in the README); its signing secret is shown once.',
      row: endpointRow,
    }),
  ];
  main.append(h('h1', {}, 'Automation'),
    h('p', { class: 'hint' }, 'What starts runs by itself, and where the organization’s events are delivered.'),
    ...sections.map((s) => s.el));
  const resync = () => sections.forEach((s) => s.reload());
  window.addEventListener('console:resync', resync);
  return () => window.removeEventListener('console:resync', resync);
}

// pagedTable is one section: a heading, a count, an error slot, the table
// (or the empty state) and Previous/Next. cursors[i] is the cursor after
// which page i starts (null for the first).
function pagedTable(session, spec) {
  const headingID = `${spec.id}-heading`;
  const count = h('p', { id: `${spec.id}-count`, class: 'hint', role: 'status' });
  const error = h('p', { id: `${spec.id}-error`, class: 'error', role: 'alert' });
  const body = h('tbody', { id: `${spec.id}-rows` });
  const table = h('table', { id: `${spec.id}-table`, 'aria-labelledby': headingID, hidden: true },
    h('thead', {}, h('tr', {}, spec.headers.map((t) => h('th', { scope: 'col' }, t)))), body);
  const empty = h('p', { id: `${spec.id}-empty`, class: 'card empty', hidden: true }, spec.empty);
  const prev = h('button', { type: 'button', class: 'secondary', id: `${spec.id}-prev` }, 'Previous');
  const next = h('button', { type: 'button', class: 'secondary', id: `${spec.id}-next` }, 'Next');
  const pageLabel = h('span', { id: `${spec.id}-page` });
  const pager = h('nav', { class: 'pager', 'aria-label': `Pages of ${spec.title.toLowerCase()}` }, prev, pageLabel, next);
  const el = h('section', { id: `automation-${spec.id}`, 'aria-labelledby': headingID, dataset: { loaded: 'false' } },
    h('h2', { id: headingID }, spec.title), count, error, table, empty, pager);

  let cursors = [null];
  let page = 0;
  let loading = 0;

  const load = async () => {
    const mine = ++loading;
    prev.disabled = true;
    next.disabled = true;
    try {
      const data = await session.request(spec.query, { first: PAGE, after: cursors[page] });
      if (mine !== loading) return;
      const conn = data[spec.connection];
      const nodes = (conn.edges || []).map((e) => e.node);
      if (!nodes.length && page > 0) {
        // The page emptied (rows deleted elsewhere): go back one.
        page -= 1;
        load();
        return;
      }
      const ctx = { session, reload: load, error, title: spec.title };
      body.replaceChildren(...nodes.map((n) => spec.row(n, ctx)));
      table.hidden = nodes.length === 0;
      empty.hidden = nodes.length !== 0;
      cursors[page + 1] = conn.pageInfo.endCursor;
      const pages = Math.max(1, Math.ceil(conn.totalCount / PAGE));
      pageLabel.textContent = `Page ${page + 1} of ${pages}`;
      pager.hidden = pages === 1;
      prev.disabled = page === 0;
      next.disabled = !conn.pageInfo.hasNextPage;
      count.textContent = `${conn.totalCount} ${conn.totalCount === 1 ? spec.one : spec.title.toLowerCase()}.`;
      error.textContent = '';
      el.dataset.loaded = 'true';
    } catch (err) {
      if (mine !== loading) return;
      error.textContent = failure(`Could not load the ${spec.title.toLowerCase()}`, err);
      prev.disabled = page === 0;
      next.disabled = cursors[page + 1] === undefined;
    }
  };
  prev.addEventListener('click', () => { page = Math.max(0, page - 1); load(); });
  next.addEventListener('click', () => { page += 1; load(); });
  const reload = () => { cursors = [null]; page = 0; load(); };
  load();
  return { el, reload };
}

const pkgText = (key, version) => `${key} ${version ? `v${version} (pinned)` : '(latest version)'}`;
const dash = (v) => (v === null || v === undefined || v === '' ? '—' : v);
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });

function conditions(r) {
  const out = [];
  if (r.conditionLeadSource) out.push(`Lead source ${label(r.conditionLeadSource)}`);
  if (r.conditionZips?.length) out.push(`ZIP ${r.conditionZips.join(', ')}`);
  const min = r.conditionPriceMin;
  const max = r.conditionPriceMax;
  if (min != null && max != null) out.push(`Price ${usd.format(min)} to ${usd.format(max)}`);
  else if (min != null) out.push(`Price at least ${usd.format(min)}`);
  else if (max != null) out.push(`Price at most ${usd.format(max)}`);
  return out.length ? h('ul', { class: 'plain' }, out.map((c) => h('li', {}, c))) : 'None (every record)';
}

function eventText(r) {
  const change = r.fromStage || r.toStage ? ` (${r.fromStage ? label(r.fromStage) : 'any'} → ${r.toStage ? label(r.toStage) : 'any'})` : '';
  return `${label(r.event)}${change}`;
}

function ruleRow(r, { session, reload, error }) {
  const box = h('input', { type: 'checkbox', role: 'switch', id: `rule-enabled-${r.id}`, checked: r.enabled });
  const state = h('span', {}, r.enabled ? 'Enabled' : 'Disabled');
  box.addEventListener('change', async () => {
    const want = box.checked;
    box.disabled = true;
    try {
      await session.request(`mutation($id: ID!, $input: UpdateAutomationRuleInput!) {
        updateAutomationRule(id: $id, input: $input) { id enabled } }`, { id: r.id, input: { enabled: want } });
      announce(`Rule ${r.name} ${want ? 'enabled' : 'disabled'}.`);
      error.textContent = '';
      reload();
    } catch (err) {
      box.checked = !want;
      box.disabled = false;
      error.textContent = failure(`Could not ${want ? 'enable' : 'disable'} the rule ${r.name}`, err);
    }
  });
  return h('tr', { dataset: { id: r.id, enabled: String(r.enabled) } },
    h('th', { scope: 'row' }, r.name),
    h('td', {}, eventText(r)),
    h('td', {}, pkgText(r.packageKey, r.packageVersion)),
    h('td', {}, conditions(r)),
    h('td', {}, h('label', { for: box.id, class: 'switch' }, box, ' ', state, h('span', { class: 'visually-hidden' }, ` rule ${r.name}`))));
}

// inZone formats a time in the schedule's time zone (the one its cron
// expression is read in), naming the zone.
function inZone(iso, tz) {
  try {
    return new Date(iso).toLocaleString('en-US', {
      year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: tz, timeZoneName: 'short',
    });
  } catch {
    return dateTime(iso);
  }
}

function outcome(s) {
  const o = s.lastOutcome;
  if (!o) return 'Not fired yet';
  const parts = [];
  if (o.firedAt) parts.push(`Fired ${inZone(o.firedAt, s.timezone)} for ${inZone(o.occurrenceAt, s.timezone)}: ${o.matched} records matched, ${o.runsStarted} runs started`);
  else parts.push(`Occurrence ${inZone(o.occurrenceAt, s.timezone)} missed and not run`);
  if (o.skippedOccurrences) parts.push(`${o.skippedOccurrences} earlier occurrences skipped`);
  return h('div', {}, parts.join('; ') + '.',
    o.errors?.length ? h('ul', { class: 'plain error' }, o.errors.map((e) => h('li', {}, e))) : null);
}

function scheduleRow(s, { session, reload, error }) {
  const verb = s.paused ? 'Resume' : 'Pause';
  const button = h('button', { type: 'button', class: 'secondary', id: `schedule-${s.paused ? 'resume' : 'pause'}-${s.id}`, 'aria-label': `${verb} schedule ${s.name}` }, verb);
  button.addEventListener('click', async () => {
    button.disabled = true;
    const field = s.paused ? 'resumeSchedule' : 'pauseSchedule';
    try {
      await session.request(`mutation($id: ID!) { ${field}(id: $id) { id paused } }`, { id: s.id });
      announce(`Schedule ${s.name} ${s.paused ? 'resumed' : 'paused'}.`);
      error.textContent = '';
      reload();
    } catch (err) {
      button.disabled = false;
      error.textContent = failure(`Could not ${verb.toLowerCase()} the schedule ${s.name}`, err);
    }
  });
  const times = s.paused
    ? h('p', { class: 'hint' }, 'Paused: nothing fires until it is resumed.')
    : h('ol', { class: 'plain fire-times' }, s.nextFireTimes.map((t) => h('li', {}, h('time', { datetime: t }, inZone(t, s.timezone)))));
  return h('tr', { dataset: { id: s.id, paused: String(s.paused) } },
    h('th', { scope: 'row' }, s.name),
    h('td', {}, h('code', {}, s.cron)),
    h('td', {}, s.timezone),
    h('td', {}, pkgText(s.packageKey, s.packageVersion)),
    h('td', {}, times),
    h('td', {}, outcome(s)),
    h('td', {}, h('span', { class: `badge ${s.paused ? 's-CANCELED' : 's-SUCCEEDED'}` }, s.paused ? 'Paused' : 'Active'), ' ', button));
}

function endpointRow(e) {
  const status = e.enabled
    ? h('span', { class: 'badge s-SUCCEEDED' }, 'Enabled')
    : h('div', {}, h('span', { class: 'badge s-FAILED' }, 'Disabled'),
      h('p', { class: 'hint' }, `${dash(e.disabledReason)}${e.disabledAt ? ` (since ${dateTime(e.disabledAt)})` : ''}`));
  const deliveries = e.deliveries.edges.map((x) => x.node);
  const log = deliveries.length
    ? h('table', { class: 'deliveries' },
      h('caption', { class: 'visually-hidden' }, `Latest deliveries to ${e.url}`),
      h('thead', {}, h('tr', {}, ['Event', 'Status', 'Response', 'Attempt', 'Time'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, deliveries.map((d) => h('tr', { dataset: { status: d.status } },
        h('td', {}, label(d.eventType)),
        h('td', {}, h('span', { class: `badge s-${d.status}` }, label(d.status)), d.error ? h('p', { class: 'hint' }, d.error) : null),
        h('td', { class: 'num' }, dash(d.responseCode)),
        h('td', { class: 'num' }, d.attempt),
        h('td', {}, dateTime(d.attemptedAt || d.scheduledAt))))))
    : h('p', { class: 'hint' }, 'No deliveries yet: one is made when an event of these types happens.');
  return h('tr', { dataset: { id: e.id, enabled: String(e.enabled) } },
    h('th', { scope: 'row' }, h('span', { class: 'url' }, e.url), e.description ? h('p', { class: 'hint' }, e.description) : null),
    h('td', {}, h('ul', { class: 'plain' }, e.eventTypes.map((t) => h('li', {}, label(t))))),
    h('td', {}, status,
      e.enabled && e.consecutiveFailures ? h('p', { class: 'hint' }, `${e.consecutiveFailures} failures in a row`) : null),
    h('td', {}, log, e.deliveries.totalCount > deliveries.length ? h('p', { class: 'hint' }, `Latest ${deliveries.length} of ${e.deliveries.totalCount}.`) : null));
}
