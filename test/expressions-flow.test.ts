// Sequences with animated expressions (renderer/pipelines/sequence-expressions.ts): the weight
// curves and blinks (pure, seeded), and on real renders of an ICT head that talks: each frame's
// mesh is its own, the optical flow follows the vertices (motion.exr), so warping frame t+1's
// albedo by it reproduces frame t where the jaw moves, which the camera-only (rigid) flow cannot.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { SHARED_ASSETS } from '../renderer/io/asset-roots.js';
import { readExr } from '../renderer/io/exr-read.js';
import { computeFlow, readFlow, readFrameGeometry, warpBilinear, OCC_VISIBLE } from '../renderer/develop/flow.js';
import { parseSequenceConfig, planSequence, runSequence } from '../renderer/pipelines/sequence.js';
import { ExpressionAnimationSchema, expressionWeights, frameHeadRef, planExpressions } from '../renderer/pipelines/sequence-expressions.js';
import { parseIctRef, sampleIctParams } from '../renderer/assets/ict/index.js';
import { skipBecause } from './support/skip.js';

const ICT_DIR = path.join(SHARED_ASSETS, 'heads', 'ict_facekit');
const HAVE_ICT = fs.existsSync(path.join(ICT_DIR, 'generic_neutral_mesh.obj.gz'));

describe('animated expressions (pure)', function () {
  it('curves and blinks are seeded, smooth and in [0, 1]; a frame keeps the identity, skin and gaze', function () {
    const a = ExpressionAnimationSchema.parse({ curves: [{ shape: 'jawOpen', amplitude: 0.6, offset: 0.1, frequencyHz: 1 }], blinks: { perMinute: 60, durationS: 0.25 } });
    const p1 = planExpressions(a, 7, 10);
    const p2 = planExpressions(a, 7, 10);
    expect(p1).to.deep.equal(p2);
    expect(planExpressions(a, 8, 10)).not.to.deep.equal(p1);
    expect(p1.blinksS.length).to.be.within(3, 25); // ~10 at 60 per minute over 10 s
    let prev: number | null = null;
    let blinkSeen = 0;
    for (let t = 0; t < 10; t += 0.01) {
      const w = expressionWeights(a, p1, t);
      for (const v of Object.values(w)) expect(v).to.be.within(0, 1);
      const j = w.jawOpen ?? 0;
      expect(j).to.be.within(0.1 - 1e-9, 0.7 + 1e-9);
      if (prev !== null) expect(Math.abs(j - prev), 'smooth').to.be.lessThan(0.02);
      prev = j;
      if ((w.eyeBlink_L ?? 0) > 0.99) blinkSeen++;
      expect(w.eyeBlink_L ?? 0).to.equal(w.eyeBlink_R ?? 0);
    }
    expect(blinkSeen, 'blinks close the eyes').to.be.greaterThan(0);
    // The frame's head: same draw of everything but the expression.
    const base = 'ict:{"seed":5,"textureSize":256}';
    const ref = frameHeadRef(base, { jawOpen: 0.5 });
    const b = sampleIctParams(parseIctRef(base));
    const f = sampleIctParams(parseIctRef(ref));
    expect(f.identity).to.deep.equal(b.identity);
    expect(f.skin).to.deep.equal(b.skin);
    expect(f.gaze).to.deep.equal(b.gaze);
    expect(f.expressions.jawOpen).to.be.closeTo(0.5, 1e-9);
    expect(f.blink).to.equal(0);
  });

  it('the sequence config refuses expressions on a head that cannot animate them, naming the field', function () {
    expect(() => parseSequenceConfig({ head: 'procedural', expressions: {} })).to.throw(/expressions.*ICT head/);
    expect(() => parseSequenceConfig({ head: 'ict:3', expressions: { curves: [{ shape: 'jawWide' }] } })).to.throw(/expressions\.curves\.0\.shape/);
    const c = parseSequenceConfig({ head: 'ict:3', frames: 4, expressions: {} });
    const plan = planSequence(c);
    expect(new Set(plan.frames.map((f) => f.head)).size, 'a head per frame').to.equal(4);
    expect(plan.frames[0].expressions).to.be.an('object');
  });
});

