// Node-only. The environment of a lighting as the dashboard shows it: its layers (rotated,
// weighted) summed into one lat-long map of the requested width (renderer/core/env-layers.ts
// sumEnvLayers), as half floats. Only maps the server may read are used: builtin ones, or files
// inside an asset root or the output root, located by the renderer's one map resolver
// (renderer/io/envmap-io.ts) and loaded through its one cache.
import fs from 'node:fs';
import path from 'node:path';
import type { AppContext } from './context.js';
import { inside } from './files.js';
import { imageWork } from './pass-images.js';
import { Lru } from './util/lru.js';
import { envMapPathCandidates, loadEnvMap } from '../renderer/io/envmap-io.js';
import { floatsToHalf } from '../renderer/core/half.js';
import type { EnvImage } from '../renderer/core/latlong.js';
import { layerImage, sumEnvLayers, type EnvLayer } from '../renderer/core/env-layers.js';
import type { HalfImage } from '../renderer/core/display.js';

export type { EnvLayer };

const envCache = new Lru<HalfImage>(64 << 20, (v) => v.data.byteLength + 64);

/**
 * A map reference the server may read: 'builtin:NAME', or a file that the renderer's resolver
 * locates (envMapPathCandidates) whose real path lies inside one of `roots`. Returns the builtin
 * id or the file's real path; null otherwise. `absolute: false` refuses absolute paths.
 */
export function allowedEnvMap(ref: unknown, roots: readonly string[], opts: { absolute?: boolean } = {}): string | null {
  if (typeof ref !== 'string' || ref.length > 500 || ref.includes('\0')) return null;
  if (ref.startsWith('builtin:')) return /^builtin:[A-Za-z0-9_-]+$/.test(ref) ? ref : null;
  if (opts.absolute === false && path.isAbsolute(ref)) return null;
  const real = roots.filter((r) => fs.existsSync(r)).map((r) => fs.realpathSync(r));
  for (const c of envMapPathCandidates(ref)) {
    let file: string;
    try {
      file = fs.realpathSync(c);
      if (!fs.statSync(file).isFile()) continue;
    } catch {
      continue;
    }
    if (real.some((r) => inside(r, file))) return file;
  }
  return null;
}

export async function envPreview(layers: EnvLayer[], width: number, ctx: AppContext): Promise<HalfImage | null> {
  const height = width / 2;
  const key = JSON.stringify([layers, width]);
  const hit = envCache.get(key);
  if (hit) return hit;
  const roots = [ctx.outputRoot, ...ctx.assetRoots.map((r) => r.dir)];
  // sample.json layers: fields defaulted as the dashboard always did; only readable maps with gain > 0.
  const readable: { layer: EnvLayer; image: EnvImage }[] = [];
  for (const l of layers) {
    const layer: EnvLayer = { map: l.map, rotationDeg: l.rotationDeg ?? 0, intensity: l.intensity ?? 1, weight: l.weight ?? 1 };
    if (!(layer.weight * layer.intensity > 0)) continue;
    const ref = allowedEnvMap(layer.map, roots);
    if (!ref) continue;
    const image = await imageWork.run(async () => layerImage(await loadEnvMap(ref), layer.rotationDeg, width, height));
    readable.push({ layer, image });
  }
  if (readable.length === 0) return null;
  const images = new Map(readable.map((r) => [r.layer, r.image]));
  const sum = sumEnvLayers(readable.map((r) => r.layer), (l) => images.get(l)!, width, height);
  const img = { width, height, channels: 3, data: floatsToHalf(sum.data) };
  envCache.set(key, img);
  return img;
}
