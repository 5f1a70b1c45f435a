// Bench section "fidelity": our renderer against Blender Cycles on the same scenes.
//
// Per scene (a sample spec): ours renders beauty + mask in-process (Renderer, MSAA default); the
// same spec becomes a JSON scene description for scripts/blender/cycles_reference.py (head via
// the glTF importer moved into our frame, Principled BSDF from the head descriptor, camera from
// the resolved pose and fov, point lights with P = 4*pi*I, world = an environment EXR). The
// environment Blender gets is resampled here from OUR combined lighting through OUR lat-long
// functions (renderer/core/latlong.ts), so Blender's lookup of a direction returns what our
// renderer uses for it whatever our convention is: the scenes compare shading, not orientation.
// Orientation is measured separately (background check: Blender gets the original file).
//
// Metrics on mask = both coverages > 0.99: PSNR/SSIM display-referred (ACES fit + sRGB as in
// preview.png, both at OUR auto exposure), PSNR on linear values / the reference's 99th
// percentile, energy ratio (sum ours / sum Cycles), mask IoU (coverage >= 0.5), seconds per
// frame; Cycles' noise floor from two seeds at the same spp.
//
//   npm run bench -- --only fidelity [--spp 128 --size 512 --scenes lps-studio-front,proc-mix-turned]
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Renderer, type RenderedSample } from '../renderer/engine/renderer.js';
import { parseSampleSpec, type SampleSpec, type SampleSpecInput } from '../renderer/core/spec.js';
import { combineLayers, type EnvLayerSpec } from '../renderer/assets/environment.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { writeExr } from '../renderer/io/exr-write.js';
import { readExr } from '../renderer/io/exr-read.js';
import { writePng } from '../renderer/io/image-io.js';
import { canonicalMatrix } from '../renderer/core/frame.js';
import { uvFromDir, sampleBilinear, type EnvImage } from '../renderer/core/latlong.js';
import { tonemapToSrgb8 } from '../renderer/core/color.js';
import { autoExposure } from '../renderer/core/color.js';
import { imageMetrics, maskedMse, psnrFromMse } from '../renderer/develop/metrics.js';
import type { BenchContext, BenchOptions, Section, Table } from './bench-lib.js';

// ---------------------------------------------------------------------------------------
// Scenes (fixed before any result was looked at; all are reported)

export interface FidelityScene {
  name: string;
  /** 'procedural' or a head folder. */
  head: string;
  yawDeg: number;
  pitchDeg?: number;
  environment: { map: string; rotationDeg?: number; intensity?: number }[];
  pointLights?: { position: [number, number, number]; color?: [number, number, number]; intensity: number; radius?: number }[];
}

const LPS = 'assets/heads/lee_perry_smith';
const PROC = 'procedural';
/** A Poly Haven map of ../shared/assets/envmaps (resolved from the repository root). */
export const sharedMap = (name: string) => path.join(PROJECT_ROOT, '..', 'shared', 'assets', 'envmaps', `${name}.hdr`);

