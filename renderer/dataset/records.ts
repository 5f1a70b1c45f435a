// Node-only. The on-disk records of a dataset, owned once: zod schemas of sample.json (one training
// sample: a folder of lightings), meta.json (one rendered lighting folder) and a sequence's
// frame.json, the TS types inferred from them, and the one reader every consumer uses.
//
// Versions. Every record carries `format_version` = DATASET_FORMAT_VERSION; a record without the
// field is version 1 (datasets written before the field existed). Writers and readers use this one
// constant: bump it when the meaning of a field changes (e.g. the lat-long convention of the
// encodings), and the readers then refuse, naming the version, instead of misreading old files.
// The older per-record counters (`sampleVersion`, `metaVersion`) are kept as written.
//
// Writers validate before they write (writeRecord): the object written is the one built, not the
// parse output, so field order and values are exactly what the builders produce. The schemas have
// no defaults or transforms, so input and output types are the same.
import path from 'node:path';
import { z } from 'zod';
import { formatZodIssues } from '../core/validation.js';
import { readJsonFile, writeJsonFileAtomic } from '../io/json-file.js';
import { SHAPE_DRAWS, type ProceduralShape } from '../assets/procedural-head/params.js';

/** The dataset format this checkout writes and reads (sample.json, meta.json, frame.json, batch.json). */
export const DATASET_FORMAT_VERSION = 2;
/** The version of a record without `format_version`. */
export const UNVERSIONED_FORMAT = 1;

const num = z.number();
const int = z.number().int();
const Vec3 = z.tuple([num, num, num]);
const Matrix = z.array(z.array(num));
const FormatVersion = int.min(1);
/** Free-form objects owned by other modules (draws, crop plan, camera-sim record, provenance). */
const Loose = z.record(z.string(), z.unknown());

// ---------------------------------------------------------------------------------------------
// parts

export const EnvLayerRecordSchema = z.object({ map: z.string().min(1), rotationDeg: num, intensity: num, weight: num }).strict();

export const PointLightRecordSchema = z
  .object({
    position: Vec3,
    color: Vec3,
    intensity: num,
    radius: num.optional(),
    /** head-normalised draw of a sampled light (core/lighting.ts samplePointLightsH) */
    normalized: Loose.optional(),
  })
  .strict();

export const LightingRecordSchema = z.object({ environment: z.array(EnvLayerRecordSchema), pointLights: z.array(PointLightRecordSchema) }).strict();

/** The resolved camera as every record writes it (meta.json, sample.json, frame.json cameras.render). */
export const CameraRecordSchema = z
  .object({
    width: int.positive(),
    height: int.positive(),
    fovYDeg: num,
    position: Vec3,
    target: Vec3,
    up: Vec3,
    K: Matrix,
    worldToCameraCV: Matrix,
    cameraToWorldGL: Matrix,
  })
  .strict();

/** The lighting encodings of one lighting folder (sample.json lightings[].encodings, render-one's meta.json extra). */
export const EncodingsRecordSchema = z
  .object({
    latlong16: z.string().min(1),
    latlongShape: z.tuple([int, int, int]),
    sh9File: z.string().min(1),
    sh9: z.array(num).length(27),
  })
  .strict();

const unit = num.min(0).max(1);

/** A drawn skin (renderer/assets/skin-model.ts drawSkinParams; the ICT and the procedural heads draw the same). */
export const SkinParamsRecordSchema = z
  .object({ tone: unit, haemoglobin: num, pheomelanin: unit, freckles: unit, browDarkness: unit, browDensity: unit, oiliness: unit, lashDarkness: unit, noiseSeed: int.min(0) })
  .strict();

/**
 * What a drawn ICT head was made of (renderer/assets/ict/params.ts IctHeadParams): every identity
 * weight, the expression (kind and non-zero shape weights, gaze and blink included), the skin and
 * iris draws. Rebuilds the head exactly with the generator version.
 */
export const IctHeadParamsRecordSchema = z
  .object({
    source: z.literal('ict'),
    generator: int.min(1),
    seed: int.min(0),
    sigma: num.positive(),
    truncation: num.positive().nullable(),
    identity: z.array(num),
    identityRedraws: int.min(0),
    expressionKind: z.string().min(1),
    expressions: z.record(z.string(), unit),
    gaze: z.object({ horizontal: num, vertical: num }).strict(),
    blink: unit,
    skin: SkinParamsRecordSchema,
    eyes: z.object({ colour: z.enum(['brown', 'hazel', 'green', 'blue', 'grey']), iris: unit, pupil: unit, noiseSeed: int.min(0) }).strict(),
    textureSize: int.positive(),
  })
  .strict();

