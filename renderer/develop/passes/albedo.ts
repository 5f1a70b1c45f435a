// albedo: linear base colour (what multiplies diffuse shading), point-sampled at pixel centres.
import type { PassDefinition } from './types.js';
import { requireMode, encodeRgbExr } from './util.js';

export const albedoPass: PassDefinition = {
  name: 'albedo',
  description: 'Linear base colour (RGB), 0 off the head',
  requires: ['albedo'],
  async encode(ctx) {
    const rgb = requireMode(ctx, 'albedo', 'albedo');
    return [await encodeRgbExr(ctx, 'albedo', 'albedo', rgb, 3, this.description)];
  },
};