export const SCENES: FidelityScene[] = [
  { name: 'lps-studio-front', head: LPS, yawDeg: 0, environment: [{ map: 'studio_small_03_1k' }] },
  { name: 'lps-studio-turned', head: LPS, yawDeg: 40, environment: [{ map: 'studio_small_03_1k' }] },
  { name: 'lps-sun-front', head: LPS, yawDeg: 0, environment: [{ map: 'rooitou_park_1k' }] },
  { name: 'lps-sun-turned', head: LPS, yawDeg: 40, environment: [{ map: 'rooitou_park_1k', rotationDeg: 90 }] },
  { name: 'lps-soft-front', head: LPS, yawDeg: 0, environment: [{ map: 'venice_sunset_1k' }] },
  { name: 'lps-indoor-turned', head: LPS, yawDeg: 40, environment: [{ map: 'st_fagans_interior_1k' }] },
  { name: 'lps-night-front', head: LPS, yawDeg: 0, environment: [{ map: 'dikhololo_night_1k' }] },
  { name: 'lps-point-turned', head: LPS, yawDeg: 20, environment: [], pointLights: [{ position: [0.35, 0.25, 0.5], color: [1, 0.95, 0.9], intensity: 0.5, radius: 0.02 }] },
  { name: 'proc-studio-front', head: PROC, yawDeg: 0, environment: [{ map: 'studio_small_03_1k' }] },
  { name: 'proc-sun-turned', head: PROC, yawDeg: 40, environment: [{ map: 'rooitou_park_1k' }] },
  { name: 'proc-warehouse-front', head: PROC, yawDeg: 0, environment: [{ map: 'empty_warehouse_01_1k' }] },
  {
    name: 'proc-mix-turned',
    head: PROC,
    yawDeg: -40,
    environment: [{ map: 'kiara_1_dawn_1k', rotationDeg: 120, intensity: 0.8 }, { map: 'studio_small_03_1k', rotationDeg: -60, intensity: 0.4 }],
    pointLights: [{ position: [-0.4, 0.2, 0.45], intensity: 0.2, radius: 0.02 }],
  },
];
/** Scenes that also get a second Cycles render (another seed) for the noise floor. */
export const NOISE_FLOOR_SCENES = ['lps-studio-front', 'lps-sun-front'];
/** Background alignment: background = environment in both, a rotated map with structure. */
export const BACKGROUND_SCENE: FidelityScene = { name: 'bg-venice-turned', head: PROC, yawDeg: 40, environment: [{ map: 'venice_sunset_1k', rotationDeg: 60 }] };
const BACKGROUND_SPP = 16; // camera rays that miss the head see the world without noise

// ---------------------------------------------------------------------------------------
// Blender

/** VLS_BLENDER, else `blender` on PATH; null when neither exists. */
export function findBlender(): string | null {
  const env = process.env.VLS_BLENDER;
  if (env) return fs.existsSync(env) ? env : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'blender');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export const BLENDER_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'blender', 'cycles_reference.py');

function runBlender(blender: string, sceneJson: string, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logFile, 'w');
    const child = spawn(blender, ['-b', '--factory-startup', '-noaudio', '-P', BLENDER_SCRIPT, '--', sceneJson], { stdio: ['ignore', log, log] });
    child.on('error', (err) => {
      fs.closeSync(log);
      reject(err);
    });
    child.on('exit', (code) => {
      fs.closeSync(log);
      const text = fs.readFileSync(logFile, 'utf8');
      // Blender exits 0 even when the Python script raised: look for the traceback too.
      if (code !== 0 || /Traceback \(most recent call last\)/.test(text)) reject(new Error(`blender failed (exit ${code}); log ${logFile}:\n${text.slice(-2000)}`));
      else resolve();
    });
  });
}

interface BlenderResult {
  blender: string;
  importS: number;
  renders: { seed: number; output: string; renderS: number }[];
  bboxOurs: [number[], number[]];
  totalS: number;
}

// ---------------------------------------------------------------------------------------
// Spec -> our render and Blender's scene

export function sceneSpec(s: FidelityScene, size: number, background: 'transparent' | 'environment' = 'transparent'): SampleSpec {
  const input: SampleSpecInput = {
    id: s.name,
    head: s.head,
    width: size,
    height: size,
    camera: { yawDeg: s.yawDeg, pitchDeg: s.pitchDeg ?? 0 },
    lighting: {
      environment: s.environment.map((l) => ({ map: l.map.startsWith('builtin:') || l.map.includes('/') ? l.map : sharedMap(l.map), rotationDeg: l.rotationDeg ?? 0, intensity: l.intensity ?? 1 })),
      pointLights: s.pointLights ?? [],
    },
    background,
    passes: ['beauty', 'mask'],
  };
  return parseSampleSpec(input, `fidelity scene ${s.name}`);
}

/** Blender's equirect convention in our world frame (row 0 = zenith): u = 0.5 + atan2(z, x)/2pi. */
export function blenderDirFromUv(u: number, v: number): [number, number, number] {
  const theta = Math.PI * v;
  const phi = 2 * Math.PI * (u - 0.5);
  return [Math.sin(theta) * Math.cos(phi), Math.cos(theta), Math.sin(theta) * Math.sin(phi)];
}

