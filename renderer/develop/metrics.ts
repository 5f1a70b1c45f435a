// Image metrics of the relighting papers (RMSE, PSNR, SSIM) on the portrait mask, plus the video
// metrics (temporal error, flow-warped error). Pure functions on interleaved float images.
//
// Definitions (all on values in [0, data_range], data_range = 1 by default; the caller chooses the
// domain, see scripts/eval.ts):
//  - mask M: a 0/1 byte per pixel (the portrait region); every channel of a masked pixel counts.
//  - RMSE  = sqrt( mean over (p in M, c) of (pred - gt)^2 ).
//  - PSNR  = 10 log10( data_range^2 / MSE ), MSE as above (Infinity when MSE = 0).
//    Same as skimage.metrics.peak_signal_noise_ratio(gt[M], pred[M], data_range=data_range).
//  - SSIM  = mean over (p in M, c), p at least `pad` = (win - 1) / 2 pixels from the image border,
//    of the SSIM map S[p, c] of skimage.metrics.structural_similarity(gt, pred, channel_axis=2,
//    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range,
//    K1=0.01, K2=0.03, full=True) (Wang et al. 2004's settings: an 11-tap Gaussian, truncate 3.5,
//    ndimage 'reflect' boundary = half-sample symmetric). Without a mask (every pixel), this is
//    exactly skimage's mean SSIM (which also drops the `pad` border).
//  - temporal error (pair t, t+1) = RMSE(pred_t, pred_{t+1}) on M_t AND M_{t+1} (video paper sec. 5:
//    mean RMSE of adjacent output frames).
//  - flow-warped error (pair t, t+1) = RMSE(pred_t, W(pred_{t+1})) over the pixels x with
//    occlusion_forward(x) = visible, M_t(x), and every bilinear tap of x + f(x) in M_{t+1};
//    W(I)(x) = I bilinearly sampled at x + f_{t->t+1}(x) (ground-truth forward flow).

import { bilinearTaps } from './flow.js';

export interface SsimOptions {
  /** Gaussian sigma (default 1.5). */
  sigma?: number;
  /** Gaussian truncation in sigmas (default 3.5, skimage's value with gaussian_weights=True). */
  truncate?: number;
  K1?: number;
  K2?: number;
  /** Peak-to-peak value range (default 1). */
  dataRange?: number;
}

/** 1D Gaussian kernel as scipy.ndimage builds it: radius int(truncate*sigma + 0.5), normalised. */
export function gaussianKernel(sigma: number, truncate: number): Float64Array {
  const r = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    k[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
    s += k[i + r];
  }
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** scipy.ndimage 'reflect' (half-sample symmetric: d c b a | a b c d | d c b a) index. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

/** Separable Gaussian filter of one plane (row-major, w x h), 'reflect' boundary. */
export function gaussianFilter(src: Float64Array, w: number, h: number, kernel: Float64Array): Float64Array {
  const r = (kernel.length - 1) / 2;
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  // scipy filters axis 0 (rows, y) first, then axis 1 (x); the order changes only rounding.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += kernel[k + r] * src[reflect(y + k, h) * w + x];
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += kernel[k + r] * tmp[row + reflect(x + k, w)];
      out[row + x] = s;
    }
  }
  return out;
}

function plane(img: ArrayLike<number>, channels: number, c: number, n: number): Float64Array {
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) p[i] = img[i * channels + c];
  return p;
}

/** Window size of the Gaussian SSIM (11 for sigma 1.5, truncate 3.5). */
export function ssimWindow(opts: SsimOptions = {}): number {
  return 2 * Math.floor((opts.truncate ?? 3.5) * (opts.sigma ?? 1.5) + 0.5) + 1;
}

/** The full SSIM map, one plane per channel (planes[c][y*w + x]), as skimage computes it. */
export function ssimMap(gt: ArrayLike<number>, pred: ArrayLike<number>, w: number, h: number, channels: number, opts: SsimOptions = {}): Float64Array[] {
  const sigma = opts.sigma ?? 1.5;
  const kernel = gaussianKernel(sigma, opts.truncate ?? 3.5);
  const R = opts.dataRange ?? 1;
  const C1 = ((opts.K1 ?? 0.01) * R) ** 2;
  const C2 = ((opts.K2 ?? 0.03) * R) ** 2;
  const n = w * h;
  const out: Float64Array[] = [];
  for (let c = 0; c < channels; c++) {
    const X = plane(gt, channels, c, n);
    const Y = plane(pred, channels, c, n);
    const XX = new Float64Array(n);
    const YY = new Float64Array(n);
    const XY = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      XX[i] = X[i] * X[i];
      YY[i] = Y[i] * Y[i];
      XY[i] = X[i] * Y[i];
    }
    const ux = gaussianFilter(X, w, h, kernel);
    const uy = gaussianFilter(Y, w, h, kernel);
    const uxx = gaussianFilter(XX, w, h, kernel);
    const uyy = gaussianFilter(YY, w, h, kernel);
    const uxy = gaussianFilter(XY, w, h, kernel);
    const S = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const vx = uxx[i] - ux[i] * ux[i];
      const vy = uyy[i] - uy[i] * uy[i];
      const vxy = uxy[i] - ux[i] * uy[i];
      S[i] = ((2 * ux[i] * uy[i] + C1) * (2 * vxy + C2)) / ((ux[i] * ux[i] + uy[i] * uy[i] + C1) * (vx + vy + C2));
    }
    out.push(S);
  }
  return out;
}

