// Node-only. Batch configs (scenes/*.json): what a dataset is made of — heads, env maps, the
// camera / crop / lighting distributions, passes, size, count, seed — validated with zod so every
// error names the file and the field. Defaults are in the .describe() texts (exported to
// scenes/batch.schema.json by scripts/export-schema.ts).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PASS_NAMES } from '../../develop/passes/index.js';
import { LIGHTING_INDEPENDENT_PASSES } from '../../core/passes.js';
import { OLAT_PASSES, OlatModeSchema } from './olat-schema.js';
import { MAX_LIGHT_SCALE, MAX_POINT_LIGHTS, RenderOptionsSchema } from '../../core/spec.js';
import { readJsonFile } from '../../io/json-file.js';
import { parseWithSchema } from '../../core/validation.js';
import { CameraSimSchema } from '../../develop/camera-sim.js';
import { MAX_CAMERA_DISTANCE, MAX_TARGET_M, MIN_CAMERA_DISTANCE, MAX_ANGLE_DEG } from '../../core/spec.js';
import { nameFromFile, safeNameSchema } from '../../core/names.js';
import { IctSourceSchema, ictRef, isIctRef, parseIctRef } from '../../assets/ict/params.js';
import { ScanFolderError, ScanSourceSchema, expandScanSource, scanSourceIssues } from '../../assets/scan-folder.js';

/**
 * One entry of `heads`: a reference string, `{ "source": "ict", ...options }` (the ICT face
 * model, renderer/assets/ict/params.ts) or `{ "source": "scans", "path", "glob", "template" }`
 * (a folder of scans sharing one descriptor, renderer/assets/scan-folder.ts). Objects are checked
 * field by field (errors name e.g. heads.0.expressions.fixed.jawOpen, heads.2.template.maps.albedo).
 * An ICT object becomes the equivalent "ict:{...}" string; a scans object becomes one head per
 * file (its generated head folder in the cache), so the parsed config holds strings only and
 * every scan counts as one entry of `heads`. An ICT reference without a seed draws a new
 * identity per sample.
 */
