// Node-only. Typed builders of the records every driver writes, from their parts: the camera
// record, the encodings record, the per-lighting entries and sample.json itself (batch engine and
// OLAT relit triplets), and the frame.json of a sequence. Field order is the order written.
import type { ResolvedCamera } from '../core/camera.js';
import type { LandmarksRecord } from '../develop/landmarks.js';
import { ENCODING_FILES, LATLONG_HEIGHT, LATLONG_WIDTH } from './encodings.js';
import { SAMPLE_VERSION } from './layout.js';
import {
  DATASET_FORMAT_VERSION,
  type CameraRecord,
  type EncodingsRecord,
  type FrameRecord,
  type HeadParamsRecord,
  type LightingRecord,
  type SampleHeadRecord,
  type SampleLightingEntry,
  type SampleRecord,
} from './records.js';

/** The resolved camera as records write it; `fovYDeg` as the caller computes it (bytes depend on the formula). */
export function cameraRecord(c: ResolvedCamera, fovYDeg = (c.fovYRad * 180) / Math.PI): CameraRecord {
  return { width: c.width, height: c.height, fovYDeg, position: c.position, target: c.target, up: c.up, K: c.K, worldToCameraCV: c.worldToCameraCV, cameraToWorldGL: c.cameraToWorldGL };
}

/** The encodings record of a lighting folder; file names relative to the sample folder (`folder/...`), or bare without `folder`. */
export function encodingsRecord(sh9: Float32Array, folder?: string): EncodingsRecord {
  const at = (f: string) => (folder ? `${folder}/${f}` : f);
  return { latlong16: at(ENCODING_FILES.latlong), latlongShape: [LATLONG_HEIGHT, LATLONG_WIDTH, 3], sh9File: at(ENCODING_FILES.sh9), sh9: Array.from(sh9) };
}

/**
 * sample.json's head: the reference the planner drew and what it resolved to, and for a drawn
 * head (ICT identity) every weight of the draw as `params` (absent otherwise, so other heads'
 * records are unchanged).
 */
export function sampleHeadRecord(
  ref: string,
  head: { descriptor: { id: string; name?: string; license?: string | null; attribution?: string | null }; contentHash: string },
  params?: HeadParamsRecord,
): SampleHeadRecord {
  const d = head.descriptor;
  return { ref, id: d.id, name: d.name ?? d.id, contentHash: head.contentHash, license: d.license ?? null, attribution: d.attribution ?? null, ...(params ? { params } : {}) };
}

export interface LightingEntryParts {
  /** the lighting key, also its folder name */
  key: string;
  role: string;
  lighting: LightingRecord;
  passes: readonly string[];
  sh9: Float32Array;
  /** the camera-simulated image of this lighting (file name inside its folder) and its record */
  cameraSim?: { fileName: string; record: object } | null;
  /** relit: the weights file name inside the folder and its sha256 */
  weights?: { fileName: string; sha256: string };
}

/** One entry of sample.json `lightings` (the folder is the key). */
export function lightingEntry(p: LightingEntryParts): SampleLightingEntry {
  return {
    key: p.key,
    folder: p.key,
    role: p.role,
    lighting: p.lighting,
    passes: [...p.passes],
    ...(p.cameraSim ? { camera: { file: `${p.key}/${p.cameraSim.fileName}`, record: p.cameraSim.record as Record<string, unknown> } } : {}),
    encodings: encodingsRecord(p.sh9, p.key),
    ...(p.weights ? { weights: { file: `${p.key}/${p.weights.fileName}`, sha256: p.weights.sha256 } } : {}),
  };
}

export interface SampleRecordParts {
  index: number;
  id: string;
  seed: number;
  head: SampleHeadRecord;
  /** the drawn camera (planner draw / stack orbit) */
  drawnCamera: object;
  camera: CameraRecord;
  augment: { applied: boolean };
  /** the head's landmarks in this frame (heads that have them) */
  landmarks?: LandmarksRecord;
  /** the lighting draws */
  lighting: object;
  lightings: SampleLightingEntry[];
  /** relit samples only (null = unknown); absent for rendered samples */
  provenance?: object | null;
  files: string[];
  run: SampleRecord['run'];
}

/** sample.json of one training sample. */
export function buildSampleRecord(p: SampleRecordParts): SampleRecord {
  return {
    format_version: DATASET_FORMAT_VERSION,
    sampleVersion: SAMPLE_VERSION,
    index: p.index,
    id: p.id,
    seed: p.seed,
    head: p.head,
    camera: { drawn: p.drawnCamera as Record<string, unknown>, ...p.camera },
    augment: p.augment,
    ...(p.landmarks ? { landmarks: p.landmarks } : {}),
    lighting: p.lighting as Record<string, unknown>,
    lightings: p.lightings,
    ...(p.provenance !== undefined ? { provenance: p.provenance as Record<string, unknown> | null } : {}),
    files: p.files,
    run: p.run,
  };
}

export interface FrameRecordParts {
  index: number;
  id: string;
  timeS: number;
  headPose: FrameRecord['headPose'];
  worldCamera: { position: [number, number, number]; target: [number, number, number]; up: [number, number, number] };
  worldFovYDeg: number;
  renderCamera: ResolvedCamera;
  renderOrbit: object;
  lightingFrame: 'world' | 'head';
  input: { world: LightingRecord; render: LightingRecord };
  target: { world: LightingRecord; render: LightingRecord } | null;
  /** per role (input, target): the SH9 of its lighting */
  encodings: { role: 'input' | 'target'; sh9: Float32Array }[];
  cameraSim: object | null;
  repairs: number;
  /** animated expressions: the frame's shape weights (null: a rigid head) */
  expressions?: Record<string, number> | null;
  /** the head's landmarks in the input render (heads that have them) */
  landmarks?: LandmarksRecord | null;
}

/** A sequence's frames/NNNNNN/frame.json. */
export function buildFrameRecord(p: FrameRecordParts): FrameRecord {
  const c = p.renderCamera;
  return {
    format_version: DATASET_FORMAT_VERSION,
    index: p.index,
    id: p.id,
    timeS: p.timeS,
    headPose: p.headPose,
    // The sequence's own formula for fovYDeg (rad / (pi/180)): it may differ from *180/pi in the last bit.
    cameras: { world: { ...p.worldCamera, fovYDeg: p.worldFovYDeg }, render: cameraRecord(c, c.fovYRad / (Math.PI / 180)), renderOrbit: p.renderOrbit as Record<string, unknown> },
    lighting: { frame: p.lightingFrame, input: p.input, target: p.target },
    encodings: Object.fromEntries(p.encodings.map((e) => [e.role, { latlong16: `${e.role}/${ENCODING_FILES.latlong}`, sh9: Array.from(e.sh9) }])),
    cameraSim: p.cameraSim as Record<string, unknown> | null,
    repairs: p.repairs,
    ...(p.expressions ? { expressions: p.expressions } : {}),
    ...(p.landmarks ? { landmarks: p.landmarks } : {}),
  };
}
