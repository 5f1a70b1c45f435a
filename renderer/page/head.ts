// Browser-only. Loads a head's mesh once, moves it into the canonical frame and gives it a
// skin PBR material carrying the intrinsic-pass plugin.
import { ImportMeshAsync } from '@babylonjs/core/Loading/sceneLoader.js';
import '@babylonjs/loaders/glTF/2.0/index.js';
import '@babylonjs/loaders/OBJ/index.js';
import { PBRMaterial } from '@babylonjs/core/Materials/PBR/pbrMaterial.js';
import { Texture } from '@babylonjs/core/Materials/Textures/texture.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Matrix, Vector3, Quaternion } from '@babylonjs/core/Maths/math.vector.js';
import { Color3 } from '@babylonjs/core/Maths/math.color.js';
import { Constants } from '@babylonjs/core/Engines/constants.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';
import { IntrinsicPassPlugin, motionState, visState } from './pass-plugin.js';
import { applyPartMaterials, loadLabelMap } from './materials.js';
import { VertexBuffer } from '@babylonjs/core/Buffers/buffer.js';
import { Material } from '@babylonjs/core/Materials/material.js';
import type { Mesh } from '@babylonjs/core/Meshes/mesh.js';
import { VIS_STRIDE, type PageHead } from '../core/protocol.js';

export interface LoadedHead {
  meshes: AbstractMesh[];
  material: PBRMaterial;
  /** Canonical-frame bounding box after centring (metres). */
  bboxMin: [number, number, number];
  bboxMax: [number, number, number];
  setEnabled(on: boolean): void;
  /** Applies per-sample material switches (e.g. subsurface) without reloading. */
  configure(desc: PageHead): void;
  /** Every mesh's vertices in the canonical frame (as drawn), concatenated: for the visibility precompute. */
  geometry(): { positions: Float32Array; normals: Float32Array; indices: Uint32Array };
  /** Per-vertex environment visibility (VIS_STRIDE floats per vertex, in geometry() order). */
  setVisibility(data: Float32Array): void;
  /** Per-vertex indirect shading of this render (4 floats per vertex, geometry() order). */
  setBounce(data: Float32Array | null): void;
  /**
   * World positions of every vertex in the previous and next frames of a deforming head (3 floats
   * per vertex, geometry() order; null = this frame's own): what the motion modes output.
   */
  setMotion(prev: Float32Array | null, next: Float32Array | null): void;
  hasVisibility: boolean;
  /** Source-space points (the mesh's units and axes) in the canonical frame, as the head is drawn. */
  toCanonical(points: readonly number[][]): [number, number, number][];
  /** Frees the head's meshes, materials and textures (the page's head cache evicts with it). */
  dispose(): void;
}


function loadTexture(url: string, scene: Scene, flipV: boolean, srgb: boolean): Promise<Texture> {
  return new Promise((resolve, reject) => {
    const tex: Texture = new Texture(
      url,
      scene,
      // sRGB maps decoded exactly by the GPU (and mipmapped in linear), not by pow(x, 2.2) in the shader.
      { noMipmap: false, invertY: flipV, gammaSpace: srgb, useSRGBBuffer: srgb,
        onLoad: () => resolve(tex),
        onError: (msg?: string) => reject(new Error(`texture ${url} failed to load: ${msg ?? 'decode error'}`)) },
    );
  });
}

