/**
 * Evaluation (renderer/develop/metrics.ts, scripts/eval.ts): every metric against scikit-image /
 * scipy under /usr/bin/python3 (same window and constants), then `npm run eval` as a child process
 * on a rendered dataset (batch engine) and on a rendered sequence (temporal metrics).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { imageMetrics, maskedSsim, temporalRmse, warpedRmse } from '../renderer/develop/metrics.js';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { runBatch } from '../renderer/pipelines/batch/run.js';
import { parseSequenceConfig, runSequence } from '../renderer/pipelines/sequence.js';
import { readExr } from '../renderer/io/exr-read.js';
import { writeExr } from '../renderer/io/exr-write.js';
import { writePng } from '../renderer/io/image-io.js';
import { srgbEncode } from '../renderer/core/color.js';
import { Rng } from '../renderer/core/rng.js';
import { skipBecause } from './support/skip.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';

const PY = '/usr/bin/python3';
const NO_PY = 'python3 with numpy, scipy and scikit-image not installed (Debian: python3-numpy python3-scipy python3-skimage)';

function havePython(): boolean {
  try {
    execFileSync(PY, ['-c', 'import numpy, scipy, skimage.metrics'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function readF64(file: string): Float64Array {
  const b = fs.readFileSync(file);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Reference implementation, independent of ours: scikit-image for RMSE/PSNR/SSIM, scipy for bilinear warping. */
const PY_REFERENCE = String.raw`
import json, sys
import numpy as np
from scipy.ndimage import map_coordinates
from skimage.metrics import structural_similarity, peak_signal_noise_ratio, mean_squared_error
out = sys.argv[1]
rng = np.random.default_rng(20240607)

def smooth(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        img[..., c] = 0.5 + 0.3 * np.sin(x / 5.0 + c) * np.cos(y / 7.0 - c) + 0.1 * np.sin((x + y) / 3.0 + 2 * c)
    return np.clip(img, 0, 1)

def save(name, a):
    np.ascontiguousarray(a, dtype='<f8').tofile(f'{out}/{name}.f64')

cases = []
for i, (h, w, noise, kind) in enumerate([(48, 64, 0.05, 'ellipse'), (29, 33, 0.2, 'ellipse'), (80, 80, 0.02, 'border'), (40, 56, 0.1, 'full')]):
    gt = smooth(h, w)
    pred = np.clip(0.9 * gt + 0.05 + rng.normal(0, noise, gt.shape), 0, 1)
    y, x = np.mgrid[0:h, 0:w]
    if kind == 'ellipse':
        mask = ((x + 0.5 - w / 2) / (0.35 * w)) ** 2 + ((y + 0.5 - h / 2) / (0.42 * h)) ** 2 <= 1
    elif kind == 'border':
        mask = (x < 0.6 * w) | (y < 8)
    else:
        mask = np.ones((h, w), bool)
    mse = mean_squared_error(gt[mask], pred[mask])
    psnr = peak_signal_noise_ratio(gt[mask], pred[mask], data_range=1.0)
    mssim, S = structural_similarity(gt, pred, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=1.0, full=True)
    pad = (11 - 1) // 2
    inner = np.zeros((h, w), bool)
    inner[pad:h - pad, pad:w - pad] = True
    ssim_masked = S[mask & inner].mean()
    save(f'gt{i}', gt); save(f'pred{i}', pred); save(f'mask{i}', mask)
    cases.append(dict(h=h, w=w, rmse=float(np.sqrt(mse)), psnr=float(psnr), ssim=float(ssim_masked), mssim=float(mssim), full=kind == 'full'))

# temporal metrics
h, w = 40, 52
A = smooth(h, w)
B = np.clip(np.roll(A, 2, axis=1) + rng.normal(0, 0.03, A.shape), 0, 1)
yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
u = 1.7 + 0.8 * np.sin(yy / 9.0)
v = -0.6 + 0.5 * np.cos(xx / 11.0)
occ = np.where(rng.random((h, w)) < 0.1, 255, 0)
mT = ((xx + 0.5 - w / 2) / (0.4 * w)) ** 2 + ((yy + 0.5 - h / 2) / (0.45 * h)) ** 2 <= 1
mT1 = ((xx + 0.5 - w / 2 - 2) / (0.4 * w)) ** 2 + ((yy + 0.5 - h / 2) / (0.45 * h)) ** 2 <= 1
both = mT & mT1
temporal = float(np.sqrt(np.mean((A - B)[both] ** 2)))
sx, sy = xx + u, yy + v
inside = (sx >= 0) & (sy >= 0) & (sx <= w - 1) & (sy <= h - 1)
x0 = np.clip(np.minimum(np.floor(sx), w - 2), 0, w - 2).astype(int)
y0 = np.clip(np.minimum(np.floor(sy), h - 2), 0, h - 2).astype(int)
taps = mT1[y0, x0] & mT1[y0, x0 + 1] & mT1[y0 + 1, x0] & mT1[y0 + 1, x0 + 1]
valid = (occ == 0) & mT & inside & taps
W = np.stack([map_coordinates(B[..., c], [sy, sx], order=1, mode='nearest') for c in range(3)], axis=-1)
warped = float(np.sqrt(np.mean((W - A)[valid] ** 2)))
save('tA', A); save('tB', B); save('flow', np.stack([u, v], axis=-1)); save('occ', occ); save('mT', mT); save('mT1', mT1)
json.dump(dict(cases=cases, temporal=dict(h=h, w=w, temporal=temporal, temporal_pixels=int(both.sum()), warped=warped, warped_pixels=int(valid.sum()))), open(f'{out}/ref.json', 'w'))
`;