/** The map Blender must get so that its lookup of d returns ours (uvFromDir) for d. */
export function resampleForBlender(ours: EnvImage): EnvImage {
  const { width: W, height: H } = ours;
  const data = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = blenderDirFromUv((x + 0.5) / W, (y + 0.5) / H);
      const [u, v] = uvFromDir(d[0], d[1], d[2]);
      data.set(sampleBilinear(ours, u, v), (y * W + x) * 3);
    }
  }
  return { width: W, height: H, data };
}

async function writeEnvExr(file: string, env: EnvImage): Promise<void> {
  const n = env.width * env.height;
  const ch = [0, 1, 2].map(() => new Float32Array(n));
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) ch[c][p] = env.data[p * 3 + c];
  await writeExr(file, { width: env.width, height: env.height, channels: ['R', 'G', 'B'].map((name, c) => ({ name, data: ch[c] })) }, { pixelType: 'float', compression: 'zip' });
}

function activeLayers(spec: SampleSpec): EnvLayerSpec[] {
  return spec.lighting.environment.filter((l) => l.weight * l.intensity > 0);
}

/**
 * Scene JSON for cycles_reference.py. `world`: 'ours' = our combined lighting resampled to
 * Blender's convention; 'file' = the single layer's original file with Blender's own
 * orientation (background check).
 */
async function blenderScene(sample: RenderedSample, dir: string, spp: number, seeds: number[], world: 'ours' | 'file') {
  const spec = sample.spec;
  const d = sample.head.descriptor;
  const layers = activeLayers(spec);
  let image: string | null = null;
  let strength = 1;
  let rotationZRad = 0;
  if (layers.length && world === 'ours') {
    image = path.join(dir, 'env-blender.exr');
    await writeEnvExr(image, resampleForBlender(await combineLayers(layers)));
  } else if (layers.length) {
    if (layers.length !== 1 || layers[0].map.startsWith('builtin:')) throw new Error('background check needs one layer from a file');
    image = path.resolve(layers[0].map);
    strength = layers[0].intensity * layers[0].weight;
    rotationZRad = (layers[0].rotationDeg * Math.PI) / 180;
  }
  return {
    width: spec.width,
    height: spec.height,
    spp,
    seeds,
    outputs: seeds.map((s) => path.join(dir, `cycles-seed${s}.exr`)),
    resultJson: path.join(dir, 'blender-result.json'),
    transparent: spec.background === 'transparent',
    head: {
      mesh: sample.head.files.mesh,
      albedo: sample.head.files.albedo ?? null,
      normal: sample.head.files.normal ?? null,
      specular: sample.head.files.specular ?? null,
      roughnessMap: sample.head.files.roughness ?? null,
      specularMapMean: sample.head.specularMapMean ?? 1,
      normalScale: d.normalMap.scale,
      normalGreenUp: d.normalMap.convention === 'opengl',
      roughness: d.material.roughness,
      specularF0: d.material.specularF0,
      albedoFactor: d.material.albedoFactor,
      flipV: d.uvOrigin === 'bottom-left',
      toCanonical: canonicalMatrix(d.upAxis, d.facing, d.scaleToMetres),
    },
    camera: { fovYRad: sample.camera.fovYRad, cameraToWorldGL: sample.camera.cameraToWorldGL },
    world: { image, strength, rotationZRad },
    // Cycles: a point light of power P emits P / (4 pi) W/sr (checked against a lit diffuse plane).
    pointLights: spec.lighting.pointLights.map((l) => ({ position: l.position, color: l.color, powerW: 4 * Math.PI * l.intensity, radius: l.radius })),
  };
}

// ---------------------------------------------------------------------------------------
// Images and metrics

interface Rgba {
  width: number;
  height: number;
  /** premultiplied linear RGB, interleaved */
  rgb: Float32Array;
  alpha: Float32Array;
}

function oursImage(s: RenderedSample): Rgba {
  const b = s.modes.beauty!;
  const n = s.width * s.height;
  const rgb = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    const bgk = s.background ? 1 - s.mask[p] : 0;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = b[p * 4 + c] + (s.background ? bgk * s.background[p * 3 + c] : 0);
  }
  return { width: s.width, height: s.height, rgb, alpha: s.mask };
}

