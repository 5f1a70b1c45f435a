// The crop augmentation on a rendered sample: a window of a larger render, no resampling.
import type { RenderedSample } from './rendered.js';

export interface CropPlan {
  applied: boolean;
  /** drawn crop side fraction (1 when not applied) */
  scale: number;
  /** the frame actually rendered (same camera, larger image) */
  renderWidth: number;
  renderHeight: number;
  /** top-left of the kept width x height window in the rendered frame, pixels */
  x0: number;
  y0: number;
  /**
   * The crop box in the un-augmented width x height frame (pixels, may be fractional), i.e.
   * "crop this box and resize it to width x height" — what the rendered window is.
   */
  box: { x: number; y: number; w: number; h: number };
  /** The box normalised by width / height. */
  boxNormalized: { x: number; y: number; w: number; h: number };
  /** Draws of the 'augment' stream: [u_apply, u_scale, u_x, u_y]. */
  u: [number, number, number, number];
}

/**
 * The crop augmentation: keeps the width x height window at (x0, y0) of a sample rendered at
 * renderWidth x renderHeight. No resampling: every pass (depth, normals, mask) stays exact. The
 * camera keeps its pose; K gets the window's principal point (c - x0, c - y0) and fovY becomes the
 * window's effective 2*atan(height / 2f). `spec` stays the one rendered.
 */
export function cropRendered(r: RenderedSample, crop: CropPlan, width: number, height: number): RenderedSample {
  if (!crop.applied && r.width === width && r.height === height) return r;
  const Rw = r.width;
  const Rh = r.height;
  if (Rw !== crop.renderWidth || Rh !== crop.renderHeight) throw new Error(`crop: rendered ${Rw}x${Rh}, planned ${crop.renderWidth}x${crop.renderHeight}`);
  const window = (src: Float32Array): Float32Array => {
    const ch = src.length / (Rw * Rh);
    const out = new Float32Array(width * height * ch);
    for (let y = 0; y < height; y++) {
      const s = ((crop.y0 + y) * Rw + crop.x0) * ch;
      out.set(src.subarray(s, s + width * ch), y * width * ch);
    }
    return out;
  };
  const modes: RenderedSample['modes'] = {};
  for (const [k, v] of Object.entries(r.modes) as [keyof RenderedSample['modes'], Float32Array][]) modes[k] = window(v);
  const f = r.camera.K[0][0];
  const K = [
    [f, 0, r.camera.K[0][2] - crop.x0],
    [0, r.camera.K[1][1], r.camera.K[1][2] - crop.y0],
    [0, 0, 1],
  ];
  return {
    ...r,
    width,
    height,
    camera: { ...r.camera, width, height, K, fovYRad: 2 * Math.atan(height / (2 * r.camera.K[1][1])) },
    modes,
    mask: window(r.mask),
    background: r.background ? window(r.background) : null,
  };
}
