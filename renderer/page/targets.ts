// Browser-only. The render targets of the page, one pair per size and MSAA count.
import { RenderTargetTexture } from '@babylonjs/core/Materials/Textures/renderTargetTexture.js';
import { Constants } from '@babylonjs/core/Engines/constants.js';
import { Color4 } from '@babylonjs/core/Maths/math.color.js';
import { engine, scene, camera } from './scene.js';

// Two targets per size: `aa` (MSAA) draws beauty, whose resolved alpha is the anti-aliased
// coverage; `plain` (no MSAA) draws the surface passes, point-sampled at pixel centres so each
// pixel holds one surface's value. MSAA costs ~25x a plain draw on llvmpipe (BENCHMARKS.md).
// Targets are never disposed: a disposed target's render-pass id is reused by the next one, and
// materials then draw with uniform buffers cached for the dead pass (an empty image). A batch with
// crops renders nearly every cropped sample at a size of its own, so the pool is bounded instead:
// past MAX_TARGET_SIZES the least recently used pair (same MSAA) is resized to the new size, which
// recreates its textures but keeps the target objects and their render-pass ids. Without the bound
// every crop size kept ~30 MB of float targets alive for the page's life.
export interface Targets { aa: RenderTargetTexture; plain: RenderTargetTexture }
const targets = new Map<string, Targets>();
const MAX_TARGET_SIZES = 4;
/** Key (WxHxMSAA) of the targets ensureTargets chose last: part of the OLAT capture's variant key. */
export let rttKey = '';

function makeTarget(width: number, height: number, samples: number): RenderTargetTexture {
  const t = new RenderTargetTexture(`vls-target-${width}x${height}x${samples}`, { width, height }, scene, {
    generateMipMaps: false,
    type: Constants.TEXTURETYPE_FLOAT,
    format: Constants.TEXTUREFORMAT_RGBA,
    samplingMode: Constants.TEXTURE_NEAREST_SAMPLINGMODE,
    generateDepthBuffer: true,
    samples,
  });
  t.activeCamera = camera;
  t.clearColor = new Color4(0, 0, 0, 0);
  return t;
}

export function ensureTargets(width: number, height: number, msaa: number): Targets {
  const key = `${width}x${height}x${msaa}`;
  engine.setSize(width, height);
  let t = targets.get(key);
  if (t) {
    targets.delete(key); // most recently used last
  } else {
    const same = [...targets.entries()].filter(([k]) => k.split('x')[2] === String(msaa));
    if (same.length >= MAX_TARGET_SIZES) {
      const [oldKey, reused] = same[0];
      targets.delete(oldKey);
      reused.plain.resize({ width, height });
      if (reused.aa !== reused.plain) reused.aa.resize({ width, height });
      t = reused;
    } else {
      const plain = makeTarget(width, height, 1);
      t = { aa: msaa > 1 ? makeTarget(width, height, msaa) : plain, plain };
    }
  }
  targets.set(key, t);
  rttKey = key;
  return t;
}
