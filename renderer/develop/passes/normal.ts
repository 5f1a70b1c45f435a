// normal: unit normals after normal mapping, in world space and in camera space.
import type { PassDefinition } from './types.js';
import { requireMode, encodeRgbExr } from './util.js';
import { worldToCameraDir } from '../../core/camera.js';

export const normalPass: PassDefinition = {
  name: 'normal',
  description: 'Unit normals: normal_world.exr (canonical world), normal_camera.exr (camera: x right, y up, z toward the camera); 0 off the head',
  requires: ['normal'],
  async encode(ctx) {
    const src = requireMode(ctx, 'normal', 'normal');
    const world = new Float32Array(src.length);
    const cam = new Float32Array(src.length);
    for (let p = 0; p < ctx.mask.length; p++) {
      const i = p * 3;
      // Point-sampled, so unit length up to half-float rounding: renormalise; 0 = no surface.
      const l = Math.hypot(src[i], src[i + 1], src[i + 2]);
      if (l < 0.5) continue;
      const n: [number, number, number] = [src[i] / l, src[i + 1] / l, src[i + 2] / l];
      world.set(n, i);
      const c = worldToCameraDir(ctx.camera, n); // OpenCV axes: flip y and z for OpenGL axes
      cam[i] = c[0];
      cam[i + 1] = -c[1];
      cam[i + 2] = -c[2];
    }
    return [
      await encodeRgbExr(ctx, 'normal', 'normal_world', world, 3, 'World-space unit normal (x, y, z) in R, G, B'),
      await encodeRgbExr(ctx, 'normal', 'normal_camera', cam, 3, 'Camera-space unit normal, OpenGL axes (x right, y up, z toward the camera)'),
    ];
  },
};