/** Mean SSIM over mask pixels (all pixels when mask is null) at least `pad` from the border. */
export function maskedSsim(gt: ArrayLike<number>, pred: ArrayLike<number>, w: number, h: number, channels: number, mask: Uint8Array | null, opts: SsimOptions = {}): number {
  const S = ssimMap(gt, pred, w, h, channels, opts);
  const pad = (ssimWindow(opts) - 1) / 2;
  let sum = 0;
  let cnt = 0;
  for (let y = pad; y < h - pad; y++) {
    for (let x = pad; x < w - pad; x++) {
      const p = y * w + x;
      if (mask && !mask[p]) continue;
      for (let c = 0; c < channels; c++) sum += S[c][p];
      cnt += channels;
    }
  }
  return cnt ? sum / cnt : NaN;
}

/** Mean squared error over mask pixels (every channel); also the count of masked pixels. */
export function maskedMse(gt: ArrayLike<number>, pred: ArrayLike<number>, n: number, channels: number, mask: Uint8Array | null): { mse: number; pixels: number } {
  let sum = 0;
  let pixels = 0;
  for (let p = 0; p < n; p++) {
    if (mask && !mask[p]) continue;
    pixels++;
    for (let c = 0; c < channels; c++) {
      const d = pred[p * channels + c] - gt[p * channels + c];
      sum += d * d;
    }
  }
  return { mse: pixels ? sum / (pixels * channels) : NaN, pixels };
}

export function psnrFromMse(mse: number, dataRange = 1): number {
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

export interface ImageMetrics {
  pixels: number;
  rmse: number;
  psnr: number;
  ssim: number;
}

/** RMSE, PSNR and SSIM of `pred` against `gt` on `mask` (see the header). */
export function imageMetrics(gt: ArrayLike<number>, pred: ArrayLike<number>, w: number, h: number, channels: number, mask: Uint8Array | null, opts: SsimOptions = {}): ImageMetrics {
  const { mse, pixels } = maskedMse(gt, pred, w * h, channels, mask);
  return { pixels, rmse: Math.sqrt(mse), psnr: psnrFromMse(mse, opts.dataRange ?? 1), ssim: maskedSsim(gt, pred, w, h, channels, mask, opts) };
}

/** Binary mask from coverage: 1 where coverage >= threshold. */
export function binaryMask(coverage: ArrayLike<number>, threshold = 0.5): Uint8Array {
  const m = new Uint8Array(coverage.length);
  for (let i = 0; i < m.length; i++) m[i] = coverage[i] >= threshold ? 1 : 0;
  return m;
}

/** Temporal error of a pair: RMSE(a, b) on maskA AND maskB. */
export function temporalRmse(a: ArrayLike<number>, b: ArrayLike<number>, n: number, channels: number, maskA: Uint8Array, maskB: Uint8Array): { rmse: number; pixels: number } {
  const both = new Uint8Array(n);
  for (let p = 0; p < n; p++) both[p] = maskA[p] && maskB[p] ? 1 : 0;
  const { mse, pixels } = maskedMse(a, b, n, channels, both);
  return { rmse: Math.sqrt(mse), pixels };
}

/**
 * Flow-warped error of a pair: RMSE between frame t and frame t+1 backward-warped into t by the
 * forward flow (t -> t+1), over pixels with occlusion code 0 (visible), in maskT, whose four
 * bilinear taps in t+1 are all in maskT1 (see the header).
 */
export function warpedRmse(
  frameT: ArrayLike<number>,
  frameT1: ArrayLike<number>,
  w: number,
  h: number,
  channels: number,
  flow: Float32Array,
  occlusion: Uint8Array,
  maskT: Uint8Array,
  maskT1: Uint8Array,
): { rmse: number; pixels: number } {
  let sum = 0;
  let pixels = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (occlusion[p] !== 0 || !maskT[p]) continue;
      const t = bilinearTaps(x + flow[p * 2], y + flow[p * 2 + 1], w, h);
      if (!t || !maskT1[t.i00] || !maskT1[t.i10] || !maskT1[t.i01] || !maskT1[t.i11]) continue;
      pixels++;
      for (let c = 0; c < channels; c++) {
        const v = t.w00 * frameT1[t.i00 * channels + c] + t.w10 * frameT1[t.i10 * channels + c] + t.w01 * frameT1[t.i01 * channels + c] + t.w11 * frameT1[t.i11 * channels + c];
        const d = v - frameT[p * channels + c];
        sum += d * d;
      }
    }
  }
  return { rmse: pixels ? Math.sqrt(sum / (pixels * channels)) : NaN, pixels };
}
