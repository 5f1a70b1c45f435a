/**
 * Environment layers: the one place a lighting's layers are declared and summed. Isomorphic: no
 * Node APIs, no DOM. Conventions (lat-long, rotation about +Y): latlong.ts.
 *
 * A layer contributes weight * intensity * rotateEnv(map, rotationDeg). Every consumer sums
 * layers through this module:
 *  - sumEnvLayers: at a requested size, each layer rotated at its source resolution then fitted
 *    (fitEnv), accumulated in float64 and rounded to float32 once (lightingToEnv, the lighting
 *    encodings, the dashboard's environment preview);
 *  - sumEnvLayersAtMapSize: the render path's sum (the page's environment: cube chain, SH9, bright
 *    sources), at the first layer's map size, each layer scaled and added in float32. Its rounding
 *    differs from sumEnvLayers' by float32 ulps, and dataset bytes depend on it: kept as it was;
 *  - sumEnvLayersAlongRays: the sum seen along given directions (the visible background).
 */
import { type EnvImage, addBilinear, addEnv, createEnv, reduceEnv, resizeEnv, rotateEnv, scaleEnv } from './latlong.js';

/** One layer of a lighting's environment (as sample.json records it). */
export interface EnvLayer {
  /** map id or path ('builtin:NAME' or a .hdr/.exr file), resolved by the caller's loader */
  map: string;
  /** rotation about +Y in degrees (latlong.rotateEnv convention) */
  rotationDeg: number;
  /** radiance multiplier drawn by distribution G */
  intensity: number;
  /** mixing weight (product of the betas of eq. 9); contribution = weight*intensity*map */
  weight: number;
}

/** A layer's scalar factor: weight * intensity. */
export function layerGain(l: EnvLayer): number {
  return l.weight * l.intensity;
}

/** The layers that contribute (gain > 0). */
export function activeLayers<L extends EnvLayer>(layers: readonly L[]): L[] {
  return layers.filter((l) => layerGain(l) > 0);
}

/**
 * Bring a map to width x height: energy-conserving reduceEnv when shrinking
 * (any ratio), resizeEnv (bilinear) otherwise.
 */
export function fitEnv(env: EnvImage, width: number, height: number): EnvImage {
  if (env.width === width && env.height === height) return env;
  if (width <= env.width && height <= env.height) return reduceEnv(env, width, height);
  return resizeEnv(env, width, height);
}

/** A layer's map as it enters sumEnvLayers: rotated at its source resolution, then fitted to width x height. */
export function layerImage(map: EnvImage, rotationDeg: number, width: number, height: number): EnvImage {
  return fitEnv(rotateEnv(map, rotationDeg), width, height);
}

/**
 * base + sum over layers of weight*intensity*image(layer), at width x height: accumulated in
 * float64, rounded to float32 once. `image(layer)` gives the layer's rotated, fitted map
 * (layerImage of its map; callers may cache it); layers of gain 0 are skipped without asking.
 * `base` (e.g. point lights projected, lighting.ts) is not modified; the result is a new map.
 */
export function sumEnvLayers(
  layers: readonly EnvLayer[],
  image: (layer: EnvLayer) => EnvImage,
  width: number,
  height: number,
  base?: EnvImage,
): EnvImage {
  const out = createEnv(width, height);
  if (base) {
    if (base.width !== width || base.height !== height) throw new Error(`sumEnvLayers: base is ${base.width}x${base.height}, expected ${width}x${height}`);
    out.data.set(base.data);
  }
  const acc = new Float64Array(out.data);
  for (const layer of layers) {
    const k = layerGain(layer);
    if (k === 0) continue;
    const m = image(layer);
    for (let i = 0; i < acc.length; i++) acc[i] += k * m.data[i];
  }
  out.data.set(acc);
  return out;
}

/**
 * The render path's layer sum (what the page lights the head with): at the first layer's map
 * size, every other map resized to it (resizeEnv) before rotation, each layer scaled by its gain
 * and added in float32. Throws on no layers.
 */
export function sumEnvLayersAtMapSize(layers: readonly EnvLayer[], map: (layer: EnvLayer, index: number) => EnvImage): EnvImage {
  let out: EnvImage | null = null;
  for (const [i, l] of layers.entries()) {
    const env = map(l, i);
    const sized: EnvImage = out && (env.width !== out.width || env.height !== out.height) ? resizeEnv(env, out.width, out.height) : env;
    const layer: EnvImage = scaleEnv(l.rotationDeg ? rotateEnv(sized, l.rotationDeg) : sized, l.intensity * l.weight);
    out = out ? addEnv(out, layer) : layer;
  }
  if (!out) throw new Error('sumEnvLayersAtMapSize: no environment layers');
  return out;
}

/**
 * out[p*3..p*3+2] += the layers' radiance toward the direction with lat-long coordinates
 * (u[p], v[p]), bilinearly sampled: a layer rotated by a about +Y is its map read at u + a/360
 * (latlong.ts). `maps[i]` is layers[i]'s map (unrotated). Every layer is summed (filter with
 * activeLayers first).
 */
export function sumEnvLayersAlongRays(
  layers: readonly EnvLayer[],
  maps: readonly EnvImage[],
  u: ArrayLike<number>,
  v: ArrayLike<number>,
  out: Float32Array,
): Float32Array {
  for (const [i, l] of layers.entries()) {
    const k = l.intensity * l.weight;
    const shift = l.rotationDeg / 360;
    for (let p = 0; p < u.length; p++) addBilinear(maps[i], u[p] + shift, v[p], k, out, p * 3);
  }
  return out;
}
