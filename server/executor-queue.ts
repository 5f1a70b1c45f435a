// Node-only. Past one machine: the Redis (BullMQ) backend, orchestrator side. It enqueues a job's
// missing shards on the queue "vls-shards" (server/queue-protocol.ts); `npm run worker -- --redis
// URL` processes (server/queue-worker.ts; any number, on any machine sharing the output root) take
// them, render with the same ShardRunner as the embedded pool and write the same sample folders.
// BullMQ's stall detection gives the shard of a dead worker to another one; samples already
// written are skipped (folders are atomic), so a re-delivered shard never duplicates anything.
// When every shard is done the orchestrator writes the dataset files (manifest, card, tars),
// exactly as the embedded mode does.
import fs from 'node:fs';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { prepareBatch, finishBatch, lockBatchDir, missingSamples } from '../renderer/pipelines/batch/run.js';
import type { ExecutorContext, JobExecutor } from './jobs.js';
import { resolveNamedDir } from '../renderer/io/paths.js';
import { QUEUE_NAME, cancelKey, redisConnection, shardJobId, type ShardJobData, type ShardProgress } from './queue-protocol.js';

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
