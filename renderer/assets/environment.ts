// Node-only. Turns a sample's environment layers into what the page needs: one float
// equirect buffer (cached by content) plus a rotation and an intensity.
import crypto from 'node:crypto';
import path from 'node:path';
import { readBuiltinEnvMap, readEnvMap } from '../io/envmap-io.js';
import { PROJECT_ROOT } from '../io/paths.js';
import { type EnvImage, rotateEnv, scaleEnv, addEnv, resizeEnv, uvFromDir, addBilinear } from '../core/latlong.js';
import { VLSE_HEADER_BYTES, VLSE_MAGIC } from '../core/protocol.js';
import type { ResolvedCamera } from '../core/camera.js';
import { pixelRay } from '../core/camera.js';

export interface EnvLayerSpec {
  map: string;
  rotationDeg: number;
  intensity: number;
  weight: number;
}

const cache = new Map<string, Promise<EnvImage>>();

/** Loads 'builtin:NAME' or a .hdr/.exr path (relative to cwd, then the project root). */
export function loadEnvMap(ref: string, cwd = process.cwd()): Promise<EnvImage> {
  let key = ref;
  if (!ref.startsWith('builtin:')) {
    const fromCwd = path.resolve(cwd, ref);
    key = path.isAbsolute(ref) ? ref : fromCwd;
  }
  let p = cache.get(key);
  if (!p) {
    p = ref.startsWith('builtin:') ? readBuiltinEnvMap(ref) : readEnvMapWithFallback(key, ref);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function readEnvMapWithFallback(abs: string, ref: string): Promise<EnvImage> {
  try {
    return await readEnvMap(abs);
  } catch (err) {
    if (!path.isAbsolute(ref) && (err as NodeJS.ErrnoException).code === 'ENOENT') return readEnvMap(path.resolve(PROJECT_ROOT, ref));
    throw err;
  }
}

/** The layers as one map (weighted sum of rotated, scaled maps), at the first map's size. */
export async function combineLayers(layers: EnvLayerSpec[]): Promise<EnvImage> {
  let out: EnvImage | null = null;
  for (const l of layers) {
    const env = await loadEnvMap(l.map);
    const sized: EnvImage = out && (env.width !== out.width || env.height !== out.height) ? resizeEnv(env, out.width, out.height) : env;
    const layer: EnvImage = scaleEnv(l.rotationDeg ? rotateEnv(sized, l.rotationDeg) : sized, l.intensity * l.weight);
    out = out ? addEnv(out, layer) : layer;
  }
  if (!out) throw new Error('combineLayers: no environment layers');
  return out;
}

/**
 * What the page gets. One layer: the source map, rotated and scaled in the page (the cube is
 * cached per map). Several layers (mixed lightings): the exact sum built here, uploaded as its own map.
 */
export async function prepareEnvironment(layers: EnvLayerSpec[]): Promise<{ key: string; image: () => Promise<EnvImage>; rotationDeg: number; intensity: number } | null> {
  const active = layers.filter((l) => l.weight * l.intensity > 0);
  if (active.length === 0) return null;
  if (active.length === 1) {
    const l = active[0];
    return { key: `map:${l.map}`, image: () => loadEnvMap(l.map), rotationDeg: l.rotationDeg, intensity: l.intensity * l.weight };
  }
  const key = 'mix:' + crypto.createHash('sha256').update(JSON.stringify(active)).digest('hex').slice(0, 24);
  return { key, image: () => combineLayers(active), rotationDeg: 0, intensity: 1 };
}

/**
 * Babylon's cube (sampled in a right-handed scene) sees our equirect mirrored in Z: content
 * we put at direction (x, y, z) shows at (x, y, -z), measured by test/render.test.ts
 * ("environment orientation"). Mirroring the map in Z (u -> 1.5 - u) cancels that, so our
 * convention (centre = +Z in front of the face, u = 0.75 -> +X) holds in the page. The mirror
 * also reverses the sense of Babylon's rotationY: see PAGE_ROTATION_SIGN.
 */
export function toPageEquirect(env: EnvImage): EnvImage {
  const { width: w, height: h, data } = env;
  const out = new Float32Array(data.length);
  const shift = Math.round(1.5 * w) - 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = (((shift - x) % w) + w) % w;
      const si = (y * w + sx) * 3;
      const di = (y * w + x) * 3;
      out[di] = data[si];
      out[di + 1] = data[si + 1];
      out[di + 2] = data[si + 2];
    }
  }
  return { width: w, height: h, data: out };
}

/** Our rotation by +a about +Y is Babylon's rotationY = -a on the Z-mirrored map. */
export const PAGE_ROTATION_SIGN = -1;

/** Serialises a map in the page's "VLSE" format: 16-byte header then float32 RGB. */
export function encodeVlse(env: EnvImage): Buffer {
  const buf = Buffer.alloc(VLSE_HEADER_BYTES + env.data.byteLength);
  buf.writeUInt32LE(VLSE_MAGIC, 0);
  buf.writeUInt32LE(env.width, 4);
  buf.writeUInt32LE(env.height, 8);
  buf.writeUInt32LE(3, 12);
  Buffer.from(env.data.buffer, env.data.byteOffset, env.data.byteLength).copy(buf, VLSE_HEADER_BYTES);
  return buf;
}

/** Per-pixel lat-long coordinates of the camera rays, for the last camera (all lightings of a sample share it). */
let rayUvCache: { key: string; u: Float64Array; v: Float64Array } | null = null;

function rayUv(cam: ResolvedCamera): { u: Float64Array; v: Float64Array } {
  const key = JSON.stringify([cam.width, cam.height, cam.position, cam.target, cam.up, cam.fovYRad, cam.K]);
  if (rayUvCache?.key === key) return rayUvCache;
  const n = cam.width * cam.height;
  const u = new Float64Array(n);
  const v = new Float64Array(n);
  for (let y = 0, p = 0; y < cam.height; y++) {
    for (let x = 0; x < cam.width; x++, p++) {
      const d = pixelRay(cam, x, y);
      [u[p], v[p]] = uvFromDir(d[0], d[1], d[2]);
    }
  }
  rayUvCache = { key, u, v };
  return rayUvCache;
}

/**
 * Radiance of the (combined) environment seen through each pixel: the visible background.
 * A layer rotated by a about +Y is the map shifted in u: L(R^-1 d) has u' = u - a/360.
 */
export async function renderBackground(layers: EnvLayerSpec[], cam: ResolvedCamera): Promise<Float32Array> {
  const active = layers.filter((l) => l.weight * l.intensity > 0);
  const maps = await Promise.all(active.map((l) => loadEnvMap(l.map)));
  const { u, v } = rayUv(cam);
  const out = new Float32Array(cam.width * cam.height * 3);
  for (const [i, l] of active.entries()) {
    const k = l.intensity * l.weight;
    const shift = l.rotationDeg / 360;
    for (let p = 0; p < u.length; p++) addBilinear(maps[i], u[p] - shift, v[p], k, out, p * 3);
  }
  return out;
}
