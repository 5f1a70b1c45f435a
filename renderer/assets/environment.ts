// Node-only. Turns a sample's environment layers into what the page needs: the bright sources as
// shadowed lights, the residual as a GGX-prefiltered float cube chain and SH9 (cached), and the
// visible background.
import crypto from 'node:crypto';
import { loadEnvMap } from '../io/envmap-io.js';
import { type EnvImage, rotateEnv, uvFromDir } from '../core/latlong.js';
import { type EnvLayer, activeLayers, sumEnvLayersAlongRays, sumEnvLayersAtMapSize } from '../core/env-layers.js';
import { VLSE_HEADER_BYTES, VLSC_MAGIC } from '../core/protocol.js';
import { extractLights, type ExtractedLight } from '../core/env-lights.js';
import { buildCubeMipChain, type CubeMipChain } from '../core/cubemap.js';
import { projectEnvSH9 } from '../core/sh9.js';
import type { ResolvedCamera } from '../core/camera.js';
import { pixelRay } from '../core/camera.js';

/** One environment layer (the type lives in core/env-layers.ts). */
export type EnvLayerSpec = EnvLayer;

/**
 * Loads 'builtin:NAME' or a .hdr/.exr path: io/envmap-io.ts loadEnvMap (the one resolver and the
 * one cache; re-exported here for the modules that load maps with their environments).
 */
export { loadEnvMap };

/** The layers as one map (weighted sum of rotated, scaled maps), at the first map's size: core/env-layers.ts sumEnvLayersAtMapSize. */
export async function combineLayers(layers: EnvLayerSpec[]): Promise<EnvImage> {
  const maps = await Promise.all(layers.map((l) => loadEnvMap(l.map)));
  return sumEnvLayersAtMapSize(layers, (_l, i) => maps[i]);
}

/**
 * The layers as one map with their rotations baked in (weight and intensity of a single layer
 * are left to the page as one scalar, so its preparation is shared across intensities).
 */
export async function environmentImage(layers: EnvLayerSpec[]): Promise<{ key: string; image: () => Promise<EnvImage>; intensity: number } | null> {
  const active = layers.filter((l) => l.weight * l.intensity > 0);
  if (active.length === 0) return null;
  if (active.length === 1) {
    const l = active[0];
    const rot = ((l.rotationDeg % 360) + 360) % 360;
    const key = `map:${l.map}|rot:${rot}`;
    return { key, image: async () => (rot ? rotateEnv(await loadEnvMap(l.map), rot) : loadEnvMap(l.map)), intensity: l.intensity * l.weight };
  }
  const key = 'mix:' + crypto.createHash('sha256').update(JSON.stringify(active)).digest('hex').slice(0, 24);
  return { key, image: () => combineLayers(active), intensity: 1 };
}

/** What the page needs of an environment: the residual's cube chain and SH9, and its bright sources as lights. */
export interface PreparedEnvironment {
  key: string;
  intensity: number;
  /** Residual radiance SH9 (sh9.ts layout, world axes), before `intensity`. */
  sh: Float32Array;
  lights: ExtractedLight[];
  /** The cube chain in the page's VLSC format (encodeCubeChain). */
  blob: Buffer;
  cubeSize: number;
  extractedShare: number;
  prepareMs: number;
}

// Mixed lightings make a new environment for nearly every render: keep the most recent ones only.
const prepared = new Map<string, Promise<Omit<PreparedEnvironment, 'intensity'>>>();
const MAX_PREPARED = 12;

/**
 * Splits the (combined, rotated) map into up to `maxLights` shadowed lights and a residual
 * (core/env-lights.ts), and makes the residual's GGX-prefiltered cube chain (core/cubemap.ts)
 * and SH9. Cached in memory by environment, cube size and light count.
 */
export async function prepareEnvironment(layers: EnvLayerSpec[], cubeSize: number, maxLights: number): Promise<PreparedEnvironment | null> {
  const src = await environmentImage(layers);
  if (!src) return null;
  const key = `${src.key}|cube:${cubeSize}|lights:${maxLights}`;
  let p = prepared.get(key);
  if (p) {
    prepared.delete(key);
    prepared.set(key, p);
  } else {
    p = (async () => {
      const t0 = performance.now();
      const env = await src.image();
      const split = extractLights(env, { maxLights });
      const chain = buildCubeMipChain(split.residual, cubeSize);
      const sh = projectEnvSH9(split.residual);
      return {
        key: crypto.createHash('sha256').update(key).digest('hex').slice(0, 24),
        sh,
        lights: split.lights,
        blob: encodeCubeChain(chain),
        cubeSize,
        extractedShare: split.extractedShare,
        prepareMs: performance.now() - t0,
      };
    })();
    p.catch(() => prepared.delete(key));
    prepared.set(key, p);
    while (prepared.size > MAX_PREPARED) prepared.delete(prepared.keys().next().value as string);
  }
  return { ...(await p), intensity: src.intensity };
}

/** Serialises a cube chain in the page's "VLSC" format: 16-byte header (magic, size, levels, 4) then every level's 6 RGBA float32 faces. */
export function encodeCubeChain(chain: CubeMipChain): Buffer {
  let bytes = VLSE_HEADER_BYTES;
  for (const level of chain.levels) for (const face of level) bytes += face.byteLength;
  const buf = Buffer.alloc(bytes);
  buf.writeUInt32LE(VLSC_MAGIC, 0);
  buf.writeUInt32LE(chain.size, 4);
  buf.writeUInt32LE(chain.levels.length, 8);
  buf.writeUInt32LE(4, 12);
  let o = VLSE_HEADER_BYTES;
  for (const level of chain.levels) {
    for (const face of level) {
      Buffer.from(face.buffer, face.byteOffset, face.byteLength).copy(buf, o);
      o += face.byteLength;
    }
  }
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
 * A layer rotated by a about +Y is the map shifted in u: L(R^-1 d) is read at u + a/360 (latlong.ts).
 */
export async function renderBackground(layers: EnvLayerSpec[], cam: ResolvedCamera): Promise<Float32Array> {
  const active = activeLayers(layers);
  const maps = await Promise.all(active.map((l) => loadEnvMap(l.map)));
  const { u, v } = rayUv(cam);
  return sumEnvLayersAlongRays(active, maps, u, v, new Float32Array(cam.width * cam.height * 3));
}