const HeadEntrySchema = z
  .union([z.string().min(1), z.looseObject({ source: z.literal('ict') }), z.looseObject({ source: z.literal('scans') })])
  .superRefine((v, ctx) => {
    if (typeof v === 'string') {
      if (!isIctRef(v)) return;
      try {
        parseIctRef(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
      return;
    }
    if (v.source === 'scans') {
      for (const i of scanSourceIssues(v)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
      return;
    }
    const r = IctSourceSchema.safeParse(v);
    if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: i.path as PropertyKey[], message: i.message });
  })
  .transform((v, ctx): string | string[] => {
    if (typeof v === 'string') return v;
    if (v.source === 'scans') {
      // The folder is read here, at parse time: the expanded list is what the planner draws from
      // and what the batch identity hashes (each reference hashes its file's content).
      try {
        return expandScanSource(ScanSourceSchema.parse(v)).map((h) => h.ref);
      } catch (err) {
        // Anything else (an unreadable folder, a full disk) is reported on the entry's path too.
        ctx.addIssue({ code: 'custom', path: err instanceof ScanFolderError ? err.field : ['path'], message: (err as Error).message });
        return z.NEVER;
      }
    }
    const { source: _source, ...opts } = IctSourceSchema.parse(v);
    return ictRef(opts);
  });

/**
 * Upper bounds of counts and sizes: what one machine can plan (the planner keeps a list of the
 * missing indices, ~80 MB at 10M, and a shard record per shard in the job view that the server
 * persists and streams), so an oversized request is refused with the field instead of killing
 * the process. 10M samples is also far past what one flat samples/ folder handles well.
 */
export const MAX_SAMPLES = 10_000_000;
/** Shards per batch: each is a progress record (job view, SSE) and a queue job. */
export const MAX_SHARDS = 100_000;
/** Entries of heads / envMaps (each head is loaded and hashed up front). */
export const MAX_LIST = 10_000;
/** Rendered frame side after the crop augmentation: the sample spec's width/height limit. */
export const MAX_RENDER_SIZE = 4096;

const Vec3 = z.tuple([z.number(), z.number(), z.number()]);

/** [lo, hi] with lo <= hi; each end optionally bounded. A fixed value is [x, x]. */
function range(bounds: { min?: number; max?: number; gt?: number; int?: boolean } = {}) {
  let n = z.number();
  if (bounds.int) n = n.int();
  if (bounds.min !== undefined) n = n.min(bounds.min);
  if (bounds.max !== undefined) n = n.max(bounds.max);
  if (bounds.gt !== undefined) n = n.gt(bounds.gt);
  return z.tuple([n, n]).superRefine(([lo, hi], ctx) => {
    if (!(lo <= hi)) ctx.addIssue({ code: 'custom', message: `range [lo, hi] needs lo <= hi, got [${lo}, ${hi}]` });
  });
}

export const DEFAULT_ENV_MAPS = ['builtin:studio', 'builtin:city', 'builtin:sunset', 'builtin:forest'];

export const CameraDistributionSchema = z
  .object({
    yawDeg: range({ min: -MAX_ANGLE_DEG, max: MAX_ANGLE_DEG })
      .default([-30, 30])
      .describe('Yaw about +Y in degrees, uniform in [lo, hi]; 0 = in front of the face (+Z), positive moves the camera toward +X. Default [-30, 30].'),
    pitchDeg: range({ min: -89, max: 89 })
      .default([-10, 15])
      .describe('Elevation in degrees, uniform in [lo, hi], within [-89, 89]; positive = camera above the target looking down. Default [-10, 15].'),
    rollDeg: range({ min: -MAX_ANGLE_DEG, max: MAX_ANGLE_DEG })
      .default([-5, 5])
      .describe('Roll about the viewing axis in degrees, uniform in [lo, hi]. Default [-5, 5].'),
    distance: range({ min: MIN_CAMERA_DISTANCE, max: MAX_CAMERA_DISTANCE })
      .default([0.65, 0.85])
      .describe(`Distance from the target in metres, uniform in [lo, hi], within [${MIN_CAMERA_DISTANCE}, ${MAX_CAMERA_DISTANCE}]. Default [0.65, 0.85].`),
    fovYDeg: range({ gt: 1, max: 169 })
      .default([22, 28])
      .describe('Vertical field of view in degrees (before the crop augmentation), uniform in [lo, hi]. Default [22, 28].'),
    target: z
      .tuple([z.number().min(-MAX_TARGET_M).max(MAX_TARGET_M), z.number().min(-MAX_TARGET_M).max(MAX_TARGET_M), z.number().min(-MAX_TARGET_M).max(MAX_TARGET_M)])
      .default([0, 0.02, 0])
      .describe(`Look-at point in metres, each coordinate within +-${MAX_TARGET_M} (canonical head frame: +Y up, face toward +Z, head centre at the origin). Default [0, 0.02, 0].`),
    targetJitter: z
      .tuple([z.number().min(0).max(MAX_TARGET_M), z.number().min(0).max(MAX_TARGET_M), z.number().min(0).max(MAX_TARGET_M)])
      .default([0.01, 0.01, 0.01])
      .describe('Per-axis uniform jitter of the target, metres: target + U(-j, j) per axis. Default [0.01, 0.01, 0.01].'),
  })
  .strict()
  .describe('Camera distribution: every value is drawn independently per sample (uniform).');

export const AugmentSchema = z
  .object({
    cropProbability: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Probability that a sample gets the random crop + resize of the paper (sec. 4.4, "incomplete portraits"); 0 disables it. Default 0.5.'),
    cropScale: range({ min: 0.1, max: 1 })
      .default([0.7, 1])
      .describe(
        `Side of the crop box as a fraction of the full frame, uniform in [lo, hi]. Implemented exactly, without resampling: the sample is rendered at round(size/scale) with the same camera and a width x height window at a random integer offset is kept (= a zoom with a shifted principal point; K in meta.json is adjusted). Within [0.1, 1]; max(width, height) / lo may not exceed ${MAX_RENDER_SIZE} (the rendered frame). Default [0.7, 1].`,
      ),
  })
  .strict()
  .describe('Random crop/resize augmentation, the same for all lightings of a sample; the crop box is recorded in sample.json ("augment").');

export const LightingDistributionSchema = z
  .object({
    mode: z
      .enum(['triplet', 'single'])
      .default('triplet')
      .describe(
        "'triplet' (default): the video paper's eq. 9: input L_i = X_i, temporal neighbour L_j = b1 L_i + (1-b1) X_j, target L_k = b2 L_j + (1-b2) X_k + Y, with X ~ G, Y ~ H, b ~ Beta. 'single': one lighting per sample, L_i = X_i (the same draw as the triplet's L_i).",
      ),
    G: z
      .object({
        intensityRange: range({ min: 0, max: MAX_LIGHT_SCALE }).default([0.5, 1.5]).describe(`Environment intensity multiplier, uniform in [lo, hi], at most ${MAX_LIGHT_SCALE}. Default [0.5, 1.5].`),
        rotationDeg: range().default([0, 360]).describe('Environment rotation about +Y in degrees, uniform in [lo, hi). Default [0, 360].'),
      })
      .strict()
      .default({ intensityRange: [0.5, 1.5], rotationDeg: [0, 360] })
      .describe('Distribution G: a uniformly drawn map from envMaps, a random rotation and intensity.'),
    H: z
      .object({
        count: range({ min: 0, max: MAX_POINT_LIGHTS, int: true }).default([1, 3]).describe(`Number of point lights, uniform integer in [lo, hi], at most ${MAX_POINT_LIGHTS} (one shadow cube map each). Default [1, 3] (the paper).`),
        maxDistance: z.number().positive().default(1.5).describe('Maximum distance of a light from the unit (head) sphere, in head radii: lights lie at 1..1+maxDistance head radii from the centre. Default 1.5 (the paper).'),
        intensityRange: range({ min: 0, max: MAX_LIGHT_SCALE })
          .default([2, 8])
          .describe(`Head-normalised intensity s, uniform in [lo, hi], at most ${MAX_LIGHT_SCALE}: irradiance s*colour/rho^2 at the head centre (rho = distance in head radii); metric intensity s*headRadius^2. Default [2, 8] (comparable to the builtin maps, irradiance ~1.5-7).`),
        headRadius: z.number().positive().default(0.1).describe('The unit sphere of H in metres. Default 0.1.'),
        headCentre: Vec3.default([0, 0, 0]).describe('Centre of the unit sphere, metres, world frame. Default [0, 0, 0].'),
        lightRadius: z.number().min(0).default(0.02).describe('Emitter radius in metres (soft highlights). Default 0.02.'),
      })
      .strict()
      .default({ count: [1, 3], maxDistance: 1.5, intensityRange: [2, 8], headRadius: 0.1, headCentre: [0, 0, 0], lightRadius: 0.02 })
      .describe('Distribution H: 1-3 point lights of uniformly random colour outside the unit (head) sphere.'),
    betaShape: z
      // Outside [0.01, 1000] the Beta draw degenerates (all mass at 0/1, or underflow).
      .tuple([z.number().min(0.01).max(1000), z.number().min(0.01).max(1000)])
      .default([0.5, 0.5])
      .describe('Beta(a, b) shape of b1, b2. Default [0.5, 0.5] (the paper).'),
  })
  .strict()
  .describe('Lighting distribution (video paper sec. 4.3).');

export const BatchOutputSchema = z
  .object({
    dir: z.string().min(1).optional().describe('Output folder (relative to the working directory). Default output/<name>; the CLI flag --out wins.'),
    exrPixelType: z.enum(['half', 'float']).default('half').describe("EXR pixel type of colour passes (depth is always float). Default 'half'."),
    exrCompression: z.enum(['zip', 'none']).default('zip').describe("Default 'zip'."),
    previewExposure: z.number().default(0).describe('Exposure in stops of preview.png. Default 0.'),
    webdataset: z
      .boolean()
      .default(false)
      .describe('Also pack the finished samples into WebDataset tar shards (wds/<name>-NNNNNN.tar, shardSize samples each, keys = sample id). Default false.'),
  })
  .strict();

function autoWorkers(): number {
  return Math.max(1, Math.min(2, Math.floor(os.availableParallelism() / 2)));
}

export const BatchConfigSchema = z
  .object({
    $schema: z.string().optional().describe('Path of the JSON Schema (editor support); ignored.'),
    name: safeNameSchema()
      .default('batch')
      .describe('Dataset name: default output folder output/<name>. Default: the config file name without .json.'),
    description: z.string().optional().describe('Free text, copied into the dataset card.'),
    heads: z
      .array(HeadEntrySchema)
      .min(1)
      .max(MAX_LIST)
      .transform((entries, ctx) => {
        const heads = entries.flat();
        if (heads.length > MAX_LIST) ctx.addIssue({ code: 'custom', message: `${heads.length} heads once the scan folders are expanded, at most ${MAX_LIST}` });
        return heads;
      })
      .default(['procedural'])
      .describe(
        "Head references, drawn uniformly per sample: 'procedural', a head folder/descriptor (relative to the working directory, then the project root), the ICT face model: 'ict' or { source: 'ict', sigma, truncation, identity, expressions, gaze, blink, skin, textureSize } draws a new identity, expression and skin per sample (from the sample seed; needs ../shared/assets/heads/ict_facekit), 'ict:<seed>' / a seed in the object fixes one, or a folder of scans: { source: 'scans', path, glob, template } is one head per matching file (default every .glb/.gltf/.obj in the folder, sorted), each with the template's descriptor fields ('{name}' in its paths = the file's base name, paths relative to the folder) and, where the template leaves them out, scaleToMetres/upAxis/facing detected from the mesh. Default ['procedural'].",
      ),
    envMaps: z
      .array(z.string().min(1))
      .min(1)
      .max(MAX_LIST)
      .default([...DEFAULT_ENV_MAPS])
      .describe("Environment maps for G: 'builtin:NAME', 'builtin:*', a .hdr/.exr file or a folder of them (expanded, sorted). Default " + JSON.stringify(DEFAULT_ENV_MAPS) + '.'),
    camera: CameraDistributionSchema.default(CameraDistributionSchema.parse({})).describe(CameraDistributionSchema.description ?? ''),
    augment: AugmentSchema.default(AugmentSchema.parse({})).describe(AugmentSchema.description ?? ''),
    lighting: LightingDistributionSchema.default(LightingDistributionSchema.parse({})).describe(LightingDistributionSchema.description ?? ''),
    passes: z
      .array(z.string())
      .min(1)
      .default([...PASS_NAMES])
      .superRefine((names, ctx) => {
        for (const [i, n] of names.entries()) {
          if (!PASS_NAMES.includes(n)) ctx.addIssue({ code: 'custom', path: [i], message: `unknown pass "${n}" (known: ${PASS_NAMES.join(', ')})` });
          else if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `pass "${n}" listed twice` });
        }
      })
      .describe(
        `Passes to write (${PASS_NAMES.join(', ')}). Lighting-independent passes (${LIGHTING_INDEPENDENT_PASSES.join(', ')}) are written once, with the first lighting; the others with every lighting. Default: all.`,
      ),
    width: z.number().int().min(16).max(MAX_RENDER_SIZE).default(256).describe('Image width in pixels. Default 256.'),
    height: z.number().int().min(16).max(MAX_RENDER_SIZE).default(256).describe('Image height in pixels. Default 256.'),
    samples: z.number().int().min(1).max(MAX_SAMPLES).default(8).describe(`Number of samples (indices 0..samples-1), at most ${MAX_SAMPLES}. Default 8.`),
    seed: z.number().int().min(0).max(0xffffffff).default(0).describe('Dataset seed: sample i depends only on (config, seed, i). Default 0.'),
    shardSize: z
      .number()
      .int()
      .min(1)
      .max(MAX_SAMPLES)
      .default(4)
      .describe(`Samples per shard (a worker takes a shard of consecutive indices at a time; also the WebDataset tar size); at most ${MAX_SHARDS} shards, i.e. shardSize >= samples / ${MAX_SHARDS}. Does not change any sample. Default 4.`),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(32)])
      .default('auto')
      .describe("Parallel renderers (one Chromium each), or 'auto' = max(1, min(2, floor(cores / 2))). Does not change any sample. Default 'auto'."),
    background: z
      .union([z.literal('transparent'), z.literal('environment'), z.object({ color: Vec3 }).strict()])
      .default('transparent')
      .describe("What beauty/preview show behind the head: 'transparent' (alpha = mask), 'environment' (the lighting's own environment) or { color: [r, g, b] } (linear). Default 'transparent'."),
    cameraSim: CameraSimSchema.default(CameraSimSchema.parse({})).describe(
      "Camera simulation of the INPUT images (input_i, input_j; targets stay clean): exposure, vignetting, Poisson-Gaussian noise, white balance, response curve, JPEG; seeded per sample and recorded in sample.json. Writes camera.jpg (camera.png without the JPEG stage) next to the clean beauty.exr. Default: disabled.",
    ),
    render: RenderOptionsSchema.default(RenderOptionsSchema.parse({})).describe('Renderer options, as in a sample spec (msaa 4, envCubeSize 128, envPrefilter false, shadowMapSize 1024, envShadowMapSize 1536, subsurface false, lightSlots 0). lightSlots 0 means: the most point lights the lighting distribution draws, so every render of the batch uses one shader variant.'),
    output: BatchOutputSchema.default(BatchOutputSchema.parse({})).describe('Output folder and file options.'),
    olat: OlatModeSchema.nullable().default(null).describe(OlatModeSchema.description ?? ''),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.olat) {
      const bad = c.passes.filter((p) => !OLAT_PASSES.includes(p));
      if (bad.length) ctx.addIssue({ code: 'custom', path: ['passes'], message: `olat mode writes ${OLAT_PASSES.join(', ')} only (relit from the stack), not ${bad.join(', ')}: set passes to a subset` });
      if (c.augment.cropProbability > 0) ctx.addIssue({ code: 'custom', path: ['augment', 'cropProbability'], message: 'olat mode relights a stack captured at the frame size: set augment.cropProbability to 0' });
      if (c.lighting.mode !== 'triplet') ctx.addIssue({ code: 'custom', path: ['lighting', 'mode'], message: 'olat mode writes lighting triplets: set lighting.mode to "triplet"' });
      if (c.background !== 'transparent') ctx.addIssue({ code: 'custom', path: ['background'], message: 'olat mode writes relit heads over a transparent background: set background to "transparent"' });
      if (c.cameraSim.enabled) ctx.addIssue({ code: 'custom', path: ['cameraSim', 'enabled'], message: 'olat mode does not run the camera simulation yet: set cameraSim.enabled to false' });
    }
    const [lo] = c.augment.cropScale;
    if (c.augment.cropProbability > 0 && (Math.round(c.width / lo) > 4096 || Math.round(c.height / lo) > 4096)) {
      ctx.addIssue({ code: 'custom', path: ['augment', 'cropScale'], message: `a crop scale of ${lo} renders ${Math.round(c.width / lo)}x${Math.round(c.height / lo)} px, above the 4096 px limit` });
    }
    const shards = Math.ceil(c.samples / c.shardSize);
    if (shards > MAX_SHARDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['shardSize'],
        message: `${c.samples} samples in shards of ${c.shardSize} make ${shards} shards, at most ${MAX_SHARDS} allowed: use shardSize >= ${Math.ceil(c.samples / MAX_SHARDS)}`,
      });
    }
  });

