// Node-only. What the orchestrator (server/executor-queue.ts) and the queue workers
// (server/queue-worker.ts) agree on: the BullMQ queue name, a shard job's data and progress
// messages, the Redis keys, and how a --redis URL becomes connection options.
import type { ConnectionOptions } from 'bullmq';

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

export const cancelKey = (jobId: string) => `vls:cancel:${jobId}`;
export const shardJobId = (jobId: string, start: number) => `${jobId}_s${start}`;
