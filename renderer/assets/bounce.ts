// Node-only. One diffuse interreflection bounce per render, per vertex: the light a face receives
// from itself (chin from chest, eye socket from cheek, one side of the nose from the other), which
// a rasteriser otherwise drops and a path tracer keeps (~5% of the energy on the real scan with
// shoulders, more in concave, shadowed places).
//
//   direct shading S_j (irradiance / pi at vertex j) = residual environment through its SH
//     transfer (already occluded) + every environment source and point light x max(0, n.w) / pi,
//     with a shadow ray per vertex and light (visibility.ts createOccluder);
//   outgoing radiance of j = albedo x S_j (Lambertian, the head's mean albedo);
//   indirect shading_i = sum_j bounce_ij x outgoing_j (visibility.ts bounceMatrix).
// The page adds indirect shading x albedo to the diffuse term (pass-plugin.ts), so beauty =
// albedo x diffuse + specular still holds. Specular interreflection and further bounces are not
// modelled.
import type { VisibilityInput, VisibilityResult, Occluder } from './visibility.js';
import type { Vec3 } from '../core/latlong.js';

export interface BounceLighting {
  /** Residual radiance SH9 (sh9.ts layout), already scaled by the environment intensity. */
  sh: ArrayLike<number> | null;
  /** Distant sources: unit direction toward them and irradiance (RGB), scaled. */
  distant: { direction: Vec3; irradiance: Vec3 }[];
  /** Point lights: position (m), colour, intensity (irradiance I / r^2 facing the light). */
  points: { position: Vec3; color: Vec3; intensity: number }[];
}

/** Indirect shading per vertex, 4 floats (RGB, 0) in the geometry's vertex order. */
export function bounceShading(geom: VisibilityInput, vis: VisibilityResult, occluded: Occluder, albedo: Vec3, lighting: BounceLighting, bias: number): Float32Array {
  const n = vis.vertexCount;
  const P = geom.positions;
  const N = geom.normals;
  const S = new Float32Array(n * 3);
  const T = vis.transfer;
  const sh = lighting.sh;
  const { offsets, index, weight } = vis.bounce;
  // Only vertices that light another one need their direct shading (and its shadow rays).
  const source = new Uint8Array(n);
  for (let e = 0; e < offsets[n]; e++) source[index[e]] = 1;
  for (let j = 0; j < n; j++) {
    if (!source[j]) continue;
    let r = 0;
    let g = 0;
    let b = 0;
    if (sh) {
      for (let k = 0; k < 9; k++) {
        const t = T[j * 9 + k];
        r += t * sh[k * 3];
        g += t * sh[k * 3 + 1];
        b += t * sh[k * 3 + 2];
      }
    }
    let nx = N[j * 3];
    let ny = N[j * 3 + 1];
    let nz = N[j * 3 + 2];
    const nl = Math.hypot(nx, ny, nz) || 1;
    nx /= nl;
    ny /= nl;
    nz /= nl;
    const ox = P[j * 3] + nx * bias;
    const oy = P[j * 3 + 1] + ny * bias;
    const oz = P[j * 3 + 2] + nz * bias;
    for (const l of lighting.distant) {
      const c = nx * l.direction[0] + ny * l.direction[1] + nz * l.direction[2];
      if (c <= 0 || occluded(ox, oy, oz, l.direction[0], l.direction[1], l.direction[2], Infinity)) continue;
      r += (l.irradiance[0] * c) / Math.PI;
      g += (l.irradiance[1] * c) / Math.PI;
      b += (l.irradiance[2] * c) / Math.PI;
    }
    for (const l of lighting.points) {
      let wx = l.position[0] - P[j * 3];
      let wy = l.position[1] - P[j * 3 + 1];
      let wz = l.position[2] - P[j * 3 + 2];
      const d = Math.hypot(wx, wy, wz);
      if (!(d > 0)) continue;
      wx /= d;
      wy /= d;
      wz /= d;
      const c = nx * wx + ny * wy + nz * wz;
      if (c <= 0 || occluded(ox, oy, oz, wx, wy, wz, d)) continue;
      const e = (l.intensity * c) / (d * d * Math.PI);
      r += e * l.color[0];
      g += e * l.color[1];
      b += e * l.color[2];
    }
    S[j * 3] = r;
    S[j * 3 + 1] = g;
    S[j * 3 + 2] = b;
  }
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    let r = 0;
    let g = 0;
    let b = 0;
    for (let e = offsets[i]; e < offsets[i + 1]; e++) {
      const j = index[e];
      const w = weight[e];
      r += w * S[j * 3];
      g += w * S[j * 3 + 1];
      b += w * S[j * 3 + 2];
    }
    out[i * 4] = r * albedo[0];
    out[i * 4 + 1] = g * albedo[1];
    out[i * 4 + 2] = b * albedo[2];
  }
  return out;
}
