// Node-only (env-map folders are listed from disk). The batch planner: sample `index` of a
// config is drawn from Rng.forSample(config.seed, index, stream) only, so it never depends on
// shard size, worker count, run order or interruptions (and never on Math.random).
//
// Streams (independent: changing e.g. the lighting options does not move the camera draws):
//   'head'     -> head pick
//   'identity' -> the ICT draw seed (one uint32) when the picked head is an ICT reference without a seed
//   'camera'   -> yaw, pitch, roll, distance, fovY, target jitter x, y, z (in that order)
//   'augment'  -> crop on/off, crop scale, crop x, crop y (always all four, even when off)
//   'lighting' -> sampleLightingTriplet (forks: beta, X_i, X_j, X_k, Y), see shared/lighting.ts
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Rng } from '../../core/rng.js';
import { sampleLightingTriplet, type EnvLayer, type Lighting, type LightingTriplet, type PointLight } from '../../core/lighting.js';
import { parseSampleSpec, type SampleSpec } from '../../core/spec.js';
import { LIGHTING_INDEPENDENT_PASSES } from '../../core/passes.js';
import { PROJECT_ROOT } from '../../io/paths.js';
import type { BatchConfig } from './config.js';
import type { OrbitCamera } from '../../core/camera.js';
import { ictRef, isIctRef, parseIctRef, sampleIctParams, type IctHeadParams } from '../../assets/ict/params.js';
import { isProceduralDrawRef, planProceduralHead, type ProceduralHeadParams } from '../../assets/procedural-head/params.js';

export type Vec3 = [number, number, number];

/** The most point lights any lighting of this config can have (padding target of render.lightSlots). */
export function maxPointLights(config: BatchConfig): number {
  return config.lighting.mode === 'triplet' ? config.lighting.H.count[1] : 0;
}

/** Lighting folders of a sample, in render order (the first one also gets the intrinsic passes). */
export const TRIPLET_KEYS = ['input_i', 'input_j', 'target_k'] as const;
export const SINGLE_KEYS = ['single'] as const;
export type LightingKey = (typeof TRIPLET_KEYS)[number] | (typeof SINGLE_KEYS)[number];

/** Passes that do not depend on the lighting: rendered with the first lighting only. */
export { LIGHTING_INDEPENDENT_PASSES };

/** The orbit camera drawn for a sample (`target` = config target + targetOffset). */
export interface PlannedCamera extends Omit<OrbitCamera, 'width' | 'height' | 'near' | 'far'> {
  /** the drawn jitter, metres */
  targetOffset: Vec3;
}

export type { CropPlan } from '../../develop/crop.js';
import type { CropPlan } from '../../develop/crop.js';

export interface PlannedLighting {
  key: LightingKey;
  /** what this lighting is in eq. 9 */
  role: string;
  /** the full lighting (point lights carry their head-normalised draws) */
  lighting: Lighting;
  passes: string[];
  spec: SampleSpec;
}

export interface PlannedSample {
  index: number;
  /** folder name: index zero-padded to 6 digits */
  id: string;
  seed: number;
  head: string;
  /** index of `head` in config.heads */
  headIndex: number;
  /**
   * What an ICT head drew for this sample (every identity, expression, gaze and blink weight,
   * skin and iris parameters); absent for other heads. `head` is then the full "ict:{...seed}"
   * reference that rebuilds exactly this head.
   */
  headParams?: IctHeadParams | ProceduralHeadParams;
  camera: PlannedCamera;
  augment: CropPlan;
  lighting: {
    mode: 'triplet' | 'single';
    /** the env-map ids G drew from (config.envMaps expanded) */
    mapCount: number;
    draws: { b1?: number; b2?: number; X_i: EnvLayer; X_j?: EnvLayer; X_k?: EnvLayer; Y?: PointLight[] };
  };
  lightings: PlannedLighting[];
  /** The lighting draw (L_i, L_j, L_k and its draws), as OLAT mode relights it. */
  triplet: LightingTriplet;
}

export function sampleId(index: number): string {
  return String(index).padStart(6, '0');
}

// ---------------------------------------------------------------------------------------------
// env maps

const ENV_EXTS = new Set(['.hdr', '.exr']);

let builtinMemo: string[] | null = null;
/** 'builtin:NAME' ids of @pmndrs/assets' maps, sorted (sync twin of listBuiltinEnvMaps). */
export function listBuiltinEnvMapsSync(): string[] {
  if (!builtinMemo) {
    const req = createRequire(import.meta.url);
    const dir = path.dirname(req.resolve('@pmndrs/assets/hdri/studio.exr.js'));
    builtinMemo = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.exr.js'))
      .map((f) => 'builtin:' + f.slice(0, -'.exr.js'.length))
      .sort();
  }
  return builtinMemo;
}

