// Node-only. OLAT capture: one head, one camera pose, every light of a rig alone, in one page call
// (Renderer.captureOlat -> renderer/page/olat.ts olat()). The page renders the intrinsics once and
// then each light with its own shadow map, beauty only, without MSAA, and streams RGB half floats
// of the covered pixels back in chunks.
import type { Renderer } from '../../engine/renderer.js';
import { CameraSchema } from '../../core/spec.js';
import { rigLightPosition, rigToJson, type Rig } from '../../core/rig.js';
import type { PageOlatLight } from '../../core/protocol.js';
import { PKG } from '../../io/paths.js';
import type { OlatStack, StackHeader } from './stack-io.js';


export interface CaptureOptions {
  /** Head reference (default 'procedural'). */
  head?: string;
  width?: number;
  height?: number;
  /** Orbit camera (spec.ts CameraSchema; defaults as in a sample spec). */
  camera?: Record<string, unknown>;
  rig: Rig;
  /** Lights on together per image (default: each light alone, in rig order). */
  shots?: number[][];
  /** Side of each light's shadow map (default 1024). */
  shadowMapSize?: number;
  /** MSAA of the one draw that gives the mask (default 4). */
  maskMsaa?: number;
  subsurface?: boolean;
}

export const LIGHT_MODEL =
  "Each rig light is an isotropic point emitter with inverse-square falloff (Babylon SpotLight, glTF falloff, no range; the head lies inside its inner cone, where the angular falloff is exactly 1) and a 2D PCF shadow map aimed at the head; Babylon PBR direct lighting (Burley diffuse / GGX specular). No environment light.";

export const STACK_UNITS =
  'olat: linear RGB radiance (same unit as beauty.exr) of the head lit by one rig light of radiant intensity `intensity` (irradiance intensity*color/distance^2 at the rig centre, facing the light); relight weights are dimensionless multipliers of these images (shared/rig.ts).';

/** The rig's lights as the page draws them. */
export function rigToPageLights(rig: Rig): PageOlatLight[] {
  return rig.lights.map((l, i) => ({ position: rigLightPosition(rig, i), target: [...rig.centre], color: [...l.color], intensity: l.intensity, radius: l.size }));
}

/** Captures a stack (in memory; write it with stack-io writeStack). */
export async function captureStack(renderer: Renderer, opts: CaptureOptions): Promise<OlatStack> {
  const width = opts.width ?? 512;
  const height = opts.height ?? 512;
  const headRef = opts.head ?? 'procedural';
  const cam = CameraSchema.parse(opts.camera ?? {});
  const shots = opts.shots ?? opts.rig.lights.map((_, i) => [i]);
  const shadowMapSize = opts.shadowMapSize ?? 1024;
  const maskMsaa = opts.maskMsaa ?? 4;
  const subsurface = opts.subsurface ?? false;
  const res = await renderer.captureOlat({
    head: headRef,
    width,
    height,
    camera: cam,
    lights: rigToPageLights(opts.rig),
    shots,
    msaa: maskMsaa,
    shadowMapSize,
    subsurface,
  });
  if (res.leakedPixels !== 0) {
    throw new Error(`OLAT capture lit ${res.leakedPixels} pixel(s) outside the covered set (pixel centres off the head); storing covered pixels only would lose them`);
  }
  const d = res.head.descriptor;
  const info = renderer.info;
  const header: StackHeader = {
    format: 'vls-olat-stack',
    version: 1,
    width,
    height,
    pixelCount: res.pixelCount,
    imageCount: shots.length,
    shots,
    rig: rigToJson(opts.rig),
    head: {
      ref: headRef,
      id: d.id,
      name: d.name ?? d.id,
      contentHash: res.head.contentHash,
      license: d.license ?? null,
      attribution: d.attribution ?? null,
      canonicalBounds: res.headBounds,
    },
    camera: {
      orbit: cam,
      width,
      height,
      fovYDeg: (res.camera.fovYRad * 180) / Math.PI,
      position: res.camera.position,
      target: res.camera.target,
      up: res.camera.up,
      K: res.camera.K,
      worldToCameraCV: res.camera.worldToCameraCV,
      cameraToWorldGL: res.camera.cameraToWorldGL,
    },
    render: { shadowMapSize, maskMsaa, olatMsaa: 1, subsurface, lightModel: LIGHT_MODEL },
    renderer: {
      backend: info.backend,
      webglRenderer: info.webglRenderer,
      chromium: info.chromium,
      babylon: info.babylon,
      node: process.version,
      package: `${PKG.name}@${PKG.version}`,
    },
    units: STACK_UNITS,
    // Filled by writeStack.
    sections: {} as StackHeader['sections'],
    bytes: { file: 0, olat: res.images.byteLength, perImage: res.pixelCount * 6, intrinsics: 0, header: 0 },
    dataSha256: '',
    capture: { timings: res.timings, uploadBytes: res.uploadBytes, leakedPixels: res.leakedPixels },
    createdAt: new Date().toISOString(),
  };
  return { header, indices: res.indices, images: res.images, albedo: res.albedo, normal: res.normal, depth: res.depth, mask: res.mask };
}
