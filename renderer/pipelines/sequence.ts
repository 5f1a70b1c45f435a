// Node-only. Video sequences: T frames of one head with smooth rigid head motion and dynamic
// lighting, each frame's passes, and the exact forward/backward optical flow between neighbouring
// frames (renderer/develop/flow.ts) with occlusion codes.
//
// Motion model. The page has no head transform: the head is always rendered static at the origin of
// the render frame. A head pose H_t (rotation R_t about `motion.pivot`, then translation T_t; world
// point = R_t (x - pivot) + pivot + T_t) with a fixed world camera C is rendered as the equivalent
// relative camera H_t^-1 C in the head frame (exactly the same image). The lighting is given either
//  - lightingFrame 'world' (default): fixed in the world while the head moves (a person turning in a
//    room). Point lights are mapped into the head frame exactly (H_t^-1); the environment is at
//    infinity, so only R_t matters, and the renderer rotates environments about +Y only: head yaw is
//    compensated exactly (rotation - yaw), head pitch/roll with an environment is refused;
//  - lightingFrame 'head': attached to the head (equivalently: a camera moving around a still head
//    in a still scene), any motion allowed.
// Dynamic lighting: the environment turns about +Y by `degPerFrame * speedUp` per frame and each point
// light moves on its circle about +Y (azimuth += degPerFrame * speedUp per frame), as the paper's
// "lighting speed-up factor" (video paper, figs. 8 and 11). speedUp 0 = static lighting.
//
// Layout of outDir:
//   sequence.json                      config, content hash, every frame's plan, conventions
//   frames/NNNNNN/input/               all passes under the input lighting (+ camera.jpg/png with cameraSim)
//   frames/NNNNNN/target/              target lighting (targetPasses), when `target` is not null
//   frames/NNNNNN/frame.json           head pose, world and render cameras, lightings, camera-sim record
//   flow/NNNNNN_MMMMMM/                forward.exr + occlusion_forward.png (frame N -> M, on N's pixels),
//                                      backward.exr + occlusion_backward.png (M -> N, on M's pixels), pair.json
// Frame and pair folders appear atomically (temp folder + rename); a rerun resumes.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Renderer, type RendererOptions, type RenderedSample } from '../engine/renderer.js';
import { parseSampleSpec, CameraSchema, RenderOptionsSchema, OutputOptionsSchema, MAX_IMAGE_SIZE, type SampleSpec } from '../core/spec.js';
import { nameFromFile, safeNameSchema } from '../core/names.js';

/** Longest sequence (frames); see the schema. */
export const MAX_SEQUENCE_FRAMES = 100_000;
import { writeSample } from '../dataset/write-sample.js';
import { writeJsonAtomic } from '../io/fs-atomic.js';
import { formatZodIssues, readJsonFile } from '../io/json-file.js';
import { PASS_NAMES } from '../develop/passes/index.js';
import { resolveCamera, cross, dot, normalize } from '../core/camera.js';
import { Rng, hashCombine, hashString } from '../core/rng.js';
import type { Lighting } from '../core/lighting.js';
import type { Vec3 } from '../core/protocol.js';
import type { Backend } from '../engine/browser.js';
import { CameraSimSchema, sampleCameraSimParams, applyCameraSim, cameraImageFileName, encodeCameraImage, type CameraSimParams, type CameraSimRecord } from '../develop/camera-sim.js';
import { FLOW_DOC, encodeMotion, type FlowStats } from '../develop/flow.js';
import { ExpressionAnimationSchema, expressionHeadIssue, expressionWeights, frameHeadRef, planExpressions, type ExpressionPlan } from './sequence-expressions.js';
import { writeFlowPairs, frameId, pairId, MOTION_FILE } from './sequence-flow.js';
import { landmarksRecord } from '../develop/landmarks.js';
import { findInconsistentRenders } from '../dataset/consistency.js';
import { checkFolderIdentity, contentHashOf, removeStaleTemps } from '../dataset/output-folder.js';
import { DATASET_FORMAT_VERSION, FrameRecordSchema, readRecord, writeRecord } from '../dataset/records.js';
import { buildFrameRecord } from '../dataset/sample-record.js';
import { compositeBeauty } from '../develop/passes/beauty.js';
import { encodeLightings, float32LE, ENCODING_FILES } from '../dataset/encodings.js';

