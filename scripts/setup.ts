// Runs after `npm install`: builds the page bundle, generates the procedural head, and checks
// that a browser is there (printing the command that fixes it when not).
import path from 'node:path';
import { ensurePageBundle, PROJECT_ROOT } from '../renderer/node/bundle.js';
import { ensureProceduralHead } from '../renderer/node/procedural-head.js';
import { findBrowser } from '../renderer/node/browser.js';

const cache = path.join(PROJECT_ROOT, 'output', '.cache');
const t0 = performance.now();
const bundle = await ensurePageBundle(cache);
const head = await ensureProceduralHead(cache);
console.log(`virtual-light-stage: page bundle ${path.relative(PROJECT_ROOT, bundle)}, procedural head ${path.relative(PROJECT_ROOT, head)} (${(performance.now() - t0).toFixed(0)} ms)`);
try {
  const b = findBrowser();
  console.log(`virtual-light-stage: browser ${b.path} (${b.source})`);
} catch (err) {
  // Do not fail the install: the renderer repeats this message when it starts.
  console.warn(`virtual-light-stage: WARNING: ${(err as Error).message}`);
}