/** A path as recorded in samples: relative to the project root when inside it (portable), else absolute. */
function recordedPath(abs: string): string {
  const rel = path.relative(PROJECT_ROOT, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
}

const expandMemo = new Map<string, string[]>();

/**
 * config.envMaps -> the list G draws from: 'builtin:NAME' kept, 'builtin:*' -> every builtin,
 * a .hdr/.exr file -> its path, a folder -> its .hdr/.exr files (sorted, not recursive). Relative
 * paths resolve against the working directory, then the project root (like heads). Errors name
 * the field (envMaps.N). Repeated entries are kept (they weight the draw).
 */
export function expandEnvMaps(refs: readonly string[], cwd = process.cwd()): string[] {
  const key = cwd + '\0' + refs.join('\0');
  const hit = expandMemo.get(key);
  if (hit) return hit;
  const out: string[] = [];
  for (const [i, ref] of refs.entries()) {
    const field = `field "envMaps.${i}"`;
    if (ref.startsWith('builtin:')) {
      const all = listBuiltinEnvMapsSync();
      if (ref === 'builtin:*') out.push(...all);
      else if (all.includes(ref)) out.push(ref);
      else throw new Error(`${field}: unknown builtin environment map "${ref}" (available: ${all.join(', ')}, builtin:*)`);
      continue;
    }
    const candidates = path.isAbsolute(ref) ? [ref] : [path.resolve(cwd, ref), path.resolve(PROJECT_ROOT, ref)];
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found) throw new Error(`${field}: environment map "${ref}" not found (looked at ${[...new Set(candidates)].join(', ')})`);
    if (fs.statSync(found).isDirectory()) {
      const files = fs
        .readdirSync(found)
        .filter((f) => ENV_EXTS.has(path.extname(f).toLowerCase()))
        .sort();
      if (files.length === 0) throw new Error(`${field}: folder ${found} holds no .hdr/.exr maps`);
      out.push(...files.map((f) => recordedPath(path.join(found, f))));
    } else {
      if (!ENV_EXTS.has(path.extname(found).toLowerCase())) throw new Error(`${field}: ${found} is not an environment map (expected .hdr or .exr)`);
      out.push(recordedPath(found));
    }
  }
  expandMemo.set(key, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// the planner

function planCrop(config: BatchConfig, rng: Rng): CropPlan {
  const W = config.width;
  const H = config.height;
  const u: [number, number, number, number] = [rng.next(), rng.next(), rng.next(), rng.next()];
  const applied = u[0] < config.augment.cropProbability;
  const [s0, s1] = config.augment.cropScale;
  const scale = applied ? s0 + (s1 - s0) * u[1] : 1;
  const Rw = applied ? Math.max(W, Math.round(W / scale)) : W;
  const Rh = applied ? Math.max(H, Math.round(H / scale)) : H;
  const x0 = Math.min(Rw - W, Math.floor(u[2] * (Rw - W + 1)));
  const y0 = Math.min(Rh - H, Math.floor(u[3] * (Rh - H + 1)));
  // Render pixel (px, py) -> un-augmented frame: (px - Rw/2) * k + W/2 with k = H / Rh (same fovY).
  const k = H / Rh;
  const box = { x: (x0 - Rw / 2) * k + W / 2, y: (y0 - Rh / 2) * k + H / 2, w: W * k, h: H * k };
  return {
    applied,
    scale,
    renderWidth: Rw,
    renderHeight: Rh,
    x0,
    y0,
    box,
    boxNormalized: { x: box.x / W, y: box.y / H, w: box.w / W, h: box.h / H },
    u,
  };
}

function planCamera(config: BatchConfig, rng: Rng): PlannedCamera {
  const c = config.camera;
  const U = (r: [number, number]) => rng.uniform(r[0], r[1]);
  const yawDeg = U(c.yawDeg);
  const pitchDeg = U(c.pitchDeg);
  const rollDeg = U(c.rollDeg);
  const distance = U(c.distance);
  const fovYDeg = U(c.fovYDeg);
  const targetOffset: Vec3 = [0, 1, 2].map((a) => rng.uniform(-c.targetJitter[a], c.targetJitter[a])) as Vec3;
  const target: Vec3 = [c.target[0] + targetOffset[0], c.target[1] + targetOffset[1], c.target[2] + targetOffset[2]];
  return { yawDeg, pitchDeg, rollDeg, distance, fovYDeg, target, targetOffset };
}

/** The renderer's view of a lighting (the spec has no room for the head-normalised records). */
function specLighting(l: Lighting, lightRadius: number) {
  return {
    environment: l.environment.map((e) => ({ map: e.map, rotationDeg: e.rotationDeg, intensity: e.intensity, weight: e.weight })),
    pointLights: l.pointLights.map((p) => ({ position: [...p.position], color: [...p.color], intensity: p.intensity, radius: p.radius ?? lightRadius })),
  };
}

/**
 * Sample `index` of the batch: head, camera, crop and lighting(s), each lighting as a full
 * SampleSpec with identical head/camera/size. Pure: depends only on (config content, index).
 */
export function planSample(config: BatchConfig, index: number): PlannedSample {
  if (!Number.isInteger(index) || index < 0) throw new Error(`planSample: index must be a non-negative integer, got ${index}`);
  const seed = config.seed;
  const id = sampleId(index);
  const mapIds = expandEnvMaps(config.envMaps);

  // Light-stage mode: consecutive samples share one pose (head, expression, camera, crop) and its
  // OLAT stack; each sample keeps its own lighting draws.
  const pose = config.olat ? Math.floor(index / config.olat.lightingsPerPose) * config.olat.lightingsPerPose : index;
  const rHead = Rng.forSample(seed, pose, 'head');
  const headIndex = config.heads.length === 1 ? 0 : rHead.int(0, config.heads.length - 1);
  let head = config.heads[headIndex];
  let headParams: IctHeadParams | ProceduralHeadParams | undefined;
  if (isIctRef(head)) {
    const opts = parseIctRef(head);
    // A new identity per sample unless the config fixed a seed.
    if (opts.seed === undefined) head = ictRef({ ...opts, seed: Rng.forSample(seed, pose, 'identity').nextUint32() });
    headParams = sampleIctParams(parseIctRef(head));
  } else if (isProceduralDrawRef(head)) {
    // A procedural person: a new one per sample unless the reference fixed a seed (the same stream as ICT's).
    ({ ref: head, params: headParams } = planProceduralHead(head, () => Rng.forSample(seed, pose, 'identity').nextUint32()));
  }
  const camera = planCamera(config, Rng.forSample(seed, pose, 'camera'));
  const augment = planCrop(config, Rng.forSample(seed, pose, 'augment'));

  const L = config.lighting;
  const H = L.H;
  const triplet: LightingTriplet = sampleLightingTriplet(Rng.forSample(seed, index, 'lighting'), mapIds, {
    G: { intensityRange: L.G.intensityRange, rotationRange: L.G.rotationDeg },
    H: { headRadius: H.headRadius, headCentre: H.headCentre, count: H.count, maxDistance: H.maxDistance, intensityRange: H.intensityRange, lightRadius: H.lightRadius },
    betaShape: L.betaShape,
  });

  const entries: { key: LightingKey; role: string; lighting: Lighting }[] =
    L.mode === 'single'
      ? [{ key: 'single', role: 'L = X_i ~ G', lighting: triplet.Li }]
      : [
          { key: 'input_i', role: 'input frame t: L_i = X_i', lighting: triplet.Li },
          { key: 'input_j', role: 'input frame t+1: L_j = b1 L_i + (1 - b1) X_j', lighting: triplet.Lj },
          { key: 'target_k', role: 'target: L_k = b2 L_j + (1 - b2) X_k + Y', lighting: triplet.Lk },
        ];
  const dependent = config.passes.filter((p) => !LIGHTING_INDEPENDENT_PASSES.includes(p));
  const lightings: PlannedLighting[] = entries.map((e, n) => {
    const passes = n === 0 ? [...config.passes] : dependent.length > 0 ? dependent : ['beauty'];
    const spec = parseSampleSpec(
      {
        id: `${id}_${e.key}`,
        head,
        width: augment.renderWidth,
        height: augment.renderHeight,
        camera: { yawDeg: camera.yawDeg, pitchDeg: camera.pitchDeg, rollDeg: camera.rollDeg, distance: camera.distance, fovYDeg: camera.fovYDeg, target: camera.target },
        lighting: specLighting(e.lighting, H.lightRadius),
        background: config.background,
        passes,
        render: { ...config.render, lightSlots: Math.max(config.render.lightSlots, maxPointLights(config)) },
        output: { exrPixelType: config.output.exrPixelType, exrCompression: config.output.exrCompression, previewExposure: config.output.previewExposure },
        seed,
      },
      `sample ${index} (${e.key})`,
    );
    return { key: e.key, role: e.role, lighting: e.lighting, passes, spec };
  });

  const d = triplet.draws;
  return {
    index,
    id,
    seed,
    head,
    headIndex,
    ...(headParams ? { headParams } : {}),
    camera,
    augment,
    lighting: {
      mode: L.mode,
      mapCount: mapIds.length,
      draws: L.mode === 'single' ? { X_i: d.X_i } : { b1: d.b1, b2: d.b2, X_i: d.X_i, X_j: d.X_j, X_k: d.X_k, Y: d.Y },
    },
    lightings,
    triplet,
  };
}
