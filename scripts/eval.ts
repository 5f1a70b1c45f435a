// npm run eval -- --pred DIR --gt DATASET_OR_SEQUENCE_DIR [--csv FILE]: the papers' metrics of
// predicted relit images against a rendered ground truth, on the portrait mask. See README
// "Camera simulation, sequences and evaluation" and renderer/develop/metrics.ts for definitions.
//
// Matching rule: every prediction is PRED/<id>/<key>.exr or PRED/<id>/<key>.png and is compared
// with the ground-truth beauty GT/samples/<id>/<key>/beauty.exr (a batch dataset) or
// GT/frames/<id>/<key>/beauty.exr (a sequence). E.g. PRED/000003/target_k.exr, PRED/000012/target.png.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { readExr } from '../renderer/io/exr-read.js';
import { readPng } from '../renderer/io/image-io.js';
import { readFlow } from '../renderer/develop/flow.js';
import { srgbDecode, srgbEncode } from '../renderer/core/color.js';
import { binaryMask, imageMetrics, ssimWindow, temporalRmse, warpedRmse } from '../renderer/develop/metrics.js';
import { writeFileAtomic } from '../renderer/io/fs-atomic.js';

const program = new Command()
  .name('eval')
  .description(
    'Compare predicted relit images with a rendered ground truth: RMSE, PSNR, SSIM on the portrait mask; for sequences also the temporal and flow-warped errors. ' +
      'Predictions: PRED/<id>/<key>.exr (linear) or .png (sRGB-encoded 8/16-bit), matched to GT/samples/<id>/<key>/beauty.exr (dataset) or GT/frames/<id>/<key>/beauty.exr (sequence).',
  )
  .requiredOption('--pred <dir>', 'folder of predictions: <id>/<key>.exr|png')
  .requiredOption('--gt <dir>', 'rendered dataset (render-batch output) or sequence (render-sequence output)')
  .option('--csv <file>', 'per-image (and per-pair) CSV (default: <pred>/eval.csv)')
  .option('--domain <d>', "where metrics are computed: 'srgb' (display-referred: linear clamped to [0,1] then sRGB-encoded, the papers' [0,1] images) or 'linear' (linear clamped to [0,1])", 'srgb')
  .option('--exposure <stops>', 'exposure applied to linear (EXR) values before clamping, both gt and pred', '0')
  .option('--mask-threshold <t>', 'portrait mask = gt coverage (beauty alpha) >= t', '0.5')
  .option('--keys <list>', 'only these keys (comma-separated)')
  .showHelpAfterError();

program.parse();
const opts = program.opts<{ pred: string; gt: string; csv?: string; domain: string; exposure: string; maskThreshold: string; keys?: string }>();

type Domain = 'srgb' | 'linear';

interface Loaded {
  width: number;
  height: number;
  rgb: Float64Array;
}

function fail(msg: string): never {
  throw new Error(msg);
}

function toDomain(v: number, domain: Domain, gain: number): number {
  const x = v * gain;
  const c = x > 0 ? (x < 1 ? x : 1) : 0;
  return domain === 'srgb' ? srgbEncode(c) : c;
}

async function loadExrRgb(file: string, domain: Domain, gain: number): Promise<Loaded & { alpha: Float32Array | null }> {
  const exr = await readExr(file);
  const ch = (n: string) => exr.channels.find((c) => c.name === n)?.data;
  const R = ch('R');
  const G = ch('G');
  const B = ch('B');
  if (!R || !G || !B) fail(`${file}: needs R, G, B channels (has ${exr.channels.map((c) => c.name).join(', ')})`);
  const n = exr.width * exr.height;
  const rgb = new Float64Array(n * 3);
  for (let p = 0; p < n; p++) {
    rgb[p * 3] = toDomain(R[p], domain, gain);
    rgb[p * 3 + 1] = toDomain(G[p], domain, gain);
    rgb[p * 3 + 2] = toDomain(B[p], domain, gain);
  }
  return { width: exr.width, height: exr.height, rgb, alpha: ch('A') ?? null };
}

async function loadPred(file: string, domain: Domain, gain: number): Promise<Loaded> {
  if (file.endsWith('.exr')) return loadExrRgb(file, domain, gain);
  const png = await readPng(file);
  if (png.channels < 3) fail(`${file}: expected an RGB or RGBA PNG, got ${png.channels} channel(s)`);
  const max = png.bitDepth === 16 ? 65535 : 255;
  const n = png.width * png.height;
  const rgb = new Float64Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = png.data[p * png.channels + c] / max;
      rgb[p * 3 + c] = domain === 'srgb' ? v : srgbDecode(v);
    }
  }
  return { width: png.width, height: png.height, rgb };
}

interface Row {
  kind: 'image' | 'pair';
  id: string;
  key: string;
  nextId?: string;
  predFile?: string;
  pixels?: number;
  rmse?: number;
  psnr?: number;
  ssim?: number;
  temporalRmse?: number;
  gtTemporalRmse?: number;
  warpedPixels?: number;
  warpedRmse?: number;
  gtWarpedRmse?: number;
}

