// Precomputed environment visibility (renderer/assets/visibility.ts): analytic cases, determinism
// across thread counts, the disk cache, and a correctness check on the real scan when present.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as THREE from 'three';
import { type VisibilityInput, computeVisibility } from '../renderer/assets/visibility.js';
import { cachedVisibility } from '../renderer/assets/visibility-cache.js';
import { SH_K0, SH_K1, SH_K3, irradianceSH9, shBasis, SH_A, SH_BAND } from '../renderer/core/sh9.js';
import { Rng } from '../renderer/core/rng.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { skipBecause } from './support/skip.js';

/** Mesh builder: vertices with normals, triangles. */
class MeshBuilder {
  p: number[] = [];
  n: number[] = [];
  i: number[] = [];
  vertex(x: number, y: number, z: number, nx = 0, ny = 0, nz = 1): number {
    this.p.push(x, y, z);
    this.n.push(nx, ny, nz);
    return this.p.length / 3 - 1;
  }
  tri(a: number, b: number, c: number): void {
    this.i.push(a, b, c);
  }
  build(): VisibilityInput {
    return { positions: new Float32Array(this.p), normals: new Float32Array(this.n), indices: new Uint32Array(this.i) };
  }
}

function fromThree(g: THREE.BufferGeometry): VisibilityInput {
  return {
    positions: new Float32Array(g.getAttribute('position').array),
    normals: new Float32Array(g.getAttribute('normal').array),
    indices: Uint32Array.from(g.index!.array),
  };
}

/** Floor at z = 0 (centre vertex 0, normal +Z) under a plate at z = h with a round hole of radius a. */
function plateWithHole(h: number, a: number, segments = 512): VisibilityInput {
  const m = new MeshBuilder();
  const c = m.vertex(0, 0, 0);
  const F = 5 * h;
  const corners = [m.vertex(-F, -F, 0), m.vertex(F, -F, 0), m.vertex(F, F, 0), m.vertex(-F, F, 0)];
  for (let k = 0; k < 4; k++) m.tri(c, corners[k], corners[(k + 1) % 4]);
  const R = 2000 * h; // "infinite": misses beyond it carry a cosine weight of ~(h/R)^2
  const inner: number[] = [];
  const outer: number[] = [];
  for (let s = 0; s < segments; s++) {
    const t = (2 * Math.PI * s) / segments;
    inner.push(m.vertex(a * Math.cos(t), a * Math.sin(t), h, 0, 0, -1));
    outer.push(m.vertex(R * Math.cos(t), R * Math.sin(t), h, 0, 0, -1));
  }
  for (let s = 0; s < segments; s++) {
    const s1 = (s + 1) % segments;
    m.tri(inner[s], outer[s1], outer[s]);
    m.tri(inner[s], inner[s1], outer[s1]);
  }
  return m.build();
}

