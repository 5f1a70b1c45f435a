// Environment light that behaves like light (issue 11): the standard lat-long orientation of the
// background, energy kept from the file to the shader for a tiny, very bright sun, the cube and
// its GGX chain as integrals of the map, and bright sources split off as shadowed lights.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { envFromFunction, createEnv, totalPower, reduceEnv, pixelSolidAngle, type EnvImage } from '../renderer/core/latlong.js';
import { extractLights } from '../renderer/core/env-lights.js';
import { latlongToCube, prefilterGGX, cubePower, cubeDir, cubeTexel } from '../renderer/core/cubemap.js';
import { projectEnvSH9 } from '../renderer/core/sh9.js';
import { renderBackground } from '../renderer/assets/environment.js';
import { resolveCamera, pixelRay } from '../renderer/core/camera.js';
import { writeExr } from '../renderer/io/exr-write.js';
import { Renderer } from '../renderer/engine/renderer.js';
import { parseSampleSpec } from '../renderer/core/spec.js';
import { encodeGlb } from '../renderer/io/gltf-write.js';

async function saveEnv(file: string, env: EnvImage): Promise<string> {
  const n = env.width * env.height;
  const ch = [0, 1, 2].map((c) => Float32Array.from({ length: n }, (_, i) => env.data[i * 3 + c]));
  await writeExr(file, { width: env.width, height: env.height, channels: [{ name: 'R', data: ch[0] }, { name: 'G', data: ch[1] }, { name: 'B', data: ch[2] }] }, { pixelType: 'float' });
  return file;
}

/** A dim sky plus a sun of `peak` covering about 3 pixels around `dir` (a 1k-wide map). */
function sunMap(dir: [number, number, number], peak: number, sky = 0.05): EnvImage {
  return addSun(createEnv(1024, 512, [sky, sky, sky]), dir, peak);
}

/** Sets the 3 pixels whose centres are nearest `dir` to `peak` (in place; returns env). */
function addSun(env: EnvImage, dir: [number, number, number], peak: number): EnvImage {
  const { width: W, height: H } = env;
  // The standard convention (u = 0.5 + atan2(z, x) / 2pi, v = acos(y) / pi), written without
  // the library's helpers.
  const u = 0.5 + Math.atan2(dir[2], dir[0]) / (2 * Math.PI);
  const v = Math.acos(dir[1]) / Math.PI;
  const x0 = Math.floor(u * W);
  const y0 = Math.floor(v * H);
  for (const dx of [-1, 0, 1]) {
    const o = (y0 * W + ((x0 + dx + W) % W)) * 3;
    env.data[o] = peak;
    env.data[o + 1] = peak;
    env.data[o + 2] = peak;
  }
  return env;
}

const unit = (v: number[]) => v.map((c) => c / Math.hypot(...v)) as [number, number, number];

