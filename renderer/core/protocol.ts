// The messages Node sends to the page (renderer/page/main.ts) and gets back.
// Everything here is plain data: the page never reads files or decides anything random.
import type { RenderModeName } from './render-modes.js';

export type Vec3 = [number, number, number];

export interface PageHead {
  /** Cache key (content hash): the page loads each head once. */
  key: string;
  meshUrl: string;
  /** File extension of the mesh, tells Babylon which loader to use (".glb", ".gltf", ".obj"). */
  meshExt: string;
  maps: { albedo?: string; normal?: string; specular?: string; roughness?: string };
  /** Column-major 4x4 (rotation and scale) from source units to canonical axes (metres, +Y up, face +Z). */
  toCanonical: number[];
  /** What goes to the origin: the bounding-box centre after rotation/scale, or a source-space point. */
  center: 'bbox' | Vec3;
  /** The images' row 0 is at v=1 (OpenGL) rather than v=0 (glTF) for this mesh's UVs. */
  flipV: boolean;
  normalMap: { greenUp: boolean; scale: number };
  material: {
    albedoFactor: Vec3;
    roughness: number;
    /** Dielectric reflectance at normal incidence (skin ~0.028). */
    specularF0: number;
    /** Multiplies the specular map so that its mean maps to specularF0. */
    specularMapScale: number;
    subsurface: boolean;
  };
  /**
   * Optional per-part materials (multi-mesh heads such as the ICT model): each loaded mesh whose
   * name is `meshName` gets its own PBR material; meshes not listed keep the head material.
   */
  parts?: PagePart[];
  /** Segmentation class id (core/labels.ts) of the head material's surfaces without a label map. */
  label: number;
  /** 8-bit label-id image in the head's UV layout (like its maps), or none. */
  labelMap?: string;
  /** The 68 landmarks in source space (the mesh's units and axes); the render returns them in the canonical frame. */
  landmarks?: Vec3[];
}

export interface PagePart {
  meshName: string;
  /** 'skin' | 'eye' | 'teeth' | 'mouth' | 'lashes' (or another head's own kinds). */
  kind: string;
  /** Linear albedo (multiplies albedoMap when there is one). */
  albedo: Vec3;
  roughness: number;
  /** Dielectric reflectance at normal incidence. */
  f0: number;
  /** Opacity (1 = opaque; below 1 the part is alpha blended). */
  alpha?: number;
  /** The part uses the head's maps and material (the skin). */
  headMaps?: boolean;
  /** sRGB albedo texture URL of this part. */
  albedoMap?: string;
  /** Segmentation class id (core/labels.ts) where the part has no label map. */
  label: number;
  /** 8-bit label-id image in the part's UV layout. */
  labelMap?: string;
}

export interface PageCamera {
  position: Vec3;
  target: Vec3;
  up: Vec3;
  fovYRad: number;
  near: number;
  far: number;
}

/** A bright source of the environment, drawn as a shadowed directional light. */
export interface PageEnvLight {
  /** Unit direction toward the source (world). */
  direction: Vec3;
  /** Irradiance on a surface facing it (RGB, before PageEnvironment.intensity). */
  irradiance: Vec3;
  /** RMS angular size of the source (radians): shadow softness. */
  spreadRad: number;
}

export interface PageEnvironment {
  /** URL of the residual's cube chain in the "VLSC" format (renderer/assets/environment.ts encodeCubeChain); cached per URL. */
  url: string;
  cubeSize: number;
  /** Residual radiance SH9 (core/sh9.ts layout, world axes), 27 floats, before intensity. */
  sh: number[];
  intensity: number;
  lights: PageEnvLight[];
  /** Apply the head's precomputed visibility (occlusion of the residual) when the head has it. */
  visibility: boolean;
}

export interface PagePointLight {
  position: Vec3;
  color: Vec3;
  intensity: number;
  radius: number;
}

