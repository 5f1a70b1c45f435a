// beauty: linear HDR radiance (values above 1 kept), alpha = coverage. With a background the
// head is composited over it (premultiplied "over"); alpha still carries the mask.
import path from 'node:path';
import { writeExr } from '../node/exr.js';
import type { PassDefinition } from './types.js';
import { planes, requireMode } from './util.js';

/** Beauty composited over the background (or left premultiplied on transparent). */
export function compositeBeauty(beauty: Float32Array, mask: Float32Array, background: Float32Array | null): Float32Array {
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

export const beautyPass: PassDefinition = {
  name: 'beauty',
  description: 'Linear HDR radiance (RGB), A = anti-aliased coverage; premultiplied over the background',
  requires: ['beauty'],
  async write(ctx) {
    const rgba = compositeBeauty(requireMode(ctx, 'beauty', 'beauty'), ctx.mask, ctx.background);
    const [r, g, b, a] = planes(rgba, 4, 4);
    const file = 'beauty.exr';
    await writeExr(path.join(ctx.dir, file), {
      width: ctx.width,
      height: ctx.height,
      channels: [
        { name: 'R', data: r },
        { name: 'G', data: g },
        { name: 'B', data: b },
        { name: 'A', data: a },
      ],
    }, { pixelType: ctx.output.exrPixelType, compression: ctx.output.exrCompression, attributes: { 'vls:pass': 'beauty' } });
    return [{ pass: 'beauty', file, format: 'exr', channels: ['R', 'G', 'B', 'A'], pixelType: ctx.output.exrPixelType, description: this.description }];
  },
};
