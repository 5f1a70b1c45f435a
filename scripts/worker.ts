// npm run worker -- --redis redis://host:6379 [--output output]
// A queue worker: takes shards from the orchestrator's Redis queue (BullMQ), renders them with one
// Chromium, and writes the samples to the shared output root. Run any number, on any machines
// that see the same output root (e.g. an NFS mount) and the same assets.
import { Command } from 'commander';
import { startQueueWorker } from '../server/queue-worker.js';
import type { Backend } from '../renderer/engine/browser.js';

const program = new Command()
  .name('worker')
  .description('Render shards queued by `npm run server -- --redis URL` (BullMQ). Ctrl-C finishes nothing half: the current sample is dropped and its shard goes back to the queue.')
  .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
  .option('--output <dir>', 'the shared output root (the same folder the server uses)', 'output')
  .option('--name <name>', 'worker name shown in progress (default host-pid)')
  .option('--backend <name>', 'WebGL backend auto|gpu|llvmpipe|swiftshader', 'auto')
  .option('--lock-ms <n>', 'a worker silent this long is presumed dead and its shard re-queued', (v) => Number(v), 30000)
  .option('--stalled-ms <n>', 'how often to look for shards of dead workers', (v) => Number(v), 15000)
  .showHelpAfterError();
program.parse();
const o = program.opts<{ redis: string; output: string; name?: string; backend: Backend | 'auto'; lockMs: number; stalledMs: number }>();
const log = (m: string) => process.stderr.write(`[worker] ${m}\n`);

const w = await startQueueWorker({ redis: o.redis, outputRoot: o.output, name: o.name, backend: o.backend, log, lockDurationMs: o.lockMs, stalledIntervalMs: o.stalledMs }).catch((err: Error) => {
  process.stderr.write(`worker: ${err.message}\n`);
  process.exit(1);
});
log(`waiting for shards on ${o.redis} (output ${o.output})`);
w.worker.on('completed', (job) => log(`shard ${job.id} done (${w.stats.rendered} rendered, ${w.stats.skipped} skipped so far)`));
let stopping = false;
const stop = async (sig: string) => {
  if (stopping) process.exit(130);
  stopping = true;
  log(`${sig}: stopping`);
  await w.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
