// The optical flow pairs of a rendered sequence: forward and backward flow with occlusion codes
// between neighbouring frames, from the written depth and cameras (renderer/develop/flow.ts), and
// for a deforming head (animated expressions) from each frame's motion.exr: where every pixel's
// surface point is one frame before and after, so the flow follows the vertices, not the camera
// alone. A pair folder is written under a temp name and renamed; finished pairs are kept.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { computeFlow, readFrameGeometry, readMotion, writeFlow, FLOW_DOC, type FlowOptions, type FlowStats } from '../develop/flow.js';
import { writeJsonAtomic } from '../io/fs-atomic.js';

/** A deforming head's input frames hold this file (renderer/develop/flow.ts MOTION_CHANNELS). */
export const MOTION_FILE = 'motion.exr';

export function frameId(t: number): string {
  return String(t).padStart(6, '0');
}

export function pairId(a: number, b: number): string {
  return `${frameId(a)}_${frameId(b)}`;
}

export interface FlowPairsOptions {
  framesDir: string;
  flowDir: string;
  frames: number;
  tolerance: FlowOptions;
  /** Frames carry motion.exr (animated expressions): flow from the vertices' motion. */
  deforming: boolean;
  /** Filled per pair id (finished pairs read back from pair.json). */
  flowStats: Record<string, { forward: FlowStats; backward: FlowStats }>;
}

/** Writes the missing pairs; returns how many were computed. */
export async function writeFlowPairs(o: FlowPairsOptions): Promise<number> {
  let computed = 0;
  for (let t = 0; t + 1 < o.frames; t++) {
    const id = pairId(t, t + 1);
    const final = path.join(o.flowDir, id);
    if (fs.existsSync(final)) {
      const pj = JSON.parse(fs.readFileSync(path.join(final, 'pair.json'), 'utf8')) as { forward: { stats: FlowStats }; backward: { stats: FlowStats } };
      o.flowStats[id] = { forward: pj.forward.stats, backward: pj.backward.stats };
      continue;
    }
    const dirA = path.join(o.framesDir, frameId(t), 'input');
    const dirB = path.join(o.framesDir, frameId(t + 1), 'input');
    const a = await readFrameGeometry(dirA);
    const b = await readFrameGeometry(dirB);
    const ma = o.deforming ? await readMotion(path.join(dirA, MOTION_FILE)) : null;
    const mb = o.deforming ? await readMotion(path.join(dirB, MOTION_FILE)) : null;
    const fw = computeFlow(a, b, o.tolerance, ma ? ma.next : null);
    const bw = computeFlow(b, a, o.tolerance, mb ? mb.prev : null);
    const tmp = `${final}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    fs.mkdirSync(tmp);
    try {
      const fFiles = await writeFlow(tmp, 'forward', fw);
      const bFiles = await writeFlow(tmp, 'backward', bw);
      await writeJsonAtomic(path.join(tmp, 'pair.json'), {
        from: frameId(t),
        to: frameId(t + 1),
        forward: { ...fFiles, source: frameId(t), destination: frameId(t + 1), stats: fw.stats },
        backward: { ...bFiles, source: frameId(t + 1), destination: frameId(t), stats: bw.stats },
        tolerance: o.tolerance,
        ...(o.deforming ? { motion: 'per-vertex: each frame\'s motion.exr (the head deforms)' } : {}),
        doc: FLOW_DOC,
      });
      fs.renameSync(tmp, final);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    o.flowStats[id] = { forward: fw.stats, backward: bw.stats };
    computed++;
  }
  return computed;
}
