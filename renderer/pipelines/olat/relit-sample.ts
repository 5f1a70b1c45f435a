// Node-only. Relit images from an OLAT stack written as ordinary dataset samples: the same folder
// layout and meta.json as a directly rendered sample (write-sample.ts), and, for lighting
// triplets, the batch engine's sample layout (samples/NNNNNN/{input_i,input_j,target_k} +
// sample.json). Provenance ({source: 'olat', stack, weights, rig}) goes to meta.json "extra" and
// sample.json "provenance"; the weights themselves are saved as olat_weights.f32.
//
// Passes: beauty (relit RGB, A = the stack's MSAA mask), albedo, normal, depth, mask, preview. A
// stack holds no diffuse/specular split, so those passes are absent. Beauty at the silhouette:
// OLAT images are point-sampled at pixel centres (no MSAA), so a covered pixel is multiplied by
// its coverage (the premultiplied convention of beauty.exr) and a pixel with coverage whose centre
// misses the head takes the mean of its covered 8-neighbours times its coverage.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { resolveHead } from '../../assets/head.js';
import { resolveCamera } from '../../core/camera.js';
import { parseSampleSpec } from '../../core/spec.js';
import { writeSample } from '../../dataset/write-sample.js';
import { renderBackground, loadEnvMap } from '../../assets/environment.js';
import { tempPathFor } from '../../io/fs-atomic.js';
import type { RenderedSample, RendererInfo } from '../../engine/renderer.js';
import type { Lighting, LightingTriplet } from '../../core/lighting.js';
import { lightingWeights, type Rig } from '../../core/rig.js';
import type { EnvImage } from '../../core/latlong.js';
import { encodeLightings, float32LE, ENCODING_FILES } from '../../dataset/encodings.js';
import { SAMPLE_JSON, SAMPLES_DIR, listFiles } from '../../dataset/layout.js';
import { SampleRecordSchema, writeRecord, type CameraRecord, type HeadParamsRecord, type SampleLightingEntry, type SampleRecord } from '../../dataset/records.js';
import { buildSampleRecord, lightingEntry } from '../../dataset/sample-record.js';
import { sampleId } from '../batch/plan.js';
import { expandCovered, type OlatStack } from './stack-io.js';
import type { Relighter } from './relight.js';

export const RELIT_PASSES = ['beauty', 'albedo', 'normal', 'depth', 'mask', 'preview'] as const;
export const WEIGHTS_FILE = 'olat_weights.f32';

export interface Provenance {
  source: 'olat';
  stack: { file: string | null; dataSha256: string; imageCount: number; pixelCount: number };
  rig: { name: string; lights: number; distance: number[]; description: string };
  weights: { file: string; sha256: string; count: number; layout: string };
  relight: { route: string; threads: number };
  method: string;
}

/** Loads every environment map a set of lightings names (lightingWeights needs them synchronously). */
export async function loadLightingMaps(lightings: readonly Lighting[]): Promise<(id: string) => EnvImage> {
  const maps = new Map<string, EnvImage>();
  for (const l of lightings) for (const e of l.environment) if (!maps.has(e.map)) maps.set(e.map, await loadEnvMap(e.map));
  return (id) => {
    const m = maps.get(id);
    if (!m) throw new Error(`environment map ${id} was not loaded`);
    return m;
  };
}

export function weightsSha256(w: Float32Array): string {
  return crypto.createHash('sha256').update(float32LE(w)).digest('hex');
}

/** Beauty RGBA from covered-pixel RGB: premultiplied by the MSAA coverage, edge pixels filled. */
export function relitBeauty(stack: OlatStack, covered: Float32Array): Float32Array {
  const { width: W, height: H } = stack.header;
  const rgb = expandCovered(stack, covered);
  const hit = new Uint8Array(W * H);
  for (const p of stack.indices) hit[p] = 1;
  const out = new Float32Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const a = Math.min(1, Math.max(0, stack.mask[p]));
      out[p * 4 + 3] = a;
      if (a <= 0) continue;
      if (hit[p]) {
        for (let c = 0; c < 3; c++) out[p * 4 + c] = rgb[p * 3 + c] * a;
        continue;
      }
      let n = 0;
      const acc = [0, 0, 0];
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= W || yy >= H || !hit[yy * W + xx]) continue;
          const q = (yy * W + xx) * 3;
          acc[0] += rgb[q];
          acc[1] += rgb[q + 1];
          acc[2] += rgb[q + 2];
          n++;
        }
      }
      if (n) for (let c = 0; c < 3; c++) out[p * 4 + c] = (acc[c] / n) * a;
    }
  }
  return out;
}