/** Closed unit cube centred at the origin; vertex 0 is the centre of the floor (inside, normal +Y), vertex 1 the centre of the top (outside, normal +Y). */
function closedCube(): VisibilityInput {
  const m = new MeshBuilder();
  const floorC = m.vertex(0, -0.5, 0, 0, 1, 0);
  const topC = m.vertex(0, 0.5, 0, 0, 1, 0);
  const v: number[] = [];
  for (let k = 0; k < 8; k++) {
    const x = k & 1 ? 0.5 : -0.5;
    const y = k & 2 ? 0.5 : -0.5;
    const z = k & 4 ? 0.5 : -0.5;
    v.push(m.vertex(x, y, z, x * 2, y * 2, z * 2));
  }
  // floor (y = -0.5: corners 0,1,5,4) fanned around its centre, top (y = 0.5: 2,3,7,6) around its centre
  const ring = (c: number, r: number[]) => r.forEach((q, k) => m.tri(c, q, r[(k + 1) % r.length]));
  ring(floorC, [v[0], v[1], v[5], v[4]]);
  ring(topC, [v[2], v[6], v[7], v[3]]);
  const quad = (a: number, b: number, c: number, d: number) => {
    m.tri(a, b, c);
    m.tri(a, c, d);
  };
  quad(v[0], v[2], v[3], v[1]); // z = -0.5
  quad(v[4], v[5], v[7], v[6]); // z = +0.5
  quad(v[0], v[4], v[6], v[2]); // x = -0.5
  quad(v[1], v[3], v[7], v[5]); // x = +0.5
  return m.build();
}

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('environment visibility (AO, bent normal, SH9 transfer)', function () {
  it('a sphere is unoccluded: ao = 1 and transfer = the clamped-cosine SH of the normal (sh9.ts)', async () => {
    const input = fromThree(new THREE.SphereGeometry(0.1, 48, 24));
    const res = await computeVisibility(input, { threads: 2 });
    const n = res.vertexCount;
    expect(n).to.equal(input.positions.length / 3);
    const rng = new Rng(11);
    const L = Float32Array.from({ length: 27 }, () => rng.uniform(-1, 1) + 0.5);
    const Y = new Float64Array(9);
    let worst = 0;
    let worstShade = 0;
    for (let v = 0; v < n; v++) {
      expect(Math.abs(res.ao[v] - 1), `ao of vertex ${v}`).to.be.below(0.01);
      const [nx, ny, nz] = [0, 1, 2].map((c) => input.normals[v * 3 + c]);
      const l = Math.hypot(nx, ny, nz);
      shBasis(nx / l, ny / l, nz / l, Y);
      for (let k = 0; k < 9; k++) worst = Math.max(worst, Math.abs(res.transfer[v * 9 + k] - (SH_A[SH_BAND[k]] / Math.PI) * Y[k]));
      // shading = Σ transfer_k L_k equals sh9's irradiance / π
      const E = irradianceSH9(L, nx / l, ny / l, nz / l);
      for (let ch = 0; ch < 3; ch++) {
        let s = 0;
        for (let k = 0; k < 9; k++) s += res.transfer[v * 9 + k] * L[k * 3 + ch];
        worstShade = Math.max(worstShade, Math.abs(s - E[ch] / Math.PI));
      }
      const b = [0, 1, 2].map((c) => res.bent[v * 3 + c]);
      expect(b[0] * nx / l + b[1] * ny / l + b[2] * nz / l, `bent normal of vertex ${v} follows the normal`).to.be.above(0.99);
    }
    expect(worst).to.be.below(0.01);
    expect(worstShade).to.be.below(0.01);
  });

  it('the centre of a closed cube\'s floor is fully occluded (ao = 0, transfer ~ 0); the top outside is not', async () => {
    const res = await computeVisibility(closedCube(), { threads: 0 });
    expect(res.ao[0]).to.equal(0);
    for (let k = 0; k < 9; k++) expect(Math.abs(res.transfer[k]), `transfer[${k}]`).to.be.below(0.01);
    expect(Array.from(res.bent.subarray(0, 3))).to.deep.equal([0, 1, 0]); // nothing visible: the normal
    expect(res.ao[1]).to.equal(1);
  });

  for (const [h, a] of [
    [1, 1],
    [0.02, 0.04],
  ]) {
    it(`under an infinite plate at height ${h} with a hole of radius ${a}: ao = sin^2(alpha), zonal transfer analytic`, async () => {
      const res = await computeVisibility(plateWithHole(h, a), { rays: 256, threads: 2, seed: 3, bias: 1e-5 * h });
      const alpha = Math.atan2(a, h);
      const c = Math.cos(alpha);
      const s2 = Math.sin(alpha) ** 2;
      // Visible set: the cone of half angle alpha around the normal +Z.
      const expected = [SH_K0 * s2, 0, (2 * SH_K1 * (1 - c ** 3)) / 3, 0, 0, 0, 2 * SH_K3 * ((3 * (1 - c ** 4)) / 4 - (1 - c * c) / 2), 0, 0];
      expect(res.ao[0]).to.be.closeTo(s2, 0.01);
      for (let k = 0; k < 9; k++) expect(res.transfer[k], `transfer[${k}]`).to.be.closeTo(expected[k], 0.01);
      expect(res.bent[2]).to.be.above(0.999);
      // Beyond maxDistance the plate does not occlude.
      const far = await computeVisibility(plateWithHole(h, a, 64), { threads: 0, maxDistance: h / 2, bias: 1e-5 * h });
      expect(far.ao[0]).to.equal(1);
    });
  }

  it('gives the same bytes on 0, 1 and 3 threads; another seed gives other bytes', async function () {
    const input = fromThree(new THREE.TorusKnotGeometry(0.1, 0.03, 96, 12));
    const opts = { rays: 32, seed: 7 };
    const [r0, r1, r3] = await Promise.all([0, 1, 3].map((threads) => computeVisibility(input, { ...opts, threads })));
    for (const r of [r1, r3]) {
      expect(bytes(r.ao).equals(bytes(r0.ao))).to.equal(true);
      expect(bytes(r.bent).equals(bytes(r0.bent))).to.equal(true);
      expect(bytes(r.transfer).equals(bytes(r0.transfer))).to.equal(true);
    }
    // the knot occludes itself
    const mean = r0.ao.reduce((s, x) => s + x, 0) / r0.vertexCount;
    expect(mean).to.be.within(0.3, 0.99);
    const other = await computeVisibility(input, { ...opts, seed: 8, threads: 2 });
    expect(bytes(other.ao).equals(bytes(r0.ao))).to.equal(false);
  });

  it('caches on disk: the second call reads the file; a corrupted or truncated file is recomputed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-visibility-'));
    try {
      const input = fromThree(new THREE.TorusKnotGeometry(0.1, 0.03, 48, 8));
      const opts = { rays: 16, threads: 1 };
      const a = await cachedVisibility(input, dir, opts);
      expect(a.fromCache).to.equal(false);
      expect(fs.existsSync(a.cacheFile)).to.equal(true);
      const b = await cachedVisibility(input, dir, opts);
      expect(b.fromCache).to.equal(true);
      expect(b.cacheFile).to.equal(a.cacheFile);
      expect(bytes(b.transfer).equals(bytes(a.transfer))).to.equal(true);
      expect(bytes(b.ao).equals(bytes(a.ao))).to.equal(true);
      expect(bytes(b.bent).equals(bytes(a.bent))).to.equal(true);
      // threads never change the key
      expect((await cachedVisibility(input, dir, { ...opts, threads: 0 })).fromCache).to.equal(true);
      // other options: another file
      const c = await cachedVisibility(input, dir, { ...opts, seed: 5 });
      expect(c.fromCache).to.equal(false);
      expect(c.cacheFile).to.not.equal(a.cacheFile);
      // flip one payload byte: not trusted, recomputed and rewritten
      const good = fs.readFileSync(a.cacheFile);
      const bad = Buffer.from(good);
      bad[bad.length - 5] ^= 0x40;
      fs.writeFileSync(a.cacheFile, bad);
      const d = await cachedVisibility(input, dir, opts);
      expect(d.fromCache).to.equal(false);
      expect(bytes(d.transfer).equals(bytes(a.transfer))).to.equal(true);
      expect(fs.readFileSync(a.cacheFile).equals(good)).to.equal(true);
      // truncated
      fs.writeFileSync(a.cacheFile, good.subarray(0, good.length - 100));
      expect((await cachedVisibility(input, dir, opts)).fromCache).to.equal(false);
      expect((await cachedVisibility(input, dir, opts)).fromCache).to.equal(true);
      // no temp files left behind
      expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).to.deep.equal([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed input with a sentence', async () => {
    const good = closedCube();
    const badIndex = { ...good, indices: Uint32Array.from([0, 1, 999]) };
    await computeVisibility(badIndex).then(
      () => expect.fail('accepted'),
      (e: Error) => expect(e.message).to.match(/index 2 is 999, out of range/),
    );
    const badNormal = { ...good, normals: new Float32Array(good.normals.length) };
    await computeVisibility(badNormal).then(
      () => expect.fail('accepted'),
      (e: Error) => expect(e.message).to.match(/vertex 0 normal .* zero/),
    );
  });

  it('the real scan (Lee Perry-Smith): finite, consistent, plausible', async function () {
    const file = path.resolve(PROJECT_ROOT, '..', 'shared', 'assets', 'heads', 'lee_perry_smith', 'LeePerrySmith.glb');
    if (!fs.existsSync(file)) skipBecause(this, `${file} is missing (../shared assets not present)`);
    const input = readGlbMeshes(file, 0.0425); // scaleToMetres of assets/heads/lee_perry_smith/head.json
    const threads = os.availableParallelism();
    const t0 = performance.now();
    const res = await computeVisibility(input, { threads });
    const s = (performance.now() - t0) / 1000;
    console.log(`      real scan: ${res.vertexCount} vertices, 128 rays, ${s.toFixed(2)} s on ${threads} threads`);
    const n = res.vertexCount;
    expect(n).to.equal(input.positions.length / 3);
    let top = 0;
    for (let v = 0; v < n; v++) {
      expect(res.ao[v]).to.be.within(0, 1);
      const bl = Math.hypot(res.bent[v * 3], res.bent[v * 3 + 1], res.bent[v * 3 + 2]);
      expect(bl).to.be.closeTo(1, 1e-5);
      for (let k = 0; k < 9; k++) expect(Number.isFinite(res.transfer[v * 9 + k])).to.equal(true);
      // band 0 of the transfer is K0 x ao by definition
      expect(res.transfer[v * 9]).to.be.closeTo(SH_K0 * res.ao[v], 1e-6);
      if (input.positions[v * 3 + 1] > input.positions[top * 3 + 1]) top = v;
    }
    expect(res.ao[top], 'the crown of the head sees the sky').to.be.above(0.9);
  });
});