export const SEQUENCE_VERSION = 1;
const V3 = z.tuple([z.number(), z.number(), z.number()]);

const OscillationSchema = (amplitude: number, frequencyHz: number) =>
  z
    .object({
      amplitude: z.number().min(0).default(amplitude),
      frequencyHz: z.number().min(0).default(frequencyHz),
      /** Phase in degrees; default: drawn from the seed. */
      phaseDeg: z.number().optional(),
    })
    .strict()
    .default({ amplitude, frequencyHz });

export const MotionSchema = z
  .object({
    pivot: V3.default([0, -0.08, 0]).describe('Rotation centre of the head (world metres; default near the top of the neck).'),
    yawDeg: OscillationSchema(12, 0.25).describe('Head yaw about +Y (positive turns the face toward +X): amplitude * sin(2 pi f t + phase). Default 12 deg, 0.25 Hz.'),
    pitchDeg: OscillationSchema(0, 0.35).describe('Head pitch (positive looks up). Default amplitude 0.'),
    rollDeg: OscillationSchema(0, 0.3).describe('Head roll (positive tilts the top of the head toward +X). Default amplitude 0.'),
    translation: z
      .object({
        amplitude: V3.default([0.01, 0.005, 0.01]),
        frequencyHz: z.number().min(0).default(0.2),
        phaseDeg: V3.optional(),
      })
      .strict()
      .default({ amplitude: [0.01, 0.005, 0.01], frequencyHz: 0.2 })
      .describe('Head translation per axis (metres). Default [0.01, 0.005, 0.01] m at 0.2 Hz.'),
  })
  .strict();

export const EnvPathSchema = z
  .object({
    map: z.string().min(1).default('builtin:studio'),
    rotationDeg: z.number().default(0).describe('Rotation at frame 0 (about +Y, +Z toward +X).'),
    intensity: z.number().min(0).default(1),
    degPerFrame: z.number().default(2).describe('Rotation per frame at speedUp 1. Default 2.'),
  })
  .strict();

export const PointLightPathSchema = z
  .object({
    azimuthDeg: z.number().default(0).describe('About +Y from the front (+Z), positive toward +X, at frame 0.'),
    elevationDeg: z.number().min(-89).max(89).default(20),
    distance: z.number().positive().default(1).describe('Metres from the origin (the head centre at rest).'),
    color: V3.default([1, 1, 1]),
    intensity: z.number().min(0).default(0.3),
    radius: z.number().min(0).default(0.02),
    degPerFrame: z.number().default(3).describe('Azimuth change per frame at speedUp 1. Default 3.'),
  })
  .strict();

const LightingPathShape = (speedUp: number, env: z.input<typeof EnvPathSchema> | null) =>
  z
    .object({
      environment: EnvPathSchema.nullable().default(env === null ? null : EnvPathSchema.parse(env)),
      pointLights: z.array(PointLightPathSchema).max(4).default([]),
      speedUp: z.number().min(0).default(speedUp).describe(`Lighting speed-up factor (multiplies every degPerFrame). Default ${speedUp}.`),
    })
    .strict();

export const LightingPathSchema = LightingPathShape(1, {});
const TargetPathSchema = LightingPathShape(0, { map: 'builtin:city' });