describe('environment light (Node side)', () => {
  it('the background a camera sees is the panorama read at u = 0.5 + atan2(z, x)/2pi, v = acos(y)/pi', async function () {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-bg-'));
    try {
      // Each column a different value, each row too: any mirror or shift shows.
      const W = 256;
      const H = 128;
      const env = createEnv(W, H);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const o = (y * W + x) * 3;
        env.data[o] = x;
        env.data[o + 1] = y;
        env.data[o + 2] = 1;
      }
      const file = await saveEnv(path.join(tmp, 'grid.exr'), env);
      for (const rotationDeg of [0, 90]) {
        const cam = resolveCamera({ yawDeg: 30, pitchDeg: 10, rollDeg: 0, distance: 0.7, fovYDeg: 40, target: [0, 0, 0], width: 40, height: 32 });
        const bg = await renderBackground([{ map: file, rotationDeg, intensity: 1, weight: 1 }], cam);
        let worst = 0;
        for (const [px, py] of [[3, 4], [20, 16], [36, 28]]) {
          let [x, y, z] = pixelRay(cam, px, py);
          // Rotating the environment by a about +Y (+Z toward +X) shows, in direction d, what
          // the file holds at R^-1 d.
          const a = (-rotationDeg * Math.PI) / 180;
          [x, z] = [x * Math.cos(a) + z * Math.sin(a), -x * Math.sin(a) + z * Math.cos(a)];
          const u = 0.5 + Math.atan2(z, x) / (2 * Math.PI);
          const v = Math.acos(y / Math.hypot(x, y, z)) / Math.PI;
          // Bilinear between pixel centres: column value = u*W - 0.5 (away from the seam).
          worst = Math.max(worst, Math.abs(bg[(py * cam.width + px) * 3] - (u * W - 0.5)) / W, Math.abs(bg[(py * cam.width + px) * 3 + 1] - (v * H - 0.5)) / H);
        }
        expect(worst, `rotation ${rotationDeg}`).to.be.lessThan(1e-3);
      }
      // A frontal camera (looking along -Z) sees u = 0.25 at the image centre.
      const front = resolveCamera({ yawDeg: 0, pitchDeg: 0, rollDeg: 0, distance: 0.7, fovYDeg: 20, target: [0, 0, 0], width: 33, height: 33 });
      const bg = await renderBackground([{ map: file, rotationDeg: 0, intensity: 1, weight: 1 }], front);
      expect(bg[(16 * 33 + 16) * 3]).to.be.closeTo(0.25 * W - 0.5, 0.6);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a 3-pixel sun of 1e5: the encodings (SH9, 16x16) and the cube keep its energy; no half-float clipping on the way', () => {
    const env = sunMap([0.6, 0.5, 0.62].map((c, _, a) => c / Math.hypot(...a)) as [number, number, number], 1e5);
    const P = totalPower(env)[1];
    const sh = projectEnvSH9(env);
    expect(sh[1] * Math.sqrt(4 * Math.PI) / P).to.be.closeTo(1, 1e-4);
    expect(totalPower(reduceEnv(env, 16, 16))[1] / P).to.be.closeTo(1, 1e-4);
    const cube = latlongToCube(env, 128);
    expect(cubePower(cube, 128)[1] / P).to.be.closeTo(1, 0.03);
    let peak = 0;
    for (const f of cube) for (let i = 0; i < f.length; i++) peak = Math.max(peak, f[i]);
    expect(peak, 'cube holds values over the half maximum').to.be.greaterThan(65504);
  });

  it('extraction moves the sun into one light with its direction and irradiance; residual + light = map', () => {
    const dir: [number, number, number] = [0.6, 0.5, 0.62].map((c, _, a) => c / Math.hypot(...a)) as [number, number, number];
    const env = sunMap(dir, 1e5);
    const { lights, residual, extractedShare } = extractLights(env);
    expect(lights).to.have.length(1);
    const L = lights[0];
    const cos = L.direction[0] * dir[0] + L.direction[1] * dir[1] + L.direction[2] * dir[2];
    expect((Math.acos(Math.min(1, cos)) * 180) / Math.PI, 'direction error (deg)').to.be.lessThan(0.5);
    const P = totalPower(env)[1];
    expect((totalPower(residual)[1] + L.irradiance[1]) / P).to.be.closeTo(1, 1e-6);
    expect(extractedShare).to.be.greaterThan(0.9);
    // The residual is the dim sky again: nothing above the growth level.
    let peak = 0;
    for (let i = 0; i < residual.data.length; i++) peak = Math.max(peak, residual.data[i]);
    expect(peak).to.be.lessThan(1);
    // A smooth sky has no source to extract.
    expect(extractLights(envFromFunction(256, 128, (x, y) => 1 + 0.5 * y)).lights).to.have.length(0);
  });

  it('cube faces follow the OpenGL layout in world axes, and texel lookup inverts it', () => {
    for (let f = 0; f < 6; f++) {
      for (const [i, j] of [[0, 0], [5, 11], [15, 15]]) {
        const n = 16;
        const d = cubeDir(f, (2 * (i + 0.5)) / n - 1, (2 * (j + 0.5)) / n - 1);
        expect(cubeTexel(d[0], d[1], d[2], n)).to.deep.equal({ face: f, i, j });
      }
    }
    // +X face centre looks along +X; +Y face's row 0 (t = 0) is toward -Z.
    expect(cubeDir(0, 0, 0)).to.deep.equal([1, -0, -0]);
    expect(cubeDir(2, 0, -1)[2]).to.equal(-1);
  });

  it('GGX levels are normalised filters: a constant map stays constant, a lobe keeps its mean', () => {
    const flat = createEnv(128, 64, [2, 2, 2]);
    for (const r of [0.3, 0.7, 1]) {
      const faces = prefilterGGX(flat, 8, r);
      for (const face of faces) for (let t = 0; t < face.length; t += 4) expect(face[t]).to.be.closeTo(2, 1e-4);
    }
    // Rougher levels spread a bright spot: the peak falls as roughness grows.
    const spot = sunMap([0, 1, 0], 1000, 0);
    const peaks = [0.2, 0.5, 0.9].map((r) => {
      let m = 0;
      for (const f of prefilterGGX(spot, 16, r)) for (let k = 0; k < f.length; k += 4) m = Math.max(m, f[k]);
      return m;
    });
    expect(peaks[0]).to.be.greaterThan(peaks[1]);
    expect(peaks[1]).to.be.greaterThan(peaks[2]);
    void pixelSolidAngle;
  });
});

