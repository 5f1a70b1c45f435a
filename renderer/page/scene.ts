// Browser-only. The one warm scene of the page: canvas, engine, scene and camera (created by
// initScene(), called once by main.ts after every module has loaded), the active head, and what
// render and OLAT capture share about shader variants.
import { Engine } from '@babylonjs/core/Engines/engine.js';
import { Scene } from '@babylonjs/core/scene.js';
import { Color4, Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { TargetCamera } from '@babylonjs/core/Cameras/targetCamera.js';
import { loadHead, type LoadedHead } from './head.js';
import type { PageHead, PageCamera } from '../core/protocol.js';

// Live bindings: assigned once by initScene().
export let engine: Engine;
export let scene: Scene;
export let camera: TargetCamera;

let contextLost = false;

export function isContextLost(): boolean {
  return contextLost;
}

/**
 * Live object counts of the page (Babylon's lists, GPU textures, compiled effects, the JS heap):
 * what the long-run memory check watches for growth.
 */
export function stats(): Record<string, number> {
  const perf = performance as Performance & { memory?: { usedJSHeapSize: number } };
  const e = engine as Engine & { _compiledEffects?: Record<string, unknown> };
  return {
    textures: scene.textures.length,
    gpuTextures: engine.getLoadedTexturesCache().length,
    materials: scene.materials.length,
    meshes: scene.meshes.length,
    geometries: scene.geometries.length,
    lights: scene.lights.length,
    renderTargets: scene.customRenderTargets.length,
    effects: Object.keys(e._compiledEffects ?? {}).length,
    jsHeapBytes: perf.memory?.usedJSHeapSize ?? 0,
  };
}

/** Creates the canvas, engine, scene and camera (in this order). */
export function initScene(): void {
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 64;
  document.body.appendChild(canvas);

  engine = new Engine(canvas, false, {
    preserveDrawingBuffer: false,
    stencil: false,
    antialias: false,
    powerPreference: 'high-performance',
    failIfMajorPerformanceCaveat: false,
  });
  engine.onContextLostObservable.add(() => {
    contextLost = true;
  });

  scene = new Scene(engine);
  scene.useRightHandedSystem = true;
  scene.clearColor = new Color4(0, 0, 0, 0);
  scene.ambientColor = new Color3(0, 0, 0);
  // Linear output: no tonemapping, no gamma; Node writes linear EXR and tonemaps previews.
  scene.imageProcessingConfiguration.isEnabled = false;
  scene.imageProcessingConfiguration.applyByPostProcess = true;
  scene.skipFrustumClipping = true;

  camera = new TargetCamera('cam', new Vector3(0, 0, 1), scene);
  camera.fovMode = TargetCamera.FOVMODE_VERTICAL_FIXED;
  scene.activeCamera = camera;
}

/**
 * Loaded heads by key, least recently used first. A batch that draws a new head per sample (ICT
 * identities) would otherwise keep every head's meshes, materials and textures on the GPU: beyond
 * MAX_CACHED_HEADS the least recently used heads are disposed.
 */
const heads = new Map<string, Promise<LoadedHead>>();
export const MAX_CACHED_HEADS = 3;
let currentHead: LoadedHead | null = null;

/**
 * The per-vertex visibility each head was given (Node sends it once per head and page): kept for
 * a while after the head is evicted so a head drawn again gets it back without Node re-sending it.
 */
const savedVisibility = new Map<string, Float32Array>();
const MAX_SAVED_VISIBILITY = 32;

function touch<K, V>(m: Map<K, V>, k: K, v: V): void {
  m.delete(k);
  m.set(k, v);
}

async function loadCached(req: PageHead): Promise<LoadedHead> {
  const head = await loadHead(scene, req);
  const set = head.setVisibility.bind(head);
  head.setVisibility = (data: Float32Array) => {
    touch(savedVisibility, req.key, data);
    while (savedVisibility.size > MAX_SAVED_VISIBILITY) savedVisibility.delete(savedVisibility.keys().next().value!);
    set(data);
  };
  const vis = savedVisibility.get(req.key);
  if (vis) set(vis);
  return head;
}

/** Disposes least recently used heads (never `keep`) until at most `max` remain. */
function evictHeads(keep: string, max: number): void {
  for (const [key, p] of heads) {
    if (heads.size <= max) break;
    if (key === keep) continue;
    heads.delete(key);
    p.then((h) => {
      if (h === currentHead) currentHead = null;
      h.dispose();
    }).catch(() => undefined);
  }
}

/** Number of heads the page holds (tests). */
export function cachedHeadCount(): number {
  return heads.size;
}

/** Loads (once) and shows the requested head, hiding the previous one. */
export async function activateHead(req: PageHead): Promise<LoadedHead> {
  let headPromise = heads.get(req.key);
  if (!headPromise) {
    // Make room first: a page holding ~6 ICT heads at once stalls on llvmpipe (measured), so a
    // new head never loads next to MAX_CACHED_HEADS others.
    evictHeads(req.key, MAX_CACHED_HEADS - 1);
    headPromise = loadCached(req);
  }
  const p = headPromise;
  touch(heads, req.key, p);
  p.catch(() => {
    if (heads.get(req.key) === p) heads.delete(req.key);
  });
  const head = await p;
  if (currentHead && currentHead !== head) currentHead.setEnabled(false);
  head.setEnabled(true);
  head.configure(req);
  currentHead = head;
  return head;
}

/**
 * The shader variant drawn last (render and OLAT capture keys): the first draw of a new variant
 * is repeated (see render.ts).
 */
export const variant = { last: '' };

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function placeCamera(c: PageCamera): void {
  camera.position.set(...c.position);
  camera.upVector = new Vector3(...c.up);
  camera.setTarget(new Vector3(...c.target));
  camera.fov = c.fovYRad;
  camera.minZ = c.near;
  camera.maxZ = c.far;
}

/** What the page runs on (renderer/engine/renderer.ts records it). */
export function info() {
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
