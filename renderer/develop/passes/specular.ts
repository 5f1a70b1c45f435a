// specular: reflected radiance (direct lights + environment), linear.
import type { PassDefinition } from './types.js';
import { requireMode, encodeRgbExr } from './util.js';

export const specularPass: PassDefinition = {
  name: 'specular',
  description: 'Specular radiance (RGB, linear): direct-light highlights + environment reflection',
  requires: ['specular'],
  async encode(ctx) {
    const rgb = requireMode(ctx, 'specular', 'specular');
    return [await encodeRgbExr(ctx, 'specular', 'specular', rgb, 3, this.description)];
  },
};
