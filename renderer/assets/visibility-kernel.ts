// Ray-casting kernel of renderer/assets/visibility.ts, shared by its own thread and its worker
// threads (visibility-worker.ts): cosine-weighted directions per vertex and, per ray, what it hits.
import type * as THREE_NS from 'three';
import type { MeshBVH } from 'three-mesh-bvh';

export interface KernelData {
  positions: Float32Array;
  normals: Float32Array;
  /** Per-vertex Cranley-Patterson rotation, 2 per vertex. */
  cp: Float64Array;
  /** Hammersley points, rays each. */
  hx: Float64Array;
  hy: Float64Array;
  rays: number;
  bias: number;
  maxDistance: number;
}

export interface Kernel {
  /** Cosine-weighted directions of vertex v around its unit normal into out (3 * rays). */
  directions(v: number, out: Float64Array): void;
  /**
   * hits[(v - base) * rays + j] for ray j of vertex v, v in [v0, v1): 0 = leaves the mesh;
   * k + 1 = hits the front of the surface near vertex k (the hit triangle's nearest corner);
   * -1 = hits a back face (the inside of the surface: no light comes from there).
   */
  trace(v0: number, v1: number, hits: Int32Array, base: number): void;
}

export function makeVisibilityKernel(THREE: typeof THREE_NS, bvh: MeshBVH | null, d: KernelData): Kernel {
  // d: { positions, normals (Float32Array), cp (Float64Array, 2 per vertex), hx, hy (Float64Array,
  //      rays each), rays, bias, maxDistance }
  const P = d.positions, Nrm = d.normals, cp = d.cp, hx = d.hx, hy = d.hy, R = d.rays;
  const TWO_PI = 2 * Math.PI;
  function directions(v: number, out: Float64Array): void {
    let nx = Nrm[v * 3], ny = Nrm[v * 3 + 1], nz = Nrm[v * 3 + 2];
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    nx /= len; ny /= len; nz /= len;
    // Orthonormal basis (Duff et al. 2017, branchless ONB).
    const s = nz >= 0 ? 1 : -1;
    const a = -1 / (s + nz);
    const b = nx * ny * a;
    const tx = 1 + s * nx * nx * a, ty = s * b, tz = -s * nx;
    const bx = b, by = s + ny * ny * a, bz = -ny;
    const ox = cp[v * 2], oy = cp[v * 2 + 1];
    for (let j = 0; j < R; j++) {
      let u1 = hx[j] + ox; if (u1 >= 1) u1 -= 1;
      let u2 = hy[j] + oy; if (u2 >= 1) u2 -= 1;
      const r = Math.sqrt(u1);
      const phi = TWO_PI * u2;
      const lx = r * Math.cos(phi), ly = r * Math.sin(phi), lz = Math.sqrt(Math.max(0, 1 - u1));
      out[j * 3] = tx * lx + bx * ly + nx * lz;
      out[j * 3 + 1] = ty * lx + by * ly + ny * lz;
      out[j * 3 + 2] = tz * lx + bz * ly + nz * lz;
    }
  }
  const ray = new THREE.Ray();
  const dir = new Float64Array(3 * R);
  // hits[(v - base) * rays + j] for ray j of vertex v, v in [v0, v1): 0 = leaves the mesh;
  // k + 1 = hits the front of the surface near vertex k (the hit triangle's nearest corner);
  // -1 = hits a back face (the inside of the surface: no light comes from there).
  function trace(v0: number, v1: number, hits: Int32Array, base: number): void {
    for (let v = v0; v < v1; v++) {
      const row = (v - base) * R;
      if (!bvh) { for (let j = 0; j < R; j++) hits[row + j] = 0; continue; }
      directions(v, dir);
      let nx = Nrm[v * 3], ny = Nrm[v * 3 + 1], nz = Nrm[v * 3 + 2];
      const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
      const k = d.bias / len;
      const px = P[v * 3] + nx * k, py = P[v * 3 + 1] + ny * k, pz = P[v * 3 + 2] + nz * k;
      for (let j = 0; j < R; j++) {
        ray.origin.set(px, py, pz);
        ray.direction.set(dir[j * 3], dir[j * 3 + 1], dir[j * 3 + 2]);
        const hit = bvh.raycastFirst(ray, THREE.DoubleSide, 0, d.maxDistance);
        if (!hit || !hit.face) { hits[row + j] = hit ? -1 : 0; continue; }
        const f = hit.face, q = hit.point;
        let best = f.a, bestD = Infinity;
        for (const c of [f.a, f.b, f.c]) {
          const ex = P[c * 3] - q.x, ey = P[c * 3 + 1] - q.y, ez = P[c * 3 + 2] - q.z;
          const dd = ex * ex + ey * ey + ez * ez;
          if (dd < bestD) { bestD = dd; best = c; }
        }
        // Front or back: the ray against the corner's vertex normal (robust to winding).
        const facing = Nrm[best * 3] * dir[j * 3] + Nrm[best * 3 + 1] * dir[j * 3 + 1] + Nrm[best * 3 + 2] * dir[j * 3 + 2];
        hits[row + j] = facing < 0 ? best + 1 : -1;
      }
    }
  }
  return { directions, trace };
}
