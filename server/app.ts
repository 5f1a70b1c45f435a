// Node-only. The orchestrator's HTTP API (Express). Binds 127.0.0.1 unless told otherwise; JSON
// bodies are limited (1 MB); files are served only from the output root and the asset roots
// (server/files.ts), never from anywhere a URL points at.
//
//   GET  /api/health                    executor, roots
//   GET  /api/jobs                      every job (newest first)
//   POST /api/jobs   {"config": {...}}  submit a batch (same config as render-batch); 201 + job,
//                                       400 {error, issues: [{path, message}]} on a bad field
//   GET  /api/jobs/:id                  one job: status, per-shard progress, rate, ETA, errors
//   POST /api/jobs/:id/cancel           stop (finished samples stay)
//   POST /api/jobs/:id/resume           continue a cancelled or failed job
//   GET  /api/jobs/:id/events           Server-Sent Events: "job" events with the job view
//   GET  /api/events                    SSE for every job ("job" events)
//   GET  /files/<root>/<path>           a file under the output root ("output") or an asset root
//   /api/datasets/...                   dataset browsing for the dashboard (server/routes/datasets.ts)
//   /api/olat/..., /api/envmaps/...     light-stage view: OLAT stacks, relighting (server/olat-routes.ts)
//   /                                   the dashboard (server/public/, script bundled by server/dashboard-bundle.ts)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type NextFunction } from 'express';
import { JobManager, JobConflictError, JobNotFoundError, type JobView, type JobSummary } from './jobs.js';
import { validateSubmission, ConfigRejected } from './validate.js';
import { serveRootFiles, type FileRoot } from './files.js';
import { mountDatasetRoutes } from './routes/datasets.js';
import { mountOlatRoutes } from './olat-routes.js';
import { mountDashboardBundle } from './dashboard-bundle.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PUBLIC_DIR = path.join(HERE, 'public');

export interface AppOptions {
  jobs: JobManager;
  /** extra asset folders readable by configs and served under /files/<name>/ */
  assetRoots: FileRoot[];
  cacheRoot?: string;
  /** JSON body limit (default '1mb') */
  bodyLimit?: string;
  /** Hostnames accepted in the Host header (DNS-rebinding guard); null = any (bound to a public address). */
  allowedHosts?: string[] | null;
  log?: (msg: string) => void;
}

import type { AppContext } from './context.js';

export type { AppContext };

/** SSE: one "job" event per change, coalesced to at most one per 200 ms per job and client. */
function sse(req: Request, res: Response, jobs: JobManager, filter: (v: JobView) => boolean, initial: JobView[], map: (v: JobView) => unknown = (v) => v): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const send = (v: JobView) => res.write(`event: job\nid: ${Date.now()}\ndata: ${JSON.stringify(map(v))}\n\n`);
  for (const v of initial) send(v);
  const pending = new Map<string, JobView>();
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    for (const v of pending.values()) send(v);
    pending.clear();
  };
  const onChange = (v: JobView) => {
    if (!filter(v)) return;
    pending.set(v.id, v);
    // Status changes go out at once; progress is coalesced.
    if (['done', 'failed', 'cancelled'].includes(v.status)) {
      if (timer) clearTimeout(timer);
      flush();
    } else if (!timer) timer = setTimeout(flush, 200);
  };
  jobs.on('change', onChange);
  const ping = setInterval(() => res.write(': ping\n\n'), 15000);
  req.on('close', () => {
    jobs.off('change', onChange);
    clearInterval(ping);
    if (timer) clearTimeout(timer);
  });
}

export function createApp(o: AppOptions): express.Express {
  const { jobs } = o;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const ctx: AppContext = { outputRoot: jobs.outputRoot, assetRoots: o.assetRoots, jobs, cacheRoot: o.cacheRoot };

  if (o.allowedHosts) {
    const allowed = new Set(o.allowedHosts.map((h) => h.toLowerCase()));
    app.use((req, res, next) => {
      const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
      if (!allowed.has(host)) {
        res.status(403).json({ error: `host "${req.headers.host}" not allowed` });
        return;
      }
      next();
    });
  }
  app.use(express.json({ limit: o.bodyLimit ?? '1mb', strict: true }));

  app.get('/api/health', (_req, res) => {
    res.json({ ok: true, executor: jobs.executorKind, outputRoot: jobs.outputRoot, assetRoots: o.assetRoots.map((r) => r.name) });
  });

  app.get('/api/jobs', (_req, res) => {
    res.json({ jobs: jobs.list().map(summary) });
  });

  app.post('/api/jobs', async (req, res, next) => {
    try {
      const config = await validateSubmission(req.body, { assetRoots: o.assetRoots.map((r) => r.dir), outputRoot: jobs.outputRoot, cacheRoot: o.cacheRoot });
      const job = jobs.submit(config);
      res.status(201).location(`/api/jobs/${job.id}`).json(job.view);
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/jobs/:id', (req, res) => {
    const job = jobs.get(req.params.id);
    if (!job) return void res.status(404).json({ error: `no job ${req.params.id}` });
    res.json(job.view);
  });

  app.post('/api/jobs/:id/cancel', (req, res, next) => {
    try {
      res.json(jobs.cancel(req.params.id).view);
    } catch (err) {
      next(err);
    }
  });

  app.post('/api/jobs/:id/resume', (req, res, next) => {
    try {
      res.json(jobs.resume(req.params.id).view);
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/jobs/:id/events', (req, res) => {
    const job = jobs.get(req.params.id);
    if (!job) return void res.status(404).json({ error: `no job ${req.params.id}` });
    sse(req, res, jobs, (v) => v.id === job.id, [job.view]);
  });

  app.get('/api/events', (req, res) => {
    sse(req, res, jobs, () => true, jobs.list(), summary);
  });

  const roots: FileRoot[] = [{ name: 'output', dir: jobs.outputRoot }, ...o.assetRoots];
  app.get('/files/:root/*path', serveRootFiles(roots));

  mountDatasetRoutes(app, ctx);
  mountOlatRoutes(app, ctx);
  mountDashboardBundle(app, o.log);

  if (fs.existsSync(PUBLIC_DIR)) app.use(express.static(PUBLIC_DIR, { dotfiles: 'ignore', index: 'index.html', fallthrough: true }));

  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  // Errors: bad JSON / too large from the body parser, rejected configs, job conflicts.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ConfigRejected) return void res.status(err.status).json({ error: err.message, issues: err.issues });
    if (err instanceof JobNotFoundError) return void res.status(404).json({ error: err.message });
    if (err instanceof JobConflictError) return void res.status(409).json({ error: err.message });
    const e = err as { type?: string; status?: number; message?: string; limit?: number };
    if (e?.type === 'entity.too.large') return void res.status(413).json({ error: `request body larger than ${e.limit} bytes` });
    if (e?.type === 'entity.parse.failed') return void res.status(400).json({ error: `request body is not valid JSON: ${e.message}`, issues: [] });
    if (e?.status && e.status >= 400 && e.status < 500) return void res.status(e.status).json({ error: e.message ?? 'bad request' });
    o.log?.(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

/** The job list's entries: everything but the config and the long log. */
function summary(v: JobView): JobSummary {
  const { config, log: _log, ...rest } = v;
  return { ...rest, samples: config.samples, width: config.width, height: config.height };
}
