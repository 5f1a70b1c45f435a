// Browser-only. A Babylon material plugin that makes the PBR shader emit one intrinsic
// component at a time, chosen by a uniform. Reading the components out of the same shader
// that draws the beauty image makes beauty = albedo * diffuse + specular hold by construction
// (up to the terms listed in README "Intrinsic decomposition").
import { MaterialPluginBase } from '@babylonjs/core/Materials/materialPluginBase.js';
import type { Material } from '@babylonjs/core/Materials/material.js';
import type { UniformBuffer } from '@babylonjs/core/Materials/uniformBuffer.js';
import type { BaseTexture } from '@babylonjs/core/Materials/Textures/baseTexture.js';
import { RENDER_MODES } from '../core/render-modes.js';

/** The mode every plugin instance draws in; set by the page before each render. */
export const passState = { mode: RENDER_MODES.beauty as number };

/**
 * Environment visibility (renderer/assets/visibility.ts): materials whose meshes carry the
 * per-vertex transfer attributes, whether it is on for this render, and the residual's radiance SH9
 * (core/sh9.ts layout, world axes) it is applied to.
 */
export const visState = { enabledMaterials: new Set<number>(), on: false, bounce: false, sh: new Array<number>(27).fill(0) };

/** Materials whose meshes carry per-vertex positions of the neighbouring frames (vlsPrev, vlsNext): deforming heads. */
export const motionState = { enabledMaterials: new Set<number>() };

/** What the segmentation mode writes for a material: a class id, or an id image in its UVs. */
export interface MaterialLabel {
  id: number;
  /** 8-bit label ids in R, nearest-sampled without mips (a filtered label would be a made-up class). */
  map?: BaseTexture | null;
}

export class IntrinsicPassPlugin extends MaterialPluginBase {
  private label: MaterialLabel;

  constructor(material: Material, label: MaterialLabel = { id: 1 }) {
    super(material, 'VlsIntrinsicPass', 300, { VLS_PASSES: false, VLS_VIS: false, VLS_LABELMAP: false, VLS_MOTION: false });
    this.label = label;
    this._enable(true);
  }

  /** Sets the label (e.g. once its map has loaded). */
  setLabel(label: MaterialLabel): void {
    this.label = label;
    this.markAllDefinesAsDirty();
  }

  override prepareDefines(defines: Record<string, unknown>): void {
    defines.VLS_PASSES = true;
    defines.VLS_VIS = visState.enabledMaterials.has(this._material.uniqueId);
    defines.VLS_LABELMAP = !!this.label.map;
    defines.VLS_MOTION = motionState.enabledMaterials.has(this._material.uniqueId);
  }

  override isReadyForSubMesh(): boolean {
    return !this.label.map || this.label.map.isReady();
  }

  override getSamplers(samplers: string[]): void {
    samplers.push('vlsLabelMap');
  }

  override hasTexture(texture: BaseTexture): boolean {
    return this.label.map === texture;
  }

  override getActiveTextures(active: BaseTexture[]): void {
    if (this.label.map) active.push(this.label.map);
  }

  override dispose(forceDisposeTextures?: boolean): void {
    if (forceDisposeTextures) this.label.map?.dispose();
  }

  override getAttributes(attributes: string[]): void {
    if (visState.enabledMaterials.has(this._material.uniqueId)) attributes.push('vlsVis0', 'vlsVis1', 'vlsVis2', 'vlsBounce');
    if (motionState.enabledMaterials.has(this._material.uniqueId)) attributes.push('vlsPrev', 'vlsNext');
  }

  override getClassName(): string {
    return 'IntrinsicPassPlugin';
  }

  override getUniforms() {
    const sh = Array.from({ length: 9 }, (_, k) => ({ name: `vlsSH${k}`, size: 3, type: 'vec3' }));
    return {
      ubo: [{ name: 'vlsMode', size: 1, type: 'float' }, { name: 'vlsVisOn', size: 1, type: 'float' }, { name: 'vlsBounceOn', size: 1, type: 'float' }, { name: 'vlsLabelId', size: 1, type: 'float' }, ...sh],
      fragment:
        '#ifdef VLS_PASSES\nuniform float vlsMode;\nuniform float vlsVisOn;\nuniform float vlsBounceOn;\nuniform float vlsLabelId;\n' +
        sh.map((u) => `uniform vec3 ${u.name};\n`).join('') +
        '#endif\n',
    };
  }

  override bindForSubMesh(uniformBuffer: UniformBuffer): void {
    uniformBuffer.updateFloat('vlsMode', passState.mode);
    uniformBuffer.updateFloat('vlsVisOn', visState.on ? 1 : 0);
    uniformBuffer.updateFloat('vlsBounceOn', visState.bounce ? 1 : 0);
    uniformBuffer.updateFloat('vlsLabelId', this.label.id);
    if (this.label.map) uniformBuffer.setTexture('vlsLabelMap', this.label.map);
    for (let k = 0; k < 9; k++) uniformBuffer.updateFloat3(`vlsSH${k}`, visState.sh[k * 3], visState.sh[k * 3 + 1], visState.sh[k * 3 + 2]);
  }

