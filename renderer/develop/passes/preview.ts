// preview: display image, tonemapped sRGB (8-bit PNG with alpha = mask when transparent).
import { autoExposure, tonemapToSrgb8 } from '../../core/color.js';
import type { PassDefinition } from './types.js';
import { beautyOverBackground } from './beauty.js';
import { encodePngFile } from './util.js';

export const previewPass: PassDefinition = {
  name: 'preview',
  description: 'Tonemapped sRGB preview of beauty (8-bit PNG, ACES filmic, exposure from output.previewExposure)',
  requires: ['beauty'],
  async encode(ctx) {
    const rgba = beautyOverBackground(ctx, 'preview');
    // Tonemap the unpremultiplied colour so edges do not darken, then keep coverage as alpha.
    const n = ctx.mask.length;
    const rgb = new Float32Array(n * 3);
    for (let p = 0; p < n; p++) {
      const a = ctx.background ? 1 : rgba[p * 4 + 3];
      const k = a > 1e-4 ? 1 / a : 0;
      for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c] * k;
    }
    const exposure = ctx.output.previewExposure === 'auto' ? autoExposure(rgb, ctx.mask) : ctx.output.previewExposure;
    const srgb = tonemapToSrgb8(rgb, 3, exposure, { curve: 'aces' });
    const out = new Uint8Array(n * 4);
    for (let p = 0; p < n; p++) {
      out[p * 4] = srgb[p * 3];
      out[p * 4 + 1] = srgb[p * 3 + 1];
      out[p * 4 + 2] = srgb[p * 3 + 2];
      out[p * 4 + 3] = ctx.background ? 255 : Math.round(rgba[p * 4 + 3] * 255);
    }
    const bytes = await encodePngFile('preview.png', out, { width: ctx.width, height: ctx.height, channels: 4, bitDepth: 8 });
    return [{ pass: 'preview', file: 'preview.png', format: 'png', channels: ['R', 'G', 'B', 'A'], pixelType: 'uint8', description: `${this.description}; exposure ${exposure.toFixed(3)} stops`, bytes }];
  },
};
