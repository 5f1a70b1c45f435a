// npm run render-batch [-- config.json] [--out DIR] [--workers N] [--samples N] [--backend B]
// Renders a batch config (default scenes/default.json) into DIR (default output/<config name>).
// Rerunning resumes: finished samples are kept, only missing ones are rendered.
import path from 'node:path';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadBatchConfig, parseBatchConfig, resolveWorkerCount } from '../renderer/pipelines/batch/config.js';
import { runBatch, BatchAbortedError, type BatchProgress } from '../renderer/pipelines/batch/run.js';
import type { Backend } from '../renderer/engine/browser.js';
import { intAtLeast } from './cli-args.js';

const positiveInt = intAtLeast(1);

const program = new Command()
  .name('render-batch')
  .description('Render a dataset from a batch config (heads x cameras x lighting triplets) with a pool of headless renderers; resumable.')
  .argument('[config]', 'batch config JSON (see scenes/batch.schema.json)', 'scenes/default.json')
  .option('--out <dir>', 'output folder (default: config output.dir, else output/<config name>)')
  .option('--workers <n>', "parallel renderers, one Chromium each (default: config workers, 'auto' = max(1, min(2, cores/2)))", positiveInt)
  .option('--samples <n>', 'number of samples (overrides the config; more samples extend an existing batch)', positiveInt)
  .option('--backend <name>', 'WebGL backend: auto, gpu, llvmpipe, swiftshader (env VLS_BACKEND)', 'auto')
  .option('--prune', 'delete finished sample folders beyond --samples / the config\'s samples (default: keep them and warn)', false)
  .option('--quiet', 'no progress output', false)
  .showHelpAfterError();

program.parse();
const opts = program.opts<{ out?: string; workers?: number; samples?: number; backend: Backend | 'auto'; quiet: boolean; prune: boolean }>();
const configPath: string = program.args[0] ?? 'scenes/default.json';