  override getCustomCode(shaderType: string): Record<string, string> | null {
    if (shaderType === 'vertex') {
      return {
        CUSTOM_VERTEX_DEFINITIONS:
          '#ifdef VLS_VIS\nattribute vec4 vlsVis0;\nattribute vec4 vlsVis1;\nattribute vec4 vlsVis2;\nattribute vec4 vlsBounce;\nvarying vec4 vVlsVis0;\nvarying vec4 vVlsVis1;\nvarying vec4 vVlsVis2;\nvarying vec4 vVlsBounce;\n#endif\n' +
          '#ifdef VLS_MOTION\nattribute vec3 vlsPrev;\nattribute vec3 vlsNext;\nvarying vec3 vVlsPrev;\nvarying vec3 vVlsNext;\n#endif\n',
        // vlsPrev / vlsNext are world positions already (the page's geometry() frame).
        CUSTOM_VERTEX_MAIN_END:
          '#ifdef VLS_VIS\nvVlsVis0 = vlsVis0;\nvVlsVis1 = vlsVis1;\nvVlsVis2 = vlsVis2;\nvVlsBounce = vlsBounce;\n#endif\n' + '#ifdef VLS_MOTION\nvVlsPrev = vlsPrev;\nvVlsNext = vlsNext;\n#endif\n',
      };
    }
    if (shaderType !== 'fragment') return null;
    // Modes: see shared/render-modes.ts. Alpha is 1 for every mode so that the MSAA
    // resolve of alpha is the anti-aliased coverage (the mask).
    return {
      CUSTOM_FRAGMENT_DEFINITIONS: `
#ifdef VLS_MOTION
varying vec3 vVlsPrev;
varying vec3 vVlsNext;
#endif
#ifdef VLS_LABELMAP
uniform sampler2D vlsLabelMap;
#endif
#ifdef VLS_VIS
varying vec4 vVlsVis0;
varying vec4 vVlsVis1;
varying vec4 vVlsVis2;
varying vec4 vVlsBounce;
#endif
`,
      // Environment visibility of the image-based residual (the bright sources are shadowed
      // lights): diffuse x (shadowed / unshadowed irradiance at the interpolated vertex normal),
      // so the normal map's detail stays; specular x the occlusion of Lagarde & de Rousiers 2014.
      CUSTOM_FRAGMENT_BEFORE_FINALCOLORCOMPOSITION: `
#if defined(LEGACY_SPECULAR_ENERGY_CONSERVATION) && !defined(UNLIT)
  // Additive layers (head.ts): Babylon's legacy mode scaled the albedo by (1 - F0); the base
  // colour is the albedo (what the albedo pass reports), so every diffuse term gets it back.
  {
    vec3 vlsKeep = baseColor.rgb / max(surfaceAlbedo.rgb, vec3(1e-6));
    vlsKeep = mix(vec3(1.0), vlsKeep, step(vec3(1e-6), surfaceAlbedo.rgb));
    finalDiffuse *= vlsKeep;
  #ifdef REFLECTION
    finalIrradiance *= vlsKeep;
  #endif
    surfaceAlbedo.rgb = mix(surfaceAlbedo.rgb, baseColor.rgb, step(vec3(1e-6), surfaceAlbedo.rgb));
  }
#endif
#if defined(REFLECTION) && !defined(UNLIT)
  // Burley diffuse under the environment too (lights use it: head.ts): Babylon's SH irradiance is
  // Lambert's. Burley's directional albedo under uniform light, with F_D90 at the mean L.H of a
  // cosine-weighted hemisphere, (1 + (F_D90 - 1)(1 - N.V)^5)(1 + (F_D90 - 1)/21), scales it.
  {
    float vlsNv = clamp(dot(normalW, viewDirectionW), 0.0, 1.0);
    float vlsFd90 = 0.5 + roughness * (1.0 + 0.666667 * vlsNv);
    float vlsFv = pow(1.0 - vlsNv, 5.0);
    finalIrradiance *= (1.0 + (vlsFd90 - 1.0) * vlsFv) * (1.0 + (vlsFd90 - 1.0) / 21.0);
  }
#endif
#if defined(VLS_VIS)
  // One diffuse interreflection bounce (renderer/assets/bounce.ts), per vertex: indirect
  // shading x albedo, part of what albedo multiplies like any diffuse light.
  if (vlsBounceOn > 0.5) finalDiffuse += max(vVlsBounce.rgb, vec3(0.0)) * surfaceAlbedo.rgb;
#endif
#if defined(VLS_VIS) && defined(REFLECTION) && defined(NORMAL)
  if (vlsVisOn > 0.5) {
    vec3 vlsN = normalize(vNormalW);
    float vlsY[9];
    vlsY[0] = 0.282095;
    vlsY[1] = 0.488603 * vlsN.y; vlsY[2] = 0.488603 * vlsN.z; vlsY[3] = 0.488603 * vlsN.x;
    vlsY[4] = 1.092548 * vlsN.x * vlsN.y; vlsY[5] = 1.092548 * vlsN.y * vlsN.z;
    vlsY[6] = 0.315392 * (3.0 * vlsN.z * vlsN.z - 1.0); vlsY[7] = 1.092548 * vlsN.x * vlsN.z;
    vlsY[8] = 0.546274 * (vlsN.x * vlsN.x - vlsN.y * vlsN.y);
    vec3 vlsL[9];
    vlsL[0] = vlsSH0; vlsL[1] = vlsSH1; vlsL[2] = vlsSH2; vlsL[3] = vlsSH3; vlsL[4] = vlsSH4;
    vlsL[5] = vlsSH5; vlsL[6] = vlsSH6; vlsL[7] = vlsSH7; vlsL[8] = vlsSH8;
    float vlsT[9];
    vlsT[0] = vVlsVis0.x; vlsT[1] = vVlsVis0.y; vlsT[2] = vVlsVis0.z; vlsT[3] = vVlsVis0.w;
    vlsT[4] = vVlsVis1.x; vlsT[5] = vVlsVis1.y; vlsT[6] = vVlsVis1.z; vlsT[7] = vVlsVis1.w;
    vlsT[8] = vVlsVis2.x;
    float vlsA[9];
    vlsA[0] = 1.0; vlsA[1] = 0.666667; vlsA[2] = 0.666667; vlsA[3] = 0.666667;
    vlsA[4] = 0.25; vlsA[5] = 0.25; vlsA[6] = 0.25; vlsA[7] = 0.25; vlsA[8] = 0.25;
    vec3 vlsShadowed = vec3(0.0);
    vec3 vlsOpen = vec3(0.0);
    for (int k = 0; k < 9; k++) {
      vlsShadowed += vlsT[k] * vlsL[k];
      vlsOpen += vlsA[k] * vlsY[k] * vlsL[k];
    }
    vec3 vlsRatio = clamp(vlsShadowed / max(vlsOpen, vec3(1e-6)), 0.0, 1.0);
    float vlsAo = clamp(vVlsVis2.y, 0.0, 1.0);
    vlsRatio = mix(vec3(vlsAo), vlsRatio, step(vec3(1e-4), vlsOpen));
    finalIrradiance *= vlsRatio;
    float vlsNdotV = clamp(dot(normalW, viewDirectionW), 0.0, 1.0);
    float vlsSo = clamp(pow(vlsNdotV + vlsAo, exp2(-16.0 * roughness - 1.0)) - 1.0 + vlsAo, 0.0, 1.0);
    finalRadianceScaled *= vlsSo;
  }
#endif
`,
      CUSTOM_FRAGMENT_BEFORE_FOG: `
#ifdef VLS_PASSES
  vec3 vlsBeauty = finalColor.rgb;
#endif
`,
      CUSTOM_FRAGMENT_BEFORE_FRAGCOLOR: `
#ifdef VLS_PASSES
  {
    vec3 vlsOut = vlsBeauty;
    vec3 vlsShading = vec3(0.0);
    vec3 vlsSpec = vec3(0.0);
  #ifndef UNLIT
    // Everything albedo multiplies, divided back out: exact whatever Babylon adds to the diffuse
    // terms (energy conservation, AO, translucency), so beauty = albedo * diffuse + specular.
    vec3 vlsAlbedoTerms = finalDiffuse + finalAmbient;
    #ifdef REFLECTION
      vlsAlbedoTerms += finalIrradiance;
      vlsSpec += finalRadianceScaled;
    #endif
    #ifdef SPECULARTERM
      vlsSpec += finalSpecularScaled;
    #endif
    vlsShading = vlsAlbedoTerms / max(surfaceAlbedo.rgb, vec3(1e-4));
  #endif
    if (vlsMode > 0.5 && vlsMode < 1.5) vlsOut = surfaceAlbedo.rgb;
    else if (vlsMode < 2.5 && vlsMode > 1.5) vlsOut = vlsShading;
    else if (vlsMode < 3.5 && vlsMode > 2.5) vlsOut = vlsSpec;
    else if (vlsMode < 4.5 && vlsMode > 3.5) vlsOut = normalW;
    else if (vlsMode < 5.5 && vlsMode > 4.5) vlsOut = vec3(length(vPositionW - vEyePosition.xyz), 0.0, 0.0);
    else if (vlsMode > 6.5) {
      // Where this surface point is in the previous (7) / next (8) frame of a deforming head.
      vlsOut = vPositionW;
  #ifdef VLS_MOTION
      vlsOut = vlsMode < 7.5 ? vVlsPrev : vVlsNext;
  #endif
    }
    else if (vlsMode > 5.5) {
      // Segmentation: the material's class, or its label image's texel (ids 0..255 in R).
      float vlsLabel = vlsLabelId;
  #if defined(VLS_LABELMAP) && defined(MAINUV1)
      vlsLabel = floor(texture2D(vlsLabelMap, vMainUV1).r * 255.0 + 0.5);
  #endif
      vlsOut = vec3(vlsLabel, 0.0, 0.0);
    }
    finalColor = vec4(vlsOut, 1.0);
  }
#endif
`,
    };
  }
}
