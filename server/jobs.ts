// Node-only. The orchestrator's job model: a job is one batch config rendered into one dataset
// folder under the output root. The manager keeps every job's live progress (per shard and
// sample, rate, ETA, errors), persists it to <output>/.jobs/<id>.json (so a restarted server still
// lists its jobs and can resume them), runs jobs one at a time through an executor (embedded
// worker pool, or the Redis queue), and notifies subscribers (SSE) on every change.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeJsonAtomic } from '../renderer/io/fs-atomic.js';
import { BatchConfigSchema, type BatchConfig } from '../renderer/pipelines/batch/config.js';
import { finishedSamples } from '../renderer/pipelines/batch/run.js';
import { resolveNamedDir } from '../renderer/io/paths.js';

import type { JobStatus, ShardStatus, ShardState, JobError, JobView, JobSummary } from './api-types.js';

export type { JobStatus, ShardStatus, ShardState, JobError, JobView, JobSummary };

export interface ExecutorContext {
  job: Job;
  outputRoot: string;
  signal: AbortSignal;
}

export interface JobExecutor {
  readonly kind: 'embedded' | 'redis';
  run(ctx: ExecutorContext): Promise<void>;
  close?(): Promise<void>;
}

const JOBS_DIR = '.jobs';
const MAX_ERRORS = 50;
const MAX_LOG = 30;

export class Job extends EventEmitter {
  view: JobView;
  private rateStart: { t: number; rendered: number } | null = null;
  private runStartT = performance.now();
  private persistTimer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(view: JobView, private readonly file: string) {
    super();
    this.view = view;
  }

  get id(): string {
    return this.view.id;
  }

  get config(): BatchConfig {
    return this.view.config;
  }

  /** Shard of a sample index. */
  shardOf(index: number): ShardState | undefined {
    return this.view.shards[Math.floor(index / this.config.shardSize)];
  }

  /** Recomputes done counts from the dataset folder (the truth on disk). */
  syncFromDisk(outputRoot: string): void {
    const dir = resolveNamedDir(outputRoot, this.view.outDir, 'outDir');
    // Counts from the finished folders (bounded by what is on disk), not a set of every missing
    // index (10M entries for the largest accepted batch).
    const finished = fs.existsSync(path.join(dir, 'samples')) ? finishedSamples(dir) : new Set<number>();
    const size = this.config.shardSize;
    const perShard = new Map<number, number>();
    let done = 0;
    for (const i of finished) {
      if (i >= this.config.samples) continue;
      done++;
      const k = Math.floor(i / size);
      perShard.set(k, (perShard.get(k) ?? 0) + 1);
    }
    for (const s of this.view.shards) {
      const d = perShard.get(Math.floor(s.start / size)) ?? 0;
      s.done = d;
      if (d === s.end - s.start) s.status = 'done';
      else if (s.status === 'done') s.status = 'pending';
    }
    this.view.done = done;
  }

  markRunStart(): void {
    this.rateStart = null;
    this.runStartT = performance.now();
    this.view.rendered = 0;
    this.view.skipped = this.view.done;
    this.view.rate = null;
    this.view.etaS = null;
  }

  /** A sample finished (rendered, or found finished = skipped). */
  sampleDone(index: number, rendered: boolean, worker?: string): void {
    const s = this.shardOf(index);
    if (s) {
      s.done = Math.min(s.end - s.start, s.done + 1);
      s.status = s.done === s.end - s.start ? 'done' : 'running';
      if (worker !== undefined) s.worker = worker;
    }
    this.view.done = Math.min(this.view.total, this.view.done + 1);
    if (rendered) {
      const now = performance.now();
      this.view.rendered++;
      if (!this.rateStart) {
        // First sample of this run: includes browser start, so a rough first estimate; the rate
        // proper counts from here on.
        this.rateStart = { t: now, rendered: this.view.rendered };
        const dt = (now - this.runStartT) / 1000;
        this.view.rate = dt > 0 ? 1 / dt : null;
      } else {
        const n = this.view.rendered - this.rateStart.rendered;
        const dt = (now - this.rateStart.t) / 1000;
        this.view.rate = n > 0 && dt > 0 ? n / dt : this.view.rate;
      }
      this.view.etaS = this.view.rate ? (this.view.total - this.view.done) / this.view.rate : null;
    } else {
      this.view.skipped++;
    }
    this.changed();
  }

