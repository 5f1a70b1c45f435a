/**
 * Sequences and exact optical flow (renderer/pipelines/sequence.ts, flow.ts): the relative-camera motion
 * model, the lighting path, flow and occlusion against an analytic ray-traced scene, and on real
 * renders: warping frame t+1 by the ground-truth flow reproduces frame t on visible pixels.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { resolveCamera, type ResolvedCamera } from '../renderer/core/camera.js';
import { Rng } from '../renderer/core/rng.js';
import { readExr } from '../renderer/io/exr-read.js';
import { readPng } from '../renderer/io/image-io.js';
import { computeFlow, readFlow, readFrameGeometry, backProject, project, warpBilinear, OCC_VISIBLE, OCC_OCCLUDED, OCC_NO_SURFACE, OCC_OUT_OF_FRAME, type FrameGeometry } from '../renderer/develop/flow.js';
import { headRotation, orbitFromPose, parseSequenceConfig, planSequence, runSequence } from '../renderer/pipelines/sequence.js';
import type { Vec3 } from '../renderer/core/protocol.js';
import { onPath, skipBecause } from './support/skip.js';

function rayDir(cam: ResolvedCamera, x: number, y: number): Vec3 {
  const f = cam.K[0][0];
  const dx = (x + 0.5 - cam.K[0][2]) / f;
  const dy = (y + 0.5 - cam.K[1][2]) / f;
  const R = cam.worldToCameraCV;
  const d: Vec3 = [R[0][0] * dx + R[1][0] * dy + R[2][0], R[0][1] * dx + R[1][1] * dy + R[2][1], R[0][2] * dx + R[1][2] * dy + R[2][2]];
  const l = Math.hypot(...d);
  return [d[0] / l, d[1] / l, d[2] / l];
}

/** Analytic scene: a sphere (centre c, radius r) in front of a plane z = zPlane, bounded |x|,|y| < 0.3. */
const SPHERE = { c: [0, 0, 0.12] as Vec3, r: 0.07 };
const PLANE_Z = -0.05;
function hitSphere(o: Vec3, d: Vec3): number {
  const oc = [o[0] - SPHERE.c[0], o[1] - SPHERE.c[1], o[2] - SPHERE.c[2]];
  const b = oc[0] * d[0] + oc[1] * d[1] + oc[2] * d[2];
  const c = oc[0] ** 2 + oc[1] ** 2 + oc[2] ** 2 - SPHERE.r ** 2;
  const disc = b * b - c;
  if (disc < 0) return Infinity;
  const t = -b - Math.sqrt(disc);
  return t > 0 ? t : Infinity;
}
function hitPlane(o: Vec3, d: Vec3): number {
  if (Math.abs(d[2]) < 1e-9) return Infinity;
  const t = (PLANE_Z - o[2]) / d[2];
  if (t <= 0) return Infinity;
  const x = o[0] + t * d[0];
  const y = o[1] + t * d[1];
  return Math.abs(x) < 0.3 && Math.abs(y) < 0.3 ? t : Infinity;
}
function trace(o: Vec3, d: Vec3): number {
  return Math.min(hitSphere(o, d), hitPlane(o, d));
}
function rayTraceDepth(cam: ResolvedCamera): FrameGeometry {
  const depth = new Float32Array(cam.width * cam.height);
  for (let y = 0; y < cam.height; y++) for (let x = 0; x < cam.width; x++) {
    const t = trace(cam.position, rayDir(cam, x, y));
    depth[y * cam.width + x] = Number.isFinite(t) ? t : 0;
  }
  return { width: cam.width, height: cam.height, camera: cam, depth };
}

function rgbOf(exr: Awaited<ReturnType<typeof readExr>>): Float32Array {
  const ch = (n: string) => exr.channels.find((c) => c.name === n)!.data;
  const n = exr.width * exr.height;
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) for (const [c, name] of ['R', 'G', 'B'].entries()) out[p * 3 + c] = ch(name)[p];
  return out;
}