export const SequenceConfigSchema = z
  .object({
    $schema: z.string().optional(),
    name: safeNameSchema().default('sequence'),
    description: z.string().optional(),
    head: z.string().min(1).default('procedural'),
    width: z.number().int().min(16).max(MAX_IMAGE_SIZE).default(256),
    height: z.number().int().min(16).max(MAX_IMAGE_SIZE).default(256),
    // The plan holds every frame (specs, poses) in memory and each frame is a folder: 100k frames
    // is over an hour of video at 25 fps, far beyond a training clip.
    frames: z.number().int().min(2).max(MAX_SEQUENCE_FRAMES).default(16),
    fps: z.number().positive().max(1000).default(25),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    camera: CameraSchema.default(CameraSchema.parse({})).describe('The world camera (fixed), as in a sample spec.'),
    motion: MotionSchema.default(MotionSchema.parse({})),
    lightingFrame: z.enum(['world', 'head']).default('world'),
    input: LightingPathSchema.default(LightingPathSchema.parse({})).describe('Input lighting path (default: builtin:studio turning 2 deg/frame, speedUp 1).'),
    target: TargetPathSchema.nullable()
      .default(TargetPathSchema.parse({}))
      .describe('Target lighting path (default: builtin:city, static: speedUp 0); null = no target renders.'),
    passes: z
      .array(z.string())
      .default([...PASS_NAMES])
      .superRefine((names, ctx) => checkPasses(names, ctx)),
    targetPasses: z
      .array(z.string())
      .default(['beauty', 'diffuse', 'specular', 'preview'])
      .superRefine((names, ctx) => checkPasses(names, ctx)),
    background: z.union([z.literal('transparent'), z.literal('environment'), z.object({ color: V3 }).strict()]).default('transparent'),
    render: RenderOptionsSchema.default(RenderOptionsSchema.parse({})),
    output: OutputOptionsSchema.default(OutputOptionsSchema.parse({})),
    cameraSim: CameraSimSchema.default(CameraSimSchema.parse({})),
    expressions: ExpressionAnimationSchema.nullable()
      .default(null)
      .describe('Animated expressions of an ICT head (weight curves, blinks); each frame is its head with that expression, and the flow follows the vertices. Default null (a rigid head).'),
    flow: z
      .object({
        absoluteTolerance: z.number().min(0).default(0.002),
        relativeTolerance: z.number().min(0).default(0.01),
      })
      .strict()
      .default({ absoluteTolerance: 0.002, relativeTolerance: 0.01 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const headIssue = c.expressions ? expressionHeadIssue(c.head) : null;
    if (headIssue) ctx.addIssue({ code: 'custom', path: ['expressions'], message: headIssue });
    if (c.lightingFrame !== 'world') return;
    const env = [c.input.environment, c.target?.environment].some((e) => e && e.intensity > 0);
    if (!env) return;
    for (const k of ['pitchDeg', 'rollDeg'] as const) {
      if (c.motion[k].amplitude > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['motion', k, 'amplitude'],
          message: `with lightingFrame "world" and an environment, the head may only yaw (environments rotate about +Y only); set this to 0 or use lightingFrame "head"`,
        });
      }
    }
  });

function checkPasses(names: string[], ctx: z.RefinementCtx): void {
  for (const [i, n] of names.entries()) {
    if (!PASS_NAMES.includes(n)) ctx.addIssue({ code: 'custom', path: [i], message: `unknown pass "${n}" (known: ${PASS_NAMES.join(', ')})` });
  }
}

export type SequenceConfig = z.infer<typeof SequenceConfigSchema>;
export type SequenceConfigInput = z.input<typeof SequenceConfigSchema>;
type LightingPath = z.infer<typeof LightingPathSchema>;

export function parseSequenceConfig(raw: unknown, where = 'sequence config'): SequenceConfig {
  const r = SequenceConfigSchema.safeParse(raw);
  if (!r.success) throw new Error(formatZodIssues(r.error, where));
  return r.data;
}

export function loadSequenceConfig(file: string): SequenceConfig {
  const raw = readJsonFile(file, 'sequence config') as Record<string, unknown>;
  if (raw && typeof raw === 'object' && raw.name === undefined) raw.name = nameFromFile(path.basename(file, '.json'), 'sequence');
  return parseSequenceConfig(raw, `sequence config ${file}`);
}

// ---------------------------------------------------------------------------------------------
// planning (pure)

export interface HeadPose {
  yawDeg: number;
  pitchDeg: number;
  rollDeg: number;
  translation: Vec3;
  /** 3x3 row-major R_t. */
  rotation: number[][];
  /** 4x4 row-major head frame -> world: x_world = R (x - pivot) + pivot + T. */
  headToWorld: number[][];
}

