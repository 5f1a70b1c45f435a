// What one page render hands to Node: the raw frames of a sample (one Float32Array per render mode,
// row 0 = top) and where it was rendered. Develop and dataset code work on these; the engine makes them.
import type { Backend } from '../core/backend.js';
import type { ResolvedCamera } from '../core/camera.js';
import type { PageRenderResult } from '../core/protocol.js';
import type { RenderModeName } from '../core/render-modes.js';
import type { SampleSpec } from '../core/spec.js';
import type { ResolvedHead } from '../assets/head.js';

export interface RendererInfo {
  backend: Backend;
  webglRenderer: string;
  backendReason: string;
  chromium: string;
  babylon: string;
  launchMs: number;
  pageReadyMs: number;
}

export interface RenderedSample {
  spec: SampleSpec;
  camera: ResolvedCamera;
  head: ResolvedHead;
  headBounds: { min: number[]; max: number[] };
  /** The head's 68 landmarks in the canonical frame (heads that have them: head.json "landmarks"). */
  landmarks?: [number, number, number][];
  width: number;
  height: number;
  modes: Partial<Record<RenderModeName, Float32Array>>;
  mask: Float32Array;
  background: Float32Array | null;
  timings: { totalMs: number; pageMs: number; transferMs: number; decodeMs: number; writeMs?: number; page: PageRenderResult['timings'] };
  uploadBytes: number;
}