describe('sequences and exact optical flow', function () {
  describe('motion model and lighting path (pure)', () => {
    it('orbitFromPose reproduces any camera pose through resolveCamera', () => {
      const rng = new Rng(9);
      for (let i = 0; i < 200; i++) {
        const cam = resolveCamera({ yawDeg: rng.uniform(-180, 180), pitchDeg: rng.uniform(-80, 80), rollDeg: rng.uniform(-40, 40), distance: rng.uniform(0.3, 2), fovYDeg: 25, target: [rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)], width: 64, height: 48 });
        const fwd = [cam.target[0] - cam.position[0], cam.target[1] - cam.position[1], cam.target[2] - cam.position[2]] as Vec3;
        const o = orbitFromPose(cam.position, fwd, cam.up, 0.5, 25);
        const back = resolveCamera({ ...o, width: 64, height: 48 });
        for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(back.worldToCameraCV[r][c]).to.be.closeTo(cam.worldToCameraCV[r][c], 1e-9);
      }
    });

    it('head rotation signs: yaw turns the face (+Z) toward +X, pitch toward +Y, roll tilts +Y toward +X', () => {
      const app = (R: number[][], v: number[]) => R.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]);
      expect(app(headRotation(90, 0, 0), [0, 0, 1])[0]).to.be.closeTo(1, 1e-12);
      expect(app(headRotation(0, 90, 0), [0, 0, 1])[1]).to.be.closeTo(1, 1e-12);
      expect(app(headRotation(0, 0, 90), [0, 1, 0])[0]).to.be.closeTo(1, 1e-12);
    });

    it('plans the relative camera, world-fixed lights in the head frame, and the lighting speed-up', () => {
      const cfg = parseSequenceConfig({
        frames: 5,
        fps: 25,
        motion: { yawDeg: { amplitude: 20, frequencyHz: 1, phaseDeg: 0 }, translation: { amplitude: [0.02, 0, 0], frequencyHz: 1 } },
        input: { environment: { rotationDeg: 10, degPerFrame: 2 }, pointLights: [{ azimuthDeg: 30, degPerFrame: 3 }], speedUp: 4 },
        target: { environment: { map: 'builtin:city' }, speedUp: 0 },
      });
      const plan = planSequence(cfg);
      for (const f of plan.frames) {
        const t = f.index;
        // world lighting follows the path at speed-up 4
        expect(f.input.world.environment[0].rotationDeg).to.be.closeTo(10 + 4 * 2 * t, 1e-9);
        const p = f.input.world.pointLights[0].position;
        expect((Math.atan2(p[0], p[2]) * 180) / Math.PI).to.be.closeTo(30 + 4 * 3 * t, 1e-9);
        expect(f.target!.world.environment[0].rotationDeg).to.equal(0); // static target
        // render-frame lighting = world lighting seen from the head: H_t(render) = world
        const H = f.headPose.headToWorld;
        const q = f.input.render.pointLights[0].position;
        const back = [0, 1, 2].map((r) => H[r][0] * q[0] + H[r][1] * q[1] + H[r][2] * q[2] + H[r][3]);
        for (let k = 0; k < 3; k++) expect(back[k]).to.be.closeTo(p[k], 1e-12);
        expect(f.input.render.environment[0].rotationDeg).to.be.closeTo(f.input.world.environment[0].rotationDeg - f.headPose.yawDeg, 1e-9);
        // the render camera is the world camera mapped into the head frame
        const rc = resolveCamera({ ...f.renderCamera, width: cfg.width, height: cfg.height });
        const wc = f.worldCamera.position;
        const hp = [0, 1, 2].map((r) => H[r][0] * rc.position[0] + H[r][1] * rc.position[1] + H[r][2] * rc.position[2] + H[r][3]);
        for (let k = 0; k < 3; k++) expect(hp[k]).to.be.closeTo(wc[k], 1e-9);
      }
      expect(plan.frames[1].headPose.yawDeg).to.be.closeTo(20 * Math.sin((2 * Math.PI) / 25), 1e-12);
      // world-frame lighting with an environment: only yaw is allowed
      expect(() => parseSequenceConfig({ motion: { pitchDeg: { amplitude: 5 } } })).to.throw(/motion\.pitchDeg\.amplitude/);
      expect(() => parseSequenceConfig({ lightingFrame: 'head', motion: { pitchDeg: { amplitude: 5 } } })).not.to.throw();
    });
  });

  describe('flow against an analytic ray-traced scene', () => {
    it('forward/backward flows land on the same surface point; occlusion matches ray-traced visibility', () => {
      const A = resolveCamera({ yawDeg: -8, pitchDeg: 3, rollDeg: 0, distance: 0.6, fovYDeg: 30, target: [0, 0, 0], width: 96, height: 80 });
      const B = resolveCamera({ yawDeg: 9, pitchDeg: -2, rollDeg: 4, distance: 0.55, fovYDeg: 30, target: [0.01, 0, 0], width: 96, height: 80 });
      const gA = rayTraceDepth(A);
      const gB = rayTraceDepth(B);
      const fw = computeFlow(gA, gB);
      let agree = 0;
      let checked = 0;
      const confusion = { visibleButHidden: 0, occludedButVisible: 0 };
      for (let y = 0; y < A.height; y++) for (let x = 0; x < A.width; x++) {
        const p = y * A.width + x;
        const d = gA.depth[p];
        if (!(d > 0)) {
          expect(fw.occlusion[p]).to.equal(OCC_NO_SURFACE);
          continue;
        }
        const dir = rayDir(A, x, y);
        const P: Vec3 = [A.position[0] + d * dir[0], A.position[1] + d * dir[1], A.position[2] + d * dir[2]];
        // analytic visibility from B: the ray from B's centre to P hits nothing before P
        const toP: Vec3 = [P[0] - B.position[0], P[1] - B.position[1], P[2] - B.position[2]];
        const dist = Math.hypot(...toP);
        const tB = trace(B.position, [toP[0] / dist, toP[1] / dist, toP[2] / dist]);
        const visible = Math.abs(tB - dist) < 1e-6 * dist + 1e-7;
        const u = fw.flow[p * 2] + x + 0.5;
        const v = fw.flow[p * 2 + 1] + y + 0.5;
        const inFrame = u >= 0 && v >= 0 && u <= B.width && v <= B.height;
        if (!inFrame) {
          expect(fw.occlusion[p]).to.equal(OCC_OUT_OF_FRAME);
          continue;
        }
        // skip pixels within ~1 px of a depth edge in B, where point-sampled depth is ambiguous
        const xi = Math.floor(u - 0.5);
        const yi = Math.floor(v - 0.5);
        let near = false;
        let far = false;
        for (let j = -1; j <= 2; j++) for (let i = -1; i <= 2; i++) {
          const xx = Math.min(B.width - 1, Math.max(0, xi + i));
          const yy = Math.min(B.height - 1, Math.max(0, yi + j));
          if (Math.abs(gB.depth[yy * B.width + xx] - dist) <= 0.02) near = true;
          else far = true;
        }
        const edge = near && far;
        if (edge) continue;
        checked++;
        const said = fw.occlusion[p] === OCC_VISIBLE;
        if (said === visible) agree++;
        else if (said) confusion.visibleButHidden++;
        else confusion.occludedButVisible++;
      }
      console.log(`      analytic scene: ${checked} checked pixels, occlusion agrees on ${agree} (${confusion.visibleButHidden} said visible but hidden, ${confusion.occludedButVisible} said occluded but visible); stats ${JSON.stringify(fw.stats)}`);
      expect(fw.stats.occluded, 'the sphere must hide some of the plane').to.be.greaterThan(50);
      expect(confusion.visibleButHidden).to.equal(0);
      expect(agree / checked).to.be.greaterThan(0.995);
      // round trip: forward then backward returns to the start on visible pixels (< 0.01 px)
      const bw = computeFlow(gB, gA);
      let worst = 0;
      for (let p = 0; p < fw.occlusion.length; p++) {
        if (fw.occlusion[p] !== OCC_VISIBLE) continue;
        const x = (p % A.width) + fw.flow[p * 2];
        const y = Math.floor(p / A.width) + fw.flow[p * 2 + 1];
        const q = Math.round(y) * B.width + Math.round(x);
        if (Math.hypot(x - Math.round(x), y - Math.round(y)) > 0.02 || bw.occlusion[q] !== OCC_VISIBLE) continue; // only exact pixel hits
        worst = Math.max(worst, Math.hypot(fw.flow[p * 2] + bw.flow[q * 2], fw.flow[p * 2 + 1] + bw.flow[q * 2 + 1]));
      }
      expect(worst).to.be.lessThan(0.05);
    });
  });

  describe('on rendered frames (real Chromium, procedural head, static lighting)', function () {
    let tmp: string;
    let out: string;
    let config: ReturnType<typeof parseSequenceConfig>;
    const W = 160;
    before(async function () {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-flow-'));
      out = path.join(tmp, 'seq');
      // Lighting attached to the head and static (speedUp 0): the head's appearance does not change
      // except for view-dependent effects. Yaw ~5 deg/frame plus pitch, roll and translation.
      config = parseSequenceConfig({
        name: 'warp-test',
        width: W,
        height: W,
        frames: 3,
        fps: 25,
        camera: { pitchDeg: 5, distance: 0.7 },
        motion: {
          yawDeg: { amplitude: 20, frequencyHz: 1, phaseDeg: 0 },
          pitchDeg: { amplitude: 4, frequencyHz: 1, phaseDeg: 0 },
          rollDeg: { amplitude: 2, frequencyHz: 1, phaseDeg: 0 },
          translation: { amplitude: [0.01, 0.005, 0.005], frequencyHz: 1, phaseDeg: [0, 0, 0] },
        },
        lightingFrame: 'head',
        input: { environment: { map: 'builtin:studio', rotationDeg: 40 }, pointLights: [{ azimuthDeg: 50, elevationDeg: 20, intensity: 0.2 }], speedUp: 0 },
        target: null,
        passes: ['beauty', 'albedo', 'diffuse', 'specular', 'depth', 'mask'],
        render: { msaa: 4, envCubeSize: 64, shadowMapSize: 512 },
      });
      await runSequence(config, { outDir: out });
    });
    after(() => {
      if (!process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('writes frames and flow pairs atomically with the documented files', () => {
      expect(fs.readdirSync(path.join(out, 'frames')).sort()).to.deep.equal(['000000', '000001', '000002']);
      expect(fs.readdirSync(path.join(out, 'flow')).sort()).to.deep.equal(['000000_000001', '000001_000002']);
      expect(fs.readdirSync(path.join(out, 'flow', '000000_000001')).sort()).to.deep.equal(['backward.exr', 'forward.exr', 'occlusion_backward.png', 'occlusion_forward.png', 'pair.json']);
      const seq = JSON.parse(fs.readFileSync(path.join(out, 'sequence.json'), 'utf8'));
      expect(seq.plan.frames).to.have.length(3);
    });

    it('flow EXRs are RG float32 for an independent reader (OpenEXR exrheader)', function () {
      if (!onPath('exrheader')) skipBecause(this, 'exrheader not installed (Debian: openexr)');
      const header = execFileSync('exrheader', [path.join(out, 'flow', '000000_000001', 'forward.exr')], { encoding: 'utf8' });
      expect(header).to.match(/G, 32-bit floating-point/);
      expect(header).to.match(/R, 32-bit floating-point/);
      expect(header).not.to.match(/\bB, /);
    });

    it('resumes: a rerun renders nothing; another config in the same folder is refused', async () => {
      const again = await runSequence(config, { outDir: out });
      expect([again.rendered, again.skipped, again.flows]).to.deep.equal([0, 3, 0]);
      expect(Object.keys(again.flowStats)).to.deep.equal(['000000_000001', '000001_000002']);
      const other = parseSequenceConfig({ ...config, seed: config.seed + 1 });
      let msg = '';
      await runSequence(other, { outDir: out }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/different sequence config/);
    });

    it('warping frame t+1 by the flow reproduces frame t on visible pixels (albedo within 1%)', async () => {
      const results: string[] = [];
      for (const t of [0, 1]) {
        const a = path.join(out, 'frames', `00000${t}`, 'input');
        const b = path.join(out, 'frames', `00000${t + 1}`, 'input');
        const pair = path.join(out, 'flow', `00000${t}_00000${t + 1}`);
        const f = await readFlow(path.join(pair, 'forward.exr'), path.join(pair, 'occlusion_forward.png'));
        const mA = (await readPng(path.join(a, 'mask.png'))).data;
        const mB = (await readPng(path.join(b, 'mask.png'))).data;
        const stats = JSON.parse(fs.readFileSync(path.join(pair, 'pair.json'), 'utf8')).forward.stats;
        expect(stats.visible / stats.surface).to.be.greaterThan(0.9);
        expect(stats.occluded).to.be.greaterThan(0); // the turning head hides some of its side
        // Compared pixels: visible (code 0), full coverage in a 3x3 neighbourhood in t, and full
        // coverage at every pixel of the 4x4 neighbourhood of the bilinear taps in t+1 (no silhouette).
        const sel: number[] = [];
        let maxFlow = 0;
        for (let y = 1; y < W - 1; y++) for (let x = 1; x < W - 1; x++) {
          const p = y * W + x;
          if (f.occlusion![p] !== OCC_VISIBLE) continue;
          let ok = true;
          for (let dy = -1; dy <= 1 && ok; dy++) for (let dx = -1; dx <= 1; dx++) if (mA[(y + dy) * W + x + dx] < 65535) ok = false;
          const x0 = Math.floor(x + f.flow[p * 2]);
          const y0 = Math.floor(y + f.flow[p * 2 + 1]);
          for (let dy = -1; dy <= 2 && ok; dy++) for (let dx = -1; dx <= 2; dx++) {
            const xx = x0 + dx;
            const yy = y0 + dy;
            if (xx < 0 || yy < 0 || xx >= W || yy >= W || mB[yy * W + xx] < 65535) ok = false;
          }
          if (ok) {
            sel.push(p);
            maxFlow = Math.max(maxFlow, Math.hypot(f.flow[p * 2], f.flow[p * 2 + 1]));
          }
        }
        expect(sel.length).to.be.greaterThan(0.5 * stats.surface);
        expect(maxFlow, 'the test needs real motion').to.be.greaterThan(2);
        const errs: Record<string, { rel: number; rmse: number; mean: number; p95: number }> = {};
        for (const pass of ['albedo', 'diffuse', 'beauty']) {
          const A = rgbOf(await readExr(path.join(a, `${pass}.exr`)));
          const B = rgbOf(await readExr(path.join(b, `${pass}.exr`)));
          const warped = warpBilinear(B, 3, W, W, f.flow).image;
          let sq = 0;
          let absd = 0;
          let sum = 0;
          const rel: number[] = [];
          for (const p of sel) for (let c = 0; c < 3; c++) {
            const d = warped[p * 3 + c] - A[p * 3 + c];
            sq += d * d;
            absd += Math.abs(d);
            sum += A[p * 3 + c];
            rel.push(Math.abs(d) / Math.max(1e-3, A[p * 3 + c]));
          }
          rel.sort((x, y) => x - y);
          const n = sel.length * 3;
          errs[pass] = { rel: absd / sum, rmse: Math.sqrt(sq / n), mean: sum / n, p95: rel[Math.floor(0.95 * rel.length)] };
        }
        results.push(
          `      frames ${t}->${t + 1}: ${sel.length} px (max flow ${maxFlow.toFixed(1)} px), mean |error| / mean value: ` +
            Object.entries(errs).map(([k, e]) => `${k} ${(100 * e.rel).toFixed(2)}% (RMSE ${e.rmse.toExponential(2)} on mean ${e.mean.toFixed(3)}, p95 rel ${(100 * e.p95).toFixed(1)}%)`).join('; '),
        );
        // Albedo is exactly view-invariant: what is left is bilinear resampling of the texture and half floats.
        expect(errs.albedo.rel, 'albedo').to.be.lessThan(0.01);
        // Diffuse includes Babylon's view-dependent (1 - F_env) factor; beauty adds specular.
        expect(errs.diffuse.rel, 'diffuse').to.be.lessThan(0.05);
        expect(errs.beauty.rel, 'beauty (reported; view-dependent specular)').to.be.lessThan(0.25);
      }
      console.log(results.join('\n'));
    });

    it('occluded pixels project behind a nearer surface (or off the head) in the next frame', async () => {
      const a = await readFrameGeometry(path.join(out, 'frames', '000000', 'input'));
      const b = await readFrameGeometry(path.join(out, 'frames', '000001', 'input'));
      const pair = path.join(out, 'flow', '000000_000001');
      const f = await readFlow(path.join(pair, 'forward.exr'), path.join(pair, 'occlusion_forward.png'));
      let nearer = 0;
      let occ = 0;
      for (let p = 0; p < f.occlusion!.length; p++) {
        if (f.occlusion![p] !== OCC_OCCLUDED) continue;
        occ++;
        const q = project(b.camera, backProject(a.camera, p % W, Math.floor(p / W), a.depth[p]));
        const x = Math.floor(q.u);
        const y = Math.floor(q.v);
        if (x < 0 || y < 0 || x >= W || y >= W) continue;
        const db = b.depth[y * W + x];
        if (db === 0 || db < q.dist - 0.002) nearer++;
      }
      console.log(`      ${occ} occluded pixels in 0->1, ${nearer} land on a nearer surface or off the head`);
      expect(occ).to.be.greaterThan(0);
      expect(nearer / occ).to.be.greaterThan(0.8);
    });
  });
});
