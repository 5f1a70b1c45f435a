// Node-only. Past one machine: the Redis (BullMQ) backend. The orchestrator enqueues a job's
// missing shards on the queue "vls-shards"; `npm run worker -- --redis URL` processes (any
// number, on any machine sharing the output root) take them, render with the same ShardRunner as
// the embedded pool and write the same sample folders. BullMQ's stall detection gives the shard
// of a dead worker to another one; samples already written are skipped (folders are atomic), so a
// re-delivered shard never duplicates anything. When every shard is done the orchestrator writes
// the dataset files (manifest, card, tars), exactly as the embedded mode does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents, Worker, UnrecoverableError, type ConnectionOptions, type Job as BullJob } from 'bullmq';
import { parseBatchConfig, type BatchConfig } from '../renderer/pipelines/batch/config.js';
import { resolveNamedDir } from '../renderer/io/paths.js';
import { prepareBatch, finishBatch, lockBatchDir, missingSamples, ShardRunner, StoppedError } from '../renderer/pipelines/batch/run.js';
import type { Backend } from '../renderer/engine/browser.js';
import type { ExecutorContext, JobExecutor } from './jobs.js';

export const QUEUE_NAME = 'vls-shards';

/** A shard as it travels through Redis. */
export interface ShardJobData {
  /** orchestrator job id */
  jobId: string;
  /** dataset folder relative to the output root (workers resolve it against their own --output) */
  outDir: string;
  config: unknown;
  start: number;
  end: number;
  indices: number[];
}

export interface ShardProgress {
  index: number;
  /** 0 = the sample existed (skipped) */
  ms: number;
  worker: string;
  kind: 'sample' | 'sample-start' | 'retry' | 'worker-start';
  message?: string;
}

/** redis://[user:pass@]host:port[/db] -> ioredis options (what BullMQ takes). */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--redis: not a URL: "${url}" (expected redis://host:port)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--redis: expected a redis:// URL, got "${url}"`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`--redis: bad database number in "${url}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ workers block on Redis; ioredis must not give up on them.
    maxRetriesPerRequest: null,
  };
}

const cancelKey = (jobId: string) => `vls:cancel:${jobId}`;
const shardJobId = (jobId: string, start: number) => `${jobId}_s${start}`;

export interface QueueExecutorOptions {
  redis: string;
  /** attempts per shard before the job fails (default 3) */
  attempts?: number;
  log?: (msg: string) => void;
  /** how often the orchestrator re-reads the dataset folder (ms, default 2000) */
  pollMs?: number;
}

/** Orchestrator side: enqueue, follow, finish. */
export class QueueExecutor implements JobExecutor {
  readonly kind = 'redis' as const;
  private queue: Queue;
  private events: QueueEvents;
  private ready: Promise<unknown>;

