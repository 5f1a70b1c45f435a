// Browser-only entry point, bundled by esbuild (renderer/engine/bundle.ts) and served by Node.
// Exposes window.vls: Node drives it through page.evaluate. One scene, kept warm across
// samples; heads and environment maps are loaded once and cached by key.
import { Engine } from '@babylonjs/core/Engines/engine.js';
import { Scene } from '@babylonjs/core/scene.js';
import { Color4, Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Vector3, Matrix } from '@babylonjs/core/Maths/math.vector.js';
import { TargetCamera } from '@babylonjs/core/Cameras/targetCamera.js';
import { RenderTargetTexture } from '@babylonjs/core/Materials/Textures/renderTargetTexture.js';
import { Constants } from '@babylonjs/core/Engines/constants.js';
import { PointLight } from '@babylonjs/core/Lights/pointLight.js';
import { SpotLight } from '@babylonjs/core/Lights/spotLight.js';
import { Light } from '@babylonjs/core/Lights/light.js';
import { ShadowGenerator } from '@babylonjs/core/Lights/Shadows/shadowGenerator.js';
import '@babylonjs/core/Lights/Shadows/shadowGeneratorSceneComponent.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import { loadHead, type LoadedHead } from './head.js';
import { EquirectFloatCubeTexture } from './env-texture.js';
import { passState } from './pass-plugin.js';
import { RENDER_MODES, MODE_CHANNELS, MODE_FLOAT32, type RenderModeName } from '../core/render-modes.js';
import { floatsToHalf } from '../core/half.js';
import type { PageRenderRequest, PageRenderResult, PageEnvironment, PageOlatRequest, PageOlatResult, PageHead, PageCamera, PagePointLight } from '../core/protocol.js';

const canvas = document.createElement('canvas');
canvas.width = 64;
canvas.height = 64;
document.body.appendChild(canvas);

const engine = new Engine(canvas, false, {
  preserveDrawingBuffer: false,
  stencil: false,
  antialias: false,
  powerPreference: 'high-performance',
  failIfMajorPerformanceCaveat: false,
});
let contextLost = false;
engine.onContextLostObservable.add(() => {
  contextLost = true;
});

const scene = new Scene(engine);
scene.useRightHandedSystem = true;
scene.clearColor = new Color4(0, 0, 0, 0);
scene.ambientColor = new Color3(0, 0, 0);
// Linear output: no tonemapping, no gamma; Node writes linear EXR and tonemaps previews.
scene.imageProcessingConfiguration.isEnabled = false;
scene.imageProcessingConfiguration.applyByPostProcess = true;
scene.skipFrustumClipping = true;

const camera = new TargetCamera('cam', new Vector3(0, 0, 1), scene);
camera.fovMode = TargetCamera.FOVMODE_VERTICAL_FIXED;
scene.activeCamera = camera;

const heads = new Map<string, Promise<LoadedHead>>();
const envs = new Map<string, Promise<EquirectFloatCubeTexture>>();
let currentHead: LoadedHead | null = null;
let rttKey = '';
let lastVariantKey = '';
/** Variants (with the specular flag) drawn at least once on this page (see render()). */
const drawnVariants = new Set<string>();
/** Enabled point lights: the lighting's own ones, then dark padding slots (see setLights). */
let lights: { light: PointLight; shadow: ShadowGenerator }[] = [];

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// Mixed lightings (eq. 9) make a new map for nearly every render: keep only the most recently
// used cubes (a cube is ~2 MB at 128² and 6 faces), else a long batch grows without bound.
const MAX_CACHED_ENVS = 8;

function evictEnvironments(): void {
  while (envs.size > MAX_CACHED_ENVS) {
    const [oldKey, oldTex] = envs.entries().next().value as [string, Promise<EquirectFloatCubeTexture>];
    envs.delete(oldKey);
    oldTex.then((t) => {
      if (scene.environmentTexture !== t) t.dispose();
    }, () => undefined);
  }
}

