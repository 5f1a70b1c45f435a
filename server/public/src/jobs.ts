// Jobs: the live list (Server-Sent Events from /api/events), the submit form, cancel / resume.
import { h, clear, announce, fmtDuration, fmtNum } from './dom.js';
import { getJson, postJson, HttpError, type JobSummary } from './api.js';
import { hrefOf, focusHeading, type ViewContext } from './nav.js';

const jobs = new Map<string, JobSummary>();
const listeners = new Set<(j: JobSummary | null) => void>();
let connection: 'connecting' | 'live' | 'reconnecting' = 'connecting';

function setConnection(c: typeof connection): void {
  connection = c;
  const el = document.getElementById('conn');
  if (el) {
    el.textContent = c === 'live' ? 'live' : c === 'connecting' ? 'connecting…' : 'reconnecting…';
    el.dataset.state = c;
  }
}

/** One EventSource for the whole page: every job's "job" events update the store. */
export function startJobStream(): void {
  setConnection('connecting');
  const es = new EventSource('/api/events');
  es.addEventListener('open', () => setConnection('live'));
  es.addEventListener('error', () => setConnection('reconnecting'));
  es.addEventListener('job', (ev) => {
    const j = JSON.parse((ev as MessageEvent).data as string) as JobSummary;
    const old = jobs.get(j.id);
    jobs.set(j.id, j);
    if (old && old.status !== j.status) announce(`Job ${j.name}: ${j.status}`);
    updateNavBadge();
    for (const f of listeners) f(j);
  });
}

function updateNavBadge(): void {
  const running = [...jobs.values()].filter((j) => ['queued', 'running', 'finalizing', 'cancelling'].includes(j.status)).length;
  const el = document.getElementById('jobs-badge');
  if (el) el.textContent = running ? ` (${running} active)` : '';
}

function rateText(j: JobSummary): string {
  // The first finished sample includes the browser start: the rate means something from the second on.
  if (!j.rate || j.rendered < 2) return ['running', 'finalizing'].includes(j.status) ? 'measuring…' : '–';
  return j.rate >= 1 ? `${fmtNum(j.rate, 2)} samples/s` : `${fmtNum(1 / j.rate, 1)} s/sample`;
}

function etaText(j: JobSummary): string {
  if (j.status === 'done') return 'done';
  if (!['running', 'finalizing'].includes(j.status)) return '–';
  return j.etaS === null || j.rendered < 2 ? 'estimating…' : fmtDuration(j.etaS);
}

/** Seconds of rendering: the finished runs, plus the current run's wall time while it runs. */
function elapsed(j: JobSummary): number {
  if (['running', 'finalizing', 'cancelling'].includes(j.status) && j.startedAt) {
    const since = (Date.now() - Date.parse(j.startedAt)) / 1000;
    return Math.max(j.elapsedS, Number.isFinite(since) ? since : 0);
  }
  return j.elapsedS;
}

function shardBar(j: JobSummary): HTMLElement {
  const bar = h('div', { class: 'shards', role: 'img', 'aria-label': `${j.shards.filter((s) => s.status === 'done').length} of ${j.shards.length} shards done` });
  for (const s of j.shards.slice(0, 200)) {
    const frac = (s.end - s.start) ? s.done / (s.end - s.start) : 0;
    bar.append(h('span', { class: `shard ${s.status}`, title: `samples ${s.start}–${s.end - 1}: ${s.done}/${s.end - s.start} (${s.status}${s.worker !== undefined ? `, worker ${s.worker}` : ''})`, style: `--f:${frac}` }));
  }
  return bar;
}