async function cyclesImage(file: string): Promise<Rgba> {
  const r = await readExr(file);
  const get = (name: string) => {
    const ch = r.channels.find((c) => c.name === name);
    if (!ch) throw new Error(`${file}: no channel ${name} (has ${r.channels.map((c) => c.name).join(', ')})`);
    return ch.data;
  };
  const [R, G, B, A] = ['R', 'G', 'B', 'A'].map(get);
  const n = r.width * r.height;
  const rgb = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    rgb[p * 3] = R[p];
    rgb[p * 3 + 1] = G[p];
    rgb[p * 3 + 2] = B[p];
  }
  return { width: r.width, height: r.height, rgb, alpha: Float32Array.from(A, (a) => Math.min(1, Math.max(0, a))) };
}

function unpremultiplied(img: Rgba, opaque: boolean): Float32Array {
  const out = new Float32Array(img.rgb.length);
  for (let p = 0; p < img.alpha.length; p++) {
    const a = opaque ? 1 : img.alpha[p];
    const k = a > 1e-4 ? 1 / a : 0;
    for (let c = 0; c < 3; c++) out[p * 3 + c] = img.rgb[p * 3 + c] * k;
  }
  return out;
}

/** As preview.png: x 2^EV, ACES fit, sRGB; as floats in [0, 1]. */
function display(rgb: Float32Array, exposure: number): Float32Array {
  const b = tonemapToSrgb8(rgb, 3, exposure, { curve: 'aces' });
  return Float32Array.from(b, (v) => v / 255);
}

function percentile(values: Float32Array | number[], q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

export interface PairMetrics {
  maskPixels: number;
  psnrDisplay: number;
  ssimDisplay: number;
  psnrLinear: number;
  energyRatio: number;
  maskIoU: number;
}

/** `test` against `ref` (the reference), display at `exposure` stops. */
export function compareImages(ref: Rgba, test: Rgba, exposure: number, opaque = false): PairMetrics {
  const { width: w, height: h } = ref;
  const n = w * h;
  const mask = new Uint8Array(n);
  let inter = 0, union = 0;
  for (let p = 0; p < n; p++) {
    mask[p] = ref.alpha[p] > 0.99 && test.alpha[p] > 0.99 ? 1 : 0;
    const a = ref.alpha[p] >= 0.5, b = test.alpha[p] >= 0.5;
    if (a && b) inter++;
    if (a || b) union++;
  }
  const dRef = display(unpremultiplied(ref, opaque), exposure);
  const dTest = display(unpremultiplied(test, opaque), exposure);
  const disp = imageMetrics(dRef, dTest, w, h, 3, mask);
  const onMask: number[] = [];
  let sumRef = 0, sumTest = 0;
  for (let p = 0; p < n; p++) {
    if (!mask[p]) continue;
    for (let c = 0; c < 3; c++) {
      onMask.push(ref.rgb[p * 3 + c]);
      sumRef += ref.rgb[p * 3 + c];
      sumTest += test.rgb[p * 3 + c];
    }
  }
  const p99 = percentile(onMask, 0.99);
  const k = p99 > 0 ? 1 / p99 : 1;
  const lin = maskedMse(ref.rgb.map((v) => v * k), test.rgb.map((v) => v * k), n, 3, mask);
  return {
    maskPixels: disp.pixels,
    psnrDisplay: disp.psnr,
    ssimDisplay: disp.ssim,
    psnrLinear: psnrFromMse(lin.mse),
    energyRatio: sumTest / sumRef,
    maskIoU: union ? inter / union : NaN,
  };
}

/** ours | Cycles | |display difference| x 4, premultiplied over black. */
async function writeSideBySide(file: string, ours: Rgba, cyc: Rgba, exposure: number): Promise<void> {
  const { width: w, height: h } = ours;
  const a = tonemapToSrgb8(ours.rgb, 3, exposure, { curve: 'aces' });
  const b = tonemapToSrgb8(cyc.rgb, 3, exposure, { curve: 'aces' });
  const out = new Uint8Array(w * 3 * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        out[(y * 3 * w + x) * 3 + c] = a[i + c];
        out[(y * 3 * w + w + x) * 3 + c] = b[i + c];
        out[(y * 3 * w + 2 * w + x) * 3 + c] = Math.min(255, 4 * Math.abs(a[i + c] - b[i + c]));
      }
    }
  }
  await writePng(file, out, { width: 3 * w, height: h, channels: 3, bitDepth: 8 });
}

