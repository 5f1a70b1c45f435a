/**
 * Camera simulation (renderer/develop/camera-sim.ts): options and switches, determinism per seed and
 * replay from the record, the Poisson-Gaussian noise model (variance vs intensity fitted on flat
 * patches), the colour stages, and the record in a rendered sequence's metadata (real Chromium).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../renderer/core/rng.js';
import { srgbEncode } from '../renderer/core/color.js';
import {
  CameraSimSchema,
  CRF_NAMES,
  addPoissonGaussianNoise,
  applyCameraSim,
  crfEval,
  noiseModelForIso,
  planckianXy,
  poisson,
  sampleCameraSimParams,
  simulateCamera,
  whiteBalanceGains,
  type CameraSimParams,
} from '../renderer/develop/camera-sim.js';
import { parseSequenceConfig, runSequence } from '../renderer/pipelines/sequence.js';
import { readExr } from '../renderer/io/exr-read.js';

const ALL_ON = { enabled: true };

/** A smooth linear RGBA test image: a lit disc (alpha 1) on black (alpha 0). */
function testImage(w: number, h: number): Float32Array {
  const img = new Float32Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = (x + 0.5 - w / 2) / (w * 0.35);
      const dy = (y + 0.5 - h / 2) / (h * 0.4);
      const inside = dx * dx + dy * dy <= 1;
      const i = (y * w + x) * 4;
      if (!inside) continue;
      const shade = 0.2 + 0.8 * Math.max(0, 1 - dx * dx - dy * dy);
      img[i] = 0.9 * shade;
      img[i + 1] = 0.6 * shade * (1 + 0.2 * Math.sin(x / 3));
      img[i + 2] = 0.45 * shade;
      img[i + 3] = 1;
    }
  }
  return img;
}

