// Browser-only. One sample render: head, environment, camera and point lights set up, shaders
// made ready for the targets' render passes, then each requested pass drawn, read back and
// uploaded to Node in one POST.
import { Constants } from '@babylonjs/core/Engines/constants.js';
import { engine, scene, variant, isContextLost, activateHead, placeCamera, yieldToEventLoop } from './scene.js';
import { getEnvironment } from './environments.js';
import { ensureTargets } from './targets.js';
import { lights, setLights, envLights, setEnvLights } from './lights.js';
import { readTarget, upload } from './readback.js';
import { passState, visState } from './pass-plugin.js';
import { RENDER_MODES, MODE_CHANNELS, MODE_FLOAT32 } from '../core/render-modes.js';
import type { PageRenderRequest, PageRenderResult } from '../core/protocol.js';

/** Variants (with the specular flag) drawn at least once on this page (see render()). */
const drawnVariants = new Set<string>();

export async function render(req: PageRenderRequest): Promise<PageRenderResult> {
  if (isContextLost()) throw new Error('WebGL context lost');
  const t0 = performance.now();
  const head = await activateHead(req.head);

  if (req.environment) {
    const env = await getEnvironment(req.environment);
    scene.environmentTexture = env;
    visState.on = req.environment.visibility && head.hasVisibility;
    visState.sh = req.environment.sh;
    head.material.environmentIntensity = req.environment.intensity;
  } else {
    scene.environmentTexture = null;
    visState.on = false;
    head.material.environmentIntensity = 0;
  }

  visState.bounce = false;
  if (req.bounceUrl && head.hasVisibility) {
    const res = await fetch(req.bounceUrl);
    if (!res.ok) throw new Error(`bounce ${req.bounceUrl} failed to load: HTTP ${res.status}`);
    head.setBounce(new Float32Array(await res.arrayBuffer()));
    visState.bounce = true;
  }
  if (req.motion) {
    const get = async (url: string | null) => {
      if (!url) return null;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`motion ${url} failed to load: HTTP ${res.status}`);
      return new Float32Array(await res.arrayBuffer());
    };
    head.setMotion(await get(req.motion.prevUrl), await get(req.motion.nextUrl));
  }
  const { aa, plain } = ensureTargets(req.width, req.height, req.msaa);
  aa.renderList = head.meshes;
  plain.renderList = head.meshes;
  placeCamera(req.camera);
  setLights(req, head.meshes);
  setEnvLights(req.environment?.lights ?? [], req.envLightSlots, req.environment?.intensity ?? 0, req.envShadowMapSize, head.meshes);
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
      return [...lights, ...envLights].every((l) => l.shadow.isReady(head.meshes[0].subMeshes[0], false, false));
    } finally {
      engine.currentRenderPassId = previous;
    }
  };
  let ready = false;
  for (let tries = 0; tries < 400 && !(ready = readyForTarget()); tries++) await yieldToEventLoop();
  if (!ready) throw new Error('materials did not become ready for rendering (shader compile stalled)');
  const setupMs = performance.now() - t0;

  // The first sample drawn with a new shader variant (light count, MSAA, head, material
  // switches) loses coverage along parts of the silhouette when shadow maps are rendered, on
  // llvmpipe at least (measured ~100 edge pixels of 4096 at 64 px; repeats of the same variant
  // are exact). Drawing such a sample twice and keeping the second is exact (test/render.test.ts
  // "mask does not depend on the lighting"); it costs one extra sample per new variant only.
  // Babylon also compiles a separate variant (SPECULARTERM) when every light's specular colour is
  // black: the dark padding slots of a lighting without point lights. Its first draw ever loses
  // silhouette pixels too (input_i after target_k: ~40 px at 64 px, msaa 1), but returning to an
  // already drawn specular variant is exact, so that flag double-draws once per page only.
  // The target size is not part of it: a size change (crops give most samples a size of their
  // own) draws exactly on the first draw (measured: every pass bit-identical to a repeat over
  // 8 size changes, new and reused targets), and the double draw cost a whole lighting per sample.
  const variantKey = `${req.msaa}|${lights.length}|${envLights.length}|${head.hasVisibility ? 1 : 0}|${req.motion ? 1 : 0}|${req.head.key}|${req.environment ? 1 : 0}|${req.head.material.subsurface}`;
  const specularKey = `${variantKey}|${lights.some((l) => !l.light.specular.equalsFloats(0, 0, 0)) ? 1 : 0}`;
  let draws = variantKey !== variant.last || !drawnVariants.has(specularKey) ? 2 : 1;
  variant.last = variantKey;
  drawnVariants.add(specularKey);
  let shadowMs = 0;
  let renderMs: Record<string, number> = {};
  let readMs: Record<string, number> = {};
  let chunks: Uint8Array[] = [];
  let layout: PageRenderResult['layout'] = [];
  let offset = 0;
  for (let draw = 0; draw < draws; draw++) {
    // Lights bind their uniforms (and directional shadows their fitted matrices) once per render
    // id: a repeated draw must see a new one, else it repeats what the first draw bound.
    if (draw > 0) scene.incrementRenderId();
    const tShadow = performance.now();
    for (const l of [...lights, ...envLights]) {
      const map = l.shadow.getShadowMap()!;
      // A shadow map skips every submesh already drawn at this render id (Babylon's
      // scene.render() bumps the id before each render target; a cube map bumps it per face, a
      // 2D map does not): without this, every directional map after the first was empty and
      // environment lights 2-4 cast no shadows at all.
      scene.incrementRenderId();
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
      if (isContextLost()) throw new Error('WebGL context lost');
    }
  }
  passState.mode = RENDER_MODES.beauty;

  const tUp = performance.now();
  await upload(req.uploadUrl, chunks);
  const uploadMs = performance.now() - tUp;
  return { layout, timings: { setupMs, shadowMs, renderMs, readMs, uploadMs }, uploadBytes: offset, head: { bboxMin: head.bboxMin, bboxMax: head.bboxMax, ...(req.head.landmarks ? { landmarks: head.toCanonical(req.head.landmarks) } : {}) } };
}
