// Completed and failed jobs per minute over the last hour, as an inline SVG (no library).

const NS = 'http://www.w3.org/2000/svg';
const W = 720;
const H = 160;
const PAD = { left: 36, right: 8, top: 10, bottom: 22 };

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** `minutes`: `[{ minute: ISO, completed, failed }]` from `api/throughput`; `now`: epoch ms. */
export function throughputChart(minutes, now = Date.now()) {
  const end = Math.floor(now / 60_000) * 60_000;
  const slots = Array.from({ length: 60 }, (_, i) => ({ at: end - (59 - i) * 60_000, completed: 0, failed: 0 }));
  for (const m of minutes) {
    const slot = slots.find((s) => s.at === Date.parse(m.minute));
    if (slot) {
      slot.completed += m.completed;
      slot.failed += m.failed;
    }
  }
  const max = Math.max(1, ...slots.map((s) => Math.max(s.completed, s.failed)));
  const x = (i) => PAD.left + (i * (W - PAD.left - PAD.right)) / 59;
  const y = (n) => H - PAD.bottom - (n * (H - PAD.top - PAD.bottom)) / max;
  const line = (key) => slots.map((s, i) => `${x(i).toFixed(1)},${y(s[key]).toFixed(1)}`).join(' ');

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': 'Completed and failed jobs per minute, last hour' });
  root.append(
    svg('line', { x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0), class: 'axis' }),
    svg('line', { x1: PAD.left, y1: y(max), x2: W - PAD.right, y2: y(max), class: 'grid' }),
    svg('text', { x: PAD.left - 4, y: y(max) + 4, class: 'tick', 'text-anchor': 'end' }, String(max)),
    svg('text', { x: PAD.left - 4, y: y(0) + 4, class: 'tick', 'text-anchor': 'end' }, '0'),
    svg('text', { x: PAD.left, y: H - 6, class: 'tick' }, '-60 min'),
    svg('text', { x: W - PAD.right, y: H - 6, class: 'tick', 'text-anchor': 'end' }, 'now'),
    svg('polyline', { points: line('completed'), class: 'completed' }),
    svg('polyline', { points: line('failed'), class: 'failed' }),
  );
  const totals = slots.reduce((t, s) => ({ completed: t.completed + s.completed, failed: t.failed + s.failed }), { completed: 0, failed: 0 });
  root.dataset.completed = String(totals.completed);
  root.dataset.failed = String(totals.failed);
  return root;
}