/** The lighting in the sample-spec schema (drops the head-normalised bookkeeping of sampled point lights). */
function specLighting(l: Lighting) {
  if (l.pointLights.length > 4) throw new Error(`relit sample: ${l.pointLights.length} point lights, a sample spec holds at most 4`);
  return {
    environment: l.environment.map((e) => ({ map: e.map, rotationDeg: e.rotationDeg, intensity: e.intensity, weight: e.weight })),
    pointLights: l.pointLights.map((p) => ({ position: p.position, color: p.color, intensity: p.intensity, ...(p.radius !== undefined ? { radius: p.radius } : {}) })),
  };
}

export interface RelitSampleInput {
  stack: OlatStack;
  /** Path of the stack file (recorded; null for an in-memory stack). */
  stackFile: string | null;
  lighting: Lighting;
  weights: Float32Array;
  /** Relit covered-pixel RGB (Relighter output). */
  relit: Float32Array;
  relighter: Pick<Relighter, 'route' | 'threads'>;
  background?: 'transparent' | 'environment';
  id?: string;
  seed?: number;
  cacheRoot?: string;
}

const heads = new Map<string, ReturnType<typeof resolveHead>>();

/** The relit image as a RenderedSample (what writeSample takes), plus its provenance. */
export async function relitRenderedSample(input: RelitSampleInput): Promise<{ sample: RenderedSample; info: RendererInfo; provenance: Provenance }> {
  const { stack } = input;
  const h = stack.header;
  const key = `${h.head.ref}\0${input.cacheRoot ?? ''}`;
  let pending = heads.get(key);
  if (!pending) {
    pending = resolveHead(h.head.ref, input.cacheRoot ? { cacheRoot: input.cacheRoot } : {});
    pending.catch(() => heads.delete(key));
    heads.set(key, pending);
  }
  const head = await pending;
  if (head.contentHash !== h.head.contentHash) {
    throw new Error(`head ${h.head.ref} changed since the stack was captured (content hash ${head.contentHash.slice(0, 12)} vs ${h.head.contentHash.slice(0, 12)}): recapture the stack`);
  }
  const orbit = h.camera.orbit as Record<string, unknown>;
  const spec = parseSampleSpec(
    {
      ...(input.id ? { id: input.id } : {}),
      head: h.head.ref,
      width: h.width,
      height: h.height,
      camera: orbit,
      lighting: specLighting(input.lighting),
      background: input.background ?? 'transparent',
      passes: [...RELIT_PASSES],
      render: { msaa: h.render.maskMsaa as 1 | 2 | 4 | 8, shadowMapSize: h.render.shadowMapSize, subsurface: h.render.subsurface },
      seed: input.seed ?? 0,
    },
    'relit sample spec',
  );
  const camera = resolveCamera({ ...spec.camera, width: h.width, height: h.height });
  const background = spec.background === 'environment' ? await renderBackground(spec.lighting.environment, camera) : null;
  const sample: RenderedSample = {
    spec,
    camera,
    head,
    headBounds: h.head.canonicalBounds,
    width: h.width,
    height: h.height,
    modes: { beauty: relitBeauty(stack, input.relit), albedo: stack.albedo, normal: stack.normal, depth: stack.depth },
    mask: stack.mask,
    background,
    timings: { totalMs: 0, pageMs: 0, transferMs: 0, decodeMs: 0, page: { setupMs: 0, shadowMs: 0, renderMs: {}, readMs: {}, uploadMs: 0 } },
    uploadBytes: 0,
  };
  const r = h.renderer as Record<string, string>;
  const info: RendererInfo = {
    backend: r.backend as RendererInfo['backend'],
    webglRenderer: r.webglRenderer,
    backendReason: 'OLAT stack capture (relit, not rendered)',
    chromium: r.chromium,
    babylon: r.babylon,
    launchMs: 0,
    pageReadyMs: 0,
  };
  const provenance: Provenance = {
    source: 'olat',
    stack: { file: input.stackFile ? path.resolve(input.stackFile) : null, dataSha256: h.dataSha256, imageCount: h.imageCount, pixelCount: h.pixelCount },
    rig: { name: h.rig.name, lights: h.rig.lights.length, distance: [...new Set(h.rig.lights.map((l) => l.distance))], description: h.rig.description },
    weights: {
      file: WEIGHTS_FILE,
      sha256: weightsSha256(input.weights),
      count: input.weights.length / 3,
      layout: 'little-endian float32, image-major RGB: weight of OLAT image i in channel c at i*3 + c',
    },
    relight: { route: input.relighter.route, threads: input.relighter.threads },
    method:
      'relit = sum_i weight_i x OLAT_i (linear); weight_i = (integral of the lighting over light i\'s Voronoi cell, solid-angle weighted; point lights to the cell of their direction) x distance_i^2 / (intensity_i x color_i) (shared/rig.ts)',
  };
  return { sample, info, provenance };
}