export interface PlannedFrame {
  index: number;
  id: string;
  timeS: number;
  headPose: HeadPose;
  /** The head drawn in this frame: the config's, or with animated expressions its ICT head with this frame's weights. */
  head: string;
  /** Animated expressions: the frame's shape weights (null for a rigid head). */
  expressions: Record<string, number> | null;
  /** The fixed world camera's position, target and up (world frame). */
  worldCamera: { position: Vec3; target: Vec3; up: Vec3 };
  /** The equivalent camera in the head (= render) frame, as an orbit camera for the spec. */
  renderCamera: z.infer<typeof CameraSchema>;
  /** Lightings in the world frame and in the render (head) frame. */
  input: { world: Lighting; render: Lighting };
  target: { world: Lighting; render: Lighting } | null;
}

export interface SequencePlan {
  phases: { yawDeg: number; pitchDeg: number; rollDeg: number; translation: Vec3 };
  /** Animated expressions: the curves' phases and the blink times drawn. */
  expressions: ExpressionPlan | null;
  frames: PlannedFrame[];
}

const DEG = Math.PI / 180;

export { frameId, pairId, MOTION_FILE };

/** R = Ry(yaw) Rx(pitch) Rz(roll) with the signs of the header (yaw: +Z toward +X, pitch: +Z toward +Y, roll: +Y toward +X). */
export function headRotation(yawDeg: number, pitchDeg: number, rollDeg: number): number[][] {
  const [cy, sy] = [Math.cos(yawDeg * DEG), Math.sin(yawDeg * DEG)];
  const [cp, sp] = [Math.cos(pitchDeg * DEG), Math.sin(pitchDeg * DEG)];
  const [cr, sr] = [Math.cos(rollDeg * DEG), Math.sin(rollDeg * DEG)];
  const Ry = [[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]];
  const Rx = [[1, 0, 0], [0, cp, sp], [0, -sp, cp]];
  const Rz = [[cr, sr, 0], [-sr, cr, 0], [0, 0, 1]];
  return matMul(matMul(Ry, Rx), Rz);
}

function matMul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}
function mulVec(m: number[][], v: readonly number[]): Vec3 {
  return [m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2], m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2], m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2]];
}
function mulTVec(m: number[][], v: readonly number[]): Vec3 {
  return [m[0][0] * v[0] + m[1][0] * v[1] + m[2][0] * v[2], m[0][1] * v[0] + m[1][1] * v[1] + m[2][1] * v[2], m[0][2] * v[0] + m[1][2] * v[1] + m[2][2] * v[2]];
}

/** World point -> head frame: R^T (y - pivot - T) + pivot. */
function worldToHead(pose: HeadPose, pivot: Vec3, y: readonly number[]): Vec3 {
  const d = mulTVec(pose.rotation, [y[0] - pivot[0] - pose.translation[0], y[1] - pivot[1] - pose.translation[1], y[2] - pivot[2] - pose.translation[2]]);
  return [d[0] + pivot[0], d[1] + pivot[1], d[2] + pivot[2]];
}

/**
 * The orbit-camera parameters that resolveCamera turns into the camera at `position` looking along
 * `forward` with `up` (exact up to rounding), targeting the point `distance` ahead.
 */
export function orbitFromPose(position: Vec3, forward: Vec3, up: Vec3, distance: number, fovYDeg: number): z.infer<typeof CameraSchema> {
  const f = normalize(forward);
  const target: Vec3 = [position[0] + f[0] * distance, position[1] + f[1] * distance, position[2] + f[2] * distance];
  const pitchDeg = Math.asin(Math.max(-1, Math.min(1, -f[1]))) / DEG;
  const yawDeg = Math.atan2(-f[0], -f[2]) / DEG;
  let right0 = cross(f, [0, 1, 0]);
  if (Math.hypot(...right0) < 1e-6) right0 = [1, 0, 0];
  right0 = normalize(right0);
  const up0 = cross(right0, f);
  const rollDeg = Math.atan2(dot(up, right0), dot(up, up0)) / DEG;
  return { yawDeg, pitchDeg, rollDeg, distance, fovYDeg, target };
}

