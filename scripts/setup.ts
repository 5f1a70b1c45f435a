// Runs after `npm install`: builds the page bundle, generates the procedural head, and checks
// that a browser is there (unpacking the npm fallback if it is the only one; printing the command
// that fixes it when there is none).
import path from 'node:path';
import { ensurePageBundle } from '../renderer/engine/bundle.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { ensureProceduralHead } from '../renderer/assets/procedural-head/index.js';
import { findBrowser } from '../renderer/engine/browser.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('Usage: setup\n\nBuild the page bundle, generate the procedural head (both cached in output/.cache) and check for a browser.\nNo options. Run by `npm install` (postinstall).');
  process.exit(0);
}
const cache = path.join(PROJECT_ROOT, 'output', '.cache');
const t0 = performance.now();
const bundle = await ensurePageBundle(cache);
const head = await ensureProceduralHead(cache);
console.log(`virtual-light-stage: page bundle ${path.relative(PROJECT_ROOT, bundle)}, procedural head ${path.relative(PROJECT_ROOT, head)} (${(performance.now() - t0).toFixed(0)} ms)`);
try {
  // Without a system browser this unpacks the npm fallback now (~3-5 s) rather than at the first render.
  const b = await findBrowser({ log: (m) => console.log(`virtual-light-stage: ${m}`) });
  console.log(`virtual-light-stage: browser ${b.path} (${b.source === 'npm' ? `npm fallback ${b.label}, SwiftShader only; the faster Mesa llvmpipe comes with: sudo apt-get install -y chromium libegl1 libegl-mesa0 libgl1-mesa-dri` : b.source})`);
} catch (err) {
  // Do not fail the install: the renderer repeats this message when it starts.
  console.warn(`virtual-light-stage: WARNING: ${(err as Error).message}`);
}
