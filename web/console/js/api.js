// The console's GraphQL client: queries and mutations over POST /graphql,
// subscriptions over one graphql-transport-ws websocket that reconnects by
// itself with backoff.

/** GraphQLError carries the server's errors, with their extensions
 * (code, field). */
export class GraphQLError extends Error {
  constructor(errors, status) {
    super(errors.map((e) => e.message).join('; '));
    this.errors = errors;
    this.status = status;
  }
  get code() {
    return this.errors[0]?.extensions?.code;
  }
}

/** request posts one operation and returns its data, or throws a
 * GraphQLError (or a TypeError when the network is down). */
export async function request(token, query, variables = {}) {
  const resp = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await resp.json();
  } catch {
    throw new GraphQLError([{ message: `the server answered ${resp.status}`, extensions: { code: 'INTERNAL' } }], resp.status);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors, resp.status);
  return body.data;
}

// Close codes after which reconnecting with the same token cannot help.
const AUTH_CLOSES = new Set([4401, 4403]);
const MAX_BACKOFF_MS = 5000;

/**
 * Subscriptions multiplexes subscriptions over one graphql-transport-ws
 * connection. After a dropped connection it reconnects with exponential
 * backoff and subscribes again to every subscription still open; a
 * subscription's variables may be a function, evaluated at each
 * (re)subscription, so that a stream resumes from its cursor.
 */
export class Subscriptions {
  constructor({ token, onStatus, onAuthFailure }) {
    this.token = token;
    this.onStatus = onStatus || (() => {});
    this.onAuthFailure = onAuthFailure || (() => {});
    this.subs = new Map();
    this.nextID = 1;
    this.attempt = 0;
    this.ws = null;
    this.acked = false;
    this.stopped = false;
    this.timer = null;
    this.onOnline = () => this.reconnectNow();
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/graphql`;
  }

  connect() {
    if (this.stopped) return;
    this.acked = false;
    const ws = new WebSocket(this.url(), 'graphql-transport-ws');
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${this.token}` } }));
    };
    ws.onmessage = (ev) => this.receive(ws, ev.data);
    ws.onclose = (ev) => this.closed(ws, ev);
    // An error is always followed by close, which does the work.
    ws.onerror = () => {};
  }

  receive(ws, data) {
    if (ws !== this.ws) return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'connection_ack':
        this.acked = true;
        this.attempt = 0;
        for (const [id, sub] of this.subs) this.send(id, sub);
        this.onStatus('online');
        break;
      case 'ping':
        ws.send(JSON.stringify({ type: 'pong' }));
        break;
      case 'next': {
        const sub = this.subs.get(msg.id);
        if (!sub) break;
        if (msg.payload?.errors?.length) {
          // The server ends a stream it cannot go on with (SLOW_CONSUMER,
          // UNAVAILABLE) with an error result, then complete: for the
          // subscriber the error is the end.
          sub.errored = true;
          sub.error(new GraphQLError(msg.payload.errors));
        } else if (!sub.errored) {
          sub.next(msg.payload.data);
        }
        break;
      }
      case 'error': {
        const sub = this.subs.get(msg.id);
        this.subs.delete(msg.id);
        sub?.error(new GraphQLError(Array.isArray(msg.payload) ? msg.payload : [{ message: 'subscription refused' }]));
        break;
      }
      case 'complete': {
        const sub = this.subs.get(msg.id);
        this.subs.delete(msg.id);
        if (sub && !sub.errored) sub.complete();
        break;
      }
      default:
        break;
    }
  }

  closed(ws, ev) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.acked = false;
    if (this.stopped) return;
    if (AUTH_CLOSES.has(ev.code)) {
      this.onStatus('offline', ev.reason || 'the token is no longer valid');
      this.onAuthFailure(ev.reason);
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempt) * (0.75 + Math.random() / 4);
    this.attempt += 1;
    this.onStatus('offline', '', delay);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  /** reconnectNow skips the backoff wait, when the browser says it is back
   * online. */
  reconnectNow() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.connect();
    }
  }

  send(id, sub) {
    const variables = typeof sub.variables === 'function' ? sub.variables() : sub.variables;
    this.ws.send(JSON.stringify({ type: 'subscribe', id, payload: { query: sub.query, variables } }));
  }

  /**
   * subscribe starts a subscription and returns the function that ends it.
   * next gets each result's data; error gets a GraphQLError (the
   * subscription has then ended); complete is called when the server ends
   * it.
   */
  subscribe({ query, variables, next, error, complete }) {
    const id = String(this.nextID++);
    const sub = { query, variables, next, error: error || (() => {}), complete: complete || (() => {}) };
    this.subs.set(id, sub);
    if (this.acked) this.send(id, sub);
    return () => {
      if (!this.subs.delete(id)) return;
      if (this.acked) this.ws.send(JSON.stringify({ type: 'complete', id }));
    };
  }

  /** stop closes the connection for good (at sign-out). */
  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    if (this.timer) clearTimeout(this.timer);
    this.subs.clear();
    if (this.ws) this.ws.close(1000, 'signed out');
  }
}
