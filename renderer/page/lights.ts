// Browser-only. The page's shadow-casting lights: the point lights of a sample render, and the
// spot lights of an OLAT capture. Both pools are filled on demand and never disposed.
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { RenderTargetTexture } from '@babylonjs/core/Materials/Textures/renderTargetTexture.js';
import { PointLight } from '@babylonjs/core/Lights/pointLight.js';
import { SpotLight } from '@babylonjs/core/Lights/spotLight.js';
import { DirectionalLight } from '@babylonjs/core/Lights/directionalLight.js';
import { Light } from '@babylonjs/core/Lights/light.js';
import { ShadowGenerator } from '@babylonjs/core/Lights/Shadows/shadowGenerator.js';
import '@babylonjs/core/Lights/Shadows/shadowGeneratorSceneComponent.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import { scene } from './scene.js';
import type { PageRenderRequest, PagePointLight, PageEnvLight } from '../core/protocol.js';

/** Enabled point lights: the lighting's own ones, then dark padding slots (see setLights). */
export let lights: { light: PointLight; shadow: ShadowGenerator }[] = [];

// Point lights and their shadow generators are pooled, never disposed (disposal frees uniform
// buffers and render passes that cached effects still reference); unused ones are disabled.
const lightPool: { light: PointLight; shadow: ShadowGenerator }[] = [];

// The shader variant depends on the number of enabled lights, and a new variant costs a
// recompile check and a double draw (see render). With req.lightSlots, lightings with fewer
// lights are padded with dark ones (intensity 0: they add exactly 0), so a batch whose samples
// have 0-3 lights draws every one with the same variant.
const DARK_SLOT: PagePointLight = { position: [0, 10, 0], color: [0, 0, 0], intensity: 0, radius: 0.02 };

export function setLights(req: PageRenderRequest, meshes: AbstractMesh[]): void {
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

/** Disables every point and environment light (an OLAT capture lights with its spot lights only). */
export function disablePointLights(): void {
  for (const e of lightPool) e.light.setEnabled(false);
  for (const e of dirPool) e.light.setEnabled(false);
  lights = [];
  envLights = [];
}

// ---- Environment sources (renderer/core/env-lights.ts): the bright part of the map as distant
// lights with orthographic shadow maps fitted to the head. Same BRDF as every other light.
// Padding slots are dark (intensity 0, colour kept white so the specular variant is unchanged).
export let envLights: { light: DirectionalLight; shadow: ShadowGenerator }[] = [];
const dirPool: { light: DirectionalLight; shadow: ShadowGenerator }[] = [];
const DARK_ENV_LIGHT: PageEnvLight = { direction: [0, 1, 0], irradiance: [0, 0, 0], spreadRad: 0 };

export function setEnvLights(sources: PageEnvLight[], slots: number, intensity: number, shadowMapSize: number, meshes: AbstractMesh[]): void {
  const n = Math.max(sources.length, slots);
  while (dirPool.length < n) {
    const k = dirPool.length;
    const light = new DirectionalLight(`env${k}`, new Vector3(0, -1, 0), scene);
    light.autoUpdateExtends = true;
    light.autoCalcShadowZBounds = true;
    const shadow = new ShadowGenerator(shadowMapSize, light);
    shadow.usePercentageCloserFiltering = true;
    shadow.filteringQuality = ShadowGenerator.QUALITY_HIGH;
    shadow.bias = 0.0005;
    shadow.normalBias = 0.001;
    shadow.getShadowMap()!.refreshRate = RenderTargetTexture.REFRESHRATE_RENDER_ONCE;
    dirPool.push({ light, shadow });
  }
  envLights = [];
  for (const [i, entry] of dirPool.entries()) {
    entry.light.setEnabled(i < n);
    if (i >= n) continue;
    const src = sources[i] ?? DARK_ENV_LIGHT;
    const { light, shadow } = entry;
    const [x, y, z] = src.direction;
    light.direction.set(-x, -y, -z);
    light.position.set(2 * x, 2 * y, 2 * z);
    const peak = Math.max(src.irradiance[0], src.irradiance[1], src.irradiance[2]);
    const color = peak > 0 ? new Color3(src.irradiance[0] / peak, src.irradiance[1] / peak, src.irradiance[2] / peak) : new Color3(1, 1, 1);
    light.diffuse = color;
    light.specular = color;
    light.intensity = peak * intensity;
    // Not light.radius = spread: Babylon's roughness widening (Karis 2013) measured worse against
    // Cycles on the studio scenes (26.45 vs 26.49 dB, energy 0.972 vs 0.985).
    if (shadow.getShadowMap()!.getSize().width !== shadowMapSize) shadow.getShadowMap()!.resize(shadowMapSize);
    shadow.getShadowMap()!.renderList = meshes;
    envLights.push(entry);
  }
}

// ---- OLAT rig lights
// Rig lights are far (~2 m) from a ~0.2 m head: a point light's cube shadow map would spend
// ~70 of 1024 texels per face on the head. So each rig light is a SpotLight with glTF falloff
// (inverse-square distance falloff, no range cut-off) whose inner cone holds the whole head,
// where its angular falloff is exactly 1: inside that cone it is the same isotropic point
// emitter as a PointLight of the same intensity (renderer/core/lighting.ts units), and its single 2D
// shadow map is aimed at the head (~half its texels on the head) with a tight depth range.
// Pooled and never disposed, like the point lights; disabled outside olat().
export const spotPool: { light: SpotLight; shadow: ShadowGenerator }[] = [];

export function spotEntry(i: number, shadowMapSize: number): { light: SpotLight; shadow: ShadowGenerator } {
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
