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
}

export interface PageCamera {
  position: Vec3;
  target: Vec3;
  up: Vec3;
  fovYRad: number;
  near: number;
  far: number;
}

export interface PageEnvironment {
  /** URL of an equirect float map in the page-server's "VLSE" format (cached per URL). */
  url: string;
  rotationRad: number;
  intensity: number;
  cubeSize: number;
  prefilter: boolean;
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
  shadowMapSize: number;
  modes: RenderModeName[];
  /** POST target for the packed pixel buffer. */
  uploadUrl: string;
}

export interface PageRenderResult {
  /** Byte layout of the uploaded buffer: one entry per mode, in request order. */
  layout: { mode: RenderModeName; offset: number; bytes: number; channels: number; float32: boolean }[];
  timings: { setupMs: number; shadowMs: number; renderMs: Record<string, number>; readMs: Record<string, number>; uploadMs: number };
  uploadBytes: number;
  head: { bboxMin: Vec3; bboxMax: Vec3 };
}

/** Header of the float equirect format served to the page: magic, width, height, channels. */
export const VLSE_MAGIC = 0x45534c56; // "VLSE" little-endian
export const VLSE_HEADER_BYTES = 16;

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
