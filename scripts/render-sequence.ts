// npm run render-sequence [-- config.json] [--out DIR] [--frames N] [--speed-up K] [--backend B]
// Renders a video sequence (scenes/sequence-default.json by default): per frame the passes under the
// input lighting (and the target lighting), plus the exact forward/backward optical flow and
// occlusion codes between neighbouring frames. Rerunning resumes.
import path from 'node:path';
import { Command } from 'commander';
import { loadSequenceConfig, parseSequenceConfig, runSequence } from '../renderer/pipelines/sequence.js';
import type { Backend } from '../renderer/engine/browser.js';
import { intAtLeast, numberAtLeast } from './cli-args.js';

const program = new Command()
  .name('render-sequence')
  .description('Render a video sequence: smooth rigid head motion, dynamic lighting along a path (speed-up factor), per-frame passes, exact optical flow with occlusion codes; resumable.')
  .argument('[config]', 'sequence config JSON (see scenes/sequence-default.json and README)', 'scenes/sequence-default.json')
  .option('--out <dir>', 'output folder (default output/<config name>)')
  .option('--frames <n>', 'number of frames (overrides the config)', intAtLeast(2))
  .option('--speed-up <k>', "input lighting speed-up factor (overrides input.speedUp; 0 = static)", numberAtLeast(0))
  .option('--backend <name>', 'WebGL backend: auto, gpu, llvmpipe, swiftshader (env VLS_BACKEND)', 'auto')
  .option('--quiet', 'print only errors and the output folder', false)
  .showHelpAfterError();

program.parse();
const opts = program.opts<{ out?: string; frames?: number; speedUp?: number; backend: Backend | 'auto'; quiet: boolean }>();
const configPath: string = program.args[0] ?? 'scenes/sequence-default.json';

async function main(): Promise<void> {
  let config = loadSequenceConfig(configPath);
  if (opts.frames !== undefined || opts.speedUp !== undefined) {
    config = parseSequenceConfig(
      { ...config, ...(opts.frames !== undefined ? { frames: opts.frames } : {}), ...(opts.speedUp !== undefined ? { input: { ...config.input, speedUp: opts.speedUp } } : {}) },
      `sequence config ${configPath} (with command-line overrides)`,
    );
  }
  const outDir = path.resolve(opts.out ?? path.join('output', config.name));
  const say = opts.quiet ? undefined : (m: string) => process.stderr.write(m + '\n');
  const controller = new AbortController();
  process.once('SIGINT', () => {
    say?.('render-sequence: stopping after the current frame (run again to resume)');
    controller.abort();
  });
  say?.(`render-sequence: ${config.frames} frames ${config.width}x${config.height} of ${config.head} into ${outDir}`);
  const res = await runSequence(config, {
    outDir,
    backend: opts.backend,
    log: say,
    signal: controller.signal,
    onFrame: (e) => say?.(`frame ${e.index + 1}/${e.total}${e.skipped ? ' (exists)' : ` ${(e.ms / 1000).toFixed(1)} s`}`),
  });
  const vis = Object.values(res.flowStats);
  const frac = vis.length ? vis.reduce((s, f) => s + f.forward.visible / Math.max(1, f.forward.surface), 0) / vis.length : NaN;
  say?.(`done in ${(res.elapsedMs / 1000).toFixed(1)} s: ${res.rendered} frame(s) rendered, ${res.skipped} kept, ${res.flows} flow pair(s) written; mean visible fraction (forward) ${(100 * frac).toFixed(1)}%`);
  console.log(outDir);
}

main().catch((err: Error) => {
  console.error(`render-sequence: ${err.message}`);
  process.exitCode = 1;
});