function jobRow(j: JobSummary, refresh: () => void): HTMLTableRowElement {
  const pct = j.total ? (100 * j.done) / j.total : 0;
  const active = ['queued', 'running', 'finalizing'].includes(j.status);
  const actions = h('td', { class: 'actions' });
  const act = async (verb: 'cancel' | 'resume') => {
    try {
      await postJson(`/api/jobs/${encodeURIComponent(j.id)}/${verb}`);
    } catch (err) {
      announce(`${verb} failed: ${(err as Error).message}`);
      alert(`${verb} failed: ${(err as Error).message}`);
    }
    refresh();
  };
  if (active) actions.append(h('button', { type: 'button', onClick: () => void act('cancel'), 'aria-label': `Cancel job ${j.name}` }, 'Cancel'));
  if (['cancelled', 'failed'].includes(j.status)) actions.append(h('button', { type: 'button', onClick: () => void act('resume'), 'aria-label': `Resume job ${j.name}` }, 'Resume'));
  if (j.done > 0) actions.append(h('a', { href: hrefOf(['datasets', j.outDir]), 'aria-label': `Browse dataset ${j.outDir}` }, 'Browse'));
  const errs = j.errors ?? [];
  const errCell = h('td', { class: 'errors' });
  if (errs.length === 0) errCell.append(h('span', { class: 'muted' }, 'none'));
  else {
    errCell.append(
      h(
        'details',
        null,
        h('summary', { class: 'error' }, `${errs.length} error${errs.length > 1 ? 's' : ''}`),
        h('ul', null, ...errs.slice(-10).map((e) => h('li', null, h('time', { datetime: e.at }, e.at.slice(11, 19)), ' ', e.index !== undefined ? `sample ${e.index}: ` : '', e.message))),
      ),
    );
  }
  return h(
    'tr',
    { id: `job-${j.id}`, 'data-status': j.status },
    h('th', { scope: 'row' }, h('div', { class: 'job-name' }, j.name), h('div', { class: 'muted small' }, j.id, ` · ${j.width ?? '?'}×${j.height ?? '?'} · ${j.executor}`)),
    h('td', null, h('span', { class: `status ${j.status}` }, j.status)),
    h(
      'td',
      { class: 'progress-cell' },
      h('progress', { max: j.total || 1, value: j.done, 'aria-label': `Progress of ${j.name}`, 'aria-valuetext': `${j.done} of ${j.total} samples` }),
      h('span', { class: 'progress-text', 'data-done': j.done, 'data-total': j.total }, `${j.done} / ${j.total} (${pct.toFixed(0)}%)`),
      shardBar(j),
    ),
    h('td', { class: 'rate' }, rateText(j)),
    h('td', { class: 'eta' }, etaText(j)),
    h('td', { class: 'elapsed' }, fmtDuration(elapsed(j))),
    errCell,
    actions,
  );
}

const EXAMPLE_CONFIG = () => ({
  name: `dash-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}`,
  heads: ['procedural'],
  envMaps: ['builtin:studio', 'builtin:city', 'builtin:sunset'],
  width: 128,
  height: 128,
  samples: 8,
  seed: 1,
  shardSize: 2,
  workers: 1,
  background: 'environment',
  render: { msaa: 1, envCubeSize: 64, shadowMapSize: 512 },
});

