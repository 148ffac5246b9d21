import { get } from './api.js';
import { fill, h, when } from './dom.js';

function describe(spec) {
  if (spec.cron) return spec.timezone ? `cron ${spec.cron} (${spec.timezone})` : `cron ${spec.cron} (UTC)`;
  const ms = spec.every;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]]) {
    if (ms % size === 0) return `every ${ms / size}${unit}`;
  }
  return `every ${ms} ms`;
}

/** The stored recurring schedules with their next run. */
export async function schedules(main) {
  const { schedules: list } = await get('schedules');
  fill(main, 
    h('h1', {}, 'Recurring schedules'),
    list.length === 0
      ? h('p', { class: 'muted' }, 'No schedule is stored.')
      : h(
          'table',
          {},
          h('thead', {}, h('tr', {}, ['Key', 'Job', 'Queue', 'When', 'Next run', ''].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            list.map((s) =>
              h('tr', { 'data-schedule': s.key }, h('td', {}, s.key), h('td', {}, s.job), h('td', {}, s.queue), h('td', {}, describe(s.spec)), h('td', {}, when(s.nextRunAt)), h('td', {}, s.firing ? 'firing now' : s.declarative ? 'declared in code' : '')),
            ),
          ),
        ),
  );
}
