// Fidelity bench: Blender Cycles as the reference. Finding and running Blender, and the scene
// JSON that scripts/blender/cycles_reference.py reads (head, material, camera, lights, and the
// environment resampled from OUR combined lighting to Blender's equirect convention).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { RenderedSample } from '../../../renderer/engine/renderer.js';
import type { SampleSpec } from '../../../renderer/core/spec.js';
import { combineLayers, type EnvLayerSpec } from '../../../renderer/assets/environment.js';
import { PROJECT_ROOT } from '../../../renderer/io/paths.js';
import { writeExr } from '../../../renderer/io/exr-write.js';
import { canonicalMatrix } from '../../../renderer/core/frame.js';
import { uvFromDir, sampleBilinear, type EnvImage } from '../../../renderer/core/latlong.js';


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

export function runBlender(blender: string, sceneJson: string, logFile: string): Promise<void> {
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

export interface BlenderResult {
  blender: string;
  importS: number;
  renders: { seed: number; output: string; renderS: number }[];
  bboxOurs: [number[], number[]];
  totalS: number;
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
export async function blenderScene(sample: RenderedSample, dir: string, spp: number, seeds: number[], world: 'ours' | 'file') {
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