/**
 * What a drawn procedural person was made of (renderer/assets/procedural-head/params.ts
 * ProceduralHeadParams): every shape parameter (SHAPE_DRAWS, plus the dimorphism latent) and the
 * skin. Rebuilds the head exactly with the generator version.
 */
export const ProceduralHeadParamsRecordSchema = z
  .object({
    source: z.literal('procedural'),
    generator: int.min(1),
    seed: int.min(0),
    detail: z.enum(['low', 'high']),
    shape: z.object({ dimorphism: unit, ...Object.fromEntries(Object.keys(SHAPE_DRAWS).map((k) => [k, num])) } as Record<keyof ProceduralShape, typeof num>).strict(),
    shapeRedraws: int.min(0),
    skin: SkinParamsRecordSchema,
  })
  .strict();

/**
 * What a drawn head was made of (sample.json head.params), by `source`: an ICT identity
 * (IctHeadParamsRecordSchema) or a procedural person (ProceduralHeadParamsRecordSchema).
 */
export const HeadParamsRecordSchema = z.discriminatedUnion('source', [IctHeadParamsRecordSchema, ProceduralHeadParamsRecordSchema]);

export const SampleHeadRecordSchema = z
  .object({
    ref: z.string().min(1),
    id: z.string().min(1),
    name: z.string(),
    contentHash: z.string().min(1),
    license: z.string().nullable(),
    attribution: z.string().nullable(),
    /** drawn heads (ICT identities, procedural people) only: every weight of the draw */
    params: HeadParamsRecordSchema.optional(),
  })
  .strict();

export const SampleLightingEntrySchema = z
  .object({
    key: z.string().min(1),
    folder: z.string().min(1),
    role: z.string(),
    lighting: LightingRecordSchema,
    passes: z.array(z.string()),
    /** the camera simulation of this input: image file and record (batch cameraSim) */
    camera: z.object({ file: z.string().min(1), record: Loose }).strict().optional(),
    encodings: EncodingsRecordSchema,
    /** relit samples: the OLAT weights file of this lighting */
    weights: z.object({ file: z.string().min(1), sha256: z.string() }).strict().optional(),
  })
  .strict();

/** The head's 68 landmarks in the sample's frame (renderer/develop/landmarks.ts). */
export const LandmarksRecordSchema = z
  .object({
    convention: z.literal('multi-pie-68'),
    points: z.array(z.tuple([num, num])).length(68),
    distance: z.array(num).length(68),
    visible: z.array(z.boolean()).length(68),
    canonical: z.array(z.tuple([num, num, num])).length(68),
    visibilityToleranceM: num,
    depthTested: z.boolean(),
  })
  .strict();

const SampleRecordShape = {
  format_version: FormatVersion,
  sampleVersion: int,
  index: int.min(0),
  id: z.string().regex(/^\d{6,}$/, 'a sample id is 6 or more digits'),
  seed: int,
  head: SampleHeadRecordSchema,
  /** `drawn`: the planner's camera draw (batch) or the stack's orbit (relit), then the resolved camera */
  camera: CameraRecordSchema.extend({ drawn: Loose }).strict(),
  augment: z.looseObject({ applied: z.boolean() }),
  /** heads with landmarks (ICT identities, heads whose head.json has them) */
  landmarks: LandmarksRecordSchema.optional(),
  /** the lighting draws (batch: mode, mapCount, draws; relit: the triplet's draws) */
  lighting: Loose,
  lightings: z.array(SampleLightingEntrySchema).min(1),
  /** relit samples: where the images came from (OLAT stack, rig, weights); null when unknown */
  provenance: Loose.nullable().optional(),
  files: z.array(z.string()),
  run: z
    .object({ worker: int.optional(), attempt: int.optional(), repairs: int.optional(), timingsMs: z.record(z.string(), num), createdAt: z.string() })
    .strict(),
};

/** samples/NNNNNN/sample.json */
export const SampleRecordSchema = z.object(SampleRecordShape).strict();
/** One line of manifest.jsonl: sample.json without `run`, `files` relative to the dataset folder. */
export const ManifestEntrySchema = SampleRecordSchema.omit({ run: true });

