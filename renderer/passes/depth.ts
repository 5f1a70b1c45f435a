// depth: camera-space Euclidean distance (metres) from the camera centre along each pixel's ray.
import path from 'node:path';
import { writeExr } from '../node/exr.js';
import type { PassDefinition } from './types.js';
import { requireMode } from './util.js';

export const depthPass: PassDefinition = {
  name: 'depth',
  description: 'Distance from the camera centre in metres (float32, channel Z); 0 off the head',
  requires: ['depth'],
  async write(ctx) {
    const src = requireMode(ctx, 'depth', 'depth');
    const z = new Float32Array(ctx.mask.length);
    for (let p = 0; p < z.length; p++) if (ctx.mask[p] > 1e-4) z[p] = src[p] / ctx.mask[p];
    await writeExr(path.join(ctx.dir, 'depth.exr'), { width: ctx.width, height: ctx.height, channels: [{ name: 'Z', data: z }] }, {
      pixelType: 'float',
      compression: ctx.output.exrCompression,
      attributes: { 'vls:pass': 'depth' },
    });
    return [{ pass: 'depth', file: 'depth.exr', format: 'exr', channels: ['Z'], pixelType: 'float', description: this.description }];
  },
};
