// Browser-only. OLAT capture in one page call: the lighting-independent intrinsics (mask, albedo,
// normal, depth) once, then every shot of the rig (one to four spot lights each) drawn as beauty
// without MSAA, its covered pixels packed as RGB half floats into chunks that are uploaded to
// Node while the next shots draw.
import type { RenderTargetTexture } from '@babylonjs/core/Materials/Textures/renderTargetTexture.js';
import { Constants } from '@babylonjs/core/Engines/constants.js';
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import type { LoadedHead } from './head.js';
import { engine, scene, variant, isContextLost, activateHead, placeCamera, yieldToEventLoop } from './scene.js';
import { ensureTargets, rttKey } from './targets.js';
import { disablePointLights, spotEntry, spotPool } from './lights.js';
import { visState } from './pass-plugin.js';
import { flipRows, halfBytes, upload } from './readback.js';
import { passState } from './pass-plugin.js';
import { RENDER_MODES, type RenderModeName } from '../core/render-modes.js';
import { floatsToHalf } from '../core/half.js';
import type { PageOlatRequest, PageOlatResult } from '../core/protocol.js';

class GlError extends Error {
  constructor(mode: string) {
    super(`WebGL error while drawing the ${mode} pass of the OLAT capture`);
  }
}

/** What the phases of one capture share. */
interface Capture {
  req: PageOlatRequest;
  head: LoadedHead;
  aa: RenderTargetTexture;
  plain: RenderTargetTexture;
  /** corners of the head's bounding box */
  corners: [number, number, number][];
  W: number;
  H: number;
  n: number;
  /** readback buffer (W*H RGBA), reused by every draw */
  rgba: Float32Array;
}

type Intrinsic = { name: 'albedo' | 'normal' | 'depth' | 'mask'; data: Uint8Array; channels: number; dtype: 'half' | 'float32' };

/** Enables the spot lights of one shot, each aimed at its target with a cone around the head. */
function configureShot(c: Capture, shot: number[]): void {
  const { req, head, corners } = c;
  for (let k = 0; k < spotPool.length; k++) spotPool[k].light.setEnabled(false);
  shot.forEach((li, k) => {
    const spec = req.lights[li];
    if (!spec) throw new Error(`olat: shot names light ${li}, rig has ${req.lights.length}`);
    const { light, shadow } = spotEntry(k, req.shadowMapSize);
    const p = new Vector3(...spec.position);
    const t = new Vector3(...spec.target);
    const dist = Vector3.Distance(p, t);
    const R = Math.max(...corners.map((q) => Math.hypot(q[0] - spec.target[0], q[1] - spec.target[1], q[2] - spec.target[2])));
    if (!(dist > R * 1.05)) throw new Error(`olat: light ${li} is ${dist.toFixed(3)} m from its target, inside the head's bounding sphere (${R.toFixed(3)} m)`);
    const inner = Math.asin(R / dist) + (0.5 * Math.PI) / 180;
    light.position.copyFrom(p);
    light.direction = t.subtract(p).normalize();
    light.angle = 2 * (inner + Math.PI / 180);
    light.innerAngle = 2 * inner;
    light.diffuse = new Color3(...spec.color);
    light.specular = new Color3(...spec.color);
    light.intensity = spec.intensity;
    light.radius = spec.radius;
    light.shadowMinZ = Math.max(0.01, dist - R - 0.05);
    light.shadowMaxZ = dist + R + 0.05;
    light.setEnabled(true);
    shadow.getShadowMap()!.renderList = head.meshes;
  });
}

const shotLights = () => spotPool.filter((e) => e.light.isEnabled());

async function readyFor(c: Capture): Promise<void> {
  const { aa, plain, head } = c;
  scene.incrementRenderId(); // re-evaluate dirty material defines (see render())
  await scene.whenReadyAsync();
  const check = () => {
    const previous = engine.currentRenderPassId;
    try {
      for (const t of [aa, plain]) {
        engine.currentRenderPassId = t.renderPassId;
        if (!head.meshes.every((m) => m.isReady(true))) return false;
      }
      return shotLights().every((l) => l.shadow.isReady(head.meshes[0].subMeshes[0], false, false));
    } finally {
      engine.currentRenderPassId = previous;
    }
  };
  let ok = false;
  for (let tries = 0; tries < 400 && !(ok = check()); tries++) await yieldToEventLoop();
  if (!ok) throw new Error('materials did not become ready for the OLAT capture (shader compile stalled)');
}

function renderShadows(): void {
  // Lights and shadow generators refresh their uniforms and matrices once per render id; a 2D
  // shadow map does not advance it (a cube map does), so advance it for every shot.
  for (const l of shotLights()) {
    scene.incrementRenderId();
    const map = l.shadow.getShadowMap()!;
    map.resetRefreshCounter();
    map.render();
  }
  scene.incrementRenderId();
}

