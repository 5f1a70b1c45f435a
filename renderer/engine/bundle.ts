// Node-only. Bundles the page code (renderer/page) with esbuild. The bundle is cached by a
// hash of its sources and the Babylon version, so it is built once per change.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { PROJECT_ROOT } from '../io/paths.js';
import { build } from 'esbuild';


let hashed: string | null = null;

/** Hash of the page sources and Babylon's version (once per process: sources do not change under it). */
function sourceHash(): string {
  if (hashed) return hashed;
  const h = crypto.createHash('sha256');
  for (const dir of ['renderer/page', 'renderer/core']) {
    const abs = path.join(PROJECT_ROOT, dir);
    for (const f of fs.readdirSync(abs).sort()) {
      if (f.endsWith('.ts')) h.update(f).update(fs.readFileSync(path.join(abs, f)));
    }
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'node_modules/@babylonjs/core/package.json'), 'utf8'));
  h.update(pkg.version);
  hashed = h.digest('hex').slice(0, 16);
  return hashed;
}

// One build per output folder and process. Keyed by folder, and re-checked on disk, because a
// caller may pass another cacheRoot or delete one between runs (the bench does both): a
// memo of the first folder alone handed later renderers a bundle that no longer existed.
const pending = new Map<string, Promise<string>>();
const built = new Set<string>();

/** Returns the folder holding main.js (and its chunks). */
export function ensurePageBundle(cacheRoot = path.join(PROJECT_ROOT, 'output', '.cache')): Promise<string> {
  const outDir = path.join(cacheRoot, 'page', sourceHash());
  const known = pending.get(outDir);
  if (known && (!built.has(outDir) || fs.existsSync(path.join(outDir, 'main.js')))) return known;
  const p = (async () => {
    if (fs.existsSync(path.join(outDir, 'main.js'))) return outDir;
    const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
    await build({
      entryPoints: [path.join(PROJECT_ROOT, 'renderer/page/main.ts')],
      bundle: true,
      format: 'esm',
      splitting: true,
      outdir: tmp,
      target: 'es2022',
      minify: true,
      sourcemap: false,
      logLevel: 'error',
      legalComments: 'none',
    });
    fs.mkdirSync(path.dirname(outDir), { recursive: true });
    try {
      fs.renameSync(tmp, outDir);
    } catch {
      // Another process finished the same bundle first: use theirs.
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return outDir;
  })();
  pending.set(outDir, p);
  p.then(() => built.add(outDir), () => undefined);
  p.catch(() => pending.delete(outDir));
  return p;
}
