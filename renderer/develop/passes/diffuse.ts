// diffuse: shading, i.e. irradiance-like term before multiplication by albedo, so that
// beauty = albedo * diffuse + specular on the head (see README "Intrinsic decomposition").
import type { PassDefinition } from './types.js';
import { requireMode, encodeRgbExr } from './util.js';

export const diffusePass: PassDefinition = {
  name: 'diffuse',
  description: 'Diffuse shading (RGB, linear): beauty = albedo x diffuse + specular',
  requires: ['diffuse'],
  async encode(ctx) {
    const rgb = requireMode(ctx, 'diffuse', 'diffuse');
    return [await encodeRgbExr(ctx, 'diffuse', 'diffuse', rgb, 3, this.description)];
  },
};