export async function loadHead(scene: Scene, desc: PageHead): Promise<LoadedHead> {
  const ext = desc.meshExt.toLowerCase();
  let result;
  try {
    result = await ImportMeshAsync(desc.meshUrl, scene, { pluginExtension: ext });
  } catch (err) {
    throw new Error(`mesh ${desc.meshUrl} failed to load: ${(err as Error).message ?? err}`);
  }
  const meshes = result.meshes.filter((m) => m.getTotalVertices() > 0);
  if (meshes.length === 0) throw new Error(`mesh ${desc.meshUrl} has no geometry`);

  const root = new TransformNode(`head-${desc.key}`, scene);
  const m = Matrix.FromArray(desc.toCanonical);
  const scaling = new Vector3();
  const rotation = new Quaternion();
  const translation = new Vector3();
  m.decompose(scaling, rotation, translation);
  root.scaling = scaling;
  root.rotationQuaternion = rotation;
  root.position = translation;
  for (const node of result.meshes) if (!node.parent) node.parent = root;
  for (const node of result.transformNodes) if (!node.parent) node.parent = root;
  // Centre: the bounding-box centre (canonical frame) or a given source-space point.
  root.computeWorldMatrix(true);
  let centre: Vector3;
  if (desc.center === 'bbox') {
    const { min, max } = root.getHierarchyBoundingVectors(true);
    centre = min.add(max).scale(0.5);
  } else {
    centre = Vector3.TransformCoordinates(new Vector3(...desc.center), root.getWorldMatrix());
  }
  root.position.subtractInPlace(centre);
  root.computeWorldMatrix(true);
  const bounds = root.getHierarchyBoundingVectors(true);
  const bboxMin: [number, number, number] = [bounds.min.x, bounds.min.y, bounds.min.z];
  const bboxMax: [number, number, number] = [bounds.max.x, bounds.max.y, bounds.max.z];

  const mat = new PBRMaterial(`skin-${desc.key}`, scene);
  mat.metallic = 0;
  // Point lights + environment sources (up to 8 + 8) in one pass.
  mat.maxSimultaneousLights = 16;
  // Burley diffuse with the specular roughness (Babylon's "legacy" model; Babylon 9's default is
  // energy-preserving Oren-Nayar at diffuse roughness 0, i.e. Lambert): the Disney/Principled
  // diffuse that Cycles' Principled BSDF uses, so lights shade like the path-traced reference.
  mat.brdf.baseDiffuseModel = Constants.MATERIAL_DIFFUSE_MODEL_LEGACY;
  // Diffuse and specular add, as in Cycles' Principled BSDF (v1): Babylon's legacy energy
  // conservation (the default) scales the albedo by (1 - F0) and leaves lights and environment
  // additive; pass-plugin.ts puts the base colour back (its non-legacy mode instead takes
  // (1 - F(N.H)) off every light's diffuse: measured further from Cycles). Babylon's blend of
  // irradiance into rough environment reflection stays: without it a rough sphere's environment
  // specular measured 16% under Cycles' (split sum's n = v assumption loses grazing reflections).
  mat.brdf.useLegacySpecularEnergyConservation = true;
  mat.roughness = desc.material.roughness;
  mat.albedoColor = new Color3(...desc.material.albedoFactor);
  // F0 = 0.04-from-IOR * colour: express the requested F0 through the IOR.
  const f0 = desc.material.specularF0;
  mat.indexOfRefraction = (1 + Math.sqrt(f0)) / (1 - Math.sqrt(f0));
  // Keep the loader's face orientation (the glTF and OBJ loaders differ in a right-handed scene).
  const loaderMaterial = meshes.find((m) => m.material)?.material;
  if (loaderMaterial && loaderMaterial.sideOrientation !== null) mat.sideOrientation = loaderMaterial.sideOrientation;
  mat.backFaceCulling = true;
  mat.useRadianceOverAlpha = false;
  mat.useSpecularOverAlpha = false;
  const loads: Promise<void>[] = [];
  if (desc.maps.albedo) loads.push(loadTexture(desc.maps.albedo, scene, desc.flipV, true).then((t) => { mat.albedoTexture = t; }));
  if (desc.maps.normal) {
    loads.push(loadTexture(desc.maps.normal, scene, desc.flipV, false).then((t) => {
      t.level = desc.normalMap.scale;
      mat.bumpTexture = t;
    }));
    // Babylon derives the tangent frame per pixel from UV derivatives (no mesh tangents needed).
    // Green-up maps need the Y flip when v runs down the image (glTF UVs), not when it runs up.
    mat.invertNormalMapX = false;
    mat.invertNormalMapY = desc.normalMap.greenUp ? !desc.flipV : desc.flipV;
  }
  if (desc.maps.specular) {
    loads.push(loadTexture(desc.maps.specular, scene, desc.flipV, false).then((t) => {
      mat.reflectanceTexture = t;
      const k = desc.material.specularMapScale;
      mat.metallicReflectanceColor = new Color3(k, k, k);
    }));
  }
  if (desc.maps.roughness) {
    // Babylon reads roughness from G of the metallic texture (glTF packing); a grey map works.
    loads.push(loadTexture(desc.maps.roughness, scene, desc.flipV, false).then((t) => {
      mat.metallicTexture = t;
      mat.useRoughnessFromMetallicTextureGreen = true;
      mat.useMetallnessFromMetallicTextureBlue = false;
      mat.useRoughnessFromMetallicTextureAlpha = false;
      mat.useAmbientOcclusionFromMetallicTextureRed = false;
      mat.roughness = 1; // multiplies the map
    }));
  }
  let labelMap: Texture | null = null;
  if (desc.labelMap) loads.push(loadLabelMap(desc.labelMap, scene, desc.flipV).then((t) => { labelMap = t; }));
  await Promise.all(loads);
  new IntrinsicPassPlugin(mat, { id: desc.label, map: labelMap });
  const loaderMaterials = new Set(result.meshes.map((x) => x.material).filter((x): x is Material => !!x)); // freed by dispose()
  for (const mesh of meshes) mesh.material = mat;
  // Multi-part heads (PageHead.parts): their own materials, see materials.ts.
  const partMats = await applyPartMaterials(scene, desc, meshes, mat);

  const head: LoadedHead = {
    meshes,
    material: mat,
    bboxMin,
    bboxMax,
    hasVisibility: false,
    geometry() {
      const parts = meshes.map((mesh) => {
        mesh.computeWorldMatrix(true);
        const w = mesh.getWorldMatrix();
        const pos = mesh.getVerticesData(VertexBuffer.PositionKind)!;
        const nrm = mesh.getVerticesData(VertexBuffer.NormalKind);
        const n = pos.length / 3;
        const P = new Float32Array(n * 3);
        const N = new Float32Array(n * 3);
        const v = new Vector3();
        for (let i = 0; i < n; i++) {
          Vector3.TransformCoordinatesFromFloatsToRef(pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2], w, v);
          P.set([v.x, v.y, v.z], i * 3);
          if (nrm) {
            Vector3.TransformNormalFromFloatsToRef(nrm[i * 3], nrm[i * 3 + 1], nrm[i * 3 + 2], w, v);
            v.normalize();
            N.set([v.x, v.y, v.z], i * 3);
          } else N.set([0, 1, 0], i * 3);
        }
        const idx = mesh.getIndices() ?? Array.from({ length: n }, (_, i) => i);
        return { P, N, idx, n };
      });
      const total = parts.reduce((a, p) => a + p.n, 0);
      const positions = new Float32Array(total * 3);
      const normals = new Float32Array(total * 3);
      const indices = new Uint32Array(parts.reduce((a, p) => a + p.idx.length, 0));
      let vo = 0;
      let io = 0;
      for (const p of parts) {
        positions.set(p.P, vo * 3);
        normals.set(p.N, vo * 3);
        for (let i = 0; i < p.idx.length; i++) indices[io + i] = p.idx[i] + vo;
        vo += p.n;
        io += p.idx.length;
      }
      return { positions, normals, indices };
    },
    setBounce(data: Float32Array | null) {
      let vo = 0;
      for (const mesh of meshes) {
        const n = mesh.getTotalVertices();
        (mesh as Mesh).updateVerticesData('vlsBounce', data ? data.subarray(vo * 4, (vo + n) * 4) : new Float32Array(n * 4));
        vo += n;
      }
    },
    setMotion(prev: Float32Array | null, next: Float32Array | null) {
      const own = prev && next ? null : head.geometry().positions;
      const total = meshes.reduce((a, m) => a + m.getTotalVertices(), 0);
      for (const [name, a] of [['prev', prev], ['next', next]] as const) {
        if (a && a.length !== total * 3) throw new Error(`motion: ${name} frame has ${a.length / 3} vertices, this head ${total} (a deforming head must keep its topology)`);
      }
      let vo = 0;
      for (const mesh of meshes) {
        const n = mesh.getTotalVertices();
        const part = (a: Float32Array | null) => (a ?? own!).slice(vo * 3, (vo + n) * 3);
        (mesh as Mesh).setVerticesData('vlsPrev', part(prev), true, 3);
        (mesh as Mesh).setVerticesData('vlsNext', part(next), true, 3);
        vo += n;
      }
      for (const m of [mat, ...partMats]) {
        if (motionState.enabledMaterials.has(m.uniqueId)) continue;
        motionState.enabledMaterials.add(m.uniqueId);
        m.markAsDirty(Material.AttributesDirtyFlag);
      }
    },
    setVisibility(data: Float32Array) {
      let vo = 0;
      for (const mesh of meshes) {
        const n = mesh.getTotalVertices();
        const part = data.subarray(vo * VIS_STRIDE, (vo + n) * VIS_STRIDE);
        for (let k = 0; k < 3; k++) {
          const a = new Float32Array(n * 4);
          for (let i = 0; i < n; i++) a.set(part.subarray(i * VIS_STRIDE + k * 4, i * VIS_STRIDE + k * 4 + 4), i * 4);
          (mesh as Mesh).setVerticesData(`vlsVis${k}`, a, false, 4);
        }
        (mesh as Mesh).setVerticesData('vlsBounce', new Float32Array(n * 4), true, 4);
        vo += n;
      }
      head.hasVisibility = true;
      visState.enabledMaterials.add(mat.uniqueId);
      mat.markAsDirty(Material.AttributesDirtyFlag);
      for (const pm of partMats) {
        visState.enabledMaterials.add(pm.uniqueId);
        pm.markAsDirty(Material.AttributesDirtyFlag);
      }
    },
    setEnabled(on: boolean) {
      root.setEnabled(on);
    },
    toCanonical(points: readonly number[][]) {
      root.computeWorldMatrix(true);
      const w = root.getWorldMatrix();
      const v = new Vector3();
      return points.map((p) => {
        Vector3.TransformCoordinatesFromFloatsToRef(p[0], p[1], p[2], w, v);
        return [v.x, v.y, v.z] as [number, number, number];
      });
    },
    dispose() {
      for (const pm of [mat, ...partMats]) {
        visState.enabledMaterials.delete(pm.uniqueId);
        motionState.enabledMaterials.delete(pm.uniqueId);
      }
      // Meshes and nodes under the root (with their geometry), then every material with its textures.
      root.dispose(false, false);
      for (const lm of loaderMaterials) lm.dispose(true, true);
      for (const pm of [mat, ...partMats]) pm.dispose(true, true);
    },
    configure(d: PageHead) {
      const ss = mat.subSurface;
      if (ss.isTranslucencyEnabled !== d.material.subsurface) {
        // Babylon's PBR translucency: light diffusing through thin parts (ears, nose).
        ss.isTranslucencyEnabled = d.material.subsurface;
        ss.translucencyIntensity = 0.25;
        ss.tintColor = new Color3(0.9, 0.35, 0.25);
        ss.minimumThickness = 0.002;
        ss.maximumThickness = 0.03;
      }
    },
  };
  return head;
}
