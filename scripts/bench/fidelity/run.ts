// Fidelity bench: one scene end to end (our render, Blender's, the metrics) and the background
// alignment check.
import fs from 'node:fs';
import path from 'node:path';
import type { Renderer, RenderedSample } from '../../../renderer/engine/renderer.js';
import type { SampleSpec } from '../../../renderer/core/spec.js';
import { autoExposure } from '../../../renderer/core/color.js';
import { BACKGROUND_SPP, headLabel, mapsLabel, sceneSpec, type FidelityScene } from './scenes.js';
import { blenderScene, runBlender, type BlenderResult } from './blender.js';
import { backgroundError, compareImages, cyclesImage, oursImage, unpremultiplied, writeSideBySide, type PairMetrics } from './images.js';

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
