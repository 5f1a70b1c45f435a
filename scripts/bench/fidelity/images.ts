// Fidelity bench: images and metrics. Ours and Cycles' frames as premultiplied RGB + alpha, the
// display-referred and linear comparisons on the shared mask, the background error, and the
// side-by-side PNGs.
import { readExr } from '../../../renderer/io/exr-read.js';
import { writePng } from '../../../renderer/io/image-io.js';
import type { RenderedSample } from '../../../renderer/engine/renderer.js';
import { tonemapToSrgb8 } from '../../../renderer/core/color.js';
import { imageMetrics, maskedMse, psnrFromMse } from '../../../renderer/develop/metrics.js';

export interface Rgba {
  width: number;
  height: number;
  /** premultiplied linear RGB, interleaved */
  rgb: Float32Array;
  alpha: Float32Array;
}

export function oursImage(s: RenderedSample): Rgba {
  const b = s.modes.beauty!;
  const n = s.width * s.height;
  const rgb = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    const bgk = s.background ? 1 - s.mask[p] : 0;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = b[p * 4 + c] + (s.background ? bgk * s.background[p * 3 + c] : 0);
  }
  return { width: s.width, height: s.height, rgb, alpha: s.mask };
}

export async function cyclesImage(file: string): Promise<Rgba> {
  const r = await readExr(file);
  const get = (name: string) => {
    const ch = r.channels.find((c) => c.name === name);
    if (!ch) throw new Error(`${file}: no channel ${name} (has ${r.channels.map((c) => c.name).join(', ')})`);
    return ch.data;
  };
  const [R, G, B, A] = ['R', 'G', 'B', 'A'].map(get);
  const n = r.width * r.height;
  const rgb = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    rgb[p * 3] = R[p];
    rgb[p * 3 + 1] = G[p];
    rgb[p * 3 + 2] = B[p];
  }
  return { width: r.width, height: r.height, rgb, alpha: Float32Array.from(A, (a) => Math.min(1, Math.max(0, a))) };
}

export function unpremultiplied(img: Rgba, opaque: boolean): Float32Array {
  const out = new Float32Array(img.rgb.length);
  for (let p = 0; p < img.alpha.length; p++) {
    const a = opaque ? 1 : img.alpha[p];
    const k = a > 1e-4 ? 1 / a : 0;
    for (let c = 0; c < 3; c++) out[p * 3 + c] = img.rgb[p * 3 + c] * k;
  }
  return out;
}

/** As preview.png: x 2^EV, ACES fit, sRGB; as floats in [0, 1]. */
function display(rgb: Float32Array, exposure: number): Float32Array {
  const b = tonemapToSrgb8(rgb, 3, exposure, { curve: 'aces' });
  return Float32Array.from(b, (v) => v / 255);
}

export function percentile(values: Float32Array | number[], q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

export interface PairMetrics {
  maskPixels: number;
  psnrDisplay: number;
  ssimDisplay: number;
  psnrLinear: number;
  energyRatio: number;
  maskIoU: number;
}

/** `test` against `ref` (the reference), display at `exposure` stops. */
export function compareImages(ref: Rgba, test: Rgba, exposure: number, opaque = false): PairMetrics {
  const { width: w, height: h } = ref;
  const n = w * h;
  const mask = new Uint8Array(n);
  let inter = 0, union = 0;
  for (let p = 0; p < n; p++) {
    mask[p] = ref.alpha[p] > 0.99 && test.alpha[p] > 0.99 ? 1 : 0;
    const a = ref.alpha[p] >= 0.5, b = test.alpha[p] >= 0.5;
    if (a && b) inter++;
    if (a || b) union++;
  }
  const dRef = display(unpremultiplied(ref, opaque), exposure);
  const dTest = display(unpremultiplied(test, opaque), exposure);
  const disp = imageMetrics(dRef, dTest, w, h, 3, mask);
  const onMask: number[] = [];
  let sumRef = 0, sumTest = 0;
  for (let p = 0; p < n; p++) {
    if (!mask[p]) continue;
    for (let c = 0; c < 3; c++) {
      onMask.push(ref.rgb[p * 3 + c]);
      sumRef += ref.rgb[p * 3 + c];
      sumTest += test.rgb[p * 3 + c];
    }
  }
  const p99 = percentile(onMask, 0.99);
  const k = p99 > 0 ? 1 / p99 : 1;
  const lin = maskedMse(ref.rgb.map((v) => v * k), test.rgb.map((v) => v * k), n, 3, mask);
  return {
    maskPixels: disp.pixels,
    psnrDisplay: disp.psnr,
    ssimDisplay: disp.ssim,
    psnrLinear: psnrFromMse(lin.mse),
    energyRatio: sumTest / sumRef,
    maskIoU: union ? inter / union : NaN,
  };
}

/** ours | Cycles | |display difference| x 4, premultiplied over black. */
export async function writeSideBySide(file: string, ours: Rgba, cyc: Rgba, exposure: number): Promise<void> {
  const { width: w, height: h } = ours;
  const a = tonemapToSrgb8(ours.rgb, 3, exposure, { curve: 'aces' });
  const b = tonemapToSrgb8(cyc.rgb, 3, exposure, { curve: 'aces' });
  const out = new Uint8Array(w * 3 * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        out[(y * 3 * w + x) * 3 + c] = a[i + c];
        out[(y * 3 * w + w + x) * 3 + c] = b[i + c];
        out[(y * 3 * w + 2 * w + x) * 3 + c] = Math.min(255, 4 * Math.abs(a[i + c] - b[i + c]));
      }
    }
  }
  await writePng(file, out, { width: 3 * w, height: h, channels: 3, bitDepth: 8 });
}

/** Relative error per background pixel (ours' coverage 0, 2 px away from the head). */
export function backgroundError(ours: Rgba, cyc: Rgba): { meanRelErr: number; medianRelErr: number; pixels: number } {
  const { width: w, height: h } = ours;
  const errs: number[] = [];
  const R = 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let near = false;
      for (let dy = -R; dy <= R && !near; dy++) {
        for (let dx = -R; dx <= R && !near; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < w && yy < h && ours.alpha[yy * w + xx] > 0) near = true;
        }
      }
      if (near) continue;
      const p = y * w + x;
      let num = 0, den = 0;
      for (let c = 0; c < 3; c++) {
        num += Math.abs(ours.rgb[p * 3 + c] - cyc.rgb[p * 3 + c]);
        den += Math.abs(cyc.rgb[p * 3 + c]);
      }
      errs.push(num / Math.max(den, 1e-6));
    }
  }
  return { meanRelErr: errs.reduce((a, b) => a + b, 0) / errs.length, medianRelErr: percentile(errs, 0.5), pixels: errs.length };
}
