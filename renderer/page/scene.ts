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

const heads = new Map<string, Promise<LoadedHead>>();
let currentHead: LoadedHead | null = null;

/**
 * The shader variant drawn last (render and OLAT capture keys): the first draw of a new variant
 * is repeated (see render.ts).
 */
export const variant = { last: '' };

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Loads (once) and shows the requested head, hiding the previous one. */
export async function activateHead(req: PageHead): Promise<LoadedHead> {
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
