import { enc, get, post } from './api.js';
import { button, fill, h, json, link, toast, when } from './dom.js';
import { RETRYABLE } from './queue.js';

const CANCELLABLE = new Set(['scheduled', 'available', 'retryable', 'running']);
const WAITING = new Set(['scheduled', 'retryable']);

function field(label, value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function block(title, value, redacted) {
  return [h('h2', {}, title), h('pre', { class: 'json', 'data-field': title.toLowerCase() }, redacted ? '(redacted)' : json(value))];
}

/** One job: its state, attempts, times, payload and result as text, its last error and stack. */
export async function jobPage(main, ctx, id) {
  const job = await get(`jobs/${enc(id)}`);
  const act = (action) => async () => {
    try {
      const after = await post(`jobs/${enc(id)}/${action}`);
      toast(`Job ${id}: ${action} → ${after.state}${after.cancelRequested ? ' (cancel requested)' : ''}`);
      await ctx.refresh();
    } catch (e) {
      toast(e.message, true);
    }
  };
  const actions = ctx.config.readOnly
    ? null
    : h(
        'div',
        { class: 'toolbar' },
        RETRYABLE.has(job.state) ? button('Retry', act('retry'), { 'data-action': 'retry' }) : null,
        WAITING.has(job.state) ? button('Run now', act('run-now'), { 'data-action': 'run-now' }) : null,
        CANCELLABLE.has(job.state) && !job.cancelRequested ? button('Cancel', act('cancel'), { 'data-action': 'cancel' }) : null,
      );
  const error = job.lastError;
  fill(main, 
    h('p', { class: 'crumbs' }, link('/', 'Queues'), ' / ', link(`/queue/${enc(job.queue)}`, job.queue), ' / ', `job ${job.id}`),
    h('h1', {}, `Job ${job.id} `, h('span', { class: 'job-name' }, job.name), ' ', h('span', { class: `badge ${job.state}`, 'data-state': job.state }, job.state)),
    actions,
    h(
      'dl',
      { class: 'fields' },
      field('Queue', job.queue),
      field('Attempt', `${job.attempt} of ${job.maxAttempts ?? 'unlimited'}`),
      field('Priority', job.priority),
      field('Progress', job.progress === null ? '—' : `${job.progress}%`),
      field('Created', when(job.createdAt)),
      field('Runs at', when(job.runAt)),
      field('Started', when(job.startedAt)),
      field('Completed', when(job.completedAt)),
      field('Failed', when(job.failedAt)),
      field('Locked by', job.lockedBy ?? '—'),
      field('Lease until', when(job.lockedUntil)),
      field('Unique key', job.uniqueKey ?? '—'),
      field('Cancel requested', job.cancelRequested ? 'yes' : 'no'),
      field('Interruptions', job.interruptions),
    ),
    'headers' in job ? block('Headers', job.headers, false) : null,
    block('Payload', job.payload, job.redacted),
    block('Result', job.result, job.redacted),
    job.progressData !== null && job.progressData !== undefined ? block('Progress data', job.progressData, job.redacted) : null,
    h('h2', {}, 'Last error'),
    error
      ? h('div', { class: 'error-box' }, h('p', {}, `${error.name}: ${error.message}`, ` (attempt ${error.attempt}, ${when(error.at)})`), error.stack ? h('pre', { class: 'stack' }, error.stack) : null)
      : h('p', { class: 'muted' }, 'None.'),
    Array.isArray(job.attempts) ? [h('h2', {}, 'Attempts'), h('pre', { class: 'json' }, json(job.attempts))] : null,
  );
}
