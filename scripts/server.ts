// npm run server [-- --port 8787 --host 127.0.0.1 --output output --redis redis://host:6379]
// The orchestrator: REST API + SSE + dashboard. Jobs run in this process (embedded worker pool)
// or, with --redis, as shards on a BullMQ queue consumed by `npm run worker` processes.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { ASSET_ROOTS } from '../renderer/io/asset-roots.js';
import { createApp } from '../server/app.js';
import { JobManager, type JobExecutor } from '../server/jobs.js';
import { EmbeddedExecutor } from '../server/executor-embedded.js';
import { QueueExecutor } from '../server/executor-queue.js';
import type { FileRoot } from '../server/files.js';
import type { Backend } from '../renderer/engine/browser.js';
import { intAtLeast, portNumber } from './cli-args.js';

const program = new Command()
  .name('server')
  .description('Render orchestrator: REST API, live progress (SSE) and the dashboard. Binds 127.0.0.1 unless --host says otherwise.')
  .option('--port <n>', 'port (0 = any free one)', portNumber, 8787)
  .option('--host <addr>', 'address to bind; anything but loopback exposes the API to the network', '127.0.0.1')
  .option('--output <dir>', 'output root: datasets are <output>/<name>', 'output')
  .option('--assets <dir...>', 'asset folders configs may read and the dashboard may serve (default: assets/, ../shared/assets and the fetch-assets cache output/.cache/assets, those present)')
  .option('--redis <url>', 'queue shards on Redis (BullMQ) for `npm run worker` processes instead of rendering in this process')
  .option('--workers <n>', 'embedded mode: renderers per job (default: the config\'s workers)', intAtLeast(1))
  .option('--backend <name>', 'embedded mode: WebGL backend auto|gpu|llvmpipe|swiftshader', 'auto')
  .showHelpAfterError();
program.parse();
const o = program.opts<{ port: number; host: string; output: string; assets?: string[]; redis?: string; workers?: number; backend: Backend | 'auto' }>();

const log = (m: string) => process.stderr.write(`[server] ${m}\n`);
const assetDirs = o.assets ?? [path.join(PROJECT_ROOT, 'assets'), ...ASSET_ROOTS].filter((d) => fs.existsSync(d));
const assetRoots: FileRoot[] = assetDirs.map((d, i) => {
  const dir = path.resolve(d);
  if (!fs.existsSync(dir)) {
    process.stderr.write(`server: --assets ${d}: no such folder\n`);
    process.exit(2);
  }
  return { name: i === 0 && !o.assets ? 'assets' : `assets${i}`, dir };
});

const executor: JobExecutor = o.redis ? new QueueExecutor({ redis: o.redis, log }) : new EmbeddedExecutor({ workers: o.workers, backend: o.backend, log });
const jobs = new JobManager({ outputRoot: path.resolve(o.output), executor, log });
const loopback = ['127.0.0.1', 'localhost', '::1'].includes(o.host);
const app = createApp({ jobs, assetRoots, log, allowedHosts: loopback ? ['127.0.0.1', 'localhost', '::1'] : null });
const server = app.listen(o.port, o.host, () => {
  const a = server.address();
  const p = typeof a === 'object' && a ? a.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  process.stdout.write(`virtual light stage server: http://${host}:${p}/  (output ${jobs.outputRoot}; ${o.redis ? `jobs queued on ${o.redis}` : 'jobs render in this process'})\n`);
  if (!loopback) log(`listening on ${o.host}: the API and the files under the output root are reachable from the network`);
});
server.on('error', (err) => {
  process.stderr.write(`server: cannot listen on ${o.host}:${o.port}: ${err.message}\n`);
  process.exit(1);
});

let stopping = false;
const stop = async (sig: string) => {
  if (stopping) process.exit(130);
  stopping = true;
  log(`${sig}: stopping (running jobs are cancelled; resume them after a restart)`);
  server.close();
  server.closeAllConnections();
  await jobs.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
