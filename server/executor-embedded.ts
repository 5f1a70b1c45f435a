// Node-only. Runs a job in this process with the same engine as `npm run render-batch`
// (runBatch: a pool of renderer workers, one Chromium each), mapping its progress onto the job.
import { resolveNamedDir } from '../renderer/io/paths.js';
import { runBatch } from '../renderer/pipelines/batch/run.js';
import type { Backend } from '../renderer/engine/browser.js';
import type { ExecutorContext, JobExecutor } from './jobs.js';

export interface EmbeddedExecutorOptions {
  /** Workers per job (default: the config's `workers`). */
  workers?: number;
  backend?: Backend | 'auto';
  cacheRoot?: string;
  log?: (msg: string) => void;
}

export class EmbeddedExecutor implements JobExecutor {
  readonly kind = 'embedded' as const;
  constructor(private readonly o: EmbeddedExecutorOptions = {}) {}

  async run({ job, outputRoot, signal }: ExecutorContext): Promise<void> {
    await runBatch(job.config, {
      outDir: resolveNamedDir(outputRoot, job.view.outDir, 'outDir'),
      workers: this.o.workers,
      backend: this.o.backend,
      signal,
      log: this.o.log,
      renderer: this.o.cacheRoot ? { cacheRoot: this.o.cacheRoot } : undefined,
      onProgress: (p) => {
        switch (p.type) {
          case 'start':
            if (p.message) job.note(p.message);
            break;
          case 'worker-start':
            if (p.message) job.note(p.message);
            break;
          case 'sample-start':
            if (p.index !== undefined) job.shardStatus(p.index, 'running', `embedded-${p.worker ?? 0}`);
            break;
          case 'sample':
            if (p.index !== undefined) job.sampleDone(p.index, (p.sampleMs ?? 0) > 0, `embedded-${p.worker ?? 0}`);
            break;
          case 'retry':
            job.view.retries = p.retries;
            job.error(p.message ?? 'retry', p.index);
            break;
          case 'repair':
            job.note(p.message ?? 'repair');
            break;
          case 'finalize':
            job.setStatus('finalizing');
            break;
          default:
            break;
        }
      },
    });
  }
}