/**
 * What the server's sample index reads of a sample.json or manifest line: a tolerant view of the
 * same fields (everything optional), so a partial or older record is still listed.
 */
export const SampleIndexViewSchema = z.looseObject({
  format_version: FormatVersion.optional(),
  id: z.string().optional(),
  index: int.min(0).optional(),
  head: z.looseObject({ ref: z.string().optional(), id: z.string().optional() }).optional(),
  lightings: z
    .array(
      z.looseObject({
        key: z.string().optional(),
        passes: z.array(z.string()).optional(),
        lighting: z.looseObject({ environment: z.array(z.looseObject({ map: z.string().optional() })).optional() }).optional(),
      }),
    )
    .optional(),
});

/** <lighting folder>/meta.json (renderer/dataset/write-sample.ts buildMeta). */
export const MetaRecordSchema = z
  .object({
    format_version: FormatVersion,
    metaVersion: int,
    id: z.string().nullable(),
    seed: int,
    /** the sample spec as rendered (core/spec.ts, defaults filled in) */
    spec: z.looseObject({ head: z.string(), width: int, height: int, passes: z.array(z.string()), lighting: LightingRecordSchema, seed: int }),
    head: z
      .object({
        id: z.string().min(1),
        name: z.string(),
        contentHash: z.string().min(1),
        descriptor: z.string(),
        license: z.string().nullable(),
        attribution: z.string().nullable(),
        canonicalBounds: z.object({ min: z.array(num), max: z.array(num) }).strict(),
      })
      .strict(),
    camera: CameraRecordSchema.extend({ conventions: z.string() }).strict(),
    lighting: LightingRecordSchema,
    passes: z.array(z.object({ pass: z.string(), file: z.string(), format: z.enum(['exr', 'png']), channels: z.array(z.string()), pixelType: z.enum(['half', 'float', 'uint8', 'uint16']), description: z.string() }).strict()),
    renderer: z.object({ backend: z.string(), webglRenderer: z.string(), backendReason: z.string(), chromium: z.string(), babylon: z.string(), node: z.string(), package: z.string() }).strict(),
    timings: z.looseObject({ writeMs: num }),
    createdAt: z.string(),
    /** batch / sequence / OLAT provenance, camera-sim record, encodings (render-one) */
    extra: Loose.optional(),
  })
  .strict();

const TimedLighting = z.object({ world: LightingRecordSchema, render: LightingRecordSchema }).strict();

/** A sequence's frames/NNNNNN/frame.json (renderer/pipelines/sequence.ts). */
export const FrameRecordSchema = z
  .object({
    format_version: FormatVersion,
    index: int.min(0),
    id: z.string().regex(/^\d{6,}$/),
    timeS: num,
    headPose: z
      .object({ yawDeg: num, pitchDeg: num, rollDeg: num, translation: Vec3, rotation: Matrix, headToWorld: Matrix })
      .strict(),
    cameras: z
      .object({
        world: z.object({ position: Vec3, target: Vec3, up: Vec3, fovYDeg: num }).strict(),
        render: CameraRecordSchema,
        /** the render camera as an orbit camera of the sample spec */
        renderOrbit: Loose,
      })
      .strict(),
    lighting: z.object({ frame: z.enum(['world', 'head']), input: TimedLighting, target: TimedLighting.nullable() }).strict(),
    encodings: z.partialRecord(z.enum(['input', 'target']), z.object({ latlong16: z.string().min(1), sh9: z.array(num).length(27) }).strict()),
    cameraSim: Loose.nullable(),
    repairs: int.min(0),
    /** animated expressions: this frame's shape weights */
    expressions: z.record(z.string(), num).optional(),
    /** the head's landmarks in the input render (heads that have them) */
    landmarks: LandmarksRecordSchema.optional(),
  })
  .strict();

export type EnvLayerRecord = z.infer<typeof EnvLayerRecordSchema>;
export type LightingRecord = z.infer<typeof LightingRecordSchema>;
export type CameraRecord = z.infer<typeof CameraRecordSchema>;
export type EncodingsRecord = z.infer<typeof EncodingsRecordSchema>;
export type SampleHeadRecord = z.infer<typeof SampleHeadRecordSchema>;
export type HeadParamsRecord = z.infer<typeof HeadParamsRecordSchema>;
export type IctHeadParamsRecord = z.infer<typeof IctHeadParamsRecordSchema>;
export type ProceduralHeadParamsRecord = z.infer<typeof ProceduralHeadParamsRecordSchema>;
export type SampleLightingEntry = z.infer<typeof SampleLightingEntrySchema>;
export type SampleRecord = z.infer<typeof SampleRecordSchema>;
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;
export type SampleIndexView = z.infer<typeof SampleIndexViewSchema>;
export type MetaRecord = z.infer<typeof MetaRecordSchema>;
export type FrameRecord = z.infer<typeof FrameRecordSchema>;

