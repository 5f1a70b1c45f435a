// Browser-only. Per-part materials of multi-mesh heads (PageHead.parts, e.g. the ICT model's
// skin, eyes, teeth, mouth, lashes): each listed mesh gets its own PBR material built like the
// head material (same lighting setup, the intrinsic-pass plugin attached), with the part's
// albedo (constant or an sRGB map), roughness and F0. The head material stays the skin's; the
// per-sample settings the render code writes on it (environmentIntensity) are mirrored onto the
// part materials, so every surface sees the same lighting.
//
// Eyelashes (kind 'lashes') are cards whose albedo map carries strand coverage in alpha: they are
// alpha-tested (a fragment below the cut-off is discarded in every render mode, so the passes and
// the mask agree) and drawn from both sides. Their map keeps its mip chain: without one (an sRGB
// texture with noMipmap) the llvmpipe page stalled after a few heads; the low cut-off and the
// dense lash line of the texture keep a dark lid edge when the mips average the strands away.
import { PBRMaterial } from '@babylonjs/core/Materials/PBR/pbrMaterial.js';
import { Texture } from '@babylonjs/core/Materials/Textures/texture.js';
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import { IntrinsicPassPlugin, type MaterialLabel } from './pass-plugin.js';
import type { PageHead, PagePart } from '../core/protocol.js';

function loadSrgb(url: string, scene: Scene, mipmaps = true): Promise<Texture> {
  return new Promise((resolve, reject) => {
    const tex: Texture = new Texture(url, scene, {
      noMipmap: !mipmaps,
      invertY: false,
      // Decoded exactly by the GPU like the head's albedo map (head.ts), not by pow(x, 2.2).
      gammaSpace: true,
      useSRGBBuffer: true,
      onLoad: () => resolve(tex),
      onError: (msg?: string) => reject(new Error(`texture ${url} failed to load: ${msg ?? 'decode error'}`)),
    });
  });
}

/**
 * A label-id image (8-bit grey, ids in R): nearest-sampled, no mips, no colour decoding, so the
 * shader reads the texel's id exactly (pass-plugin.ts).
 */
export function loadLabelMap(url: string, scene: Scene, invertY: boolean): Promise<Texture> {
  return new Promise((resolve, reject) => {
    const tex: Texture = new Texture(url, scene, {
      noMipmap: true,
      invertY,
      samplingMode: Texture.NEAREST_SAMPLINGMODE,
      gammaSpace: false,
      onLoad: () => resolve(tex),
      onError: (msg?: string) => reject(new Error(`label map ${url} failed to load: ${msg ?? 'decode error'}`)),
    });
  });
}

const LASHES = 'lashes';
const LASH_ALPHA_CUTOFF = 0.25;

function partMaterial(scene: Scene, desc: PageHead, part: PagePart, skin: PBRMaterial, label: MaterialLabel): PBRMaterial {
  const m = new PBRMaterial(`${part.kind}-${desc.key}-${part.meshName}`, scene);
  m.metallic = 0;
  m.maxSimultaneousLights = skin.maxSimultaneousLights;
  const brdf = (skin as unknown as { brdf?: { baseDiffuseModel?: number } }).brdf;
  const mb = (m as unknown as { brdf?: { baseDiffuseModel?: number } }).brdf;
  if (brdf && mb && brdf.baseDiffuseModel !== undefined) mb.baseDiffuseModel = brdf.baseDiffuseModel;
  m.roughness = part.roughness;
  m.albedoColor = new Color3(...part.albedo);
  const f0 = Math.min(Math.max(part.f0, 1e-4), 0.2);
  m.indexOfRefraction = (1 + Math.sqrt(f0)) / (1 - Math.sqrt(f0));
  m.sideOrientation = skin.sideOrientation;
  m.backFaceCulling = true;
  m.useRadianceOverAlpha = false;
  m.useSpecularOverAlpha = false;
  m.environmentIntensity = skin.environmentIntensity;
  if (part.kind === LASHES) {
    m.transparencyMode = PBRMaterial.PBRMATERIAL_ALPHATEST;
    m.alphaCutOff = LASH_ALPHA_CUTOFF;
    m.backFaceCulling = false;
    m.twoSidedLighting = true;
  } else if (part.alpha !== undefined && part.alpha < 1) {
    m.alpha = part.alpha;
    m.transparencyMode = PBRMaterial.PBRMATERIAL_ALPHABLEND;
  }
  new IntrinsicPassPlugin(m, label);
  return m;
}

/**
 * Gives the meshes named in desc.parts their materials (after loadHead gave every mesh the
 * head material). Returns the new materials (empty without parts).
 */
export async function applyPartMaterials(scene: Scene, desc: PageHead, meshes: AbstractMesh[], skin: PBRMaterial): Promise<PBRMaterial[]> {
  if (!desc.parts?.length) return [];
  const out: PBRMaterial[] = [];
  const loads: Promise<void>[] = [];
  for (const part of desc.parts) {
    if (part.headMaps) continue; // the skin keeps the head material
    const targets = meshes.filter((mesh) => mesh.name === part.meshName);
    if (targets.length === 0) continue;
    const label: MaterialLabel = { id: part.label, map: null };
    if (part.labelMap) loads.push(loadLabelMap(part.labelMap, scene, false).then((t) => { label.map = t; }));
    const m = partMaterial(scene, desc, part, skin, label);
    const lashes = part.kind === LASHES;
    if (part.albedoMap) {
      loads.push(
        loadSrgb(part.albedoMap, scene).then((t) => {
          if (lashes) t.hasAlpha = true;
          m.albedoTexture = t;
        }),
      );
    }
    for (const t of targets) t.material = m;
    out.push(m);
  }
  await Promise.all(loads);
  if (out.length) {
    // Mirror the head material's per-sample environment intensity onto the parts.
    const proto = Object.getPrototypeOf(skin);
    let d: PropertyDescriptor | undefined;
    for (let p = proto; p && !d; p = Object.getPrototypeOf(p)) d = Object.getOwnPropertyDescriptor(p, 'environmentIntensity');
    if (d?.get && d.set) {
      const { get, set } = d;
      Object.defineProperty(skin, 'environmentIntensity', {
        configurable: true,
        get() {
          return get.call(skin);
        },
        set(v: number) {
          set.call(skin, v);
          for (const m of out) m.environmentIntensity = v;
        },
      });
    } else {
      let v = skin.environmentIntensity;
      Object.defineProperty(skin, 'environmentIntensity', {
        configurable: true,
        get: () => v,
        set: (x: number) => {
          v = x;
          for (const m of out) m.environmentIntensity = x;
        },
      });
    }
  }
  return out;
}