function getEnvironment(env: PageEnvironment): Promise<EquirectFloatCubeTexture> {
  const key = `${env.url}|${env.cubeSize}|${env.prefilter}`;
  let p = envs.get(key);
  if (p) {
    envs.delete(key); // move to the most recent end
    envs.set(key, p);
  } else {
    p = new Promise<EquirectFloatCubeTexture>((resolve, reject) => {
      const tex: EquirectFloatCubeTexture = new EquirectFloatCubeTexture(
        env.url,
        scene,
        env.cubeSize,
        env.prefilter,
        () => resolve(tex),
        (msg?: string) => reject(new Error(`environment ${env.url} failed to load: ${msg ?? 'unknown error'}`)),
      );
    });
    p.catch(() => envs.delete(key));
    envs.set(key, p);
    evictEnvironments();
  }
  return p;
}

// Two targets per size: `aa` (MSAA) draws beauty, whose resolved alpha is the anti-aliased
// coverage; `plain` (no MSAA) draws the surface passes, point-sampled at pixel centres so each
// pixel holds one surface's value. MSAA costs ~25x a plain draw on llvmpipe (BENCHMARKS.md).
// Targets are never disposed: a disposed target's render-pass id is reused by the next one, and
// materials then draw with uniform buffers cached for the dead pass (an empty image).
interface Targets { aa: RenderTargetTexture; plain: RenderTargetTexture }
const targets = new Map<string, Targets>();

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

function ensureTargets(width: number, height: number, msaa: number): Targets {
  const key = `${width}x${height}x${msaa}`;
  engine.setSize(width, height);
  let t = targets.get(key);
  if (!t) {
    const plain = makeTarget(width, height, 1);
    t = { aa: msaa > 1 ? makeTarget(width, height, msaa) : plain, plain };
    targets.set(key, t);
  }
  rttKey = key;
  return t;
}

// Point lights and their shadow generators are pooled, never disposed (disposal frees uniform
// buffers and render passes that cached effects still reference); unused ones are disabled.
const lightPool: { light: PointLight; shadow: ShadowGenerator }[] = [];

// The shader variant depends on the number of enabled lights, and a new variant costs a
// recompile check and a double draw (see render). With req.lightSlots, lightings with fewer
// lights are padded with dark ones (intensity 0: they add exactly 0), so a batch whose samples
// have 0-3 lights draws every one with the same variant.
const DARK_SLOT: PagePointLight = { position: [0, 10, 0], color: [0, 0, 0], intensity: 0, radius: 0.02 };

function setLights(req: PageRenderRequest, meshes: AbstractMesh[]): void {
  const slots = Math.max(req.pointLights.length, req.lightSlots);
  while (lightPool.length < slots) {
    const i = lightPool.length;
    const light = new PointLight(`pl${i}`, new Vector3(0, 0, 0), scene);
    light.shadowMinZ = 0.01;
    light.shadowMaxZ = 20;
    const shadow = new ShadowGenerator(req.shadowMapSize, light);
    shadow.usePoissonSampling = true;
    shadow.bias = 0.00005;
    shadow.normalBias = 0.002;
    shadow.getShadowMap()!.refreshRate = RenderTargetTexture.REFRESHRATE_RENDER_ONCE;
    lightPool.push({ light, shadow });
  }
  lights = [];
  for (const [i, entry] of lightPool.entries()) {
    entry.light.setEnabled(i < slots);
    if (i >= slots) continue;
    // A dark slot's shadow map is still drawn (a few ms): one never drawn made the first draw of
    // the variant return Inf in the diffuse/specular passes.
    const pl = req.pointLights[i] ?? DARK_SLOT;
    const { light, shadow } = entry;
    light.position.set(...pl.position);
    light.diffuse = new Color3(...pl.color);
    light.specular = new Color3(...pl.color);
    light.intensity = pl.intensity;
    light.radius = pl.radius;
    if (shadow.getShadowMap()!.getSize().width !== req.shadowMapSize) shadow.getShadowMap()!.resize(req.shadowMapSize);
    shadow.getShadowMap()!.renderList = meshes;
    lights.push(entry);
  }
  for (const m of meshes) m.receiveShadows = true;
}