  constructor(private readonly o: QueueExecutorOptions) {
    const connection = redisConnection(o.redis);
    this.queue = new Queue(QUEUE_NAME, { connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection });
    this.queue.on('error', (e) => o.log?.(`redis queue: ${e.message}`));
    this.events.on('error', (e) => o.log?.(`redis events: ${e.message}`));
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  async run({ job, outputRoot, signal }: ExecutorContext): Promise<void> {
    await this.ready;
    const config = job.config;
    const outDir = resolveNamedDir(outputRoot, job.view.outDir, 'outDir');
    fs.mkdirSync(outDir, { recursive: true });
    const release = lockBatchDir(outDir);
    const client = await this.queue.client;
    const ids = new Set<string>();
    try {
      await client.del(cancelKey(job.id));
      const prep = await prepareBatch(config, { outDir });
      job.note(prep.missing.length ? `${prep.missing.length} samples in ${prep.shards.length} shards queued on ${this.o.redis}` : 'complete');
      const pending = new Map<string, { start: number }>();
      for (const s of prep.shards) {
        const id = shardJobId(job.id, s.start);
        ids.add(id);
        pending.set(id, { start: s.start });
      }
      let failure: string | null = null;
      let wake: () => void = () => undefined;
      const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
        if (!ids.has(jobId) || typeof data !== 'object' || data === null) return;
        const p = data as ShardProgress;
        if (p.kind === 'sample') job.sampleDone(p.index, p.ms > 0, p.worker);
        else if (p.kind === 'sample-start') job.shardStatus(p.index, 'running', p.worker);
        else if (p.kind === 'retry') {
          job.view.retries++;
          job.error(`${p.worker}: ${p.message ?? 'retry'}`, p.index);
        } else if (p.message) job.note(p.message);
      };
      const onCompleted = ({ jobId }: { jobId: string }) => {
        if (!pending.delete(jobId)) return;
        wake();
      };
      const onFailed = async ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
        if (!ids.has(jobId)) return;
        // 'failed' also fires for attempts that will be retried: only a shard in the failed set is final.
        const bj = await this.queue.getJob(jobId).catch(() => undefined);
        const state = bj ? await bj.getState().catch(() => 'unknown') : 'unknown';
        job.error(`shard ${jobId}: ${failedReason}${state === 'failed' ? '' : ' (will be retried)'}`);
        if (state === 'failed') {
          failure = `shard ${jobId} failed: ${failedReason}`;
          wake();
        }
      };
      const onStalled = ({ jobId }: { jobId: string }) => {
        if (ids.has(jobId)) job.note(`shard ${jobId} stalled (worker gone?): BullMQ gives it to another worker`);
      };
      this.events.on('progress', onProgress);
      this.events.on('completed', onCompleted);
      this.events.on('failed', onFailed);
      this.events.on('stalled', onStalled);
      const onAbort = () => wake();
      signal.addEventListener('abort', onAbort);
      try {
        for (const s of prep.shards) {
          const id = shardJobId(job.id, s.start);
          const old = await this.queue.getJob(id);
          if (old) await old.remove().catch(() => undefined); // an earlier run's failed/finished entry
          const data: ShardJobData = { jobId: job.id, outDir: job.view.outDir, config, start: s.start, end: s.end, indices: s.indices };
          await this.queue.add('shard', data, {
            jobId: id,
            attempts: this.o.attempts ?? 3,
            backoff: { type: 'fixed', delay: 1000 },
            removeOnComplete: true,
            removeOnFail: { age: 24 * 3600 },
          });
        }
        // Wait for every shard (events), re-checking the folder now and then (events can be missed
        // while the orchestrator reconnects; the folder is the truth).
        const pollMs = this.o.pollMs ?? 2000;
        while (!signal.aborted && !failure) {
          const left = missingSamples(config, outDir);
          if (left.length === 0 && pending.size === 0) break;
          if (left.length === 0) {
            // Every sample exists; shards may still be acknowledging. Drop those that are gone.
            for (const id of [...pending.keys()]) {
              const bj = await this.queue.getJob(id);
              if (!bj || (await bj.getState()) === 'completed') pending.delete(id);
            }
            if (pending.size === 0) break;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, pollMs).unref();
          });
        }
        if (signal.aborted) {
          await this.cancelShards(job.id, ids);
          return;
        }
        if (failure) throw new Error(failure);
        job.syncFromDisk(outputRoot);
        job.setStatus('finalizing');
        await finishBatch(config, { outDir, configHash: prep.configHash });
      } finally {
        signal.removeEventListener('abort', onAbort);
        this.events.off('progress', onProgress);
        this.events.off('completed', onCompleted);
        this.events.off('failed', onFailed);
        this.events.off('stalled', onStalled);
      }
    } finally {
      release();
    }
  }

  /** Removes waiting shards; running ones see the cancel flag before their next sample. */
  private async cancelShards(jobId: string, ids: Set<string>): Promise<void> {
    const client = await this.queue.client;
    await client.set(cancelKey(jobId), '1');
    for (const id of ids) {
      const bj = await this.queue.getJob(id);
      if (!bj) continue;
      const state = await bj.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await bj.remove().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}

export interface QueueWorkerOptions {
  redis: string;
  /** the shared output root (datasets are <output>/<name>) */
  outputRoot: string;
  /** a name in progress and sample.json (default host-pid) */
  name?: string;
  backend?: Backend | 'auto';
  cacheRoot?: string;
  log?: (msg: string) => void;
  /** BullMQ lock: a worker silent for this long is considered dead (ms, default 30000) */
  lockDurationMs?: number;
  /** how often BullMQ looks for stalled shards (ms, default 15000) */
  stalledIntervalMs?: number;
}

/**
 * Worker side: one renderer (one Chromium), one shard at a time. The renderer is kept across
 * shards of the same dataset; a shard of another dataset gets a fresh ShardRunner.
 */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<{ worker: Worker; close: () => Promise<void>; stats: { shards: number; rendered: number; skipped: number } }> {
  const connection = redisConnection(o.redis);
  const name = o.name ?? `${os.hostname()}-${process.pid}`;
  const outputRoot = path.resolve(o.outputRoot);
  let runner: { key: string; runner: ShardRunner } | null = null;
  let closing = false;
  const stats = { shards: 0, rendered: 0, skipped: 0 };
  const workerNumber = process.pid; // recorded as run.worker in sample.json (not part of the content)

  const processor = async (bj: BullJob<ShardJobData>) => {
    const d = bj.data;
    // The same rule as dataset names: one segment strictly under the output root (not "..").
    let outDir: string;
    try {
      outDir = resolveNamedDir(outputRoot, d.outDir, 'outDir');
    } catch (err) {
      throw new UnrecoverableError(`bad dataset folder: ${(err as Error).message}`);
    }
    let config: BatchConfig;
    try {
      config = parseBatchConfig(d.config, `shard ${bj.id}`);
    } catch (err) {
      throw new UnrecoverableError((err as Error).message);
    }
    const samplesDir = path.join(outDir, 'samples');
    if (!fs.existsSync(samplesDir)) throw new UnrecoverableError(`${samplesDir} does not exist on worker ${name}: is ${outputRoot} the shared output root (--output)?`);
    const client = await worker.client;
    const key = `${d.outDir}\n${JSON.stringify(d.config)}`;
    if (runner?.key !== key) {
      await runner?.runner.close();
      runner = {
        key,
        runner: new ShardRunner({
          config,
          samplesDir,
          worker: workerNumber,
          backend: o.backend,
          log: o.log,
          renderer: o.cacheRoot ? { cacheRoot: o.cacheRoot } : undefined,
          stopped: () => closing,
          onEvent: (e) => {
            void bj.updateProgress({ index: e.index ?? -1, ms: 0, worker: name, kind: e.type === 'retry' ? 'retry' : 'worker-start', message: e.message } satisfies ShardProgress).catch(() => undefined);
          },
        }),
      };
    }
    const r = runner.runner;
    stats.shards++;
    for (const index of d.indices) {
      if (closing) throw new Error(`worker ${name} shutting down`);
      if (await client.get(cancelKey(d.jobId))) throw new UnrecoverableError('cancelled');
      await bj.updateProgress({ index, ms: 0, worker: name, kind: 'sample-start' } satisfies ShardProgress);
      const res = await r.renderIndex(index);
      if (res.ms > 0) stats.rendered++;
      else stats.skipped++;
      await bj.updateProgress({ index, ms: Math.round(res.ms), worker: name, kind: 'sample' } satisfies ShardProgress);
    }
    return { worker: name, indices: d.indices.length };
  };

  const worker = new Worker<ShardJobData>(QUEUE_NAME, processor, {
    connection,
    concurrency: 1,
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: o.stalledIntervalMs ?? 15_000,
    maxStalledCount: 2,
    autorun: true,
  });
  worker.on('error', (e) => o.log?.(`worker ${name}: ${e.message}`));
  worker.on('failed', (bj, err) => {
    if (!(err instanceof StoppedError)) o.log?.(`worker ${name}: shard ${bj?.id} failed: ${err.message}`);
  });
  await worker.waitUntilReady();
  return {
    worker,
    stats,
    close: async () => {
      closing = true;
      await worker.close();
      await runner?.runner.close();
    },
  };
}