/** Draws one pass into the target; the GL error code (0 = none). */
function draw(target: RenderTargetTexture, mode: RenderModeName): number {
  passState.mode = RENDER_MODES[mode];
  scene.resetCachedMaterial();
  target.resetRefreshCounter();
  target.render();
  const glError = (engine._gl as WebGL2RenderingContext).getError();
  return glError;
}

// A new shader variant (light count, target size, head) is drawn twice, keeping the second
// (see render(): the first draw of a variant can lose silhouette coverage on llvmpipe). A GL
// error (stale uniform-buffer binding) rebuilds the effects and draws again, once.
async function prepareVariant(c: Capture, count: number): Promise<number> {
  const key = `olat|${rttKey}|${count}|${c.req.head.key}|${c.req.head.material.subsurface}`;
  await readyFor(c);
  const draws = key !== variant.last ? 2 : 1;
  variant.last = key;
  return draws;
}

async function withRetry(c: Capture, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof GlError)) throw err;
    scene.markAllMaterialsAsDirty(Constants.MATERIAL_AllDirtyFlag);
    await readyFor(c);
    await fn();
  }
}

/** Mask (alpha of the MSAA beauty), albedo, normal, depth; the covered pixels (GL order). */
async function captureIntrinsics(c: Capture, draws: number): Promise<{ intrinsics: Intrinsic[]; covered: Uint32Array }> {
  const { aa, plain, W, H, n, rgba } = c;
  const intrinsics: Intrinsic[] = [];
  let covered = new Uint32Array(0);
  await withRetry(c, async () => {
    intrinsics.length = 0;
    renderShadows();
    for (let d = 0; d < draws; d++) {
      intrinsics.length = 0;
      for (const [mode, target] of [['beauty', aa], ['albedo', plain], ['normal', plain], ['depth', plain]] as const) {
        if (draw(target, mode) !== 0) throw new GlError(mode);
        await target.readPixels(0, 0, rgba, true);
        if (mode === 'beauty') {
          const mask = new Float32Array(n);
          for (let p = 0; p < n; p++) mask[p] = rgba[p * 4 + 3];
          intrinsics.push({ name: 'mask', data: halfBytes(flipRows(mask, W, H, 1)), channels: 1, dtype: 'half' });
        } else if (mode === 'depth') {
          const depth = new Float32Array(n);
          let count = 0;
          for (let p = 0; p < n; p++) if (rgba[p * 4 + 3] > 0.5) count++;
          covered = new Uint32Array(count);
          let k = 0;
          // Covered pixels in top-down row-major order; GL rows are bottom-up.
          for (let y = 0; y < H; y++) {
            const gy = H - 1 - y;
            for (let x = 0; x < W; x++) {
              const g = gy * W + x;
              depth[y * W + x] = rgba[g * 4];
              if (rgba[g * 4 + 3] > 0.5) covered[k++] = g;
            }
          }
          intrinsics.push({ name: 'depth', data: new Uint8Array(depth.buffer), channels: 1, dtype: 'float32' });
        } else {
          const rgb = new Float32Array(n * 3);
          for (let p = 0; p < n; p++) for (let ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = rgba[p * 4 + ch];
          intrinsics.push({ name: mode, data: halfBytes(flipRows(rgb, W, H, 3)), channels: 3, dtype: 'half' });
        }
      }
    }
  });
  passState.mode = RENDER_MODES.beauty;
  return { intrinsics, covered };
}

/** The intrinsics and the covered pixels' top-down indices as one upload, with its layout. */
function packIntrinsics(intrinsics: Intrinsic[], covered: Uint32Array, W: number, H: number): { layout: PageOlatResult['intrinsics']; chunks: Uint8Array[] } {
  const indicesTopDown = new Uint32Array(covered.length);
  for (let k = 0; k < covered.length; k++) {
    const g = covered[k];
    const gy = Math.floor(g / W);
    indicesTopDown[k] = (H - 1 - gy) * W + (g - gy * W);
  }
  const intrLayout: PageOlatResult['intrinsics'] = [];
  const intrChunks: Uint8Array[] = [];
  let off = 0;
  for (const it of [...intrinsics, { name: 'indices' as const, data: new Uint8Array(indicesTopDown.buffer), channels: 1, dtype: 'uint32' as const }]) {
    intrLayout.push({ name: it.name, offset: off, bytes: it.data.byteLength, channels: it.channels, dtype: it.dtype });
    intrChunks.push(it.data);
    off += it.data.byteLength;
  }
  return { layout: intrLayout, chunks: intrChunks };
}

/** Shots: beauty only, no MSAA, covered pixels only, RGB half; chunk uploads pushed on `uploads`. */
async function captureShots(c: Capture, covered: Uint32Array, firstDraws: number, uploads: Promise<void>[]) {
  const { req, plain, n, rgba } = c;
  const P = covered.length;
  const shotBytes = P * 3 * 2;
  const isCovered = new Uint8Array(n);
  for (let k = 0; k < P; k++) isCovered[covered[k]] = 1;
  const chunkHalfs = new Uint16Array(P * 3 * req.shotsPerChunk);
  const rgbShot = new Float32Array(P * 3);
  let draws = firstDraws;
  let shadowMs = 0;
  let drawMs = 0;
  let readMs = 0;
  let packMs = 0;
  let leakedPixels = 0;
  let inChunk = 0;
  let chunk = 0;
  let count = (req.shots[0] ?? [0]).length;
  for (let s = 0; s < req.shots.length; s++) {
    const shot = req.shots[s];
    configureShot(c, shot);
    if (shot.length !== count) {
      count = shot.length;
      draws = await prepareVariant(c, count);
    } else if (s > 0) draws = 1;
    await withRetry(c, async () => {
      for (let d = 0; d < draws; d++) {
        const ts = performance.now();
        renderShadows();
        const td = performance.now();
        shadowMs += td - ts;
        if (draw(plain, 'beauty') !== 0) throw new GlError('beauty');
        const tr = performance.now();
        drawMs += tr - td;
        await plain.readPixels(0, 0, rgba, true);
        readMs += performance.now() - tr;
      }
    });
    const tp = performance.now();
    for (let k = 0; k < P; k++) {
      const g = covered[k] * 4;
      rgbShot[k * 3] = rgba[g];
      rgbShot[k * 3 + 1] = rgba[g + 1];
      rgbShot[k * 3 + 2] = rgba[g + 2];
    }
    for (let p = 0; p < n; p++) {
      if (!isCovered[p] && (rgba[p * 4] !== 0 || rgba[p * 4 + 1] !== 0 || rgba[p * 4 + 2] !== 0)) leakedPixels++;
    }
    floatsToHalf(rgbShot, chunkHalfs.subarray(inChunk * P * 3, (inChunk + 1) * P * 3));
    inChunk++;
    if (inChunk === req.shotsPerChunk || s === req.shots.length - 1) {
      const url = req.chunkUrls[chunk];
      if (!url) throw new Error(`olat: no upload URL for chunk ${chunk}`);
      uploads.push(upload(url, [new Uint8Array(chunkHalfs.buffer, 0, inChunk * shotBytes)]));
      chunk++;
      inChunk = 0;
    }
    packMs += performance.now() - tp;
    if (isContextLost()) throw new Error('WebGL context lost');
  }
  passState.mode = RENDER_MODES.beauty;
  return { pixelCount: P, shotBytes, leakedPixels, timings: { shadowMs, drawMs, readMs, packMs } };
}

export async function olat(req: PageOlatRequest): Promise<PageOlatResult> {
  if (isContextLost()) throw new Error('WebGL context lost');
  const t0 = performance.now();
  const { width: W, height: H } = req;
  const n = W * H;
  const head = await activateHead(req.head);
  scene.environmentTexture = null;
  head.material.environmentIntensity = 0;

  const { aa, plain } = ensureTargets(W, H, req.msaa);
  aa.renderList = head.meshes;
  plain.renderList = head.meshes;
  placeCamera(req.camera);
  disablePointLights();
  // Direct light of the rig only: no residual occlusion, no bounce left over from a render.
  visState.on = false;
  visState.bounce = false;
  for (const m of head.meshes) m.receiveShadows = true;

  // Bounding sphere of the head around each light's aim point: sets the cones and depth ranges.
  const corners: [number, number, number][] = [];
  for (const x of [head.bboxMin[0], head.bboxMax[0]]) for (const y of [head.bboxMin[1], head.bboxMax[1]]) for (const z of [head.bboxMin[2], head.bboxMax[2]]) corners.push([x, y, z]);
  const maxShot = Math.max(...req.shots.map((s) => s.length));
  if (maxShot > 4) throw new Error('olat: at most 4 lights per shot');
  const c: Capture = { req, head, aa, plain, corners, W, H, n, rgba: new Float32Array(n * 4) };
  scene.updateTransformMatrix(true);
  const firstShot = req.shots[0] ?? [0];
  configureShot(c, firstShot);
  const draws = await prepareVariant(c, firstShot.length);
  const setupMs = performance.now() - t0;

  // ---- Intrinsics, once: mask (alpha of the MSAA beauty), albedo, normal, depth; covered pixels.
  const tI = performance.now();
  const { intrinsics, covered } = await captureIntrinsics(c, draws);
  const packed = packIntrinsics(intrinsics, covered, W, H);
  const uploads: Promise<void>[] = [upload(req.intrinsicsUrl, packed.chunks)];
  const intrinsicsMs = performance.now() - tI;

  const shots = await captureShots(c, covered, draws, uploads);
  for (const e of spotPool) e.light.setEnabled(false);
  const tU = performance.now();
  await Promise.all(uploads);
  const uploadWaitMs = performance.now() - tU;
  return {
    pixelCount: shots.pixelCount,
    intrinsics: packed.layout,
    shotBytes: shots.shotBytes,
    leakedPixels: shots.leakedPixels,
    timings: { setupMs, intrinsicsMs, ...shots.timings, uploadWaitMs, totalMs: performance.now() - t0 },
    head: { bboxMin: head.bboxMin, bboxMax: head.bboxMax },
  };
}
