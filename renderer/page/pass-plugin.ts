// Browser-only. A Babylon material plugin that makes the PBR shader emit one intrinsic
// component at a time, chosen by a uniform. Reading the components out of the same shader
// that draws the beauty image makes beauty = albedo * diffuse + specular hold by construction
// (up to the terms listed in README "Intrinsic decomposition").
import { MaterialPluginBase } from '@babylonjs/core/Materials/materialPluginBase.js';
import type { Material } from '@babylonjs/core/Materials/material.js';
import type { UniformBuffer } from '@babylonjs/core/Materials/uniformBuffer.js';
import { RENDER_MODES } from '../core/render-modes.js';

/** The mode every plugin instance draws in; set by the page before each render. */
export const passState = { mode: RENDER_MODES.beauty as number };

export class IntrinsicPassPlugin extends MaterialPluginBase {
  constructor(material: Material) {
    super(material, 'VlsIntrinsicPass', 300, { VLS_PASSES: false });
    this._enable(true);
  }

  override prepareDefines(defines: Record<string, unknown>): void {
    defines.VLS_PASSES = true;
  }

  override getClassName(): string {
    return 'IntrinsicPassPlugin';
  }

  override getUniforms() {
    return {
      ubo: [{ name: 'vlsMode', size: 1, type: 'float' }],
      fragment: '#ifdef VLS_PASSES\nuniform float vlsMode;\n#endif\n',
    };
  }

  override bindForSubMesh(uniformBuffer: UniformBuffer): void {
    uniformBuffer.updateFloat('vlsMode', passState.mode);
  }

  override getCustomCode(shaderType: string): Record<string, string> | null {
    if (shaderType !== 'fragment') return null;
    // Modes: see shared/render-modes.ts. Alpha is 1 for every mode so that the MSAA
    // resolve of alpha is the anti-aliased coverage (the mask).
    return {
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
    finalColor = vec4(vlsOut, 1.0);
  }
#endif
`,
    };
  }
}