// ---------------------------------------------------------------------------------------------
// reading and writing

/** A record's format version: its `format_version`, or 1 when it has none (written before the field). */
export function recordFormatVersion(obj: unknown): number {
  if (!obj || typeof obj !== 'object' || !('format_version' in obj)) return UNVERSIONED_FORMAT;
  const v = (obj as { format_version: unknown }).format_version;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : NaN;
}

/** What a reader says about a record of another format version (null when it is this one). */
export function formatVersionNote(found: number): string | null {
  if (found === DATASET_FORMAT_VERSION) return null;
  const what = found === UNVERSIONED_FORMAT ? `format version ${found} (no "format_version" field)` : `format version ${found}`;
  const fix =
    found < DATASET_FORMAT_VERSION
      ? 're-render it with this checkout, or read it with the checkout that wrote it'
      : 'update this checkout to one that reads it';
  return `written by ${what}, this reader reads ${DATASET_FORMAT_VERSION}: ${fix}`;
}

/** A record of another format version than DATASET_FORMAT_VERSION. */
export class RecordVersionError extends Error {
  override name = 'RecordVersionError';
  constructor(
    readonly label: string,
    readonly found: number,
  ) {
    super(`${label}: ${formatVersionNote(found)}`);
  }
}

export interface ParseRecordOptions {
  /**
   * Also accept other format versions (a record without the field reads as version 1), parsed
   * through this version's schema; for listing old datasets. Default: refuse them
   * (RecordVersionError).
   */
  anyVersion?: boolean;
}

/**
 * Validates `obj` against a record schema. Errors name `label` (e.g. the file) and the field:
 * `sample.json /x/samples/000001/sample.json: field "lightings.0.key": ...`; a record of another
 * format version throws RecordVersionError ("written by format version 1, this reader reads 2: ...").
 * Returns the record (with `format_version: 1` added when it had none).
 */
export function parseRecord<S extends z.ZodType>(obj: unknown, schema: S, label: string, opts: ParseRecordOptions = {}): z.infer<S> {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${label}: not a JSON object`);
  const found = recordFormatVersion(obj);
  if (Number.isNaN(found)) throw new Error(`${label}: field "format_version": expected a positive integer, got ${JSON.stringify((obj as { format_version: unknown }).format_version)}`);
  if (found !== DATASET_FORMAT_VERSION && !opts.anyVersion) throw new RecordVersionError(label, found);
  const input = found === UNVERSIONED_FORMAT && !('format_version' in obj) ? { format_version: UNVERSIONED_FORMAT, ...obj } : obj;
  const r = schema.safeParse(input);
  if (!r.success) {
    const note = formatVersionNote(found);
    throw new Error(formatZodIssues(r.error, label) + (note ? `\n${label}: ${note}` : ''));
  }
  // The record itself, not r.data: the schemas have no defaults or transforms and no object strips
  // keys, so both hold the same values, but the record keeps the file's field order (manifest
  // lines are written from what was read).
  return input as z.infer<S>;
}

/** Reads and validates a record file; `what` (default: the file name) starts every error. */
export function readRecord<S extends z.ZodType>(file: string, schema: S, opts: ParseRecordOptions & { what?: string } = {}): z.infer<S> {
  const what = opts.what ?? path.basename(file);
  return parseRecord(readJsonFile(file, what), schema, `${what} ${file}`, opts);
}

/**
 * Validates `record` (a builder's output, of this format version), then writes it with the
 * guarded atomic JSON writer (refuses NaN/Infinity, temp file + rename). The object written is
 * `record` itself, so its field order is kept.
 */
export async function writeRecord<S extends z.ZodType>(file: string, record: z.infer<S>, schema: S, opts: { fsync?: boolean } = {}): Promise<void> {
  parseRecord(record, schema, `refusing to write ${path.basename(file)} ${file}`);
  await writeJsonFileAtomic(file, record, { fsync: opts.fsync });
}
