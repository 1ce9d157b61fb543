// The runs the console knows about, kept live: runsUpdated for every run
// of the organization, and runEvents, resumed from its last seq after a
// reconnect, for the runs a person is watching (those started here and the
// one open in detail).

export const RUN_FIELDS = `id status progress createdAt updatedAt error packageID packageVersion
  package { id name key } property { id address sqft } client { id name }
  steps { key name kind status progress position dependsOn message error attempt }`;

const EVENT_FIELDS = 'seq type stepKey status progress message at compactedThrough';

export const TERMINAL_RUN = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);
const TERMINAL_EVENTS = new Set(['RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELED']);
const TERMINAL_STEP = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'SKIPPED']);

// A websocket carries at most 10 subscriptions (the server's default):
// runsUpdated takes one, detail views and their runs the rest.
const MAX_TRACKED = 8;

export class RunStore {
  constructor(session) {
    this.session = session;
    this.runs = new Map();
    this.listeners = new Set();
    this.tracked = new Map();
    this.log = document.getElementById('event-log');
  }

  /** onChange calls fn(runID, event?) after each change; it returns the
   * function that stops it. */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(runID, event) {
    for (const fn of this.listeners) fn(runID, event);
  }

  /** upsert merges a run as the server sent it. */
  upsert(r) {
    const old = this.runs.get(r.id);
    if (old && r.updatedAt && old.updatedAt && r.updatedAt < old.updatedAt) return old; // a stale copy
    const retried = old && TERMINAL_RUN.has(old.status) && !TERMINAL_RUN.has(r.status);
    const steps = new Map();
    for (const st of (r.steps || []).slice().sort((a, b) => a.position - b.position)) {
      steps.set(st.key, mergeStep(old?.steps.get(st.key), st, retried));
    }
    const run = { ...old, ...r, steps: r.steps ? steps : old?.steps || new Map() };
    this.runs.set(r.id, run);
    this.emit(r.id);
    return run;
  }

  /** live subscribes to runsUpdated. */
  live() {
    const again = () => setTimeout(() => {
      if (this.session.subs.stopped) return;
      this.live();
      // Changes between the end and the new subscription were missed.
      window.dispatchEvent(new CustomEvent('console:resync'));
    }, 1000);
    return this.session.subs.subscribe({
      query: `subscription { runsUpdated { ${RUN_FIELDS} } }`,
      variables: {},
      next: (data) => this.upsert(data.runsUpdated),
      // SLOW_CONSUMER, a restart: subscribe again, and re-read.
      error: (err) => {
        console.warn('runsUpdated ended', err);
        again();
      },
      complete: again,
    });
  }

  /** track streams the run's events from its last seq, until it ends. */
  track(runID) {
    const existing = this.tracked.get(runID);
    if (existing) {
      // A finished stream starts again after a retry, from its cursor.
      if (existing.done) {
        existing.done = false;
        existing.terminal = false;
        if (existing.el) delete existing.el.dataset.done;
        existing.subscribe();
      }
      return;
    }
    if (this.tracked.size >= MAX_TRACKED) {
      const oldest = [...this.tracked.keys()].find((id) => this.tracked.get(id).done) || this.tracked.keys().next().value;
      this.untrack(oldest);
    }
    const t = { lastSeq: 0, seqs: [], done: false, terminal: false, stop: null, el: null };
    this.tracked.set(runID, t);
    if (this.log) {
      t.el = document.createElement('span');
      t.el.dataset.runId = runID;
      t.el.dataset.seqs = '';
      this.log.append(t.el);
    }
    const subscribe = () => {
      t.stop = this.session.subs.subscribe({
        query: `subscription($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) { ${EVENT_FIELDS} } }`,
        // Evaluated at each (re)subscription: a stream resumes after the
        // last event it delivered.
        variables: () => ({ runId: runID, afterSeq: t.lastSeq }),
        next: (data) => this.applyEvent(runID, t, data.runEvents),
        error: (err) => {
          if (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN' || err.code === 'UNAUTHENTICATED') return;
          // SLOW_CONSUMER, UNAVAILABLE…: resume from the cursor.
          setTimeout(() => {
            if (this.tracked.get(runID) === t && !t.done) subscribe();
          }, 1000);
        },
        complete: () => {
          if (!t.terminal) {
            // Ended before the run did (the server restarting): resume.
            setTimeout(() => {
              if (this.tracked.get(runID) === t && !t.done) subscribe();
            }, 1000);
            return;
          }
          t.done = true;
          if (t.el) t.el.dataset.done = 'true';
          this.emit(runID, { type: 'STREAM_COMPLETE' });
        },
      });
    };
    t.subscribe = subscribe;
    subscribe();
  }

  untrack(runID) {
    const t = this.tracked.get(runID);
    if (!t) return;
    t.stop?.();
    t.el?.remove();
    this.tracked.delete(runID);
  }

  applyEvent(runID, t, ev) {
    t.seqs.push(ev.seq);
    if (t.el) t.el.dataset.seqs = t.seqs.join(',');
    if (ev.seq <= t.lastSeq) return; // never applied twice
    if (ev.type === 'EVENTS_COMPACTED') {
      // The organization's event retention replaced progress events
      // seq..compactedThrough of this old run: nothing is missing, and
      // no state changed.
      t.lastSeq = ev.compactedThrough;
      if (t.el) t.el.dataset.lastSeq = String(ev.compactedThrough);
      this.emit(runID, ev);
      return;
    }
    t.lastSeq = ev.seq;
    if (TERMINAL_EVENTS.has(ev.type)) t.terminal = true;
    if (t.el) t.el.dataset.lastSeq = String(ev.seq);
    const run = this.runs.get(runID);
    if (run) {
      if (ev.stepKey) {
        const st = run.steps.get(ev.stepKey);
        if (st) {
          st.status = ev.status;
          st.progress = ev.status === 'SUCCEEDED' ? 1 : ev.progress;
          st.message = ev.message;
        }
      } else {
        run.status = ev.status;
        if (ev.at > (run.updatedAt || '')) run.updatedAt = ev.at;
      }
      if (run.steps.size) {
        let sum = 0;
        for (const st of run.steps.values()) sum += TERMINAL_STEP.has(st.status) ? 1 : st.progress || 0;
        run.progress = Math.max(run.progress || 0, sum / run.steps.size);
      }
    }
    this.emit(runID, ev);
  }

  stop() {
    for (const id of [...this.tracked.keys()]) this.untrack(id);
  }
}

function mergeStep(old, nw, retried) {
  if (!old || retried) return { ...nw };
  // Events may have moved a step further than this copy of the run shows.
  if (TERMINAL_STEP.has(old.status) && !TERMINAL_STEP.has(nw.status)) return old;
  if (old.status === nw.status && (nw.progress || 0) < (old.progress || 0)) return { ...nw, progress: old.progress };
  return { ...nw };
}