  shardStatus(index: number, status: ShardStatus, worker?: string): void {
    const s = this.shardOf(index);
    if (!s) return;
    s.status = status;
    if (worker !== undefined) s.worker = worker;
    this.changed();
  }

  error(message: string, index?: number): void {
    this.view.errors.push({ at: new Date().toISOString(), message, ...(index !== undefined ? { index } : {}) });
    if (this.view.errors.length > MAX_ERRORS) this.view.errors.splice(0, this.view.errors.length - MAX_ERRORS);
    this.changed();
  }

  note(message: string): void {
    this.view.log.push(`${new Date().toISOString().slice(11, 19)} ${message}`);
    if (this.view.log.length > MAX_LOG) this.view.log.splice(0, this.view.log.length - MAX_LOG);
    this.changed();
  }

  setStatus(status: JobStatus): void {
    this.view.status = status;
    if (status === 'running' && !this.view.startedAt) this.view.startedAt = new Date().toISOString();
    if (status === 'done' || status === 'failed' || status === 'cancelled') this.view.finishedAt = new Date().toISOString();
    if (status === 'done') {
      this.view.etaS = 0;
      this.view.result = { manifest: `${this.view.outDir}/manifest.jsonl`, card: `${this.view.outDir}/dataset_card.md` };
    }
    this.changed(true);
  }

  /** Emits 'change' now and persists soon (at once for status changes). */
  changed(now = false): void {
    this.emit('change', this.view);
    if (now) {
      if (this.persistTimer) clearTimeout(this.persistTimer);
      this.persistTimer = null;
      void this.persist();
    } else if (!this.persistTimer) {
      this.persistTimer = setTimeout(() => {
        this.persistTimer = null;
        void this.persist();
      }, 1000);
      this.persistTimer.unref();
    }
  }

  persist(): Promise<void> {
    const snapshot = JSON.parse(JSON.stringify(this.view));
    this.writing = this.writing.then(() => writeJsonAtomic(this.file, snapshot, { fsync: false }).catch(() => undefined));
    return this.writing;
  }
}

export interface JobManagerOptions {
  outputRoot: string;
  executor: JobExecutor;
  log?: (msg: string) => void;
}

export class JobConflictError extends Error {}

export class JobManager extends EventEmitter {
  private jobs = new Map<string, Job>();
  private queue: Job[] = [];
  private active: { job: Job; controller: AbortController; done: Promise<void> } | null = null;
  private closed = false;
  readonly outputRoot: string;

  constructor(private readonly o: JobManagerOptions) {
    super();
    this.outputRoot = path.resolve(o.outputRoot);
    fs.mkdirSync(path.join(this.outputRoot, JOBS_DIR), { recursive: true });
    this.loadPersisted();
  }

  get executorKind(): 'embedded' | 'redis' {
    return this.o.executor.kind;
  }

  /** Jobs from an earlier server: unfinished ones come back as 'cancelled' (resume them). */
  private loadPersisted(): void {
    const dir = path.join(this.outputRoot, JOBS_DIR);
    for (const f of fs.readdirSync(dir).filter((f) => /^[a-z0-9-]+\.json$/.test(f)).sort()) {
      try {
        const view = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as JobView;
        view.config = BatchConfigSchema.parse(view.config);
        // A job file edited by hand must not point a resume outside the output root.
        resolveNamedDir(this.outputRoot, view.outDir, 'outDir');
        if (!['done', 'failed', 'cancelled'].includes(view.status)) {
          view.status = 'cancelled';
          view.log = [...(view.log ?? []), 'server restarted while this job ran: resume it to continue'];
        }
        this.attach(new Job(view, path.join(dir, f)));
      } catch (err) {
        this.o.log?.(`ignoring ${f}: ${(err as Error).message}`);
      }
    }
  }

