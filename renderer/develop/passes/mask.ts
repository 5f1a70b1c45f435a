// mask: anti-aliased foreground coverage as a 16-bit greyscale PNG (0 off the head, 65535 on it).
import type { PassDefinition } from './types.js';
import { encodePngFile } from './util.js';

export const maskPass: PassDefinition = {
  name: 'mask',
  description: 'Anti-aliased foreground alpha, 16-bit PNG (value / 65535)',
  requires: ['beauty'],
  async encode(ctx) {
    const data = new Uint16Array(ctx.mask.length);
    for (let p = 0; p < data.length; p++) data[p] = Math.round(Math.min(1, Math.max(0, ctx.mask[p])) * 65535);
    const bytes = await encodePngFile('mask.png', data, { width: ctx.width, height: ctx.height, channels: 1, bitDepth: 16 });
    return [{ pass: 'mask', file: 'mask.png', format: 'png', channels: ['Y'], pixelType: 'uint16', description: this.description, bytes }];
  },
};
