/**
 * Renderer-independent lighting description and the video-relighting paper's
 * lighting-condition sampling (sec. 4.3, eq. 9). Isomorphic: no Node APIs,
 * no DOM. Frame and lat-long conventions: see latlong.ts (right-handed, +Y up,
 * head faces +Z, +X = viewer's right).
 *
 * A Lighting is LINEAR: its radiance field is
 *   sum_layers weight * intensity * rotateEnv(map, rotationDeg)  +  sum_lights point light
 * so scaling / mixing / adding are exact by concatenating layers and lights
 * with scaled weights / intensities (no resampling, no approximation).
 *
 * Units.
 *  - Env maps hold linear radiance; a layer contributes weight*intensity*map.
 *  - PointLight.position is in metres, world frame. PointLight.intensity is a
 *    radiant-intensity-like scalar I ("W/sr per unit colour"): a surface at
 *    distance r metres facing the light receives irradiance E = I*color/r^2
 *    (inverse-square, e.g. three.js physically correct point light / decay 2).
 *  - Head-normalised unit: 1 unit = headRadius metres, measured from the head
 *    centre. Distribution H is defined in these units (see samplePointLightsH);
 *    every sampled light records both its metric `position`/`intensity` and its
 *    head-normalised `normalized` values.
 */

import { Rng } from './rng.js';
import { type EnvImage, type Vec3, bilinearTaps, createEnv, pixelSolidAngle, uvFromDir } from './latlong.js';
import { type EnvLayer, layerImage, sumEnvLayers } from './env-layers.js';

export type { Vec3 } from './latlong.js';
export type { EnvLayer } from './env-layers.js';
export { fitEnv } from './env-layers.js';

export interface PointLight {
  /** metres, world frame */
  position: [number, number, number];
  /** linear RGB, 0..1 */
  color: [number, number, number];
  /**
   * Radiant-intensity-like scalar I (metric): irradiance at distance r metres,
   * on a surface facing the light, is I*color/r^2.
   */
  intensity: number;
  /** optional emitter radius in metres (soft shadows); ignored by projection. */
  radius?: number;
  /**
   * Head-normalised description (1 unit = headRadius metres, relative to the
   * head centre), recorded for metadata by samplePointLightsH:
   * position = headCentre + headRadius*normalized.position,
   * intensity = normalized.intensity * headRadius^2 (so the irradiance at the
   * head centre is normalized.intensity*color/normalized.distance^2).
   */
  normalized?: {
    position: [number, number, number];
    distance: number;
    intensity: number;
    headRadius: number;
    headCentre: [number, number, number];
  };
}

export interface Lighting {
  /** weighted sum of rotated, scaled maps; a single environment is one layer with weight 1 */
  environment: EnvLayer[];
  pointLights: PointLight[];
}

export interface SampleGOptions {
  intensityRange: [number, number];
  /** degrees, uniform in [lo, hi); default [0, 360) */
  rotationRange?: [number, number];
}

export interface SampleHOptions {
  /** metres; the head-normalised unit */
  headRadius: number;
  /** metres, world; default [0,0,0] */
  headCentre?: [number, number, number];
  /** inclusive range of the number of lights; default [1, 3] */
  count?: [number, number];
  /** maximum distance from the unit sphere, head-normalised; default 1.5 */
  maxDistance?: number;
  /**
   * Head-normalised intensity s, uniform in [lo, hi): the light delivers
   * irradiance s*color/rho^2 at the head centre (rho = normalised distance);
   * metric intensity = s*headRadius^2.
   */
  intensityRange: [number, number];
  /** optional emitter radius in metres copied onto every light */
  lightRadius?: number;
}

export interface TripletOptions {
  G: SampleGOptions;
  H: SampleHOptions;
  /** Beta shape parameters for b1, b2; default [0.5, 0.5] (the paper) */
  betaShape?: [number, number];
}

export interface LightingTriplet {
  Li: Lighting;
  Lj: Lighting;
  Lk: Lighting;
  draws: {
    b1: number;
    b2: number;
    X_i: EnvLayer;
    X_j: EnvLayer;
    X_k: EnvLayer;
    Y: PointLight[];
  };
}

/**
 * Distribution G: a random map from `mapIds`, a random rotation about +Y
 * (uniform in rotationRange, default [0, 360)), and a random intensity
 * (uniform in intensityRange); weight 1. Draw order: map, rotation, intensity.
 */
export function sampleEnvLayerG(rng: Rng, mapIds: readonly string[], opts: SampleGOptions): EnvLayer {
  const map = rng.pick(mapIds);
  const [r0, r1] = opts.rotationRange ?? [0, 360];
  const rotationDeg = rng.uniform(r0, r1);
  const intensity = rng.uniform(opts.intensityRange[0], opts.intensityRange[1]);
  return { map, rotationDeg, intensity, weight: 1 };
}

