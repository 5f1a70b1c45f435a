// The JSON the orchestrator's API answers with (jobs), shared by the server and the dashboard
// (server/public/src imports only this file and renderer/core).
import type { BatchConfig } from '../renderer/pipelines/batch/config.js';

export type JobStatus = 'queued' | 'running' | 'finalizing' | 'done' | 'failed' | 'cancelling' | 'cancelled';
export type ShardStatus = 'pending' | 'running' | 'done' | 'failed';

export interface ShardState {
  start: number;
  end: number;
  done: number;
  status: ShardStatus;
  worker?: string;
}

export interface JobError {
  at: string;
  message: string;
  index?: number;
}

/** What GET /api/jobs/:id returns (and what is persisted). */
export interface JobView {
  id: string;
  name: string;
  status: JobStatus;
  executor: 'embedded' | 'redis';
  /** dataset folder relative to the output root */
  outDir: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  total: number;
  done: number;
  rendered: number;
  skipped: number;
  retries: number;
  /** rendered samples per second since this run started (null before the first) */
  rate: number | null;
  /** seconds left at that rate */
  etaS: number | null;
  /** wall seconds of rendering, and the part spent inside renderSample+write per sample (sum of sample times / workers) */
  elapsedS: number;
  shards: ShardState[];
  errors: JobError[];
  /** last few worker / retry / repair messages */
  log: string[];
  result: { manifest: string; card: string } | null;
  config: BatchConfig;
}

/** A job in lists and the all-jobs event stream: the view without the config and the log. */
export type JobSummary = Omit<JobView, 'config' | 'log'> & { samples: number; width: number; height: number };