/** A UV sphere of radius r (metres) as a GLB. */
function sphereGlb(r: number, rings = 48, segments = 96): Buffer {
  const pos: number[] = [];
  const nrm: number[] = [];
  const uv: number[] = [];
  for (let i = 0; i <= rings; i++) {
    const th = (Math.PI * i) / rings;
    for (let j = 0; j <= segments; j++) {
      const ph = (2 * Math.PI * j) / segments;
      const n = [Math.sin(th) * Math.cos(ph), Math.cos(th), -Math.sin(th) * Math.sin(ph)];
      pos.push(n[0] * r, n[1] * r, n[2] * r);
      nrm.push(...n);
      uv.push(j / segments, i / rings);
    }
  }
  const idx: number[] = [];
  for (let i = 0; i < rings; i++) for (let j = 0; j < segments; j++) {
    const a = i * (segments + 1) + j;
    const b = a + segments + 1;
    idx.push(a, b, a + 1, a + 1, b, b + 1);
  }
  return encodeGlb({ positions: new Float32Array(pos), normals: new Float32Array(nrm), uvs: new Float32Array(uv), indices: new Uint32Array(idx) });
}

describe('environment light (rendered)', function () {
  this.timeout(300_000);
  let renderer: Renderer;
  let sphereDir: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-envlight-'));

  before(async function () {
    renderer = await Renderer.launch({});
    // A matte sphere (convex: nothing shadows it but its own back) with a flat albedo.
    sphereDir = path.join(tmp, 'sphere');
    fs.mkdirSync(sphereDir);
    fs.writeFileSync(path.join(sphereDir, 'sphere.glb'), sphereGlb(0.1));
    fs.writeFileSync(path.join(sphereDir, 'head.json'), JSON.stringify({
      id: 'sphere', name: 'test sphere', version: 1, mesh: 'sphere.glb', maps: {}, scaleToMetres: 1, upAxis: '+Y', facing: '+Z', uvOrigin: 'top-left', center: 'bbox',
      material: { roughness: 0.6, specularF0: 0 }, license: 'test', attribution: 'test',
    }));
  });
  after(async function () {
    await renderer?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const envLights of [4, 0]) {
    it(`a map with a 3-pixel sun of 1e5 gives the same diffuse energy as the analytic directional light (within 3%; ${envLights ? 'sun as a shadowed light' : 'image based only'})`, async function () {
      const dir: [number, number, number] = [0.55, 0.45, 0.7].map((c, _, a) => c / Math.hypot(...a)) as [number, number, number];
      const env = sunMap(dir, 1e5, 0);
      const file = await saveEnv(path.join(tmp, 'sun.exr'), env);
      const E = totalPower(env)[1]; // irradiance of the sun on a surface facing it
      const S = 96;
      const s = await renderer.renderSample(parseSampleSpec({
        head: sphereDir, width: S, height: S, camera: { yawDeg: 20, pitchDeg: 5, distance: 0.75, fovYDeg: 25 },
        lighting: { environment: [{ map: file }], pointLights: [] }, passes: ['diffuse', 'normal'], render: { msaa: 1, envLights },
      }));
      let got = 0;
      let want = 0;
      for (let p = 0; p < S * S; p++) {
        if (s.mask[p] < 0.999) continue;
        const n = s.modes.normal!.subarray(p * 3, p * 3 + 3);
        const l = Math.hypot(n[0], n[1], n[2]);
        // Lambert: shading = E max(0, n.d) / pi (what albedo multiplies).
        want += (E * Math.max(0, (n[0] * dir[0] + n[1] * dir[1] + n[2] * dir[2]) / l)) / Math.PI;
        got += s.modes.diffuse![p * 3 + 1];
      }
      expect(want).to.be.greaterThan(0);
      expect(got / want, 'diffuse energy on the sphere: rendered / analytic').to.be.closeTo(1, 0.03);
    });
  }

  it('environment lights add linearly, cast shadows included: a map with two suns shades like the sum of the two (every light casts its shadow)', async function () {
    // Procedural head: the nose, chin and ears cast shadows. Sun A (stronger, behind and above)
    // becomes the first light, sun B (from the front right) the second. Babylon's 2D shadow maps
    // skip submeshes already drawn at the current render id, so every map after the first was
    // empty: B lost its shadows in the two-sun render (measured 3.5e-3 mean relative error over
    // the head, 1.1e-5 with the fix; on the real scan the ears and chin lit up).
    const A = unit([-0.12, 0.66, -0.74]);
    const B = unit([0.55, 0.05, 0.83]);
    const files = {
      a: await saveEnv(path.join(tmp, 'sun-a.exr'), addSun(createEnv(1024, 512), A, 2e4)),
      b: await saveEnv(path.join(tmp, 'sun-b.exr'), addSun(createEnv(1024, 512), B, 1e4)),
      ab: await saveEnv(path.join(tmp, 'sun-ab.exr'), addSun(addSun(createEnv(1024, 512), A, 2e4), B, 1e4)),
    };
    const S = 128;
    const shade = async (file: string) => {
      const s = await renderer.renderSample(parseSampleSpec({
        head: 'procedural', width: S, height: S, camera: { yawDeg: 0, pitchDeg: 0 },
        lighting: { environment: [{ map: file }], pointLights: [] }, passes: ['diffuse', 'mask'], render: { msaa: 1, bounce: false, envVisibility: false },
      }));
      return { d: s.modes.diffuse!, mask: s.mask };
    };
    const a = await shade(files.a);
    const b = await shade(files.b);
    const ab = await shade(files.ab);
    let err = 0;
    let sum = 0;
    let shadowed = 0;
    let bLit = 0;
    for (let p = 0; p < S * S; p++) {
      if (ab.mask[p] < 0.999) continue;
      for (let c = 0; c < 3; c++) {
        const want = a.d[p * 3 + c] + b.d[p * 3 + c];
        err += Math.abs(ab.d[p * 3 + c] - want);
        sum += want;
      }
      if (b.d[p * 3 + 1] > 0) bLit++;
      else shadowed++;
    }
    expect(shadowed, 'pixels sun B leaves dark (its shadows and back side)').to.be.greaterThan(0.05 * (shadowed + bLit));
    expect(err / sum, 'mean |two-sun - (A + B)| / (A + B) on the head').to.be.lessThan(1e-3);
  });
});