// ---------------------------------------------------------------------------------------
// One scene end to end

export interface SceneResult extends PairMetrics {
  name: string;
  head: string;
  maps: string;
  yawDeg: number;
  exposure: number;
  oursS: number;
  cyclesS: number;
  blenderWallS: number;
  /** Largest difference between Blender's centred bounding box and ours, metres (placement check). */
  bboxErrM: number;
  noiseFloor?: { psnrDisplay: number; ssimDisplay: number; psnrLinear: number };
  sideBySide: string;
}

export interface RunOptions {
  size: number;
  spp: number;
  blender: string;
  workDir: string;
  /** Folder for side-by-side PNGs (null: none). */
  pngDir: string | null;
  noiseFloor?: boolean;
  log?: (m: string) => void;
}

function mapsLabel(s: FidelityScene): string {
  const env = s.environment.map((l) => `${l.map.replace(/^builtin:/, '').replace(/_1k$/, '')}${l.rotationDeg ? `@${l.rotationDeg}°` : ''}${(l.intensity ?? 1) !== 1 ? `x${l.intensity}` : ''}`);
  const pts = (s.pointLights ?? []).map(() => 'point');
  return [...env, ...pts].join(' + ') || '–';
}

function headLabel(s: FidelityScene): string {
  return s.head === PROC ? 'procedural' : path.basename(s.head);
}

async function renderOurs(renderer: Renderer, spec: SampleSpec): Promise<{ sample: RenderedSample; seconds: number }> {
  await renderer.renderSample(spec); // warm: head, environment cube and shader variant
  const t0 = performance.now();
  const sample = await renderer.renderSample(spec);
  return { sample, seconds: (performance.now() - t0) / 1000 };
}

function bboxError(sample: RenderedSample, res: BlenderResult): number {
  let e = 0;
  for (let k = 0; k < 3; k++) {
    e = Math.max(e, Math.abs(sample.headBounds.min[k] - res.bboxOurs[0][k]), Math.abs(sample.headBounds.max[k] - res.bboxOurs[1][k]));
  }
  return e;
}

export async function runScene(renderer: Renderer, scene: FidelityScene, o: RunOptions): Promise<SceneResult> {
  const dir = path.join(o.workDir, scene.name);
  fs.mkdirSync(dir, { recursive: true });
  const spec = sceneSpec(scene, o.size);
  const { sample, seconds: oursS } = await renderOurs(renderer, spec);
  const seeds = o.noiseFloor ? [0, 1] : [0];
  const bs = await blenderScene(sample, dir, o.spp, seeds, 'ours');
  const sceneJson = path.join(dir, 'scene.json');
  fs.writeFileSync(sceneJson, JSON.stringify(bs, null, 1));
  const t0 = performance.now();
  await runBlender(o.blender, sceneJson, path.join(dir, 'blender.log'));
  const blenderWallS = (performance.now() - t0) / 1000;
  const res = JSON.parse(fs.readFileSync(bs.resultJson, 'utf8')) as BlenderResult;
  const ours = oursImage(sample);
  const cyc = await cyclesImage(bs.outputs[0]);
  const exposure = autoExposure(unpremultiplied(ours, false), sample.mask);
  const m = compareImages(cyc, ours, exposure);
  let noiseFloor: SceneResult['noiseFloor'];
  if (o.noiseFloor) {
    const n = compareImages(cyc, await cyclesImage(bs.outputs[1]), exposure);
    noiseFloor = { psnrDisplay: n.psnrDisplay, ssimDisplay: n.ssimDisplay, psnrLinear: n.psnrLinear };
  }
  let sideBySide = '';
  if (o.pngDir) {
    fs.mkdirSync(o.pngDir, { recursive: true });
    sideBySide = path.join(o.pngDir, `${scene.name}.png`);
    await writeSideBySide(sideBySide, ours, cyc, exposure);
  }
  const r: SceneResult = {
    name: scene.name,
    head: headLabel(scene),
    maps: mapsLabel(scene),
    yawDeg: scene.yawDeg,
    exposure,
    ...m,
    oursS,
    cyclesS: res.renders[0].renderS,
    blenderWallS,
    bboxErrM: bboxError(sample, res),
    noiseFloor,
    sideBySide,
  };
  o.log?.(`[fidelity] ${scene.name}: display ${r.psnrDisplay.toFixed(2)} dB / SSIM ${r.ssimDisplay.toFixed(3)}, linear ${r.psnrLinear.toFixed(2)} dB, energy ${r.energyRatio.toFixed(3)}, IoU ${r.maskIoU.toFixed(4)}, ours ${oursS.toFixed(2)} s, Cycles ${r.cyclesS.toFixed(1)} s${noiseFloor ? `, noise floor ${noiseFloor.psnrDisplay.toFixed(2)} dB` : ''}`);
  return r;
}