/**
 * Distribution H (paper sec. 4.3): "one to three point light sources with
 * uniformly random colors outside a unit sphere. The maximum distance from the
 * light source to the sphere is limited by 1.5".
 * Implemented in head-normalised units (unit sphere = the head, radius
 * headRadius metres, centred on headCentre):
 *  - count ~ uniform integer in [1, 3];
 *  - per light: direction uniform on the sphere; distance from the head
 *    centre rho ~ uniform in (1, 1 + maxDistance] = (1, 2.5] (so the distance
 *    to the sphere, rho - 1, is in (0, 1.5]); colour ~ uniform in [0,1]^3;
 *    normalised intensity s ~ uniform in intensityRange.
 *  - metric: position = headCentre + headRadius*rho*dir, intensity = s*headRadius^2.
 * Draw order per light: direction (2), distance, colour (3), intensity.
 */
export function samplePointLightsH(rng: Rng, opts: SampleHOptions): PointLight[] {
  const [c0, c1] = opts.count ?? [1, 3];
  const maxD = opts.maxDistance ?? 1.5;
  const R = opts.headRadius;
  if (!(R > 0)) throw new Error(`samplePointLightsH: headRadius must be > 0, got ${R}`);
  const C: [number, number, number] = opts.headCentre ? [...opts.headCentre] : [0, 0, 0];
  const n = rng.int(c0, c1);
  const lights: PointLight[] = [];
  for (let i = 0; i < n; i++) {
    const dir = rng.unitVector();
    const rho = 1 + maxD * (1 - rng.next()); // (1, 1+maxD]
    const color: [number, number, number] = [rng.next(), rng.next(), rng.next()];
    const s = rng.uniform(opts.intensityRange[0], opts.intensityRange[1]);
    const np: [number, number, number] = [dir[0] * rho, dir[1] * rho, dir[2] * rho];
    const light: PointLight = {
      position: [C[0] + R * np[0], C[1] + R * np[1], C[2] + R * np[2]],
      color,
      intensity: s * R * R,
      normalized: { position: np, distance: rho, intensity: s, headRadius: R, headCentre: [C[0], C[1], C[2]] },
    };
    if (opts.lightRadius !== undefined) light.radius = opts.lightRadius;
    lights.push(light);
  }
  return lights;
}

function copyLight(p: PointLight, k: number): PointLight {
  const out: PointLight = {
    position: [p.position[0], p.position[1], p.position[2]],
    color: [p.color[0], p.color[1], p.color[2]],
    intensity: p.intensity * k,
  };
  if (p.radius !== undefined) out.radius = p.radius;
  if (p.normalized) {
    const q = p.normalized;
    out.normalized = {
      position: [q.position[0], q.position[1], q.position[2]],
      distance: q.distance,
      intensity: q.intensity * k,
      headRadius: q.headRadius,
      headCentre: [q.headCentre[0], q.headCentre[1], q.headCentre[2]],
    };
  }
  return out;
}

/** k*L: every layer weight and every light intensity scaled by k (exact). */
export function scaleLighting(l: Lighting, k: number): Lighting {
  return {
    environment: l.environment.map((e) => ({ ...e, weight: e.weight * k })),
    pointLights: l.pointLights.map((p) => copyLight(p, k)),
  };
}

/** a + b: concatenation of layers and lights (exact). */
export function addLighting(a: Lighting, b: Lighting): Lighting {
  const sa = scaleLighting(a, 1);
  const sb = scaleLighting(b, 1);
  return { environment: [...sa.environment, ...sb.environment], pointLights: [...sa.pointLights, ...sb.pointLights] };
}

/** beta*a + (1-beta)*b (exact linear mix by concatenation). */
export function mixLighting(a: Lighting, b: Lighting, beta: number): Lighting {
  return addLighting(scaleLighting(a, beta), scaleLighting(b, 1 - beta));
}

export function envLighting(layer: EnvLayer): Lighting {
  return { environment: [{ ...layer }], pointLights: [] };
}

/**
 * Eq. 9 of the paper:
 *   L_i = X_i
 *   L_j = b1*L_i + (1-b1)*X_j
 *   L_k = b2*L_j + (1-b2)*X_k + Y
 * with X_i, X_j, X_k ~ G, Y ~ H, b1, b2 ~ Beta(0.5, 0.5).
 * Each quantity is drawn from its own forked stream (forks taken in the fixed
 * order beta, X_i, X_j, X_k, Y), so changing e.g. H's options does not change
 * the X draws. Every drawn value is returned in `draws`.
 */
