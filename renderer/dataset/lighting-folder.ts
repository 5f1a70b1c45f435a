// Node-only. One lighting folder of a training sample (samples/NNNNNN/<key>/): the passes and
// meta.json (writeSample), the camera-simulated input when asked, and the lighting encodings;
// returns the folder's sample.json entry. Used by the batch engine for every lighting.
import path from 'node:path';
import { writeSample } from './write-sample.js';
import { float32LE, ENCODING_FILES, type LightingEncoding } from './encodings.js';
import { lightingEntry } from './sample-record.js';
import type { SampleLightingEntry, LightingRecord } from './records.js';
import { simulateCamera, type CameraSimOptions } from '../develop/camera-sim.js';
import { compositeBeauty } from '../develop/passes/beauty.js';
import { writeFileAtomic } from '../io/fs-atomic.js';
import type { Rng } from '../core/rng.js';
import type { RenderedSample, RendererInfo } from '../develop/rendered.js';

export interface LightingFolderOptions {
  key: string;
  role: string;
  lighting: LightingRecord;
  passes: readonly string[];
  /** The lighting's encodings (awaited after the passes are written). */
  encoding: Promise<LightingEncoding> | LightingEncoding;
  /** meta.json "extra" (the camera-sim record is added as extra.cameraSim) */
  extra: Record<string, unknown>;
  /** Camera simulation of this lighting's beauty (camera.jpg/png), or null. */
  cameraSim?: { options: CameraSimOptions; rng: Rng; frame: string } | null;
}

/** Writes the lighting folder `dir` (it must not exist) and returns its sample.json entry. */
export async function writeLightingFolder(dir: string, r: RenderedSample, info: RendererInfo, o: LightingFolderOptions): Promise<SampleLightingEntry> {
  const cs = o.cameraSim;
  const cam = cs && r.modes.beauty ? await simulateCamera(compositeBeauty(r.modes.beauty, r.mask, r.background), r.width, r.height, cs.options, cs.rng, { frame: cs.frame }) : null;
  await writeSample(dir, r, info, {
    extra: { ...o.extra, ...(cam ? { cameraSim: cam.record } : {}) },
    extraFiles: cam ? { [cam.fileName]: cam.bytes } : undefined,
  });
  const enc = await o.encoding;
  await writeFileAtomic(path.join(dir, ENCODING_FILES.latlong), float32LE(enc.latlong), { fsync: false });
  await writeFileAtomic(path.join(dir, ENCODING_FILES.sh9), float32LE(enc.sh9), { fsync: false });
  return lightingEntry({ key: o.key, role: o.role, lighting: o.lighting, passes: o.passes, sh9: enc.sh9, cameraSim: cam ? { fileName: cam.fileName, record: cam.record } : null });
}