export interface BackgroundResult {
  name: string;
  /** Blender gets our lighting resampled to its convention: checks camera + resampling. */
  resampled: { meanRelErr: number; medianRelErr: number; pixels: number };
  /** Blender gets the original file (its own orientation): our convention vs Blender's. */
  standard: { meanRelErr: number; medianRelErr: number; pixels: number };
}

/** Relative error per background pixel (ours' coverage 0, 2 px away from the head). */
function backgroundError(ours: Rgba, cyc: Rgba): { meanRelErr: number; medianRelErr: number; pixels: number } {
  const { width: w, height: h } = ours;
  const errs: number[] = [];
  const R = 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let near = false;
      for (let dy = -R; dy <= R && !near; dy++) {
        for (let dx = -R; dx <= R && !near; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < w && yy < h && ours.alpha[yy * w + xx] > 0) near = true;
        }
      }
      if (near) continue;
      const p = y * w + x;
      let num = 0, den = 0;
      for (let c = 0; c < 3; c++) {
        num += Math.abs(ours.rgb[p * 3 + c] - cyc.rgb[p * 3 + c]);
        den += Math.abs(cyc.rgb[p * 3 + c]);
      }
      errs.push(num / Math.max(den, 1e-6));
    }
  }
  return { meanRelErr: errs.reduce((a, b) => a + b, 0) / errs.length, medianRelErr: percentile(errs, 0.5), pixels: errs.length };
}

export async function runBackgroundCheck(renderer: Renderer, scene: FidelityScene, o: RunOptions): Promise<BackgroundResult> {
  const spec = sceneSpec(scene, o.size, 'environment');
  const { sample } = await renderOurs(renderer, spec);
  const ours = oursImage(sample);
  const out: Partial<BackgroundResult> = { name: scene.name };
  for (const world of ['resampled', 'standard'] as const) {
    const dir = path.join(o.workDir, `${scene.name}-${world}`);
    fs.mkdirSync(dir, { recursive: true });
    const bs = await blenderScene(sample, dir, BACKGROUND_SPP, [0], world === 'resampled' ? 'ours' : 'file');
    const sceneJson = path.join(dir, 'scene.json');
    fs.writeFileSync(sceneJson, JSON.stringify(bs, null, 1));
    await runBlender(o.blender, sceneJson, path.join(dir, 'blender.log'));
    const cyc = await cyclesImage(bs.outputs[0]);
    out[world] = backgroundError(ours, cyc);
    if (o.pngDir) await writeSideBySide(path.join(o.pngDir, `${scene.name}-${world}.png`), ours, cyc, autoExposure(ours.rgb, new Float32Array(ours.alpha.length).fill(1)));
    o.log?.(`[fidelity] background ${world}: mean relative error ${(out[world]!.meanRelErr * 100).toFixed(2)} % over ${out[world]!.pixels} px`);
  }
  return out as BackgroundResult;
}

