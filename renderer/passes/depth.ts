// depth: camera-space Euclidean distance (metres) from the camera centre along each pixel's ray.
import type { PassDefinition } from './types.js';
import { requireMode, writeChannelsExr } from './util.js';

export const depthPass: PassDefinition = {
  name: 'depth',
  description: 'Distance from the camera centre in metres (float32, channel Z); 0 off the head',
  requires: ['depth'],
  async write(ctx) {
    const src = requireMode(ctx, 'depth', 'depth');
    const z = new Float32Array(ctx.mask.length);
    for (let p = 0; p < z.length; p++) if (ctx.mask[p] > 1e-4) z[p] = src[p] / ctx.mask[p];
    return [await writeChannelsExr(ctx, 'depth', 'depth', z, 1, ['Z'], this.description, 'float')];
  },
};
