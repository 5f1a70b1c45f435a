// Node-only. Where the large public assets live: ../shared/assets (placed by hand next to the
// repo) or the cache that `npm run fetch-assets` fills. Both have the same layout, so a head
// descriptor or config that names a file under ../shared/assets also finds it in the cache.
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './paths.js';

/** ../shared/assets relative to the repo root. */
export const SHARED_ASSETS = path.resolve(PROJECT_ROOT, '..', 'shared', 'assets');
/** Default destination of `npm run fetch-assets` (output/ is git-ignored). */
export const ASSET_CACHE = path.join(PROJECT_ROOT, 'output', '.cache', 'assets');
/** Asset roots in lookup order. */
export const ASSET_ROOTS: readonly string[] = [SHARED_ASSETS, ASSET_CACHE];

/**
 * `p` if it exists; else, when `p` lies under one asset root, the same relative path under the
 * first other root that has it; else `p` unchanged (so the caller's "does not exist" error
 * names the path the descriptor asked for).
 */
export function resolveAssetPath(p: string): string {
  const abs = path.resolve(p);
  if (fs.existsSync(abs)) return abs;
  for (const root of ASSET_ROOTS) {
    const rel = path.relative(root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    for (const other of ASSET_ROOTS) {
      if (other === root) continue;
      const alt = path.join(other, rel);
      if (fs.existsSync(alt)) return alt;
    }
  }
  return abs;
}