export function sampleLightingTriplet(rng: Rng, mapIds: readonly string[], opts: TripletOptions): LightingTriplet {
  const [ba, bb] = opts.betaShape ?? [0.5, 0.5];
  const rBeta = rng.fork('beta');
  const rXi = rng.fork('X_i');
  const rXj = rng.fork('X_j');
  const rXk = rng.fork('X_k');
  const rY = rng.fork('Y');
  const b1 = rBeta.beta(ba, bb);
  const b2 = rBeta.beta(ba, bb);
  const X_i = sampleEnvLayerG(rXi, mapIds, opts.G);
  const X_j = sampleEnvLayerG(rXj, mapIds, opts.G);
  const X_k = sampleEnvLayerG(rXk, mapIds, opts.G);
  const Y = samplePointLightsH(rY, opts.H);
  const Li = envLighting(X_i);
  const Lj = mixLighting(Li, envLighting(X_j), b1);
  const Lk = addLighting(mixLighting(Lj, envLighting(X_k), b2), { environment: [], pointLights: Y });
  return {
    Li,
    Lj,
    Lk,
    draws: {
      b1,
      b2,
      X_i: { ...X_i },
      X_j: { ...X_j },
      X_k: { ...X_k },
      Y: Y.map((p) => copyLight(p, 1)),
    },
  };
}

/**
 * Project point lights onto a lat-long map "according to the Lambertian
 * model", so a sample's whole lighting can be given as one map.
 *
 * For each light with metric position p, let v = p - headCentre, r = |v|
 * (clamped below by headRadius when given, else 1e-6 m), w = v/r. The light
 * delivers irradiance P = intensity*color/r^2 at the head centre on a surface
 * facing it, and P*max(0, n·w) on a surface with normal n. It is splatted as
 * a distant source: its power P is split bilinearly over the 4 pixels whose
 * centres surround w (weights = bilinear weights in (u, v); wraps in u, clamps
 * in v), each pixel getting radiance P*weight/Omega_pixel.
 *
 * CONSERVED EXACTLY: per light and channel, sum_pixels L*dOmega = P =
 * intensity*color/r^2, i.e. the map's total power equals the sum of the
 * lights' head-centre irradiances (with normal facing the light).
 * APPROXIMATIONS: (1) the lobe spreads the direction over ~1 pixel, so the
 * map's irradiance for normal n is sum_p P_p max(0, n·d_p) ≈ P max(0, n·w),
 * with a relative error O(pixel angle^2) away from the terminator (n·w ≈ 0);
 * (2) a point light at finite distance r (1..2.5 head radii) is replaced by a
 * distant source: the map is exact only at the head centre; real surface
 * points see different directions and inverse-square falloff (up to
 * (r/(r-1))^2 brighter on the near side).
 */
export function projectPointLightsToEnv(
  lights: readonly PointLight[],
  width: number,
  height: number,
  headCentre: Vec3 = [0, 0, 0],
  headRadius?: number,
): EnvImage {
  const env = createEnv(width, height);
  const d = env.data;
  const rMin = headRadius !== undefined && headRadius > 0 ? headRadius : 1e-6;
  for (const L of lights) {
    const vx = L.position[0] - headCentre[0];
    const vy = L.position[1] - headCentre[1];
    const vz = L.position[2] - headCentre[2];
    const r0 = Math.hypot(vx, vy, vz);
    if (r0 === 0) throw new Error('projectPointLightsToEnv: light at the head centre');
    const r = Math.max(r0, rMin);
    const k = L.intensity / (r * r);
    const P = [k * L.color[0], k * L.color[1], k * L.color[2]];
    const [u, v] = uvFromDir(vx, vy, vz);
    const t = [0, 0, 0, 0, 0, 0];
    bilinearTaps(width, height, u, v, t);
    const [tx, ty] = [t[4], t[5]];
    const xs = [t[0], t[1]];
    const ys = [t[2], t[3]];
    const wx = [1 - tx, tx];
    const wy = [1 - ty, ty];
    for (let j = 0; j < 2; j++) {
      const om = pixelSolidAngle(ys[j], width, height);
      for (let i = 0; i < 2; i++) {
        const wgt = wx[i] * wy[j];
        if (wgt === 0) continue;
        const o = (ys[j] * width + xs[i]) * 3;
        const s = wgt / om;
        d[o] += P[0] * s;
        d[o + 1] += P[1] * s;
        d[o + 2] += P[2] * s;
      }
    }
  }
  return env;
}

/**
 * The whole lighting as one width x height map: for every layer,
 * weight*intensity*fit(rotateEnv(loadMap(map), rotationDeg)) (rotation applied
 * at the source resolution, then fitEnv), plus projectPointLightsToEnv of the
 * point lights (the sum: env-layers.ts sumEnvLayers).
 */
export function lightingToEnv(
  lighting: Lighting,
  loadMap: (id: string) => EnvImage,
  width: number,
  height: number,
  headRadius?: number,
  headCentre: Vec3 = [0, 0, 0],
): EnvImage {
  const points = projectPointLightsToEnv(lighting.pointLights, width, height, headCentre, headRadius);
  return sumEnvLayers(lighting.environment, (l) => layerImage(loadMap(l.map), l.rotationDeg, width, height), width, height, points);
}