const CSV_COLUMNS: [keyof Row, string][] = [
  ['kind', 'kind'],
  ['id', 'id'],
  ['key', 'key'],
  ['nextId', 'next_id'],
  ['predFile', 'pred_file'],
  ['pixels', 'mask_pixels'],
  ['rmse', 'rmse'],
  ['psnr', 'psnr_db'],
  ['ssim', 'ssim'],
  ['temporalRmse', 'temporal_rmse'],
  ['gtTemporalRmse', 'gt_temporal_rmse'],
  ['warpedPixels', 'warped_pixels'],
  ['warpedRmse', 'warped_rmse'],
  ['gtWarpedRmse', 'gt_warped_rmse'],
];

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(8))) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function stats(xs: number[]): { mean: number; median: number; min: number; max: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { mean, median, min: s[0], max: s[n - 1], n };
}

function fmt(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? 'inf' : 'nan';
}

async function main(): Promise<void> {
  const domain = opts.domain as Domain;
  if (domain !== 'srgb' && domain !== 'linear') fail(`--domain must be srgb or linear, got "${opts.domain}"`);
  const exposure = Number(opts.exposure);
  const threshold = Number(opts.maskThreshold);
  if (!Number.isFinite(exposure)) fail(`--exposure must be a number, got "${opts.exposure}"`);
  if (!(threshold > 0 && threshold <= 1)) fail(`--mask-threshold must be in (0, 1], got "${opts.maskThreshold}"`);
  const gain = Math.pow(2, exposure);
  const predDir = path.resolve(opts.pred);
  const gtDir = path.resolve(opts.gt);
  if (!fs.existsSync(predDir) || !fs.statSync(predDir).isDirectory()) fail(`--pred ${predDir}: not a folder`);
  const isSequence = fs.existsSync(path.join(gtDir, 'sequence.json'));
  const gtRoot = path.join(gtDir, isSequence ? 'frames' : 'samples');
  if (!fs.existsSync(gtRoot)) fail(`--gt ${gtDir}: neither a dataset (samples/) nor a sequence (sequence.json + frames/)`);
  const keyFilter = opts.keys ? new Set(opts.keys.split(',').map((s) => s.trim()).filter(Boolean)) : null;

  // predictions
  const preds: { id: string; key: string; file: string }[] = [];
  for (const e of fs.readdirSync(predDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isDirectory()) continue;
    const seen = new Map<string, string>();
    for (const f of fs.readdirSync(path.join(predDir, e.name)).sort()) {
      const m = /^(.+)\.(exr|png)$/i.exec(f);
      if (!m) continue;
      const key = m[1];
      if (keyFilter && !keyFilter.has(key)) continue;
      if (seen.has(key)) fail(`${path.join(predDir, e.name)}: both ${seen.get(key)} and ${f} predict "${key}"; keep one`);
      seen.set(key, f);
      preds.push({ id: e.name, key, file: path.join(predDir, e.name, f) });
    }
  }
  if (preds.length === 0) fail(`no predictions found: expected ${predDir}/<id>/<key>.exr|png`);
  const keys = [...new Set(preds.map((p) => p.key))].sort();

  // per-image metrics; for a sequence, in frame order per key with the previous frame kept for the
  // pair metrics (memory stays at two frames whatever the length)
  const rows: Row[] = [];
  type Item = { id: string; gt: Loaded; mask: Uint8Array; pred: Loaded };
  const evalImage = async (p: { id: string; key: string; file: string }): Promise<Item> => {
    const gtFile = path.join(gtRoot, p.id, p.key, 'beauty.exr');
    if (!fs.existsSync(gtFile)) fail(`${p.file}: no ground truth ${gtFile} (matching rule: PRED/<id>/<key>.exr|png <-> GT/${isSequence ? 'frames' : 'samples'}/<id>/<key>/beauty.exr)`);
    const gt = await loadExrRgb(gtFile, domain, gain);
    if (!gt.alpha) fail(`${gtFile}: no alpha (coverage) channel for the portrait mask`);
    const pred = await loadPred(p.file, domain, gain);
    if (pred.width !== gt.width || pred.height !== gt.height) fail(`${p.file}: ${pred.width}x${pred.height}, ground truth is ${gt.width}x${gt.height}`);
    const mask = binaryMask(gt.alpha, threshold);
    const m = imageMetrics(gt.rgb, pred.rgb, gt.width, gt.height, 3, mask, { dataRange: 1 });
    rows.push({ kind: 'image', id: p.id, key: p.key, predFile: path.relative(predDir, p.file), pixels: m.pixels, rmse: m.rmse, psnr: m.psnr, ssim: m.ssim });
    return { id: p.id, gt, mask, pred };
  };
  const pairRows: Row[] = [];
  const evalPair = async (key: string, A: Item, B: Item): Promise<void> => {
    const n = A.gt.width * A.gt.height;
    const tp = temporalRmse(A.pred.rgb, B.pred.rgb, n, 3, A.mask, B.mask);
    const tg = temporalRmse(A.gt.rgb, B.gt.rgb, n, 3, A.mask, B.mask);
    const row: Row = { kind: 'pair', id: A.id, key, nextId: B.id, pixels: tp.pixels, temporalRmse: tp.rmse, gtTemporalRmse: tg.rmse };
    const pairDir = path.join(gtDir, 'flow', `${A.id}_${B.id}`);
    if (fs.existsSync(path.join(pairDir, 'forward.exr'))) {
      const f = await readFlow(path.join(pairDir, 'forward.exr'), path.join(pairDir, 'occlusion_forward.png'));
      const wp = warpedRmse(A.pred.rgb, B.pred.rgb, A.gt.width, A.gt.height, 3, f.flow, f.occlusion!, A.mask, B.mask);
      const wg = warpedRmse(A.gt.rgb, B.gt.rgb, A.gt.width, A.gt.height, 3, f.flow, f.occlusion!, A.mask, B.mask);
      Object.assign(row, { warpedPixels: wp.pixels, warpedRmse: wp.rmse, gtWarpedRmse: wg.rmse });
    }
    pairRows.push(row);
  };
  if (!isSequence) {
    for (const p of preds) await evalImage(p);
  } else {
    for (const key of keys) {
      const ordered = preds.filter((p) => p.key === key).sort((a, b) => Number(a.id) - Number(b.id));
      let prev: Item | null = null;
      for (const p of ordered) {
        const cur = await evalImage(p);
        if (prev && Number(cur.id) === Number(prev.id) + 1) await evalPair(key, prev, cur);
        prev = cur;
      }
    }
  }
  rows.push(...pairRows);
  // ground-truth items of the predicted keys without a prediction
  const missing: string[] = [];
  for (const id of fs.readdirSync(gtRoot).filter((d) => /^\d+$/.test(d)).sort()) {
    for (const key of keys) {
      if (fs.existsSync(path.join(gtRoot, id, key, 'beauty.exr')) && !preds.some((p) => p.id === id && p.key === key)) missing.push(`${id}/${key}`);
    }
  }

  // CSV
  const csvFile = path.resolve(opts.csv ?? path.join(predDir, 'eval.csv'));
  const csv = [CSV_COLUMNS.map((c) => c[1]).join(','), ...rows.map((r) => CSV_COLUMNS.map(([k]) => csvCell(r[k])).join(','))].join('\n') + '\n';
  fs.mkdirSync(path.dirname(csvFile), { recursive: true });
  await writeFileAtomic(csvFile, csv, { fsync: false });

  // summary table
  const images = rows.filter((r) => r.kind === 'image');
  const pairs = rows.filter((r) => r.kind === 'pair');
  const lines: string[] = [];
  lines.push(`eval: ${images.length} prediction(s) [${keys.join(', ')}] vs ${isSequence ? 'sequence' : 'dataset'} ${gtDir}`);
  lines.push(
    `domain ${domain}${exposure ? `, exposure ${exposure} stops` : ''}, values in [0,1]; mask = gt coverage >= ${threshold}; SSIM: Gaussian ${ssimWindow()}x${ssimWindow()} (sigma 1.5), K1 0.01, K2 0.03, population covariance, data range 1, mean over mask pixels`,
  );
  lines.push('');
  lines.push('| metric | mean | median | min | max | n |');
  lines.push('|---|---|---|---|---|---|');
  const add = (name: string, xs: (number | undefined)[], digits: number) => {
    const v = xs.filter((x): x is number => typeof x === 'number' && !Number.isNaN(x));
    if (!v.length) return;
    const s = stats(v);
    lines.push(`| ${name} | ${fmt(s.mean, digits)} | ${fmt(s.median, digits)} | ${fmt(s.min, digits)} | ${fmt(s.max, digits)} | ${s.n} |`);
  };
  add('RMSE', images.map((r) => r.rmse), 4);
  add('PSNR (dB)', images.map((r) => r.psnr), 2);
  add('SSIM', images.map((r) => r.ssim), 4);
  if (pairs.length) {
    add('temporal RMSE (pred)', pairs.map((r) => r.temporalRmse), 4);
    add('temporal RMSE (gt)', pairs.map((r) => r.gtTemporalRmse), 4);
    add('flow-warped RMSE (pred)', pairs.map((r) => r.warpedRmse), 4);
    add('flow-warped RMSE (gt)', pairs.map((r) => r.gtWarpedRmse), 4);
  }
  lines.push('');
  if (missing.length) lines.push(`missing predictions for ${missing.length} ground-truth image(s): ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`);
  lines.push(`per-image CSV: ${csvFile}`);
  console.log(lines.join('\n'));
}

main().catch((err: Error) => {
  console.error(`eval: ${err.message}`);
  process.exitCode = 1;
});