export interface PageRenderRequest {
  width: number;
  height: number;
  msaa: number;
  head: PageHead;
  camera: PageCamera;
  environment: PageEnvironment | null;
  pointLights: PagePointLight[];
  /** Enabled light count (>= pointLights.length): the rest are dark padding, so the shader variant stays the same. */
  lightSlots: number;
  /** Directional-light slots for environment sources (>= environment.lights.length; the rest dark). */
  envLightSlots: number;
  /** Per-vertex indirect shading of this render (float32 RGBA per vertex, renderer/assets/bounce.ts), or null. */
  bounceUrl: string | null;
  /**
   * A deforming head's neighbouring frames: URLs of float32 world positions per vertex (the
   * page's geometry order) of the previous and next frame, null = this frame's own.
   */
  motion?: { prevUrl: string | null; nextUrl: string | null };
  shadowMapSize: number;
  /** Side of the environment sources' directional shadow maps. */
  envShadowMapSize: number;
  modes: RenderModeName[];
  /** POST target for the packed pixel buffer. */
  uploadUrl: string;
}

export interface PageRenderResult {
  /** Byte layout of the uploaded buffer: one entry per mode, in request order. */
  layout: { mode: RenderModeName; offset: number; bytes: number; channels: number; float32: boolean }[];
  timings: { setupMs: number; shadowMs: number; renderMs: Record<string, number>; readMs: Record<string, number>; uploadMs: number };
  uploadBytes: number;
  /** Canonical-frame bounds, and the head's landmarks there when PageHead.landmarks was given. */
  head: { bboxMin: Vec3; bboxMax: Vec3; landmarks?: Vec3[] };
}

/** Floats per vertex of the packed environment visibility the page gets: SH9 transfer (9), ao (1), 2 spare (three vec4 attributes). */
export const VIS_STRIDE = 12;

/** Header bytes of the binary environment formats served to the page. */
export const VLSE_HEADER_BYTES = 16;
/** Header of the cube-chain format: magic, face size, levels, channels (4); then levels x 6 faces of RGBA float32. */
export const VLSC_MAGIC = 0x43534c56; // "VLSC" little-endian

// ---- OLAT capture (light stage): one page call renders the lighting-independent intrinsics
// once, then one beauty image per shot (a shot = the rig lights that are on together, usually one).

export interface PageOlatLight {
  position: Vec3;
  /** Where the light points (the rig centre); its shadow frustum is aimed there. */
  target: Vec3;
  color: Vec3;
  /** Radiant intensity, inverse-square falloff (as PagePointLight). */
  intensity: number;
  radius: number;
}

export interface PageOlatRequest {
  width: number;
  height: number;
  /** MSAA samples of the one draw whose resolved alpha is the mask (the shots use none). */
  msaa: number;
  head: PageHead;
  camera: PageCamera;
  lights: PageOlatLight[];
  /** Light indices on together in each shot (at most 4 per shot). */
  shots: number[][];
  /** Side of each light's (2D, perspective) shadow map. */
  shadowMapSize: number;
  /** POST target of the intrinsics buffer (albedo, normal half RGB; depth float32; mask half; covered-pixel indices). */
  intrinsicsUrl: string;
  /** POST targets of the shot chunks: chunk c holds shots [c*shotsPerChunk, ...). */
  chunkUrls: string[];
  shotsPerChunk: number;
}

export interface PageOlatResult {
  /** Pixels whose centre hits the head (row 0 = top, row-major), the only pixels a shot can light. */
  pixelCount: number;
  /** Byte layout of the intrinsics upload; 'indices' = pixelCount uint32 (row 0 = top). */
  intrinsics: { name: 'albedo' | 'normal' | 'depth' | 'mask' | 'indices'; offset: number; bytes: number; channels: number; dtype: 'half' | 'float32' | 'uint32' }[];
  /** Bytes of one shot: pixelCount x 3 half floats (RGB), covered pixels in index order. */
  shotBytes: number;
  /** Pixels outside the covered set that a shot lit anyway (must be 0: nothing is lost by storing covered pixels only). */
  leakedPixels: number;
  timings: { setupMs: number; intrinsicsMs: number; shadowMs: number; drawMs: number; readMs: number; packMs: number; uploadWaitMs: number; totalMs: number };
  head: { bboxMin: Vec3; bboxMax: Vec3 };
}