function fmtSec(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

async function main(): Promise<number> {
  let config = loadBatchConfig(configPath);
  // Through the schema again: --samples gets the same bounds (and shard-count check) as the file.
  if (opts.samples !== undefined) config = parseBatchConfig({ ...config, samples: opts.samples }, `${configPath} with --samples ${opts.samples}`);
  const outDir = path.resolve(opts.out ?? config.output.dir ?? path.join('output', config.name));
  const workers = resolveWorkerCount(config, opts.workers);
  const resumeCmd = `npm run render-batch -- ${configPath}${opts.out ? ` --out ${opts.out}` : ''}${opts.samples ? ` --samples ${opts.samples}` : ''}`;

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\nrender-batch: ${sig}: stopping (no new samples; unfinished ones are dropped, finished ones kept). Press Ctrl-C again to exit at once.\n`);
      controller.abort();
    } else {
      process.stderr.write(`render-batch: exiting now; resume with: ${resumeCmd}\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const quiet = opts.quiet;
  let backendShown = false;
  let firstSampleShown = false;
  const tty = !!process.stderr.isTTY;
  let bar: cliProgress.SingleBar | null = null;
  let renderStart = 0;
  let renderedAtStart = 0;
  const rate = (p: BatchProgress): { spp: number; eta: number } => {
    const n = p.rendered - renderedAtStart;
    const spp = n > 0 ? (performance.now() - renderStart) / 1000 / n : NaN;
    return { spp, eta: spp * (p.total - p.done) };
  };
  const say = (m: string) => {
    if (quiet) return;
    if (bar) bar.stop();
    process.stderr.write(m + '\n');
    if (bar) {
      // cli-progress has no "log above the bar": restart it where it was.
      const b = bar;
      bar = null;
      startBar(b.getTotal(), b.getProgress() * b.getTotal());
    }
  };
  const startBar = (total: number, value: number) => {
    bar = new cliProgress.SingleBar(
      {
        format: ' {bar} {value}/{total} samples | {spp} s/sample | ETA {etaText} | retries {retries}',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, value, { spp: '-', etaText: '-', retries: 0 });
  };

  const onProgress = (p: BatchProgress) => {
    if (quiet) return;
    switch (p.type) {
      case 'start':
        if (p.done === p.total) {
          process.stderr.write(`render-batch: ${outDir}: batch "${config.name}" is complete (${p.total} samples); nothing to render. Rewriting manifest.jsonl and the dataset card.\n`);
          return;
        }
        process.stderr.write(
          `render-batch: "${config.name}" -> ${outDir}: ${p.total} samples, ${p.skipped} already done, ${p.total - p.skipped} to render with ${Math.min(workers, p.total - p.skipped)} worker(s), ${config.width}x${config.height}, ${config.lighting.mode}\n`,
        );
        if (tty) startBar(p.total, p.done);
        return;
      case 'worker-start':
        // Rates count from the first renderer up (not the browser start).
        if (renderStart === 0 || p.done === p.skipped) {
          renderStart = performance.now();
          renderedAtStart = p.rendered;
        }
        if (!tty) process.stderr.write(`render-batch: ${p.message}\n`);
        // Once per run, when the first browser is up: the first sample is slow and should not look like a hang.
        if (!firstSampleShown) {
          firstSampleShown = true;
          say('render-batch: the first sample also compiles the shaders (~5 s more on an idle 2-core CPU, 20-30 s on a busy one); later samples are faster');
        }
        return;
      case 'sample': {
        const { spp, eta } = rate(p);
        if (bar) (bar as cliProgress.SingleBar).update(p.done, { spp: Number.isFinite(spp) ? spp.toFixed(2) : '-', etaText: fmtSec(eta), retries: p.retries });
        else
          process.stderr.write(
            `render-batch: ${p.done}/${p.total} samples (sample ${String(p.index).padStart(6, '0')} by worker ${p.worker} in ${((p.sampleMs ?? 0) / 1000).toFixed(1)} s) ${Number.isFinite(spp) ? spp.toFixed(2) : '-'} s/sample, ETA ${fmtSec(eta)}\n`,
          );
        return;
      }
      case 'retry':
      case 'repair':
        say(`render-batch: worker ${p.worker}: ${p.message}`);
        return;
      case 'finalize':
        if (bar) {
          (bar as cliProgress.SingleBar).stop();
          bar = null;
        }
        return;
      default:
        return;
    }
  };

  try {
    const res = await runBatch(config, {
      outDir,
      workers: opts.workers,
      backend: opts.backend,
      signal: controller.signal,
      onProgress,
      log: quiet
        ? undefined
        : (m) => {
            // Renderer.launch announces its backend at every (re)start: once is enough.
            if (m.startsWith('renderer backend:')) {
              if (backendShown) return;
              backendShown = true;
            }
            say(`render-batch: ${m}`);
          },
      configFile: configPath,
      prune: opts.prune,
    });
    if (!quiet) {
      const mb = (res.dataset.bytes / 1048576).toFixed(1);
      process.stderr.write(
        res.rendered > 0
          ? `render-batch: done: rendered ${res.rendered} sample(s) in ${fmtSec(res.elapsedMs / 1000)} (${res.secondsPerSample.toFixed(2)} s/sample, ${res.workers} worker(s), ${res.retries} retries, ${res.repairs} re-rendered lightings); ${res.total} samples, ${res.dataset.files} files, ${mb} MiB\n`
          : `render-batch: complete: ${res.total} samples, ${res.dataset.files} files, ${mb} MiB\n`,
      );
    }
    console.log(outDir);
    return 0;
  } catch (err) {
    if (bar) (bar as cliProgress.SingleBar).stop();
    if (err instanceof BatchAbortedError) {
      process.stderr.write(`render-batch: interrupted: ${err.done} of ${err.total} samples complete in ${outDir}.\nResume with: ${resumeCmd}\n`);
      return 130;
    }
    process.stderr.write(`render-batch: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`render-batch: ${err.message}`);
    process.exitCode = 1;
  },
);