  private attach(job: Job): void {
    this.jobs.set(job.id, job);
    job.on('change', (v: JobView) => this.emit('change', v));
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((j) => j.view).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  private busyWith(outDir: string): Job | undefined {
    return [...this.jobs.values()].find((j) => j.view.outDir === outDir && ['queued', 'running', 'finalizing', 'cancelling'].includes(j.view.status));
  }

  /** Adds a job for a validated config; its dataset folder is <output>/<config.name>. */
  submit(config: BatchConfig): Job {
    if (this.closed) throw new Error('server is shutting down');
    const outDir = config.name;
    resolveNamedDir(this.outputRoot, outDir, 'config.name'); // the schema's rule, checked where the folder is made
    const other = this.busyWith(outDir);
    if (other) throw new JobConflictError(`dataset "${outDir}" is already being rendered by job ${other.id}`);
    const id = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    const shards: ShardState[] = [];
    for (let s = 0; s < config.samples; s += config.shardSize) shards.push({ start: s, end: Math.min(config.samples, s + config.shardSize), done: 0, status: 'pending' });
    const view: JobView = {
      id,
      name: config.name,
      status: 'queued',
      executor: this.o.executor.kind,
      outDir,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      total: config.samples,
      done: 0,
      rendered: 0,
      skipped: 0,
      retries: 0,
      rate: null,
      etaS: null,
      elapsedS: 0,
      shards,
      errors: [],
      log: [],
      result: null,
      config,
    };
    const job = new Job(view, path.join(this.outputRoot, JOBS_DIR, `${id}.json`));
    job.syncFromDisk(this.outputRoot);
    this.attach(job);
    job.setStatus('queued');
    this.queue.push(job);
    this.pump();
    return job;
  }

  /** Stops a queued or running job; finished samples stay. */
  cancel(id: string): Job {
    const job = this.mustGet(id);
    const st = job.view.status;
    if (st === 'queued') {
      this.queue = this.queue.filter((j) => j !== job);
      job.setStatus('cancelled');
    } else if ((st === 'running' || st === 'finalizing') && this.active?.job === job) {
      job.setStatus('cancelling');
      this.active.controller.abort();
    } else if (st !== 'cancelling') {
      throw new JobConflictError(`job ${id} is ${st}: nothing to cancel`);
    }
    return job;
  }

  /** Queues a cancelled or failed job again: it continues where it stopped. */
  resume(id: string): Job {
    const job = this.mustGet(id);
    const st = job.view.status;
    if (!['cancelled', 'failed'].includes(st)) throw new JobConflictError(`job ${id} is ${st}: only cancelled or failed jobs can be resumed`);
    const other = this.busyWith(job.view.outDir);
    if (other) throw new JobConflictError(`dataset "${job.view.outDir}" is already being rendered by job ${other.id}`);
    job.view.finishedAt = null;
    job.syncFromDisk(this.outputRoot);
    job.note('resumed');
    job.setStatus('queued');
    this.queue.push(job);
    this.pump();
    return job;
  }

  private mustGet(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new JobNotFoundError(`no job ${id}`);
    return job;
  }

  private pump(): void {
    if (this.active || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    const controller = new AbortController();
    const done = (async () => {
      const t0 = performance.now();
      job.syncFromDisk(this.outputRoot);
      job.markRunStart();
      job.setStatus('running');
      try {
        await this.o.executor.run({ job, outputRoot: this.outputRoot, signal: controller.signal });
        job.view.elapsedS += (performance.now() - t0) / 1000;
        job.setStatus(controller.signal.aborted ? 'cancelled' : 'done');
      } catch (err) {
        job.view.elapsedS += (performance.now() - t0) / 1000;
        job.syncFromDisk(this.outputRoot);
        if (controller.signal.aborted) {
          job.setStatus('cancelled');
        } else {
          job.error((err as Error).message ?? String(err));
          job.setStatus('failed');
        }
      }
    })().finally(() => {
      this.active = null;
      this.pump();
    });
    this.active = { job, controller, done };
  }

  /** Resolves when no job is running or queued. */
  async idle(): Promise<void> {
    while (this.active) await this.active.done;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue) j.setStatus('cancelled');
    this.queue = [];
    if (this.active) {
      this.active.job.setStatus('cancelling');
      this.active.controller.abort();
      await this.active.done.catch(() => undefined);
    }
    await Promise.all([...this.jobs.values()].map((j) => j.persist()));
    await this.o.executor.close?.();
  }
}

export class JobNotFoundError extends Error {}
