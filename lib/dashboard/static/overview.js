import { enc, get, post } from './api.js';
import { throughputChart } from './chart.js';
import { button, fill, h, link, toast } from './dom.js';

const COUNTS = ['available', 'scheduled', 'running', 'dead', 'completed'];

/** Every queue with its counts, paused or not, and the throughput of the last hour. */
export async function overview(main, ctx) {
  const [{ queues }, { minutes }] = await Promise.all([get('queues'), get('throughput')]);
  const act = (path, done) => async () => {
    try {
      await post(path);
      toast(done);
      await ctx.refresh();
    } catch (e) {
      toast(e.message, true);
    }
  };
  const rows = queues.map((q) =>
    h(
      'tr',
      { 'data-queue': q.name },
      h('td', {}, link(`/queue/${enc(q.name)}`, q.name)),
      COUNTS.map((c) => h('td', { class: `n ${c}`, 'data-count': c }, q.counts[c])),
      h('td', { class: 'n', 'data-count': 'failed' }, q.failedLastHour),
      h('td', {}, q.paused ? h('span', { class: 'badge paused' }, 'paused') : h('span', { class: 'badge' }, 'active')),
      ctx.config.readOnly
        ? null
        : h(
            'td',
            {},
            q.paused
              ? button('Resume', act(`queues/${enc(q.name)}/resume`, `Queue ${q.name} resumed`))
              : button('Pause', act(`queues/${enc(q.name)}/pause`, `Queue ${q.name} paused`)),
          ),
    ),
  );
  fill(main, 
    h('h1', {}, 'Queues'),
    queues.length === 0
      ? h('p', { class: 'muted' }, 'No queue has jobs yet.')
      : h(
          'table',
          { class: 'queues' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', {}, 'Queue'), ['Available', 'Scheduled', 'Running', 'Dead', 'Completed (1 h)', 'Failed (1 h)'].map((t) => h('th', { class: 'n' }, t)), h('th', {}, 'State'), ctx.config.readOnly ? null : h('th', {}, '')),
          ),
          h('tbody', {}, rows),
        ),
    h('h2', {}, 'Throughput, last hour'),
    h('p', { class: 'legend' }, h('span', { class: 'key completed' }, 'completed'), ' ', h('span', { class: 'key failed' }, 'failed'), ' per minute, all instances'),
    throughputChart(minutes),
  );
}
