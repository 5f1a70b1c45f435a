// beauty: linear HDR radiance (values above 1 kept), alpha = coverage. With a background the
// head is composited over it (premultiplied "over"); alpha still carries the mask.
import type { PassContext, PassDefinition } from './types.js';
import { requireMode, encodeChannelsExr } from './util.js';

// One composite per lighting: the beauty pass, the preview, the camera simulation and the half-range
// check all ask for it; it is computed once per (beauty, mask, background) and remembered as long
// as the beauty buffer lives.
const composites = new WeakMap<Float32Array, { mask: Float32Array; background: Float32Array | null; out: Float32Array }>();

/**
 * Beauty composited over the background (or left premultiplied on transparent). Memoised on its
 * input buffers (which must not change afterwards): the result is shared, READ-ONLY.
 */
export function compositeBeauty(beauty: Float32Array, mask: Float32Array, background: Float32Array | null): Float32Array {
  const hit = composites.get(beauty);
  if (hit && hit.mask === mask && hit.background === background) return hit.out;
  const out = composite(beauty, mask, background);
  composites.set(beauty, { mask, background, out });
  return out;
}

function composite(beauty: Float32Array, mask: Float32Array, background: Float32Array | null): Float32Array {
  const out = new Float32Array(beauty.length);
  for (let p = 0; p < mask.length; p++) {
    const a = mask[p];
    for (let c = 0; c < 3; c++) {
      out[p * 4 + c] = beauty[p * 4 + c] + (background ? (1 - a) * background[p * 3 + c] : 0);
    }
    out[p * 4 + 3] = a;
  }
  return out;
}

/** The context's beauty composited over its background, for the pass named `pass`. */
export function beautyOverBackground(ctx: PassContext, pass: string): Float32Array {
  return compositeBeauty(requireMode(ctx, 'beauty', pass), ctx.mask, ctx.background);
}

export const beautyPass: PassDefinition = {
  name: 'beauty',
  description: 'Linear HDR radiance (RGB), A = anti-aliased coverage; premultiplied over the background',
  requires: ['beauty'],
  async encode(ctx) {
    return [await encodeChannelsExr(ctx, 'beauty', 'beauty', beautyOverBackground(ctx, 'beauty'), 4, ['R', 'G', 'B', 'A'], this.description)];
  },
};