/** Positions, normals and indices of every triangle primitive of a GLB (float32 POSITION/NORMAL; node transforms ignored), scaled. */
function readGlbMeshes(file: string, scale: number): VisibilityInput {
  const buf = fs.readFileSync(file);
  const jsonLen = buf.readUInt32LE(12);
  const json = JSON.parse(buf.subarray(20, 20 + jsonLen).toString('utf8')) as {
    accessors: { bufferView: number; byteOffset?: number; componentType: number; count: number; type: string }[];
    bufferViews: { byteOffset?: number; byteLength: number; byteStride?: number }[];
    meshes: { primitives: { attributes: Record<string, number>; indices?: number; mode?: number }[] }[];
  };
  const binAt = 20 + ((jsonLen + 3) & ~3) + 8;
  const read = (i: number): number[] => {
    const a = json.accessors[i];
    const view = json.bufferViews[a.bufferView];
    const comps = a.type === 'VEC3' ? 3 : 1;
    const size = { 5126: 4, 5125: 4, 5123: 2, 5121: 1 }[a.componentType]!;
    const stride = view.byteStride ?? comps * size;
    const out: number[] = [];
    for (let e = 0; e < a.count; e++) {
      for (let c = 0; c < comps; c++) {
        const o = binAt + (view.byteOffset ?? 0) + (a.byteOffset ?? 0) + e * stride + c * size;
        out.push(a.componentType === 5126 ? buf.readFloatLE(o) : a.componentType === 5125 ? buf.readUInt32LE(o) : a.componentType === 5123 ? buf.readUInt16LE(o) : buf.readUInt8(o));
      }
    }
    return out;
  };
  const p: number[] = [];
  const n: number[] = [];
  const idx: number[] = [];
  for (const mesh of json.meshes) {
    for (const prim of mesh.primitives) {
      if ((prim.mode ?? 4) !== 4) continue;
      const base = p.length / 3;
      const pos = read(prim.attributes.POSITION);
      p.push(...pos.map((x) => x * scale));
      n.push(...read(prim.attributes.NORMAL));
      const ind = prim.indices !== undefined ? read(prim.indices) : Array.from({ length: pos.length / 3 }, (_, k) => k);
      idx.push(...ind.map((k) => k + base));
    }
  }
  return { positions: new Float32Array(p), normals: new Float32Array(n), indices: new Uint32Array(idx) };
}
