// Node-only. The light-stage dataset mode (batch config `olat`): consecutive samples share a pose
// (head, expression, camera: the planner draws them per group of `lightingsPerPose` samples), the
// pose's OLAT stack is captured once (renderer/pipelines/olat/capture.ts, cached on disk by
// pose, rig and capture settings) and each sample's lighting triplet is relit from it as weighted
// sums (relit-sample.ts): the same sample layout, encodings and provenance as the relit triplets
// of `npm run olat-relight`, made by the batch engine (shards, workers, resume, finalize).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OLAT_PASSES, type OlatMode } from './olat-schema.js';
import type { Renderer } from '../../engine/renderer.js';
import { makeRig, rigToJson, type Rig } from '../../core/rig.js';
import { stableStringify } from '../../assets/ict/params.js';
import { captureStack } from '../olat/capture.js';
import { readStack, writeStack, type OlatStack } from '../olat/stack-io.js';
import { Relighter } from '../olat/relight.js';
import { RELIT_PASSES, loadLightingMaps, writeRelitTriplet, TRIPLET_ROLES } from '../olat/relit-sample.js';
import { lightingWeights } from '../../core/rig.js';
import type { LightingTriplet } from '../../core/lighting.js';
import type { HeadParamsRecord } from '../../dataset/records.js';

export { OlatModeSchema, OLAT_PASSES, type OlatMode } from './olat-schema.js';

// The schema's pass list is the relit sample's (checked here, where both are known).
if (OLAT_PASSES.join() !== RELIT_PASSES.join()) throw new Error('olat-schema.ts OLAT_PASSES differ from relit-sample.ts RELIT_PASSES');

/** The first sample of sample `index`'s pose group (whose head and camera draws the group uses). */
export function poseStart(index: number, perPose: number): number {
  return Math.floor(index / perPose) * perPose;
}

export interface OlatPose {
  head: string;
  width: number;
  height: number;
  camera: Record<string, unknown>;
}

interface Loaded {
  key: string;
  stack: OlatStack;
  file: string;
  relighter: Relighter;
  rig: Rig;
}

/** One worker's current pose: its stack (captured or read from the cache) and a relighter over it. */
export class OlatPoseCache {
  private current: Loaded | null = null;

  constructor(
    private readonly mode: OlatMode,
    private readonly cacheRoot: string,
  ) {}

  private keyOf(pose: OlatPose, rig: Rig): string {
    const what = { v: 1, pose, rig: rigToJson(rig), shadowMapSize: this.mode.shadowMapSize, maskMsaa: this.mode.maskMsaa };
    return crypto.createHash('sha256').update(stableStringify(what)).digest('hex').slice(0, 20);
  }

  async get(pose: OlatPose, renderer: () => Promise<Renderer>, log?: (m: string) => void): Promise<Loaded> {
    const rig = makeRig(this.mode.rig);
    const key = this.keyOf(pose, rig);
    if (this.current?.key === key) return this.current;
    await this.close();
    const dir = path.join(this.cacheRoot, 'olat');
    const file = path.join(dir, `pose-${key}.olat`);
    let stack: OlatStack;
    if (fs.existsSync(file)) stack = readStack(file);
    else {
      const t0 = performance.now();
      stack = await captureStack(await renderer(), { head: pose.head, width: pose.width, height: pose.height, camera: pose.camera, rig, shadowMapSize: this.mode.shadowMapSize, maskMsaa: this.mode.maskMsaa });
      fs.mkdirSync(dir, { recursive: true });
      writeStack(file, stack); // atomic: a concurrent worker writing the same pose writes the same bytes
      log?.(`OLAT stack of pose ${key}: ${rig.lights.length} lights captured in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const h = stack.header;
    const relighter = await Relighter.create({ imageCount: h.imageCount, pixelCount: h.pixelCount, images: stack.images }, { batch: 16 });
    this.current = { key, stack, file, relighter, rig };
    return this.current;
  }

  async close(): Promise<void> {
    const c = this.current;
    this.current = null;
    if (c) await c.relighter.close();
  }
}

/** Writes sample `index` (its triplet relit from the pose's stack) into outDir/samples/. */
export async function writeOlatSample(
  outDir: string,
  index: number,
  seed: number,
  triplet: LightingTriplet,
  loaded: Loaded,
  opts: { headRadius: number; cacheRoot: string; headParams?: HeadParamsRecord },
): Promise<void> {
  const lightings = TRIPLET_ROLES.map(([, , k]) => triplet[k]);
  const loadMap = await loadLightingMaps(lightings);
  const weights = lightings.map((l) => lightingWeights(loaded.rig, l, loadMap));
  const relit = await loaded.relighter.relight(weights);
  await writeRelitTriplet(
    outDir,
    index,
    seed,
    triplet,
    { stack: loaded.stack, stackFile: loaded.file, rig: loaded.rig, relighter: loaded.relighter, headRadius: opts.headRadius, loadMap, cacheRoot: opts.cacheRoot, ...(opts.headParams ? { headParams: opts.headParams } : {}) },
    { weights, relit },
  );
}