/** The bounds a config built in code (not parsed) may have escaped: samples, shard count. */
export function checkBatchBounds(config: Pick<BatchConfig, 'samples' | 'shardSize'>, where = 'batch config'): void {
  const { samples, shardSize } = config;
  if (!Number.isInteger(samples) || samples < 1 || samples > MAX_SAMPLES) {
    throw new Error(`${where}: field "samples": must be an integer in 1..${MAX_SAMPLES}, got ${samples}`);
  }
  if (!Number.isInteger(shardSize) || shardSize < 1 || Math.ceil(samples / shardSize) > MAX_SHARDS) {
    throw new Error(`${where}: field "shardSize": ${shardSize} gives more than ${MAX_SHARDS} shards for ${samples} samples (use shardSize >= ${Math.ceil(samples / MAX_SHARDS)})`);
  }
}

export type BatchConfig = z.infer<typeof BatchConfigSchema>;
export type BatchConfigInput = z.input<typeof BatchConfigSchema>;

/** Validates a raw config; errors read `<where>: field "camera.yawDeg": ...`. */
export function parseBatchConfig(raw: unknown, where = 'batch config'): BatchConfig {
  return parseWithSchema(BatchConfigSchema, raw, where);
}

/** Reads and validates a config file; `name` defaults to the file name. */
export function loadBatchConfig(file: string): BatchConfig {
  let raw = readJsonFile(file, 'batch config');
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && !('name' in raw)) {
    raw = { ...(raw as object), name: nameFromFile(path.basename(file).replace(/\.json$/i, ''), 'batch') };
  }
  return parseBatchConfig(raw, `batch config ${file}`);
}