/** Least-squares line y = slope * x + intercept. */
function fitLine(xs: number[], ys: number[]): { slope: number; intercept: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

describe('camera simulation', function () {
  describe('options and params', () => {
    it('is disabled by default, every stage has a switch, unknown fields are errors', async () => {
      const d = CameraSimSchema.parse({});
      expect(d.enabled).to.equal(false);
      for (const k of ['exposure', 'vignetting', 'noise', 'whiteBalance', 'crf', 'jpeg'] as const) expect(d[k].enabled, k).to.equal(true);
      expect(await simulateCamera(testImage(16, 16), 16, 16, {}, new Rng(1))).to.equal(null);
      expect(() => CameraSimSchema.parse({ noise: { iso: 100 } })).to.throw();
      expect(() => CameraSimSchema.parse({ noise: { isoRange: [800, 100] } })).to.throw(/lo <= hi/);
      const p = sampleCameraSimParams(new Rng(3), { enabled: true, noise: { enabled: false }, jpeg: { enabled: false } });
      expect(p.noise).to.equal(null);
      expect(p.jpeg).to.equal(null);
      expect(p.crf?.curve).to.be.oneOf([...CRF_NAMES]);
    });

    it('is deterministic per seed, different across seeds, and replays exactly from the record', async () => {
      const w = 48;
      const h = 40;
      const img = testImage(w, h);
      const a = await simulateCamera(img, w, h, ALL_ON, new Rng(42));
      const b = await simulateCamera(img, w, h, ALL_ON, new Rng(42));
      const c = await simulateCamera(img, w, h, ALL_ON, new Rng(43));
      expect(a, 'a').to.not.equal(null);
      expect(b, 'b').to.not.equal(null);
      expect(c, 'c').to.not.equal(null);
      expect(Buffer.compare(a!.bytes, b!.bytes)).to.equal(0);
      expect(a!.record).to.deep.equal(b!.record);
      expect(a!.fileName).to.equal('camera.jpg');
      expect(a!.bytes.subarray(0, 2).toString('hex')).to.equal('ffd8');
      expect(Buffer.compare(a!.bytes, c!.bytes)).to.not.equal(0);
      expect(a!.record.noiseSeed).to.not.equal(c!.record.noiseSeed);
      // The record (as stored in JSON) is a complete description: applying it gives the same bytes.
      const replay = await applyCameraSim(img, w, h, JSON.parse(JSON.stringify(a!.record)) as CameraSimParams, { stride: 4 });
      expect(Buffer.compare(replay.jpeg!, a!.bytes)).to.equal(0);
      expect(Buffer.from(replay.image8).equals(Buffer.from(a!.image8))).to.equal(true);
      // Decoded JPEG = image8.
      const dec = await sharp(a!.bytes).raw().toBuffer();
      expect(dec.equals(Buffer.from(a!.image8))).to.equal(true);
      // Frames of one camera: same draws, independent noise.
      const f1 = await simulateCamera(img, w, h, ALL_ON, new Rng(42), { frame: 'input_i' });
      const f2 = await simulateCamera(img, w, h, ALL_ON, new Rng(42), { frame: 'input_j' });
      expect({ ...f1!.record, noiseSeed: 0 }).to.deep.equal({ ...f2!.record, noiseSeed: 0 });
      expect(f1!.record.noiseSeed).to.not.equal(f2!.record.noiseSeed);
      expect(Buffer.compare(f1!.bytes, f2!.bytes)).to.not.equal(0);
      // JPEG off -> an 8-bit PNG.
      const png = await simulateCamera(img, w, h, { enabled: true, jpeg: { enabled: false } }, new Rng(42));
      expect(png!.fileName).to.equal('camera.png');
      expect(png!.bytes.readUInt32BE(0)).to.equal(0x89504e47);
    });
  });

  describe('noise model', () => {
    it('draws exact Poisson variates (mean = variance = lambda)', () => {
      const rng = new Rng(7);
      for (const lam of [0.5, 3, 9.5, 10, 50, 5000]) {
        const N = 60000;
        let s = 0;
        let s2 = 0;
        for (let i = 0; i < N; i++) {
          const k = poisson(rng, lam);
          s += k;
          s2 += k * k;
        }
        const mean = s / N;
        const v = s2 / N - mean * mean;
        const se = Math.sqrt(lam / N);
        expect(Math.abs(mean - lam), `mean at ${lam}`).to.be.lessThan(5 * se);
        expect(Math.abs(v / lam - 1), `variance at ${lam}`).to.be.lessThan(5 * Math.sqrt(2 / N) + 0.01);
      }
    });

    it('has variance a*x + b against intensity (flat patches, fitted line), unbiased mean', function () {
      // ISO 1600: a = 16/6000 = 2.67e-3, b = (4a)^2 + (2e-4)^2 = 1.14e-4.
      const { a, b } = noiseModelForIso(1600);
      expect(a).to.be.closeTo(16 / 6000, 1e-12);
      expect(b).to.be.closeTo((4 * a) ** 2 + 4e-8, 1e-15);
      const levels = [0.01, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0];
      const N = 40000; // samples per level (e.g. a 200 x 200 flat patch)
      const rng = new Rng(2024);
      const vars: number[] = [];
      for (const x of levels) {
        const patch = new Float64Array(N).fill(x);
        addPoissonGaussianNoise(patch, a, b, rng);
        let s = 0;
        for (const v of patch) s += v;
        const mean = s / N;
        let s2 = 0;
        for (const v of patch) s2 += (v - mean) ** 2;
        const variance = s2 / (N - 1);
        const expected = a * x + b;
        expect(Math.abs(mean - x), `mean at ${x}`).to.be.lessThan(5 * Math.sqrt(expected / N));
        // one level: sample variance within 5 standard errors (sqrt(2/N) relative)
        expect(Math.abs(variance / expected - 1), `variance at ${x}`).to.be.lessThan(5 * Math.sqrt(2 / N));
        vars.push(variance);
      }
      const fit = fitLine(levels, vars);
      const slopeErr = Math.abs(fit.slope / a - 1);
      const interceptErr = Math.abs(fit.intercept - b) / b;
      console.log(`      noise fit (ISO 1600, ${levels.length} levels x ${N}): slope ${fit.slope.toExponential(4)} vs a ${a.toExponential(4)} (${(100 * slopeErr).toFixed(2)}%), intercept ${fit.intercept.toExponential(3)} vs b ${b.toExponential(3)} (${(100 * interceptErr).toFixed(1)}%)`);
      expect(slopeErr, 'slope').to.be.lessThan(0.03);
      expect(interceptErr, 'intercept').to.be.lessThan(0.25);
    });

    it('maps ISO to the model monotonically (shot noise ~ ISO, read noise ~ ISO^2)', () => {
      const lo = noiseModelForIso(100);
      const hi = noiseModelForIso(3200);
      expect(hi.a / lo.a).to.be.closeTo(32, 1e-9);
      expect(hi.b).to.be.greaterThan(lo.b * 100);
    });
  });

  describe('colour stages', () => {
    it('response curves are monotonic maps of [0,1] onto [0,1]; srgb and rec709 are the standards', () => {
      for (const curve of CRF_NAMES) {
        const crf = { curve, gamma: 2.2, contrast: 1.4, shoulder: 2.5 };
        expect(crfEval(crf, 0), curve).to.equal(0);
        expect(crfEval(crf, 1), curve).to.be.closeTo(1, 1e-12);
        let prev = -1;
        for (let i = 0; i <= 1000; i++) {
          const y = crfEval(crf, i / 1000);
          expect(y, `${curve} at ${i / 1000}`).to.be.at.least(prev);
          prev = y;
        }
      }
      expect(crfEval({ curve: 'srgb' }, 0.18)).to.equal(srgbEncode(0.18));
      expect(crfEval({ curve: 'rec709' }, 0.18)).to.be.closeTo(1.099 * Math.pow(0.18, 0.45) - 0.099, 1e-12);
      expect(crfEval({ curve: 'gamma', gamma: 2 }, 0.25)).to.be.closeTo(0.5, 1e-12);
    });

    it('white balance: Planckian locus, unit gains at 6504 K, blue cast when the camera assumes a warmer light', () => {
      const [x, y] = planckianXy(6500);
      expect(x).to.be.closeTo(0.3135, 1.5e-3);
      expect(y).to.be.closeTo(0.3237, 1.5e-3);
      const [x3, y3] = planckianXy(3000);
      expect(x3).to.be.closeTo(0.4369, 1.5e-3);
      expect(y3).to.be.closeTo(0.4041, 1.5e-3);
      for (const g of whiteBalanceGains(6504)) expect(g).to.be.closeTo(1, 1e-12);
      const warm = whiteBalanceGains(3500);
      expect(warm[2]).to.be.greaterThan(1.3);
      expect(warm[0]).to.be.lessThan(0.85);
      const cool = whiteBalanceGains(9000);
      expect(cool[0]).to.be.greaterThan(1);
      expect(cool[2]).to.be.lessThan(1);
    });

    it('exposure meters the masked mean luminance; vignetting darkens the corners by the strength', async () => {
      const w = 64;
      const h = 48;
      const img = testImage(w, h);
      const only = (over: Partial<CameraSimParams>): CameraSimParams => ({ version: 1, noiseSeed: 1, exposure: null, vignetting: null, noise: null, whiteBalance: null, crf: null, jpeg: null, ...over });
      const r = await applyCameraSim(img, w, h, only({ exposure: { ev: 0.5, auto: true, autoTarget: 0.18 } }), { stride: 4 });
      let sum = 0;
      let n = 0;
      for (let p = 0; p < w * h; p++) {
        if (img[p * 4 + 3] < 0.5) continue;
        sum += 0.2126 * r.image8[p * 3] + 0.7152 * r.image8[p * 3 + 1] + 0.0722 * r.image8[p * 3 + 2];
        n++;
      }
      expect(sum / n / 255).to.be.closeTo(0.18 * Math.SQRT2, 0.003); // linear output (no CRF), 8-bit rounding
      expect(r.record.exposure!.gain).to.be.closeTo(r.record.exposure!.autoGain * Math.SQRT2, 1e-12);
      const flat = new Float32Array(w * h * 3).fill(0.8);
      const v = await applyCameraSim(flat, w, h, only({ vignetting: { strength: 0.3 } }), { stride: 3 });
      const centre = v.image8[((h / 2) * w + w / 2) * 3];
      const corner = v.image8[0];
      expect(centre).to.be.closeTo(Math.round(0.8 * 255), 1);
      expect(corner / 255).to.be.closeTo(0.8 * (1 - 0.3), 0.01);
    });
  });

  describe('in a rendered sequence (real Chromium)', function () {
    let tmp: string;
    before(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-camsim-'));
    });
    after(() => {
      if (!process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('writes input/camera.jpg per frame, records the params in frame.json and meta.json, leaves targets clean', async () => {
      const config = parseSequenceConfig({
        name: 'camsim',
        width: 48,
        height: 48,
        frames: 2,
        seed: 5,
        render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
        passes: ['beauty', 'depth', 'mask'],
        targetPasses: ['beauty'],
        cameraSim: { enabled: true },
      });
      const out = path.join(tmp, 'seq');
      await runSequence(config, { outDir: out });
      const records = [];
      for (const id of ['000000', '000001']) {
        const dir = path.join(out, 'frames', id);
        const frame = JSON.parse(fs.readFileSync(path.join(dir, 'frame.json'), 'utf8'));
        const meta = JSON.parse(fs.readFileSync(path.join(dir, 'input', 'meta.json'), 'utf8'));
        expect(frame.cameraSim, id).to.be.an('object');
        expect(meta.extra.cameraSim).to.deep.equal(frame.cameraSim);
        expect(fs.existsSync(path.join(dir, 'input', 'camera.jpg'))).to.equal(true);
        expect(fs.readdirSync(path.join(dir, 'target')).some((f) => f.startsWith('camera.'))).to.equal(false);
        records.push(frame.cameraSim);
      }
      // One camera per sequence (same ISO, curve, white balance, locked exposure), new noise per frame.
      expect(records[1].noise).to.deep.equal(records[0].noise);
      expect(records[1].crf).to.deep.equal(records[0].crf);
      expect(records[1].exposure.gain).to.equal(records[0].exposure.gain);
      expect(records[1].noiseSeed).to.not.equal(records[0].noiseSeed);
      // Replay: the written beauty (linear RGBA, exact) + the recorded params give the same bytes.
      for (const id of ['000000', '000001']) {
        const dir = path.join(out, 'frames', id);
        const exr = await readExr(path.join(dir, 'input', 'beauty.exr'));
        const ch = (n: string) => exr.channels.find((c) => c.name === n)!.data;
        const rgba = new Float32Array(exr.width * exr.height * 4);
        for (let p = 0; p < exr.width * exr.height; p++) ['R', 'G', 'B', 'A'].forEach((n, c) => (rgba[p * 4 + c] = ch(n)[p]));
        const record = JSON.parse(fs.readFileSync(path.join(dir, 'frame.json'), 'utf8')).cameraSim as CameraSimParams;
        const replay = await applyCameraSim(rgba, exr.width, exr.height, record, { stride: 4 });
        expect(Buffer.compare(replay.jpeg!, fs.readFileSync(path.join(dir, 'input', 'camera.jpg'))), id).to.equal(0);
      }
    });
  });
});