/** `npm run eval -- ARGS` (the package script). */
function runEval(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('npm', ['run', '--silent', 'eval', '--', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function parseCsv(file: string): Record<string, string>[] {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

async function readRgba(file: string): Promise<{ w: number; h: number; rgb: Float32Array; a: Float32Array }> {
  const exr = await readExr(file);
  const ch = (n: string) => exr.channels.find((c) => c.name === n)!.data;
  const n = exr.width * exr.height;
  const rgb = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) for (const [c, name] of ['R', 'G', 'B'].entries()) rgb[p * 3 + c] = ch(name)[p];
  return { w: exr.width, h: exr.height, rgb, a: ch('A') };
}

const clamp01 = (x: number) => (x > 0 ? (x < 1 ? x : 1) : 0);

describe('evaluation', function () {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-eval-'));
  });
  after(() => {
    if (!process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('RMSE, PSNR, SSIM (masked and unmasked) and the temporal metrics agree with scikit-image/scipy to 1e-3', function () {
    if (!havePython()) skipBecause(this, NO_PY);
    const dir = path.join(tmp, 'ref');
    fs.mkdirSync(dir);
    execFileSync(PY, ['-c', PY_REFERENCE, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const ref = JSON.parse(fs.readFileSync(path.join(dir, 'ref.json'), 'utf8'));
    let worst = 0;
    const note = (ours: number, theirs: number, what: string) => {
      const d = Math.abs(ours - theirs);
      worst = Math.max(worst, d);
      expect(d, `${what}: ours ${ours}, skimage ${theirs}`).to.be.lessThan(1e-3);
    };
    for (const [i, c] of (ref.cases as { h: number; w: number; rmse: number; psnr: number; ssim: number; mssim: number; full: boolean }[]).entries()) {
      const gt = readF64(path.join(dir, `gt${i}.f64`));
      const pred = readF64(path.join(dir, `pred${i}.f64`));
      const mask = Uint8Array.from(readF64(path.join(dir, `mask${i}.f64`)));
      const m = imageMetrics(gt, pred, c.w, c.h, 3, mask);
      note(m.rmse, c.rmse, `case ${i} RMSE`);
      note(m.psnr, c.psnr, `case ${i} PSNR`);
      note(m.ssim, c.ssim, `case ${i} SSIM (masked)`);
      if (c.full) note(maskedSsim(gt, pred, c.w, c.h, 3, null), c.mssim, `case ${i} SSIM (skimage mean)`);
    }
    const t = ref.temporal;
    const A = readF64(path.join(dir, 'tA.f64'));
    const B = readF64(path.join(dir, 'tB.f64'));
    const flow = Float32Array.from(readF64(path.join(dir, 'flow.f64')));
    const occ = Uint8Array.from(readF64(path.join(dir, 'occ.f64')));
    const mT = Uint8Array.from(readF64(path.join(dir, 'mT.f64')));
    const mT1 = Uint8Array.from(readF64(path.join(dir, 'mT1.f64')));
    const tr = temporalRmse(A, B, t.w * t.h, 3, mT, mT1);
    expect(tr.pixels).to.equal(t.temporal_pixels);
    note(tr.rmse, t.temporal, 'temporal RMSE');
    const wr = warpedRmse(A, B, t.w, t.h, 3, flow, occ, mT, mT1);
    expect(wr.pixels).to.equal(t.warped_pixels);
    // flow is stored as float32 (as in the flow EXR), scipy used float64: ~1e-7 px apart
    note(wr.rmse, t.warped, 'flow-warped RMSE');
    console.log(`      largest difference from scikit-image/scipy over ${ref.cases.length} image cases + temporal: ${worst.toExponential(2)}`);
  });

  describe('npm run eval (child process) on rendered ground truth', () => {
    let ssimCheck: { rows: Record<string, string>[]; pyDir: string } | undefined;
    it('dataset: prints the summary table and writes per-image CSV values that match an independent computation', async function () {
      const data = path.join(tmp, 'dataset');
      const config = parseBatchConfig({
        name: 'eval-test',
        width: 64,
        height: 64,
        samples: 2,
        seed: 3,
        workers: 1,
        envMaps: ['builtin:studio', 'builtin:city'],
        augment: { cropProbability: 0 },
        passes: ['beauty', 'mask'],
        render: { msaa: 4, envCubeSize: 32, shadowMapSize: 256 },
      });
      await runBatch(config, { outDir: data, workers: 1 });
      const pred = path.join(tmp, 'pred');
      const rng = new Rng(77);
      const sigma = 0.02;
      const expected: Record<string, { rmse: number; psnr: number }> = {};
      const pyDir = path.join(tmp, 'py-ssim');
      fs.mkdirSync(pyDir);
      for (const [k, id] of ['000000', '000001'].entries()) {
        const gt = await readRgba(path.join(data, 'samples', id, 'target_k', 'beauty.exr'));
        const n = gt.w * gt.h;
        fs.mkdirSync(path.join(pred, id), { recursive: true });
        const gtD = new Float64Array(n * 3);
        const prD = new Float64Array(n * 3);
        for (let i = 0; i < n * 3; i++) gtD[i] = srgbEncode(clamp01(gt.rgb[i]));
        if (k === 0) {
          // a 16-bit sRGB PNG: ground truth + Gaussian noise in display values
          const png = new Uint16Array(n * 3);
          for (let i = 0; i < n * 3; i++) {
            png[i] = Math.round(65535 * clamp01(gtD[i] + rng.normal(0, sigma)));
            prD[i] = png[i] / 65535;
          }
          await writePng(path.join(pred, id, 'target_k.png'), png, { width: gt.w, height: gt.h, channels: 3, bitDepth: 16 });
        } else {
          // a linear EXR: the ground truth 20% too bright
          const planes = [0, 1, 2].map((c) => Float32Array.from({ length: n }, (_, p) => gt.rgb[p * 3 + c] * 1.2));
          await writeExr(path.join(pred, id, 'target_k.exr'), { width: gt.w, height: gt.h, channels: ['R', 'G', 'B'].map((name, c) => ({ name, data: planes[c] })) }, { pixelType: 'float' });
          for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) prD[p * 3 + c] = srgbEncode(clamp01(planes[c][p]));
        }
        let sq = 0;
        let cnt = 0;
        const mask = new Float64Array(n);
        for (let p = 0; p < n; p++) {
          if (gt.a[p] < 0.5) continue;
          mask[p] = 1;
          cnt++;
          for (let c = 0; c < 3; c++) sq += (prD[p * 3 + c] - gtD[p * 3 + c]) ** 2;
        }
        const rmse = Math.sqrt(sq / (cnt * 3));
        expected[id] = { rmse, psnr: -20 * Math.log10(rmse) };
        fs.writeFileSync(path.join(pyDir, `gt${k}.f64`), Buffer.from(gtD.buffer));
        fs.writeFileSync(path.join(pyDir, `pred${k}.f64`), Buffer.from(prD.buffer));
        fs.writeFileSync(path.join(pyDir, `mask${k}.f64`), Buffer.from(mask.buffer));
      }
      const csv = path.join(tmp, 'eval.csv');
      const r = runEval(['--pred', pred, '--gt', data, '--csv', csv]);
      expect(r.code, r.stderr).to.equal(0);
      console.log(r.stdout.replace(/^/gm, '      '));
      expect(r.stdout).to.match(/\| metric \| mean \| median \| min \| max \| n \|/);
      expect(r.stdout).to.match(/\| RMSE \| [0-9.]+ /);
      expect(r.stdout).to.match(/\| PSNR \(dB\) \| [0-9.]+ /);
      expect(r.stdout).to.match(/\| SSIM \| [0-9.]+ /);
      const rows = parseCsv(csv);
      expect(rows.map((x) => `${x.id}/${x.key}`)).to.deep.equal(['000000/target_k', '000001/target_k']);
      for (const row of rows) {
        expect(Number(row.rmse), row.id).to.be.closeTo(expected[row.id].rmse, 1e-6);
        expect(Number(row.psnr_db), row.id).to.be.closeTo(expected[row.id].psnr, 1e-4);
        expect(Number(row.mask_pixels)).to.be.greaterThan(500);
      }
      // noise of sigma in display values: RMSE ~ sigma (less where clipped at 0 / 1)
      expect(Number(rows[0].rmse)).to.be.within(0.8 * sigma, 1.05 * sigma);
      // SSIM: scikit-image on the same display-domain images, masked the same way
      ssimCheck = { rows, pyDir }; // cross-checked by the next test
      // mismatched names fail and say the rule
      fs.mkdirSync(path.join(pred, '000009'));
      fs.copyFileSync(path.join(pred, '000000', 'target_k.png'), path.join(pred, '000009', 'target_k.png'));
      const bad = runEval(['--pred', pred, '--gt', data, '--csv', csv]);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.match(/no ground truth .*matching rule/);
    });

    it('dataset: SSIM per image matches scikit-image on the same images', function () {
      if (!havePython()) skipBecause(this, NO_PY);
      if (!ssimCheck) throw new Error('the dataset test above did not run');
      const { rows, pyDir } = ssimCheck;
      const py = execFileSync(PY, ['-c', String.raw`
import json, sys
import numpy as np
from skimage.metrics import structural_similarity
d = sys.argv[1]
res = []
for k in range(2):
    gt = np.fromfile(f'{d}/gt{k}.f64', '<f8').reshape(64, 64, 3)
    pr = np.fromfile(f'{d}/pred{k}.f64', '<f8').reshape(64, 64, 3)
    m = np.fromfile(f'{d}/mask{k}.f64', '<f8').reshape(64, 64) > 0
    _, S = structural_similarity(gt, pr, channel_axis=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, full=True)
    inner = np.zeros((64, 64), bool); inner[5:59, 5:59] = True
    res.append(float(S[m & inner].mean()))
print(json.dumps(res))
`, pyDir], { encoding: 'utf8' });
      const ssims = JSON.parse(py) as number[];
      for (const [k, row] of rows.entries()) expect(Number(row.ssim), `SSIM ${row.id}`).to.be.closeTo(ssims[k], 1e-3);
    });

    it('sequence: temporal and flow-warped errors per pair of neighbouring frames', async function () {
      const seq = path.join(tmp, 'sequence');
      const config = parseSequenceConfig({
        name: 'eval-seq',
        width: 64,
        height: 64,
        frames: 3,
        motion: { yawDeg: { amplitude: 25, frequencyHz: 1, phaseDeg: 0 }, translation: { amplitude: [0, 0, 0] } },
        input: { environment: { map: 'builtin:studio' }, speedUp: 0 },
        target: { environment: { map: 'builtin:city', rotationDeg: 30 }, speedUp: 0 },
        passes: ['beauty', 'depth', 'mask'],
        targetPasses: ['beauty'],
        render: { msaa: 4, envCubeSize: 32, shadowMapSize: 256 },
      });
      await runSequence(config, { outDir: seq });
      const pred = path.join(tmp, 'pred-seq');
      const rng = new Rng(5);
      const sigma = 0.02;
      for (const id of ['000000', '000001', '000002']) {
        const gt = await readRgba(path.join(seq, 'frames', id, 'target', 'beauty.exr'));
        const png = new Uint16Array(gt.rgb.length);
        for (let i = 0; i < png.length; i++) png[i] = Math.round(65535 * clamp01(srgbEncode(clamp01(gt.rgb[i])) + rng.normal(0, sigma)));
        fs.mkdirSync(path.join(pred, id), { recursive: true });
        await writePng(path.join(pred, id, 'target.png'), png, { width: gt.w, height: gt.h, channels: 3, bitDepth: 16 });
      }
      const csv = path.join(tmp, 'eval-seq.csv');
      const r = runEval(['--pred', pred, '--gt', seq, '--csv', csv]);
      expect(r.code, r.stderr).to.equal(0);
      console.log(r.stdout.replace(/^/gm, '      '));
      for (const name of ['temporal RMSE \\(pred\\)', 'temporal RMSE \\(gt\\)', 'flow-warped RMSE \\(pred\\)', 'flow-warped RMSE \\(gt\\)']) expect(r.stdout).to.match(new RegExp(`\\| ${name} \\| [0-9.]+ `));
      const rows = parseCsv(csv);
      const pairs = rows.filter((x) => x.kind === 'pair');
      expect(pairs.map((p) => `${p.id}->${p.next_id}`)).to.deep.equal(['000000->000001', '000001->000002']);
      for (const p of pairs) {
        const gtT = Number(p.gt_temporal_rmse);
        const gtW = Number(p.gt_warped_rmse);
        const prW = Number(p.warped_rmse);
        // the turning head moves pixels: warping by the exact flow removes most of the difference
        expect(gtW, 'gt warped < gt unwarped').to.be.lessThan(0.6 * gtT);
        // independent noise of sigma in both frames adds ~ sqrt(2) sigma
        expect(prW).to.be.within(Math.sqrt(gtW ** 2 + 2 * (0.7 * sigma) ** 2), Math.sqrt(gtW ** 2 + 2 * (1.1 * sigma) ** 2));
        expect(Number(p.warped_pixels)).to.be.greaterThan(300);
      }
    });
  });
});
