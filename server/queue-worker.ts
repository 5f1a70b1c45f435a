// Node-only. Past one machine: the Redis (BullMQ) backend, worker side (`npm run worker`, see
// scripts/worker.ts). A worker takes shards that the orchestrator (server/executor-queue.ts) put
// on the queue, renders their samples with a ShardRunner into the shared output root, and reports
// progress through BullMQ (server/queue-protocol.ts). A shard redelivered after a stall skips the
// samples already written (sample folders are atomic).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, UnrecoverableError, type Job as BullJob } from 'bullmq';
import { parseBatchConfig, type BatchConfig } from '../renderer/pipelines/batch/config.js';
import { ShardRunner, StoppedError } from '../renderer/pipelines/batch/run.js';
import type { Backend } from '../renderer/engine/browser.js';
import { QUEUE_NAME, cancelKey, redisConnection, type ShardJobData, type ShardProgress } from './queue-protocol.js';
import { resolveNamedDir } from '../renderer/io/paths.js';

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
