// Node-only helpers of the batch engine: the per-lighting encodings the networks take (16x16
// lat-long, SH9) and the crop augmentation applied to a rendered sample.
import { loadEnvMap } from '../io/envmap-io.js';
import { projectPointLightsToEnv, type Lighting } from '../core/lighting.js';
import { fitEnv, layerGain, sumEnvLayers, type EnvLayer } from '../core/env-layers.js';
import { rotateEnv, flattenEncoding, type EnvImage, type Vec3 } from '../core/latlong.js';
import { projectEnvSH9 } from '../core/sh9.js';

/** The papers' lighting vector: a 16 x 16 lat-long map (RGB), flattened. */
export const LATLONG_WIDTH = 16;
export const LATLONG_HEIGHT = 16;
/** SH9 is projected from the whole lighting at this lat-long resolution. */
export const SH_PROJECTION_WIDTH = 128;
export const SH_PROJECTION_HEIGHT = 64;

export const ENCODING_FILES = { latlong: 'env_latlong16.f32', sh9: 'env_sh9.f32' } as const;

export const ENCODING_DOC = {
  latlong: `${ENCODING_FILES.latlong}: ${LATLONG_WIDTH}x${LATLONG_HEIGHT}x3 = ${LATLONG_WIDTH * LATLONG_HEIGHT * 3} little-endian float32, linear radiance of the whole lighting (environment layers + point lights projected as distant sources, power-conserving, shared/lighting.ts projectPointLightsToEnv) reduced with the solid-angle-exact reduceEnv. Order (shared/latlong.ts flattenEncoding): row-major, row 0 = zenith; columns from u = 0 (behind the head, -Z) through -X, +Z (in front of the face, centre), +X; RGB interleaved: index = (y*16 + x)*3 + c.`,
  sh9: `${ENCODING_FILES.sh9}: 27 little-endian float32, order-2 real SH radiance coefficients (shared/sh9.ts: coefficient-major, RGB inner, index = k*3 + c; basis in world axes, +Y up, face toward +Z) of the whole lighting projected at ${SH_PROJECTION_WIDTH}x${SH_PROJECTION_HEIGHT}. Also inline in sample.json.`,
};

export interface LightingEncoding {
  latlong: Float32Array;
  sh9: Float32Array;
}

/**
 * Encodes each lighting (lightingToEnv's maths, core/lighting.ts: point lights projected, then the
 * layers summed by core/env-layers.ts sumEnvLayers), with the rotated/fitted layer maps shared
 * between the lightings of a sample.
 */
export async function encodeLightings(lightings: Lighting[], headRadius: number, headCentre: Vec3): Promise<LightingEncoding[]> {
  const fitted = new Map<string, { small: EnvImage; sh: EnvImage }>();
  const keyOf = (l: EnvLayer) => `${l.map}\0${l.rotationDeg}`;
  const out: LightingEncoding[] = [];
  for (const l of lightings) {
    // Rotation at the source resolution, then fitEnv to each size (layerImage), once per layer.
    for (const layer of l.environment) {
      if (layerGain(layer) === 0 || fitted.has(keyOf(layer))) continue;
      const rotated = rotateEnv(await loadEnvMap(layer.map), layer.rotationDeg);
      fitted.set(keyOf(layer), { small: fitEnv(rotated, LATLONG_WIDTH, LATLONG_HEIGHT), sh: fitEnv(rotated, SH_PROJECTION_WIDTH, SH_PROJECTION_HEIGHT) });
    }
    const points = projectPointLightsToEnv(l.pointLights, LATLONG_WIDTH, LATLONG_HEIGHT, headCentre, headRadius);
    const pointsSh = projectPointLightsToEnv(l.pointLights, SH_PROJECTION_WIDTH, SH_PROJECTION_HEIGHT, headCentre, headRadius);
    const small = sumEnvLayers(l.environment, (layer) => fitted.get(keyOf(layer))!.small, LATLONG_WIDTH, LATLONG_HEIGHT, points);
    const sh = sumEnvLayers(l.environment, (layer) => fitted.get(keyOf(layer))!.sh, SH_PROJECTION_WIDTH, SH_PROJECTION_HEIGHT, pointsSh);
    const enc = { latlong: flattenEncoding(small), sh9: projectEnvSH9(sh) };
    // float32 overflow (huge intensities x bright maps) would write Inf into the .f32 files.
    for (const [name, a] of [[ENCODING_FILES.latlong, enc.latlong], [ENCODING_FILES.sh9, enc.sh9]] as const) {
      const i = a.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) {
        const maps = l.environment.map((e) => `${e.map} (intensity ${e.intensity}, weight ${e.weight})`).join(', ') || 'none';
        throw new Error(`lighting encoding ${name} has a non-finite value ${a[i]} at index ${i} (float32 overflow): lower the intensities; environment layers: ${maps}; point-light intensities: ${l.pointLights.map((p) => p.intensity).join(', ') || 'none'}`);
      }
    }
    out.push(enc);
  }
  return out;
}

/** Float32Array -> little-endian bytes (independent of the host's byte order). */
export function float32LE(a: Float32Array): Buffer {
  const buf = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeFloatLE(a[i], i * 4);
  return buf;
}