// ---------------------------------------------------------------------------------------
// Section

type FidelityOptions = BenchOptions & { spp?: number; size?: number; scenes?: string };

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');

export const fidelitySection: Section = {
  name: 'fidelity',
  title: 'Fidelity against Cycles',
  async run(ctx: BenchContext) {
    const o = ctx.opts as FidelityOptions;
    const spp = o.spp ?? 128;
    const size = o.size ?? 512;
    const startedAt = new Date();
    const blender = findBlender();
    if (!blender) {
      ctx.log('[fidelity] blender not found (PATH or VLS_BLENDER): section skipped');
      return {
        intro: ['**Skipped: Blender not found** (no `blender` on PATH and no `VLS_BLENDER`). Install it (Debian: `apt-get install -y --no-install-recommends blender`) and rerun.'],
        tables: [],
        notes: [],
        data: { skipped: 'blender not found' },
      };
    }
    let scenes = SCENES;
    if (o.scenes) {
      const names = o.scenes.split(',').map((s) => s.trim()).filter(Boolean);
      for (const n of names) if (!SCENES.some((s) => s.name === n) && n !== BACKGROUND_SCENE.name) throw new Error(`--scenes: unknown scene "${n}" (known: ${[...SCENES, BACKGROUND_SCENE].map((s) => s.name).join(', ')})`);
      scenes = SCENES.filter((s) => names.includes(s.name));
    }
    const withBackground = !o.scenes || o.scenes.split(',').map((s) => s.trim()).includes(BACKGROUND_SCENE.name);
    const needsShared = [...scenes, ...(withBackground ? [BACKGROUND_SCENE] : [])].some((s) => s.head === LPS || s.environment.some((l) => !l.map.startsWith('builtin:')));
    if (needsShared && !fs.existsSync(path.join(PROJECT_ROOT, '..', 'shared', 'assets'))) {
      return { intro: ['**Skipped: ../shared/assets not found** (the real scan and the Poly Haven maps).'], tables: [], notes: [], data: { skipped: 'no ../shared/assets' } };
    }
    const outDir = path.join(PROJECT_ROOT, 'output', 'bench');
    const pngDir = path.join(outDir, 'fidelity');
    const workDir = path.join(ctx.tmpDir, 'fidelity');
    const renderer = await Renderer.launch({ log: ctx.opts.quiet ? undefined : (m) => ctx.log(`[fidelity] ${m}`) });
    const results: SceneResult[] = [];
    let background: BackgroundResult | null = null;
    const t0 = performance.now();
    try {
      for (const s of scenes) {
        results.push(await runScene(renderer, s, { size, spp, blender, workDir, pngDir, noiseFloor: NOISE_FLOOR_SCENES.includes(s.name), log: ctx.log }));
      }
      if (withBackground) background = await runBackgroundCheck(renderer, BACKGROUND_SCENE, { size, spp, blender, workDir, pngDir, log: ctx.log });
    } finally {
      await renderer.close();
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const blenderVersion = (() => {
      try {
        const first = fs.readdirSync(workDir).find((d) => fs.existsSync(path.join(workDir, d, 'blender-result.json')));
        return first ? (JSON.parse(fs.readFileSync(path.join(workDir, first, 'blender-result.json'), 'utf8')) as BlenderResult).blender : 'unknown';
      } catch {
        return 'unknown';
      }
    })();

    const worstFirst = [...results].sort((a, b) => a.psnrDisplay - b.psnrDisplay);
    const tables: Table[] = [
      {
        title: `Ours vs Cycles (${spp} spp), ${size}x${size}, mask = both coverages > 0.99; worst display PSNR first`,
        columns: ['scene', 'head', 'lighting', 'yaw', 'PSNR display, dB', 'SSIM display', 'PSNR linear, dB', 'energy ours / Cycles', 'mask IoU', 'ours, s / frame', 'Cycles, s / frame', 'Cycles / ours'],
        rows: worstFirst.map((r) => [r.name, r.head, r.maps, `${r.yawDeg}°`, f2(r.psnrDisplay), f3(r.ssimDisplay), f2(r.psnrLinear), f3(r.energyRatio), r.maskIoU.toFixed(4), f2(r.oursS), r.cyclesS.toFixed(1), `${(r.cyclesS / r.oursS).toFixed(0)}x`]),
      },
    ];
    const nf = results.filter((r) => r.noiseFloor);
    if (nf.length) {
      tables.push({
        title: `Cycles noise floor: seed 0 vs seed 1, both ${spp} spp (same metrics, same exposure)`,
        columns: ['scene', 'PSNR display, dB', 'SSIM display', 'PSNR linear, dB', 'ours vs Cycles, display dB'],
        rows: nf.map((r) => [r.name, f2(r.noiseFloor!.psnrDisplay), f3(r.noiseFloor!.ssimDisplay), f2(r.noiseFloor!.psnrLinear), f2(r.psnrDisplay)]),
      });
    }
    if (background) {
      tables.push({
        title: `Background alignment (${background.name}: background = environment in both, ${BACKGROUND_SPP} spp; pixels ≥ 3 px from the head)`,
        columns: ['Blender world', 'mean relative error', 'median relative error', 'pixels'],
        rows: [
          ['original file, Blender\'s own orientation (our convention vs Blender\'s; goal < 1 %)', `${(background.standard.meanRelErr * 100).toFixed(2)} %`, `${(background.standard.medianRelErr * 100).toFixed(2)} %`, String(background.standard.pixels)],
          ['our lighting resampled to Blender\'s convention (camera + resampling check)', `${(background.resampled.meanRelErr * 100).toFixed(2)} %`, `${(background.resampled.medianRelErr * 100).toFixed(2)} %`, String(background.resampled.pixels)],
        ],
      });
    }
    const maxBbox = Math.max(...results.map((r) => r.bboxErrM));
    const meanOurs = results.reduce((a, r) => a + r.oursS, 0) / Math.max(1, results.length);
    const meanCycles = results.reduce((a, r) => a + r.cyclesS, 0) / Math.max(1, results.length);
    const data = { startedAt: startedAt.toISOString(), elapsedS, spp, size, blender: blenderVersion, system: ctx.system, scenes: results, background };
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'fidelity.json'), JSON.stringify(data, null, 2));
    return {
      intro: [
        `Run ${startedAt.toISOString().slice(0, 10)} on ${ctx.system.cpuModel}, ${ctx.system.cores} cores, no GPU (shared machine: ±20 % on timings); ours on the renderer's chosen backend, Cycles = Blender ${blenderVersion} CPU, ${spp} spp, box pixel filter 1 px, no denoising, no adaptive sampling; ${size}x${size}; ${elapsedS.toFixed(0)} s for the section.`,
        'Same spec for both (scripts/bench-fidelity.ts, scripts/blender/cycles_reference.py): head through Blender\'s glTF importer moved into our frame, Principled BSDF from the head descriptor (albedo sRGB, normal map Non-Color at the descriptor\'s scale, roughness, Specular = F0 / 0.08, specular map about its mean, Subsurface 0), camera from the resolved pose and fov, point lights with P = 4π I. Blender\'s environment is our combined lighting resampled through our own lat-long functions, so these rows compare shading, not orientation (the background table measures orientation).',
        'Display = ACES fit + sRGB as in preview.png, both at our auto exposure; linear PSNR on values divided by Cycles\' 99th percentile on the mask; energy = sum of our RGB / sum of Cycles\' over the mask. Side-by-sides (ours | Cycles | |difference| x4): `output/bench/fidelity/<scene>.png`; raw numbers: `output/bench/fidelity.json`.',
      ],
      tables,
      notes: [
        `Mean seconds per frame: ours ${meanOurs.toFixed(2)} s (warm renderSample, beauty + mask, MSAA 4), Cycles ${meanCycles.toFixed(1)} s (render only; Blender start + head import come on top). Head placement check: Blender's centred bounding box is within ${(maxBbox * 1000).toFixed(2)} mm of ours in every scene.`,
      ],
      data,
    };
  },
};
