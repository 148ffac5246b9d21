import { enc, get, post } from './api.js';
import { button, fill, h, link, toast, when } from './dom.js';

const STATES = ['', 'available', 'scheduled', 'retryable', 'running', 'dead', 'completed', 'cancelled'];
const RETRYABLE = new Set(['dead', 'cancelled', 'completed']);
/** Jobs one bulk action may name (the API's cap). */
const MAX_BULK = 1000;

/**
 * One queue's jobs by state, newest first, a page at a time (cursor paging), with a job-name
 * filter, find by id, queue actions and bulk retry / cancel of the selected jobs.
 * `ctx.state` lives while the page is open: the cursors of the pages seen, the selection.
 */
export async function queuePage(main, ctx, queue, query) {
  const s = ctx.state;
  s.cursors ??= [null];
  s.selected ??= new Set();
  s.limit ??= 50;
  const state = query.get('state') ?? '';
  const name = query.get('name') ?? '';
  const cursor = s.cursors[s.cursors.length - 1];
  const [page, { queues }] = await Promise.all([get('jobs', { queue, state, name, limit: s.limit, cursor }), get('queues')]);
  const info = queues.find((q) => q.name === queue);
  const go = (params) => {
    const q = new URLSearchParams({ state, name, ...params });
    for (const [k, v] of [...q]) if (!v) q.delete(k);
    ctx.navigate(`/queue/${enc(queue)}${q.size ? `?${q}` : ''}`);
  };
  const run = (fn) => async () => {
    try {
      toast(await fn());
      await ctx.refresh();
    } catch (e) {
      toast(e.message, true);
    }
  };
  const bulk = (action) =>
    run(async () => {
      const ids = [...s.selected].slice(0, MAX_BULK);
      const { results } = await post('jobs/bulk', { action, ids });
      s.selected.clear();
      const failed = results.filter((r) => !r.ok);
      return `${action}: ${results.length - failed.length} done${failed.length ? `, ${failed.length} refused (${failed[0].error})` : ''}`;
    });

  const findInput = h('input', { type: 'search', placeholder: 'Job id', inputmode: 'numeric', 'aria-label': 'Find a job by id' });
  const nameInput = h('input', { type: 'search', placeholder: 'Job name', value: name, 'aria-label': 'Filter by job name' });
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all on this page' });
  selectAll.checked = page.jobs.length > 0 && page.jobs.every((j) => s.selected.has(j.id));
  selectAll.addEventListener('change', () => {
    for (const j of page.jobs) selectAll.checked ? s.selected.size < MAX_BULK && s.selected.add(j.id) : s.selected.delete(j.id);
    void ctx.refresh();
  });

  const rows = page.jobs.map((j) => {
    const box = h('input', { type: 'checkbox', 'aria-label': `Select job ${j.id}` });
    box.checked = s.selected.has(j.id);
    box.addEventListener('change', () => {
      if (box.checked && s.selected.size >= MAX_BULK) {
        box.checked = false;
        toast(`At most ${MAX_BULK} jobs per action.`, true);
        return;
      }
      box.checked ? s.selected.add(j.id) : s.selected.delete(j.id);
      counter.textContent = `${s.selected.size} selected`;
    });
    return h(
      'tr',
      { 'data-job': j.id },
      ctx.config.readOnly ? null : h('td', {}, box),
      h('td', {}, link(`/job/${enc(j.id)}`, j.id)),
      h('td', {}, j.name),
      h('td', {}, h('span', { class: `badge ${j.state}` }, j.state)),
      h('td', { class: 'n' }, `${j.attempt}/${j.maxAttempts ?? '∞'}`),
      h('td', {}, when(j.createdAt)),
      h('td', {}, when(j.runAt)),
    );
  });
  const counter = h('span', { class: 'muted' }, `${s.selected.size} selected`);

  fill(main, 
    h('p', { class: 'crumbs' }, link('/', 'Queues'), ' / ', queue),
    h('h1', {}, `Queue ${queue}`, info?.paused ? h('span', { class: 'badge paused' }, 'paused') : null),
    ctx.config.readOnly
      ? null
      : h(
          'div',
          { class: 'toolbar' },
          info?.paused
            ? button('Resume queue', run(async () => (await post(`queues/${enc(queue)}/resume`), `Queue ${queue} resumed`)))
            : button('Pause queue', run(async () => (await post(`queues/${enc(queue)}/pause`), `Queue ${queue} paused`))),
          button('Retry all dead', run(async () => `${(await post(`queues/${enc(queue)}/retry-dead`)).retried} dead jobs retried`)),
          button('Prune completed', run(async () => `${(await post(`queues/${enc(queue)}/prune`)).pruned} completed jobs pruned`)),
        ),
    h(
      'form',
      { class: 'toolbar', onsubmit: (e) => (e.preventDefault(), findInput.value.trim() && ctx.navigate(`/job/${enc(findInput.value.trim())}`)) },
      findInput,
      h('button', { type: 'submit' }, 'Find'),
    ),
    h(
      'form',
      { class: 'toolbar', onsubmit: (e) => (e.preventDefault(), go({ name: nameInput.value.trim() })) },
      nameInput,
      h('button', { type: 'submit' }, 'Filter'),
    ),
    h(
      'nav',
      { class: 'tabs' },
      STATES.map((st) => button(st || 'all', () => go({ state: st }), { class: st === state ? 'tab active' : 'tab', 'data-state': st || 'all' })),
    ),
    ctx.config.readOnly
      ? null
      : h('div', { class: 'toolbar' }, counter, button('Retry selected', bulk('retry')), button('Cancel selected', bulk('cancel'))),
    page.jobs.length === 0
      ? h('p', { class: 'muted' }, 'No jobs here.')
      : h(
          'table',
          { class: 'jobs' },
          h('thead', {}, h('tr', {}, ctx.config.readOnly ? null : h('th', {}, selectAll), ['Id', 'Name', 'State', 'Attempt', 'Created', 'Runs at'].map((t) => h('th', {}, t)))),
          h('tbody', {}, rows),
        ),
    h(
      'div',
      { class: 'pager' },
      button('First page', () => ((s.cursors = [null]), ctx.refresh()), { disabled: s.cursors.length === 1 }),
      button('Previous', () => (s.cursors.pop(), ctx.refresh()), { disabled: s.cursors.length === 1 }),
      h('span', { class: 'muted' }, `page ${s.cursors.length}`),
      button('Next', () => (s.cursors.push(page.nextCursor), ctx.refresh()), { disabled: !page.nextCursor }),
      h(
        'select',
        { 'aria-label': 'Jobs per page', onchange: (e) => ((s.limit = Number(e.target.value)), (s.cursors = [null]), ctx.refresh()) },
        [50, 100, 500, 1000].map((n) => h('option', { value: n, selected: n === s.limit }, `${n} per page`)),
      ),
    ),
  );
}

export { RETRYABLE };
