// The console's entry point: the session (token, API clients, live run
// store), the header and offline banner, and a hash router over the views.

import { request, Subscriptions } from './api.js';
import { RunStore } from './runs.js';
import { h, announce } from './dom.js';
import { renderSignIn } from './signin.js';
import { renderLauncher } from './launcher.js';
import { renderBuilder } from './builder.js';
import { renderMonitor } from './monitor.js';
import { renderDetail } from './detail.js';
import { renderAutomation } from './automation.js';

const TOKEN_KEY = 'estateflow.console.token';

class Session {
  constructor(token, viewer) {
    this.token = token;
    this.viewer = viewer;
    this.cache = new Map();
    this.subs = new Subscriptions({
      token,
      onStatus: (status, reason, delay) => setConnection(status, reason, delay),
      onAuthFailure: (reason) => signOut(`Signed out: ${reason || 'the token is no longer valid'}.`),
    });
    this.store = new RunStore(this);
    this.stopLive = this.store.live();
  }

  request(query, variables) {
    return request(this.token, query, variables);
  }

  /** once caches a query's data for the session (step kinds, packages). */
  once(key, query, variables) {
    if (!this.cache.has(key)) {
      const p = this.request(query, variables);
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return this.cache.get(key);
  }

  forget(key) {
    this.cache.delete(key);
  }

  close() {
    this.stopLive?.();
    this.store.stop();
    this.subs.stop();
  }
}

let session = null;
let cleanup = null;

const VIEWER = '{ viewer { role user { email name } organization { name } } }';

function setConnection(status, reason, delay) {
  const banner = document.getElementById('offline-banner');
  const body = document.body;
  if (status === 'online') {
    const wasOffline = body.dataset.ws === 'offline';
    body.dataset.ws = 'online';
    banner.hidden = true;
    banner.textContent = '';
    if (wasOffline) {
      announce('Back online. Live updates resumed.');
      // Changes missed while offline: views re-read what they show.
      window.dispatchEvent(new CustomEvent('console:resync'));
    }
    return;
  }
  if (body.dataset.ws !== 'offline') body.dataset.offlineCount = String(Number(body.dataset.offlineCount || 0) + 1);
  body.dataset.ws = 'offline';
  banner.hidden = false;
  banner.textContent = reason
    ? `Offline: ${reason}`
    : `Offline: the live connection dropped. Reconnecting${delay ? ` in ${Math.ceil(delay / 1000)} s` : ''}…`;
}

export async function signIn(token) {
  const viewer = (await request(token, VIEWER)).viewer;
  localStorage.setItem(TOKEN_KEY, token);
  startSession(token, viewer);
}

function startSession(token, viewer) {
  session?.close();
  session = new Session(token, viewer);
  document.getElementById('who').textContent = `${viewer.user.name || viewer.user.email} · ${viewer.organization.name}`;
  document.getElementById('sign-out').hidden = false;
  if (!location.hash || location.hash === '#/signin') location.hash = '#/launch';
  else route();
}

export function signOut(message) {
  localStorage.removeItem(TOKEN_KEY);
  session?.close();
  session = null;
  document.getElementById('who').textContent = '';
  document.getElementById('sign-out').hidden = true;
  document.getElementById('offline-banner').hidden = true;
  document.body.dataset.ws = 'connecting';
  location.hash = '#/signin';
  route(message);
}

const routes = [
  [/^#\/launch$/, 'Launcher', (main, s) => renderLauncher(main, s)],
  [/^#\/build$/, 'Builder', (main, s) => renderBuilder(main, s)],
  [/^#\/monitor$/, 'Monitor', (main, s) => renderMonitor(main, s)],
  [/^#\/automation$/, 'Automation', (main, s) => renderAutomation(main, s)],
  [/^#\/runs\/([^/]+)$/, 'Run', (main, s, m) => renderDetail(main, s, decodeURIComponent(m[1]))],
];

function route(message) {
  cleanup?.();
  cleanup = null;
  const main = document.getElementById('main');
  main.replaceChildren();
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.getAttribute('href') === location.hash) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!session) {
    document.title = 'Sign in · EstateFlow console';
    cleanup = renderSignIn(main, { signIn, message });
    return;
  }
  for (const [re, title, render] of routes) {
    const m = location.hash.match(re);
    if (m) {
      document.title = `${title} · EstateFlow console`;
      cleanup = render(main, session, m) || null;
      main.focus({ preventScroll: true });
      return;
    }
  }
  location.hash = '#/launch';
}

window.addEventListener('hashchange', () => route());
document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out.'));

async function boot() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) {
    route();
    return;
  }
  try {
    startSession(token, (await request(token, VIEWER)).viewer);
  } catch (err) {
    if (err.code === 'UNAUTHENTICATED') signOut('Your saved token is no longer valid; sign in again.');
    else {
      route(`Could not reach the server: ${err.message}`);
    }
  }
}

boot();
// For the browser test and for people debugging in the console.
window.estateflowConsole = { get session() { return session; } };
export { h };