function osc(o: { amplitude: number; frequencyHz: number }, phaseDeg: number, t: number): number {
  return o.amplitude * Math.sin(2 * Math.PI * o.frequencyHz * t + phaseDeg * DEG);
}

function lightingAt(lp: LightingPath, t: number): Lighting {
  const k = lp.speedUp * t;
  const env = lp.environment;
  const environment = env && env.intensity > 0 ? [{ map: env.map, rotationDeg: env.rotationDeg + k * env.degPerFrame, intensity: env.intensity, weight: 1 }] : [];
  const pointLights = lp.pointLights.map((l) => {
    const az = (l.azimuthDeg + k * l.degPerFrame) * DEG;
    const el = l.elevationDeg * DEG;
    const position: Vec3 = [l.distance * Math.cos(el) * Math.sin(az), l.distance * Math.sin(el), l.distance * Math.cos(el) * Math.cos(az)];
    return { position, color: [...l.color] as Vec3, intensity: l.intensity, radius: l.radius };
  });
  return { environment, pointLights };
}

function toRenderFrame(l: Lighting, frame: 'world' | 'head', pose: HeadPose, pivot: Vec3): Lighting {
  if (frame === 'head') return l;
  return {
    environment: l.environment.map((e) => ({ ...e, rotationDeg: e.rotationDeg - pose.yawDeg })),
    pointLights: l.pointLights.map((p) => ({ ...p, position: worldToHead(pose, pivot, p.position) })),
  };
}

/** Every frame's head pose, cameras and lightings; depends only on the config. */
export function planSequence(config: SequenceConfig): SequencePlan {
  const m = config.motion;
  const rng = Rng.forSample(config.seed, 0, 'sequence-motion');
  const draw = (given: number | undefined) => {
    const r = rng.uniform(0, 360); // always drawn: a given phase does not shift the others
    return given ?? r;
  };
  const phases = {
    yawDeg: draw(m.yawDeg.phaseDeg),
    pitchDeg: draw(m.pitchDeg.phaseDeg),
    rollDeg: draw(m.rollDeg.phaseDeg),
    translation: [draw(m.translation.phaseDeg?.[0]), draw(m.translation.phaseDeg?.[1]), draw(m.translation.phaseDeg?.[2])] as Vec3,
  };
  const cam = resolveCamera({ ...config.camera, width: config.width, height: config.height });
  const forward = normalize([cam.target[0] - cam.position[0], cam.target[1] - cam.position[1], cam.target[2] - cam.position[2]]);
  const pivot = m.pivot as Vec3;
  const ex = config.expressions ? planExpressions(config.expressions, config.seed, config.frames / config.fps) : null;
  const frames: PlannedFrame[] = [];
  for (let t = 0; t < config.frames; t++) {
    const s = t / config.fps;
    const yawDeg = osc(m.yawDeg, phases.yawDeg, s);
    const pitchDeg = osc(m.pitchDeg, phases.pitchDeg, s);
    const rollDeg = osc(m.rollDeg, phases.rollDeg, s);
    const tr = m.translation;
    const translation: Vec3 = [0, 1, 2].map((i) => tr.amplitude[i] * Math.sin(2 * Math.PI * tr.frequencyHz * s + phases.translation[i] * DEG)) as Vec3;
    const R = headRotation(yawDeg, pitchDeg, rollDeg);
    const Rp = mulVec(R, pivot);
    const headToWorld = [
      [R[0][0], R[0][1], R[0][2], pivot[0] - Rp[0] + translation[0]],
      [R[1][0], R[1][1], R[1][2], pivot[1] - Rp[1] + translation[1]],
      [R[2][0], R[2][1], R[2][2], pivot[2] - Rp[2] + translation[2]],
      [0, 0, 0, 1],
    ];
    const pose: HeadPose = { yawDeg, pitchDeg, rollDeg, translation, rotation: R, headToWorld };
    const position = worldToHead(pose, pivot, cam.position);
    const renderCamera = orbitFromPose(position, mulTVec(R, forward), mulTVec(R, cam.up), config.camera.distance, config.camera.fovYDeg);
    const inputWorld = lightingAt(config.input, t);
    const targetWorld = config.target ? lightingAt(config.target, t) : null;
    frames.push({
      index: t,
      id: frameId(t),
      timeS: s,
      headPose: pose,
      ...frameHead(config, ex, s),
      worldCamera: { position: cam.position, target: cam.target, up: cam.up },
      renderCamera,
      input: { world: inputWorld, render: toRenderFrame(inputWorld, config.lightingFrame, pose, pivot) },
      target: targetWorld ? { world: targetWorld, render: toRenderFrame(targetWorld, config.lightingFrame, pose, pivot) } : null,
    });
  }
  return { phases, expressions: ex, frames };
}

