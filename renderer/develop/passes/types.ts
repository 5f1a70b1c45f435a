// The pass registry's contract. A pass turns the page's raw render modes into encoded files (bytes
// in memory); the dataset writer (renderer/dataset/write-sample.ts) writes them, atomically.
import type { RenderModeName } from '../../core/render-modes.js';
import type { ResolvedCamera } from '../../core/camera.js';

export interface PassContext {
  width: number;
  height: number;
  camera: ResolvedCamera;
  /** Raw modes from the page: interleaved, row 0 = top, channels as in MODE_CHANNELS. */
  modes: Partial<Record<RenderModeName, Float32Array>>;
  /**
   * Anti-aliased coverage in [0,1] (beauty alpha after the MSAA resolve). Surface modes are
   * point-sampled at pixel centres (no MSAA): 0 where the centre misses the head.
   */
  mask: Float32Array;
  /** Linear RGB radiance seen through each pixel where the head is not (null: transparent). */
  background: Float32Array | null;
  output: { exrPixelType: 'half' | 'float'; exrCompression: 'zip' | 'none'; previewExposure: number | 'auto' };
}

export interface PassFile {
  pass: string;
  file: string;
  format: 'exr' | 'png';
  channels: string[];
  pixelType: 'half' | 'float' | 'uint8' | 'uint16';
  description: string;
}

/** A pass file and its bytes, ready to be written into the sample folder under `file`. */
export interface EncodedPassFile extends PassFile {
  bytes: Buffer;
}

export interface PassDefinition {
  name: string;
  description: string;
  /** Render modes the page must produce for this pass. */
  requires: RenderModeName[];
  /** The pass's files, encoded in memory (nothing is written here). */
  encode(ctx: PassContext): Promise<EncodedPassFile[]>;
}