export async function renderJobs(ctx: ViewContext): Promise<void> {
  document.title = 'Jobs — light stage dashboard';
  const { main } = ctx;
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', id: 'jobs-empty' }, 'No jobs yet. Submit a batch config below, or run ', h('code', null, 'npm run render-batch'), ' and browse its dataset.');
  const table = h(
    'table',
    { class: 'jobs', id: 'jobs-table' },
    h('caption', { class: 'sr-only' }, 'Render jobs, newest first, updated live'),
    h('thead', null, h('tr', null, ...['Job', 'Status', 'Progress', 'Rate', 'ETA', 'Elapsed', 'Errors', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody,
  );

  const renderAll = () => {
    if (!ctx.alive()) return;
    const list = [...jobs.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    const focusedId = (document.activeElement?.closest('tr') as HTMLElement | null)?.id;
    const focusedLabel = document.activeElement?.getAttribute('aria-label');
    clear(tbody);
    for (const j of list) tbody.append(jobRow(j, renderAll));
    empty.hidden = list.length > 0;
    table.hidden = list.length === 0;
    // Keep keyboard focus on the same control across live updates.
    if (focusedId && focusedLabel) (tbody.querySelector(`#${CSS.escape(focusedId)} [aria-label="${CSS.escape(focusedLabel)}"]`) as HTMLElement | null)?.focus();
  };
  const update = (j: JobSummary | null) => {
    if (!ctx.alive()) return;
    if (!j) return renderAll();
    const row = document.getElementById(`job-${j.id}`);
    if (!row) return renderAll();
    const hadFocus = row.contains(document.activeElement);
    if (hadFocus) return renderAll();
    row.replaceWith(jobRow(j, renderAll));
  };
  listeners.add(update);
  // Elapsed time of running jobs ticks between events.
  const ticker = window.setInterval(() => {
    for (const j of jobs.values()) {
      if (!['running', 'finalizing', 'cancelling'].includes(j.status)) continue;
      const cell = document.querySelector(`#job-${CSS.escape(j.id)} .elapsed`);
      if (cell) cell.textContent = fmtDuration(elapsed(j));
    }
  }, 1000);
  ctx.onLeave(() => {
    listeners.delete(update);
    clearInterval(ticker);
  });

  // The form
  const textarea = h('textarea', { id: 'job-config', name: 'config', rows: 14, spellcheck: 'false', 'aria-describedby': 'job-config-help' });
  textarea.value = JSON.stringify(EXAMPLE_CONFIG(), null, 2);
  const errors = h('div', { id: 'job-errors', role: 'alert', class: 'error' });
  const submit = h('button', { type: 'submit', id: 'job-submit' }, 'Submit job');
  const form = h(
    'form',
    { id: 'job-form', class: 'job-form' },
    h('label', { for: 'job-config' }, 'Batch config (JSON, as for ', h('code', null, 'render-batch'), ')'),
    h('p', { id: 'job-config-help', class: 'muted small' }, 'The dataset is written to <output>/<name>. Heads and maps must be built-in or inside the server\'s asset roots.'),
    textarea,
    h('div', { class: 'row' }, submit, h('button', { type: 'button', onClick: () => (textarea.value = JSON.stringify(EXAMPLE_CONFIG(), null, 2)) }, 'Reset to example')),
    errors,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(errors);
    let config: unknown;
    try {
      config = JSON.parse(textarea.value);
    } catch (err) {
      errors.append(h('p', null, `Not valid JSON: ${(err as Error).message}`));
      textarea.setAttribute('aria-invalid', 'true');
      return;
    }
    textarea.removeAttribute('aria-invalid');
    submit.disabled = true;
    try {
      const j = await postJson<JobSummary>('/api/jobs', { config });
      announce(`Job ${j.name} submitted`);
      if (!jobs.has(j.id)) {
        jobs.set(j.id, j);
        renderAll();
      }
    } catch (err) {
      const body = (err as HttpError).body as { error?: string; issues?: { path: string; message: string }[] } | null;
      errors.append(h('p', null, `Rejected (${(err as HttpError).status ?? '?'}): ${body?.error ?? (err as Error).message}`));
      if (body?.issues?.length) errors.append(h('ul', null, ...body.issues.map((i) => h('li', null, h('code', null, i.path), ': ', i.message))));
      textarea.setAttribute('aria-invalid', 'true');
    } finally {
      submit.disabled = false;
    }
  });

  main.append(
    h('h1', null, 'Jobs'),
    h('section', { 'aria-labelledby': 'jobs-h' }, h('h2', { id: 'jobs-h', class: 'sr-only' }, 'Job list'), empty, table),
    h('section', { 'aria-labelledby': 'new-job-h', class: 'panel' }, h('h2', { id: 'new-job-h' }, 'New job'), form),
  );
  // The stream sends every job when it connects; the REST list fills the table at once meanwhile.
  if (jobs.size === 0) {
    try {
      const r = await getJson<{ jobs: JobSummary[] }>('/api/jobs');
      for (const j of r.jobs) if (!jobs.has(j.id)) jobs.set(j.id, j);
    } catch {
      /* the stream will fill it */
    }
  }
  renderAll();
  if (!ctx.route.query.has('nofocus')) focusHeading(main);
  void connection;
}