/** workers: an explicit number wins, then the config's, 'auto' = max(1, min(2, cores / 2)). */
export function resolveWorkerCount(config: BatchConfig, override?: number): number {
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 1) throw new Error(`workers must be a positive integer, got ${override}`);
    return override;
  }
  return config.workers === 'auto' ? autoWorkers() : config.workers;
}

/** The JSON Schema (draft 2020-12) of a config file as written (defaults make fields optional). */
export function batchConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(BatchConfigSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { title: 'virtual-light-stage batch config', ...schema };
}

/**
 * Fields that do not change what any sample contains (so a batch may be resumed with other
 * values): count, parallelism, sharding, where the output goes, naming and comments.
 */
const NON_CONTENT_KEYS = ['$schema', 'name', 'description', 'samples', 'workers', 'shardSize'] as const;

/** The part of a config that determines sample content (compared when resuming). */
export function contentConfig(config: BatchConfig): Record<string, unknown> {
  const c: Record<string, unknown> = { ...config };
  for (const k of NON_CONTENT_KEYS) delete c[k];
  const { dir: _dir, webdataset: _wds, ...output } = config.output;
  c.output = output;
  // Added after the first datasets: a disabled camera simulation leaves them valid to resume.
  if (!config.cameraSim.enabled) delete c.cameraSim;
  return c;
}
