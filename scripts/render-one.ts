// npm run render-one -- <spec.json> [--out DIR]: renders one fully specified sample.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { Renderer } from '../renderer/engine/renderer.js';
import { readSampleSpec } from '../renderer/io/json-file.js';
import { writeSample } from '../renderer/dataset/write-sample.js';
import type { Backend } from '../renderer/engine/browser.js';
import { encodeLightings, float32LE, ENCODING_FILES } from '../renderer/dataset/encodings.js';
import { findInconsistentRenders } from '../renderer/dataset/consistency.js';
import { encodingsRecord } from '../renderer/dataset/sample-record.js';

const program = new Command()
  .name('render-one')
  .description('Render one sample (head, camera, lighting) from a JSON spec and write its passes + meta.json.')
  .argument('<spec>', 'sample spec JSON (see scenes/*.json and README "Sample spec")')
  .option('--out <dir>', 'output folder for the sample (default: output/one/<spec name>)')
  .option('--backend <name>', 'WebGL backend: auto, gpu, llvmpipe, swiftshader (env VLS_BACKEND)', 'auto')
  .option('--overwrite', 'replace the output folder if it exists', false)
  .option('--quiet', 'print only errors', false)
  .showHelpAfterError();

program.parse();
const opts = program.opts<{ out?: string; backend: Backend | 'auto'; overwrite: boolean; quiet: boolean }>();
const specPath = program.args[0];

/** Head-normalised unit for point-light projection (metres); the batch configs' default. */
const HEAD_RADIUS_M = 0.1;

async function main(): Promise<void> {
  const spec = readSampleSpec(specPath);
  const out = path.resolve(opts.out ?? path.join('output', 'one', path.basename(specPath, '.json')));
  // Checked before the browser starts (writeSample checks again when it writes): refusing only
  // after a render wasted the whole render.
  if (fs.existsSync(out) && !opts.overwrite) throw new Error(`sample folder ${out} already exists (pass --overwrite to replace it)`);
  const log = opts.quiet ? undefined : (m: string) => console.error(m);
  const renderer = await Renderer.launch({ backend: opts.backend, log });
  try {
    log?.(`browser ${renderer.info.chromium}, launch ${renderer.info.launchMs.toFixed(0)} ms, page ready ${renderer.info.pageReadyMs.toFixed(0)} ms`);
    const sample = await renderer.renderSample(spec);
    // The batch engine's check: a camera that sees no head gives an empty mask, refused (nothing written).
    const { bad, reason } = findInconsistentRenders([sample.mask], { width: sample.width });
    if (bad.length) throw new Error(`${specPath}: ${reason}: check camera (distance, target, fovYDeg) and head; nothing written`);
    // The papers' lighting encodings of the whole lighting (environment + projected point lights).
    const [enc] = await encodeLightings([spec.lighting], HEAD_RADIUS_M, [0, 0, 0]);
    const meta = await writeSample(out, sample, renderer.info, {
      overwrite: opts.overwrite,
      extraFiles: { [ENCODING_FILES.latlong]: float32LE(enc.latlong), [ENCODING_FILES.sh9]: float32LE(enc.sh9) },
      extra: { encodings: encodingsRecord(enc.sh9) },
    });
    log?.(`rendered ${spec.width}x${spec.height} in ${sample.timings.totalMs.toFixed(0)} ms (page ${sample.timings.pageMs.toFixed(0)} ms, write ${meta.timings.writeMs.toFixed(0)} ms)`);
    console.log(out);
  } finally {
    await renderer.close();
  }
}

main().catch((err: Error) => {
  console.error(`render-one: ${err.message}`);
  process.exitCode = 1;
});