function frameHead(config: SequenceConfig, ex: ExpressionPlan | null, t: number): { head: string; expressions: Record<string, number> | null } {
  if (!config.expressions || !ex) return { head: config.head, expressions: null };
  const w = expressionWeights(config.expressions, ex, t);
  return { head: frameHeadRef(config.head, w), expressions: w };
}

/** The sample spec the renderer gets for one frame and lighting role. */
export function frameSpec(config: SequenceConfig, f: PlannedFrame, role: 'input' | 'target'): SampleSpec {
  const lighting = role === 'input' ? f.input.render : f.target!.render;
  const passes = role === 'input' ? [...new Set([...config.passes, 'depth', 'mask'])] : config.targetPasses;
  return parseSampleSpec(
    {
      id: `${config.name}-${f.id}-${role}`,
      head: f.head,
      width: config.width,
      height: config.height,
      camera: f.renderCamera,
      lighting: { environment: lighting.environment, pointLights: lighting.pointLights.map((p) => ({ position: p.position, color: p.color, intensity: p.intensity, radius: p.radius ?? 0.02 })) },
      background: config.background,
      passes,
      render: config.render,
      output: config.output,
      seed: config.seed,
    },
    `frame ${f.id} ${role}`,
  );
}

// ---------------------------------------------------------------------------------------------
// running

export interface RunSequenceOptions {
  outDir: string;
  backend?: Backend | 'auto';
  log?: (msg: string) => void;
  renderer?: Pick<RendererOptions, 'timeoutMs' | 'cacheRoot'>;
  onFrame?: (e: { index: number; total: number; ms: number; skipped: boolean }) => void;
  signal?: AbortSignal;
  /** Re-renders (fresh renderer) of a frame whose input and target masks disagree (default 3). */
  maxRepairs?: number;
}

export interface SequenceResult {
  outDir: string;
  frames: number;
  rendered: number;
  skipped: number;
  flows: number;
  repairs: number;
  elapsedMs: number;
  flowStats: Record<string, { forward: FlowStats; backward: FlowStats }>;
}

const HEAD_RADIUS_M = 0.1;

function removeTemps(dir: string, log?: (m: string) => void): void {
  for (const e of removeStaleTemps(dir)) log?.(`removed unfinished ${path.join(dir, e)}`);
}

/** Per-frame camera-sim params: the sequence's draw (same camera all along) with a per-frame noise seed. */
function frameCameraParams(base: CameraSimParams, seed: number, t: number, lockedGain: number | undefined): CameraSimParams {
  const noiseSeed = hashCombine(hashString('camera-noise', seed >>> 0), t);
  return { ...base, noiseSeed, exposure: base.exposure ? { ...base.exposure, ...(lockedGain !== undefined ? { autoGain: lockedGain } : {}) } : null };
}

