// The pass registry's contract. A pass turns the page's raw render modes into files.
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
  /** Folder the files go to (a temp folder renamed into place once the sample is complete). */
  dir: string;
}

export interface PassFile {
  pass: string;
  file: string;
  format: 'exr' | 'png';
  channels: string[];
  pixelType: 'half' | 'float' | 'uint8' | 'uint16';
  description: string;
}

export interface PassDefinition {
  name: string;
  description: string;
  /** Render modes the page must produce for this pass. */
  requires: RenderModeName[];
  write(ctx: PassContext): Promise<PassFile[]>;
}
