// Node-only. The environment of a lighting as the dashboard shows it: its layers (rotated,
// weighted) summed into one lat-long map of the requested width, as half floats. Only maps the
// server may read are used: builtin ones, or files inside an asset root or the output root.
import fs from 'node:fs';
import path from 'node:path';
import type { AppContext } from './context.js';
import { inside } from './files.js';
import { imageWork } from './pass-images.js';
import { Lru } from './util/lru.js';
import { loadEnvMap } from '../renderer/assets/environment.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { floatsToHalf } from '../renderer/core/half.js';
import { rotateEnv, type EnvImage } from '../renderer/core/latlong.js';
import { fitEnv } from '../renderer/core/lighting.js';
import type { HalfImage } from '../renderer/core/display.js';

/** One environment layer of a lighting as sample.json records it. */
export interface EnvLayer {
  map: string;
  rotationDeg: number;
  intensity: number;
  weight: number;
}

const envCache = new Lru<HalfImage>(64 << 20, (v) => v.data.byteLength + 64);

/** A map reference of a dataset, if the server may read it: builtin, or a file inside an asset root or the output root. */
function allowedEnvMap(ref: string, ctx: AppContext): string | null {
  if (ref.startsWith('builtin:')) return /^builtin:[A-Za-z0-9_-]+$/.test(ref) ? ref : null;
  if (ref.includes('\0')) return null;
  const roots = [ctx.outputRoot, ...ctx.assetRoots.map((r) => r.dir)].filter((r) => fs.existsSync(r)).map((r) => fs.realpathSync(r));
  const candidates = path.isAbsolute(ref) ? [ref] : [path.resolve(ref), path.resolve(PROJECT_ROOT, ref)];
  for (const c of candidates) {
    let real: string;
    try {
      real = fs.realpathSync(c);
    } catch {
      continue;
    }
    if (fs.statSync(real).isFile() && roots.some((r) => inside(r, real))) return real;
  }
  return null;
}

export async function envPreview(layers: EnvLayer[], width: number, ctx: AppContext): Promise<HalfImage | null> {
  const height = width / 2;
  const key = JSON.stringify([layers, width]);
  const hit = envCache.get(key);
  if (hit) return hit;
  const acc = new Float64Array(width * height * 3);
  let any = false;
  for (const l of layers) {
    const k = (l.weight ?? 1) * (l.intensity ?? 1);
    if (!(k > 0)) continue;
    const ref = allowedEnvMap(l.map, ctx);
    if (!ref) continue;
    const env: EnvImage = await imageWork.run(async () => fitEnv(rotateEnv(await loadEnvMap(ref), l.rotationDeg ?? 0), width, height));
    for (let i = 0; i < acc.length; i++) acc[i] += k * env.data[i];
    any = true;
  }
  if (!any) return null;
  const img = { width, height, channels: 3, data: floatsToHalf(Float32Array.from(acc)) };
  envCache.set(key, img);
  return img;
}