describe('animated expressions: rendered sequence (real Chromium + WebGL)', function () {
  this.timeout(900_000);
  let tmp: string;
  let out: string;
  const W = 128;
  before(async function () {
    if (!HAVE_ICT) skipBecause(this, `ICT face model not found at ${ICT_DIR}`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-expr-'));
    out = path.join(tmp, 'seq');
    // A still head and camera: only the jaw moves (fast, so the mouth moves several pixels a frame).
    const config = parseSequenceConfig({
      name: 'talk',
      head: 'ict:{"seed":4,"textureSize":256,"expressions":{"neutral":1},"gaze":{"probability":0}}',
      width: W,
      height: W,
      frames: 3,
      fps: 25,
      camera: { distance: 0.45, fovYDeg: 25, target: [0, -0.02, 0.02] },
      motion: { yawDeg: { amplitude: 0 }, translation: { amplitude: [0, 0, 0] } },
      lightingFrame: 'head',
      input: { environment: { map: 'builtin:studio', rotationDeg: 180 }, speedUp: 0 },
      target: null,
      passes: ['beauty', 'albedo', 'depth', 'mask'],
      expressions: { curves: [{ shape: 'jawOpen', amplitude: 0.8, frequencyHz: 2.5, phaseDeg: 90 }], blinks: null },
      render: { envVisibility: false, bounce: false, envCubeSize: 64, shadowMapSize: 512 },
    });
    await runSequence(config, { outDir: out });
  });
  after(() => {
    if (tmp && !process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('records each frame\'s weights and landmarks; the flow follows the vertices where the jaw moves', async () => {
    const fj = (t: number) => JSON.parse(fs.readFileSync(path.join(out, 'frames', `00000${t}`, 'frame.json'), 'utf8'));
    const w = [0, 1, 2].map((t) => (fj(t).expressions?.jawOpen ?? 0) as number);
    expect(w[1] - w[0], 'the jaw opens').to.be.greaterThan(0.2);
    // The chin landmark (8) moves down in the image as the jaw opens.
    expect(fj(1).landmarks.points[8][1] - fj(0).landmarks.points[8][1]).to.be.greaterThan(1.5);
    const a = path.join(out, 'frames', '000000', 'input');
    const b = path.join(out, 'frames', '000001', 'input');
    expect(fs.existsSync(path.join(a, 'motion.exr'))).to.equal(true);
    const pair = path.join(out, 'flow', '000000_000001');
    const f = await readFlow(path.join(pair, 'forward.exr'), path.join(pair, 'occlusion_forward.png'));
    const rigid = computeFlow(await readFrameGeometry(a), await readFrameGeometry(b));
    const rgb = async (dir: string) => {
      const e = await readExr(path.join(dir, 'albedo.exr'));
      const ch = (n: string) => e.channels.find((c) => c.name === n)!.data;
      const o = new Float32Array(W * W * 3);
      for (let p = 0; p < W * W; p++) for (const [c, n] of ['R', 'G', 'B'].entries()) o[p * 3 + c] = ch(n)[p];
      return o;
    };
    const A = await rgb(a);
    const B = await rgb(b);
    const warped = warpBilinear(B, 3, W, W, f.flow).image;
    const warpedRigid = warpBilinear(B, 3, W, W, rigid.flow).image;
    // Pixels that move (> 1 px by the vertex flow), visible in both: the lower face.
    let n = 0;
    let errV = 0;
    let errR = 0;
    let sum = 0;
    let maxFlow = 0;
    let still = 0;
    for (let p = 0; p < W * W; p++) {
      if (f.occlusion![p] !== OCC_VISIBLE || rigid.occlusion[p] !== OCC_VISIBLE) continue;
      const m = Math.hypot(f.flow[p * 2], f.flow[p * 2 + 1]);
      maxFlow = Math.max(maxFlow, m);
      // the rigid flow of a still head and camera is zero
      expect(Math.hypot(rigid.flow[p * 2], rigid.flow[p * 2 + 1])).to.be.lessThan(1e-3);
      if (m < 0.05) still++;
      if (m < 1) continue;
      n++;
      for (let c = 0; c < 3; c++) {
        errV += Math.abs(warped[p * 3 + c] - A[p * 3 + c]);
        errR += Math.abs(warpedRigid[p * 3 + c] - A[p * 3 + c]);
        sum += A[p * 3 + c];
      }
    }
    console.log(`      moving pixels ${n}, max flow ${maxFlow.toFixed(1)} px, still pixels ${still}; albedo warp error: vertex flow ${((100 * errV) / sum).toFixed(2)}%, camera-only flow ${((100 * errR) / sum).toFixed(2)}%`);
    expect(maxFlow, 'the jaw moves several pixels').to.be.greaterThan(2);
    expect(n).to.be.greaterThan(50);
    expect(still, 'the skull does not move').to.be.greaterThan(1000);
    expect(errV / sum, 'vertex flow').to.be.lessThan(0.05);
    expect(errR / sum, 'the camera-only flow misses the deformation').to.be.greaterThan(2 * (errV / sum));
  });
});