async function readTarget(target: RenderTargetTexture, mode: RenderModeName, width: number, height: number): Promise<Uint8Array> {
  const pixels = (await target.readPixels(0, 0, null, true)) as Float32Array;
  const channels = MODE_CHANNELS[mode];
  const n = width * height;
  const packed = new Float32Array(n * channels);
  if (channels === 4) packed.set(pixels.subarray(0, n * 4));
  else {
    for (let i = 0, j = 0; i < n; i++) {
      for (let c = 0; c < channels; c++) packed[j++] = pixels[i * 4 + c];
    }
  }
  if (MODE_FLOAT32[mode]) return new Uint8Array(packed.buffer);
  const half = floatsToHalf(packed);
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

/** Loads (once) and shows the requested head, hiding the previous one. */
async function activateHead(req: PageHead): Promise<LoadedHead> {
  const headPromise = heads.get(req.key) ?? loadHead(scene, req);
  heads.set(req.key, headPromise);
  headPromise.catch(() => heads.delete(req.key));
  const head = await headPromise;
  if (currentHead && currentHead !== head) currentHead.setEnabled(false);
  head.setEnabled(true);
  head.configure(req);
  currentHead = head;
  return head;
}

function placeCamera(c: PageCamera): void {
  camera.position.set(...c.position);
  camera.upVector = new Vector3(...c.up);
  camera.setTarget(new Vector3(...c.target));
  camera.fov = c.fovYRad;
  camera.minZ = c.near;
  camera.maxZ = c.far;
}

async function render(req: PageRenderRequest): Promise<PageRenderResult> {
  if (contextLost) throw new Error('WebGL context lost');
  const t0 = performance.now();
  const head = await activateHead(req.head);

  if (req.environment) {
    const env = await getEnvironment(req.environment);
    env.rotationY = req.environment.rotationRad;
    scene.environmentTexture = env;
    head.material.environmentIntensity = req.environment.intensity;
  } else {
    scene.environmentTexture = null;
    head.material.environmentIntensity = 0;
  }

  const { aa, plain } = ensureTargets(req.width, req.height, req.msaa);
  aa.renderList = head.meshes;
  plain.renderList = head.meshes;
  placeCamera(req.camera);
  setLights(req, head.meshes);
  // Materials skip re-evaluating their (dirty) defines while the scene's render id is unchanged,
  // and only scene.render() or a cube shadow map bumps it, which we may not do: without this, a
  // lighting without point lights drawn after one with lights kept the old light set.
  scene.incrementRenderId();

  // Shaders compile asynchronously (dynamic imports in Babylon 9): wait until ready. Materials
  // keep one effect per render pass, so check readiness for the target's pass, not the main one
  // (else a new target or a changed light count can draw with a stale effect: an empty image).
  await scene.whenReadyAsync();
  const readyForTarget = () => {
    const previous = engine.currentRenderPassId;
    try {
      for (const t of [aa, plain]) {
        engine.currentRenderPassId = t.renderPassId;
        if (!head.meshes.every((m) => m.isReady(true))) return false;
      }
      return lights.every((l) => l.shadow.isReady(head.meshes[0].subMeshes[0], false, false));
    } finally {
      engine.currentRenderPassId = previous;
    }
  };
  let ready = false;
  for (let tries = 0; tries < 400 && !(ready = readyForTarget()); tries++) await yieldToEventLoop();
  if (!ready) throw new Error('materials did not become ready for rendering (shader compile stalled)');
  const setupMs = performance.now() - t0;

  // The first sample drawn with a new shader variant (light count, target size, head, material
  // switches) loses coverage along parts of the silhouette when shadow maps are rendered, on
  // llvmpipe at least (measured ~100 edge pixels of 4096 at 64 px; repeats of the same variant
  // are exact). Drawing such a sample twice and keeping the second is exact (test/render.test.ts
  // "mask does not depend on the lighting"); it costs one extra sample per new variant only.
  // Babylon also compiles a separate variant (SPECULARTERM) when every light's specular colour is
  // black: the dark padding slots of a lighting without point lights. Its first draw ever loses
  // silhouette pixels too (input_i after target_k: ~40 px at 64 px, msaa 1), but returning to an
  // already drawn specular variant is exact, so that flag double-draws once per page only.
  const variantKey = `${rttKey}|${lights.length}|${req.head.key}|${req.environment ? 1 : 0}|${req.head.material.subsurface}`;
  const specularKey = `${variantKey}|${lights.some((l) => !l.light.specular.equalsFloats(0, 0, 0)) ? 1 : 0}`;
  let draws = variantKey !== lastVariantKey || !drawnVariants.has(specularKey) ? 2 : 1;
  lastVariantKey = variantKey;
  drawnVariants.add(specularKey);
  let shadowMs = 0;
  let renderMs: Record<string, number> = {};
  let readMs: Record<string, number> = {};
  let chunks: Uint8Array[] = [];
  let layout: PageRenderResult['layout'] = [];
  let offset = 0;
  for (let draw = 0; draw < draws; draw++) {
    const tShadow = performance.now();
    for (const l of lights) {
      const map = l.shadow.getShadowMap()!;
      map.resetRefreshCounter();
      map.render();
    }
    shadowMs = performance.now() - tShadow;
    renderMs = {};
    readMs = {};
    chunks = [];
    layout = [];
    offset = 0;
    scene.updateTransformMatrix(true);
    for (const mode of req.modes) {
      const target = mode === 'beauty' ? aa : plain;
      const tr = performance.now();
      passState.mode = RENDER_MODES[mode];
      scene.resetCachedMaterial();
      target.resetRefreshCounter();
      target.render();
      const glError = (engine._gl as WebGL2RenderingContext).getError();
      if (glError !== 0) {
        // Seen after a change of target size and light count: an effect drawn with a stale
        // uniform-buffer binding. Rebuild the materials' effects and draw the sample again once.
        if (draws >= 3) throw new Error(`WebGL error 0x${glError.toString(16)} while rendering the ${mode} pass`);
        draws = 3;
        scene.markAllMaterialsAsDirty(Constants.MATERIAL_AllDirtyFlag);
        for (let tries = 0; tries < 400 && !readyForTarget(); tries++) await yieldToEventLoop();
        break;
      }
      const tRead = performance.now();
      renderMs[mode] = tRead - tr;
      const bytes = await readTarget(target, mode, req.width, req.height);
      readMs[mode] = performance.now() - tRead;
      chunks.push(bytes);
      layout.push({ mode, offset, bytes: bytes.byteLength, channels: MODE_CHANNELS[mode], float32: MODE_FLOAT32[mode] });
      offset += bytes.byteLength;
      if (contextLost) throw new Error('WebGL context lost');
    }
  }
  passState.mode = RENDER_MODES.beauty;

  const tUp = performance.now();
  const response = await fetch(req.uploadUrl, { method: 'POST', body: new Blob(chunks as BlobPart[]) });
  if (!response.ok) throw new Error(`upload failed: HTTP ${response.status}`);
  const uploadMs = performance.now() - tUp;
  return { layout, timings: { setupMs, shadowMs, renderMs, readMs, uploadMs }, uploadBytes: offset, head: { bboxMin: head.bboxMin, bboxMax: head.bboxMax } };
}

// ---- OLAT capture --------------------------------------------------------------------------
// Rig lights are far (~2 m) from a ~0.2 m head: a point light's cube shadow map would spend
// ~70 of 1024 texels per face on the head. So each rig light is a SpotLight with glTF falloff
// (inverse-square distance falloff, no range cut-off) whose inner cone holds the whole head,
// where its angular falloff is exactly 1: inside that cone it is the same isotropic point
// emitter as a PointLight of the same intensity (shared/lighting.ts units), and its single 2D
// shadow map is aimed at the head (~half its texels on the head) with a tight depth range.
// Pooled and never disposed, like the point lights; disabled outside olat().
const spotPool: { light: SpotLight; shadow: ShadowGenerator }[] = [];

function spotEntry(i: number, shadowMapSize: number): { light: SpotLight; shadow: ShadowGenerator } {
  while (spotPool.length <= i) {
    const k = spotPool.length;
    const light = new SpotLight(`olat${k}`, new Vector3(0, 2, 0), new Vector3(0, -1, 0), Math.PI / 8, 0, scene);
    light.falloffType = Light.FALLOFF_GLTF;
    light.setEnabled(false);
    const shadow = new ShadowGenerator(shadowMapSize, light);
    shadow.usePercentageCloserFiltering = true;
    shadow.filteringQuality = ShadowGenerator.QUALITY_MEDIUM;
    shadow.bias = 0.0005;
    shadow.normalBias = 0.001;
    shadow.getShadowMap()!.refreshRate = RenderTargetTexture.REFRESHRATE_RENDER_ONCE;
    spotPool.push({ light, shadow });
  }
  const e = spotPool[i];
  if (e.shadow.getShadowMap()!.getSize().width !== shadowMapSize) e.shadow.getShadowMap()!.resize(shadowMapSize);
  return e;
}

async function olat(req: PageOlatRequest): Promise<PageOlatResult> {
  if (contextLost) throw new Error('WebGL context lost');
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
  for (const e of lightPool) e.light.setEnabled(false);
  lights = [];
  for (const m of head.meshes) m.receiveShadows = true;

  // Bounding sphere of the head around each light's aim point: sets the cones and depth ranges.
  const corners: [number, number, number][] = [];
  for (const x of [head.bboxMin[0], head.bboxMax[0]]) for (const y of [head.bboxMin[1], head.bboxMax[1]]) for (const z of [head.bboxMin[2], head.bboxMax[2]]) corners.push([x, y, z]);
  const maxShot = Math.max(...req.shots.map((s) => s.length));
  if (maxShot > 4) throw new Error('olat: at most 4 lights per shot');
  const configure = (shot: number[]) => {
    for (let k = 0; k < spotPool.length; k++) spotPool[k].light.setEnabled(false);
    shot.forEach((li, k) => {
      const spec = req.lights[li];
      if (!spec) throw new Error(`olat: shot names light ${li}, rig has ${req.lights.length}`);
      const { light, shadow } = spotEntry(k, req.shadowMapSize);
      const p = new Vector3(...spec.position);
      const t = new Vector3(...spec.target);
      const dist = Vector3.Distance(p, t);
      const R = Math.max(...corners.map((c) => Math.hypot(c[0] - spec.target[0], c[1] - spec.target[1], c[2] - spec.target[2])));
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
  };
  const shotLights = () => spotPool.filter((e) => e.light.isEnabled());

  const readyFor = async () => {
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
  };
  const renderShadows = () => {
    // Lights and shadow generators refresh their uniforms and matrices once per render id; a 2D
    // shadow map does not advance it (a cube map does), so advance it for every shot.
    for (const l of shotLights()) {
      scene.incrementRenderId();
      const map = l.shadow.getShadowMap()!;
      map.resetRefreshCounter();
      map.render();
    }
    scene.incrementRenderId();
  };
  const draw = (target: RenderTargetTexture, mode: RenderModeName) => {
    passState.mode = RENDER_MODES[mode];
    scene.resetCachedMaterial();
    target.resetRefreshCounter();
    target.render();
    const glError = (engine._gl as WebGL2RenderingContext).getError();
    return glError;
  };
  // A new shader variant (light count, target size, head) is drawn twice, keeping the second
  // (see render(): the first draw of a variant can lose silhouette coverage on llvmpipe). A GL
  // error (stale uniform-buffer binding) rebuilds the effects and draws again, once.
  const prepareVariant = async (count: number): Promise<number> => {
    const key = `olat|${rttKey}|${count}|${req.head.key}|${req.head.material.subsurface}`;
    await readyFor();
    const draws = key !== lastVariantKey ? 2 : 1;
    lastVariantKey = key;
    return draws;
  };
  const withRetry = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof GlError)) throw err;
      scene.markAllMaterialsAsDirty(Constants.MATERIAL_AllDirtyFlag);
      await readyFor();
      await fn();
    }
  };
  scene.updateTransformMatrix(true);
  const firstShot = req.shots[0] ?? [0];
  configure(firstShot);
  let draws = await prepareVariant(firstShot.length);
  const setupMs = performance.now() - t0;

  // ---- Intrinsics, once: mask (alpha of the MSAA beauty), albedo, normal, depth; covered pixels.
  const tI = performance.now();
  const rgba = new Float32Array(n * 4);
  const intrinsics: { name: 'albedo' | 'normal' | 'depth' | 'mask'; data: Uint8Array; channels: number; dtype: 'half' | 'float32' }[] = [];
  let covered = new Uint32Array(0);
  await withRetry(async () => {
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
          for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c];
          intrinsics.push({ name: mode, data: halfBytes(flipRows(rgb, W, H, 3)), channels: 3, dtype: 'half' });
        }
      }
    }
  });
  passState.mode = RENDER_MODES.beauty;
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
  const uploads: Promise<void>[] = [upload(req.intrinsicsUrl, intrChunks)];
  const intrinsicsMs = performance.now() - tI;

  // ---- Shots: beauty only, no MSAA, covered pixels only, RGB half.
  const P = covered.length;
  const shotBytes = P * 3 * 2;
  const isCovered = new Uint8Array(n);
  for (let k = 0; k < P; k++) isCovered[covered[k]] = 1;
  const chunkHalfs = new Uint16Array(P * 3 * req.shotsPerChunk);
  const rgbShot = new Float32Array(P * 3);
  let shadowMs = 0;
  let drawMs = 0;
  let readMs = 0;
  let packMs = 0;
  let leakedPixels = 0;
  let inChunk = 0;
  let chunk = 0;
  let count = firstShot.length;
  for (let s = 0; s < req.shots.length; s++) {
    const shot = req.shots[s];
    configure(shot);
    if (shot.length !== count) {
      count = shot.length;
      draws = await prepareVariant(count);
    } else if (s > 0) draws = 1;
    await withRetry(async () => {
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
    if (contextLost) throw new Error('WebGL context lost');
  }
  passState.mode = RENDER_MODES.beauty;
  for (const e of spotPool) e.light.setEnabled(false);
  const tU = performance.now();
  await Promise.all(uploads);
  const uploadWaitMs = performance.now() - tU;
  return {
    pixelCount: P,
    intrinsics: intrLayout,
    shotBytes,
    leakedPixels,
    timings: { setupMs, intrinsicsMs, shadowMs, drawMs, readMs, packMs, uploadWaitMs, totalMs: performance.now() - t0 },
    head: { bboxMin: head.bboxMin, bboxMax: head.bboxMax },
  };
}

class GlError extends Error {
  constructor(mode: string) {
    super(`WebGL error while drawing the ${mode} pass of the OLAT capture`);
  }
}

/** GL rows are bottom-up: returns a copy with row 0 = top. */
function flipRows(src: Float32Array, W: number, H: number, channels: number): Float32Array {
  const out = new Float32Array(src.length);
  const row = W * channels;
  for (let y = 0; y < H; y++) out.set(src.subarray((H - 1 - y) * row, (H - y) * row), y * row);
  return out;
}

function halfBytes(src: Float32Array): Uint8Array {
  const h = floatsToHalf(src);
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/** POSTs the bytes (copied into the Blob at once, so the caller may reuse its buffers). */
async function upload(url: string, parts: Uint8Array[]): Promise<void> {
  const response = await fetch(url, { method: 'POST', body: new Blob(parts as BlobPart[]) });
  if (!response.ok) throw new Error(`upload failed: HTTP ${response.status}`);
}

function info() {
  const gl = engine._gl as WebGL2RenderingContext;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return {
    renderer: ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : String(gl.getParameter(gl.RENDERER)),
    vendor: ext ? String(gl.getParameter(ext.UNMASKED_VENDOR_WEBGL)) : String(gl.getParameter(gl.VENDOR)),
    webgl: engine.webGLVersion,
    babylon: Engine.Version,
    floatTargets: engine.getCaps().textureFloatRender,
    maxSamples: engine.getCaps().maxMSAASamples,
  };
}

declare global {
  interface Window {
    vls: { render: typeof render; olat: typeof olat; info: typeof info; isContextLost: () => boolean; ready: boolean };
  }
}

window.vls = { render, olat, info, isContextLost: () => contextLost, ready: true };
// Keep Matrix referenced for tree-shaking stability of math helpers used by head.ts.
void Matrix;
