// albedo: linear base colour (what multiplies diffuse shading), unpremultiplied on edges.
import type { PassDefinition } from './types.js';
import { requireMode, unpremultiply, writeRgbExr } from './util.js';

export const albedoPass: PassDefinition = {
  name: 'albedo',
  description: 'Linear base colour (RGB), 0 off the head',
  requires: ['albedo'],
  async write(ctx) {
    const rgb = unpremultiply(requireMode(ctx, 'albedo', 'albedo'), 3, ctx.mask);
    return [await writeRgbExr(ctx, 'albedo', 'albedo', rgb, 3, this.description)];
  },
};