/** Renders the missing frames and flow pairs of `config` into `opts.outDir`. */
export async function runSequence(config: SequenceConfig, opts: RunSequenceOptions): Promise<SequenceResult> {
  const t0 = performance.now();
  const outDir = path.resolve(opts.outDir);
  const log = opts.log;
  const plan = planSequence(config);
  const framesDir = path.join(outDir, 'frames');
  const flowDir = path.join(outDir, 'flow');
  fs.mkdirSync(framesDir, { recursive: true });
  fs.mkdirSync(flowDir, { recursive: true });

  // identity: a folder holds one sequence config, of one dataset format version
  const contentHash = contentHashOf(config);
  const seqFile = path.join(outDir, 'sequence.json');
  checkFolderIdentity(outDir, 'sequence.json', contentHash, config, { items: 'frames', config: 'sequence config' });
  const cameraSimBase = config.cameraSim.enabled ? sampleCameraSimParams(Rng.forSample(config.seed, 0, 'camera-sim'), config.cameraSim) : null;
  await writeJsonAtomic(seqFile, {
    format_version: DATASET_FORMAT_VERSION,
    sequenceVersion: SEQUENCE_VERSION,
    name: config.name,
    contentHash,
    config,
    frames: config.frames,
    fps: config.fps,
    width: config.width,
    height: config.height,
    conventions: {
      motion:
        'The head is rendered static in the render (head) frame; head pose H_t maps head frame -> world: x_world = R (x - pivot) + pivot + T (headPose.headToWorld). The world camera is fixed; the render camera is H_t^-1 of it (frame.json cameras.render, and K / worldToCameraCV in each meta.json, which are in the head frame).',
      lighting: `lightingFrame "${config.lightingFrame}": ${config.lightingFrame === 'world' ? 'lights fixed in the world, mapped into the head frame per frame (environment: rotation - head yaw)' : 'lights attached to the head frame'}. Path: environment rotation += degPerFrame * speedUp per frame, point-light azimuth += degPerFrame * speedUp per frame.`,
      flow: FLOW_DOC,
      layout: 'frames/NNNNNN/{input,target}/ (passes, meta.json), frames/NNNNNN/frame.json; flow/NNNNNN_MMMMMM/{forward.exr, occlusion_forward.png (N -> M on N), backward.exr, occlusion_backward.png (M -> N on M), pair.json}',
      cameraSim: config.cameraSim.enabled ? 'input/camera.jpg (or .png): the input beauty through the camera simulation, params drawn once per sequence, noise seed per frame, exposure gain metered on frame 0 and locked' : 'disabled',
    },
    plan,
    cameraSim: cameraSimBase,
  });
  removeTemps(framesDir, log);
  removeTemps(flowDir, log);

  let renderer: Renderer | null = null;
  const getRenderer = async (fresh = false): Promise<Renderer> => {
    if (renderer && (fresh || renderer.failed)) {
      await renderer.close().catch(() => undefined);
      renderer = null;
    }
    if (!renderer) renderer = await Renderer.launch({ backend: opts.backend, log, ...opts.renderer });
    return renderer;
  };
  const stats = { rendered: 0, skipped: 0, flows: 0, repairs: 0 };
  const flowStats: SequenceResult['flowStats'] = {};
  let lockedGain: number | undefined;
  try {
    for (const f of plan.frames) {
      if (opts.signal?.aborted) throw new Error('sequence interrupted; run it again to resume');
      const final = path.join(framesDir, f.id);
      const tf = performance.now();
      if (fs.existsSync(final)) {
        stats.skipped++;
        if (f.index === 0 && cameraSimBase?.exposure) {
          const fj = readRecord(path.join(final, 'frame.json'), FrameRecordSchema);
          lockedGain = (fj.cameraSim as CameraSimRecord | null)?.exposure?.autoGain;
        }
        opts.onFrame?.({ index: f.index, total: plan.frames.length, ms: 0, skipped: true });
        continue;
      }
      const roles: ('input' | 'target')[] = f.target ? ['input', 'target'] : ['input'];
      const results: (RenderedSample | null)[] = roles.map(() => null);
      let repairs = 0;
      for (;;) {
        for (const [k, role] of roles.entries()) {
          if (results[k]) continue;
          // A deforming head's input frame also says where each pixel's point is one frame
          // before and after (the per-vertex flow); the target frame does not need it.
          const motion = config.expressions && role === 'input' ? { prevHead: plan.frames[f.index - 1]?.head ?? null, nextHead: plan.frames[f.index + 1]?.head ?? null } : undefined;
          results[k] = await (await getRenderer()).renderSample(frameSpec(config, f, role), motion ? { motion } : {});
        }
        const { bad, reason } = findInconsistentRenders(results.map((r) => r!.mask));
        if (bad.length === 0) break;
        if (repairs >= (opts.maxRepairs ?? 3)) throw new Error(`frame ${f.id}: ${reason}, still after ${repairs} re-render(s)`);
        repairs++;
        stats.repairs++;
        log?.(`frame ${f.id}: ${reason}; re-rendering with a fresh renderer`);
        for (const k of bad) results[k] = null;
        await getRenderer(true);
      }
      const info = renderer!.info;
      const tmp = `${final}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
      fs.mkdirSync(tmp);
      try {
        const enc = await encodeLightings(roles.map((r) => (r === 'input' ? f.input.render : f.target!.render)), HEAD_RADIUS_M, [0, 0, 0]);
        let camRecord: CameraSimRecord | null = null;
        const inputExtra: Record<string, Uint8Array> = { [ENCODING_FILES.latlong]: float32LE(enc[0].latlong), [ENCODING_FILES.sh9]: float32LE(enc[0].sh9) };
        const r0 = results[0]!;
        if (config.expressions) inputExtra[MOTION_FILE] = await encodeMotion(r0.width, r0.height, r0.modes.motionPrev!, r0.modes.motionNext!, r0.modes.depth!);
        if (cameraSimBase) {
          const input = results[0]!;
          const params = frameCameraParams(cameraSimBase, config.seed, f.index, lockedGain);
          // what the camera sees: the beauty as written (composited over the background, alpha = coverage)
          const seen = compositeBeauty(input.modes.beauty!, input.mask, input.background);
          const sim = await applyCameraSim(seen, input.width, input.height, params, { stride: 4, mask: input.mask });
          camRecord = sim.record;
          if (f.index === 0 && sim.record.exposure) lockedGain = sim.record.exposure.autoGain;
          inputExtra[cameraImageFileName(sim.record)] = await encodeCameraImage(sim, input.width, input.height);
        }
        for (const [k, role] of roles.entries()) {
          const extraFiles = k === 0 ? inputExtra : { [ENCODING_FILES.latlong]: float32LE(enc[k].latlong), [ENCODING_FILES.sh9]: float32LE(enc[k].sh9) };
          await writeSample(path.join(tmp, role), results[k]!, info, {
            extraFiles,
            extra: { sequence: { name: config.name, frame: f.index, role, lightingFrame: config.lightingFrame, renderFrame: 'head' }, ...(k === 0 && camRecord ? { cameraSim: camRecord } : {}) },
          });
        }
        const frame = buildFrameRecord({
          index: f.index,
          id: f.id,
          timeS: f.timeS,
          headPose: f.headPose,
          worldCamera: f.worldCamera,
          worldFovYDeg: config.camera.fovYDeg,
          renderCamera: results[0]!.camera,
          renderOrbit: f.renderCamera,
          lightingFrame: config.lightingFrame,
          input: f.input,
          target: f.target,
          encodings: roles.map((role, k) => ({ role, sh9: enc[k].sh9 })),
          cameraSim: camRecord,
          repairs,
          expressions: f.expressions,
          landmarks: r0.landmarks ? landmarksRecord(r0.landmarks, r0.camera, r0.modes.depth ?? null) : null,
        });
        await writeRecord(path.join(tmp, 'frame.json'), frame, FrameRecordSchema); // validated; refuses NaN/Infinity
        fs.renameSync(tmp, final);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
      stats.rendered++;
      opts.onFrame?.({ index: f.index, total: plan.frames.length, ms: performance.now() - tf, skipped: false });
    }
  } finally {
    if (renderer) await (renderer as Renderer).close();
  }

  // flows between neighbours, from the written depth + cameras (and motion.exr of a deforming head)
  stats.flows += await writeFlowPairs({ framesDir, flowDir, frames: plan.frames.length, tolerance: config.flow, deforming: !!config.expressions, flowStats });
  return { outDir, frames: plan.frames.length, ...stats, elapsedMs: performance.now() - t0, flowStats };
}
