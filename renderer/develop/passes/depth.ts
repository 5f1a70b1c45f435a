// depth: camera-space Euclidean distance (metres) from the camera centre along each pixel's ray.
import type { PassDefinition } from './types.js';
import { requireMode, encodeChannelsExr } from './util.js';

export const depthPass: PassDefinition = {
  name: 'depth',
  description: 'Distance from the camera centre in metres (float32, channel Z); 0 off the head',
  requires: ['depth'],
  async encode(ctx) {
    const src = requireMode(ctx, 'depth', 'depth');
    const z = src; // one channel, point-sampled at pixel centres, 0 where the centre misses
    return [await encodeChannelsExr(ctx, 'depth', 'depth', z, 1, ['Z'], this.description, 'float')];
  },
};
