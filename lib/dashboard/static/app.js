import { get } from './api.js';
import { fill, h, link, toast } from './dom.js';
import { jobPage } from './job.js';
import { overview } from './overview.js';
import { queuePage } from './queue.js';
import { schedules } from './schedules.js';

// Routes live in the URL's hash: #/ (overview), #/queue/<name>?state=&name=, #/job/<id>, #/schedules.
// The open page re-renders on every job event or action (server-sent events from api/events)
// and every POLL_MS in any case (changes made on other instances send no event here).

const POLL_MS = 2000;
const main = document.getElementById('main');
const liveStatus = document.getElementById('live-status');
const liveToggle = document.getElementById('live-toggle');

const ctx = {
  config: { readOnly: true, redactPayloads: false },
  state: {},
  navigate: (hash) => {
    location.hash = hash;
  },
  refresh: () => render(),
};

let route = '';
let rendering = null;
let again = false;

function parse() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path, query: new URLSearchParams(qs) };
}

async function draw() {
  const { path, query } = parse();
  if (path !== route) {
    route = path;
    ctx.state = {};
  }
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'queue' && parts[1]) return queuePage(main, ctx, parts[1], query);
  if (parts[0] === 'job' && parts[1]) return jobPage(main, ctx, parts[1]);
  if (parts[0] === 'schedules') return schedules(main, ctx);
  return overview(main, ctx);
}

/** Renders the current route; calls that arrive meanwhile fold into one more render after it. */
async function render() {
  if (rendering) {
    again = true;
    return rendering;
  }
  rendering = (async () => {
    do {
      again = false;
      try {
        await draw();
        document.body.dataset.rendered = String(Date.now());
      } catch (e) {
        fill(main, h('h1', {}, e.status === 404 ? 'Not found' : 'Something went wrong'), h('p', { class: 'error-box' }, e.message), h('p', {}, link('/', 'Back to the queues')));
      }
    } while (again);
  })();
  try {
    await rendering;
  } finally {
    rendering = null;
  }
}

// Live updates: SSE when the server streams, polling always; the toggle pauses both.
let live = true;
let source = null;
let pollTimer = null;
let eventTimer = null;

function onEvent() {
  clearTimeout(eventTimer);
  eventTimer = setTimeout(() => void render(), 150);
}

function startLive() {
  source = new EventSource('api/events');
  source.addEventListener('job', onEvent);
  source.addEventListener('action', onEvent);
  source.addEventListener('open', () => (liveStatus.textContent = 'Live'));
  source.addEventListener('error', () => (liveStatus.textContent = source?.readyState === EventSource.CLOSED ? 'Live (polling)' : 'Reconnecting…'));
  pollTimer = setInterval(() => void render(), POLL_MS);
  liveStatus.textContent = 'Live';
  liveToggle.textContent = 'Pause live updates';
}

function stopLive() {
  again = false;
  source?.close();
  source = null;
  clearInterval(pollTimer);
  clearTimeout(eventTimer);
  liveStatus.textContent = 'Paused';
  liveToggle.textContent = 'Resume live updates';
}

liveToggle.addEventListener('click', () => {
  live = !live;
  live ? (startLive(), void render()) : stopLive();
});

async function start() {
  fill(document.getElementById('nav'), link('/', 'Overview'), link('/schedules', 'Schedules'));
  document.getElementById('home').setAttribute('href', `${location.pathname}${location.search}#/`);
  try {
    ctx.config = await get('config');
  } catch (e) {
    toast(e.message, true);
  }
  document.body.classList.toggle('read-only', ctx.config.readOnly);
  window.addEventListener('hashchange', () => void render());
  startLive();
  await render();
}

void start();