/** Writes one relit sample folder (render-one layout: passes, meta.json, lighting encodings, weights). */
export async function writeRelitSample(outDir: string, input: RelitSampleInput, opts: { overwrite?: boolean; headRadius?: number; extra?: Record<string, unknown> } = {}) {
  const { sample, info, provenance } = await relitRenderedSample(input);
  const [enc] = await encodeLightings([input.lighting], opts.headRadius ?? 0.1, input.stack.header.rig.centre);
  const meta = await writeSample(outDir, sample, info, {
    overwrite: opts.overwrite,
    extra: { ...(opts.extra ?? {}), provenance },
    extraFiles: {
      [WEIGHTS_FILE]: float32LE(input.weights),
      [ENCODING_FILES.latlong]: float32LE(enc.latlong),
      [ENCODING_FILES.sh9]: float32LE(enc.sh9),
    },
  });
  return { meta, provenance, encoding: enc };
}

export const TRIPLET_ROLES = [
  ['input_i', 'input', 'Li'],
  ['input_j', 'input (temporal neighbour)', 'Lj'],
  ['target_k', 'target', 'Lk'],
] as const;

/**
 * One training sample in the batch engine's layout, relit from a stack: the lighting triplet's
 * three lightings relit in one pass, written to outDir/samples/NNNNNN/ with sample.json (the batch
 * engine's record, renderer/dataset/sample-record.ts, plus `provenance`). Returns the sample.json object.
 */
export async function writeRelitTriplet(
  outDir: string,
  index: number,
  seed: number,
  triplet: LightingTriplet,
  ctx: { stack: OlatStack; stackFile: string | null; rig: Rig; relighter: Relighter; headRadius: number; loadMap: (id: string) => EnvImage; cacheRoot?: string; headParams?: HeadParamsRecord },
  /** Weights and relit images of [L_i, L_j, L_k] computed by the caller (batching many samples per pass). */
  precomputed?: { weights: Float32Array[]; relit: Float32Array[] },
): Promise<SampleRecord> {
  const t0 = performance.now();
  const id = sampleId(index);
  const final = path.join(outDir, SAMPLES_DIR, id);
  if (fs.existsSync(final)) throw new Error(`sample ${final} already exists`);
  const lightings = TRIPLET_ROLES.map(([, , k]) => triplet[k]);
  const weights = precomputed?.weights ?? lightings.map((l) => lightingWeights(ctx.rig, l, ctx.loadMap));
  const relit = precomputed?.relit ?? (await ctx.relighter.relight(weights));
  fs.mkdirSync(path.dirname(final), { recursive: true });
  const tmp = tempPathFor(final); // TEMP_SUFFIX_RE
  fs.mkdirSync(tmp);
  try {
    const records: SampleLightingEntry[] = [];
    let provenance: Provenance | null = null;
    for (const [k, [key, role]] of TRIPLET_ROLES.entries()) {
      const { provenance: prov, encoding } = await writeRelitSample(
        path.join(tmp, key),
        { stack: ctx.stack, stackFile: ctx.stackFile, lighting: lightings[k], weights: weights[k], relit: relit[k], relighter: ctx.relighter, id: `${id}-${key}`, seed, cacheRoot: ctx.cacheRoot },
        { headRadius: ctx.headRadius, extra: { batch: { sample: id, index, lighting: key, role } } },
      );
      provenance = prov;
      records.push(lightingEntry({ key, role, lighting: lightings[k], passes: RELIT_PASSES, sh9: encoding.sh9, weights: { fileName: WEIGHTS_FILE, sha256: prov.weights.sha256 } }));
    }
    const h = ctx.stack.header;
    const { orbit, ...resolved } = h.camera;
    const { ref, id: headId, name, contentHash, license, attribution } = h.head;
    const sample = buildSampleRecord({
      index,
      id,
      seed,
      head: { ref, id: headId, name, contentHash, license, attribution, ...(ctx.headParams ? { params: ctx.headParams } : {}) },
      drawnCamera: orbit as object,
      camera: resolved as CameraRecord,
      augment: { applied: false },
      lighting: triplet.draws,
      lightings: records,
      provenance: provenance ? { ...provenance, weights: { layout: provenance.weights.layout, perLighting: records.map((r) => r.weights) } } : null,
      files: [...listFiles(tmp), SAMPLE_JSON].sort(),
      run: { timingsMs: { total: Math.round(performance.now() - t0) }, createdAt: new Date().toISOString() },
    });
    await writeRecord(path.join(tmp, SAMPLE_JSON), sample, SampleRecordSchema); // validated; refuses NaN/Infinity
    fs.renameSync(tmp, final);
    return sample;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
