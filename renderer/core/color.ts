/**
 * Colour helpers shared by Node and the browser page (no Node APIs).
 *
 * Conventions: "linear" means scene-referred linear Rec.709/sRGB primaries. The display
 * transform used for the 'preview' pass is {@link tonemapToSrgb8}:
 *   1. exposure: multiply by 2^exposureStops;
 *   2. tonemap, per channel (default 'aces' = Krzysztof Narkowicz's 2015 fitted ACES
 *      filmic curve, x(2.51x+0.03) / (x(2.43x+0.59)+0.14), clamped to [0,1];
 *      'reinhard' = x/(1+x); 'clamp' = no curve, just clamp to [0,1]);
 *   3. sRGB OETF (IEC 61966-2-1 piecewise curve);
 *   4. quantise to 8 bits, round-to-nearest (exact: decided against the linear-domain
 *      midpoints between code values, no pow() per pixel).
 * Alpha (channel 2 of 2, channel 4 of 4) is not exposed / tonemapped / encoded: it is
 * clamped to [0,1] and quantised linearly. NaN maps to 0, +Inf to 255.
 */

/** sRGB OETF: linear [0,1] -> encoded [0,1]. Values outside [0,1] are clamped. */
export function srgbEncode(x: number): number {
  if (!(x > 0)) return 0; // also NaN
  if (x >= 1) return 1;
  return x <= 0.0031308 ? 12.92 * x : 1.055 * Math.pow(x, 1 / 2.4) - 0.055;
}

/** sRGB EOTF: encoded [0,1] -> linear [0,1]. Values outside [0,1] are clamped. */
export function srgbDecode(x: number): number {
  if (!(x > 0)) return 0;
  if (x >= 1) return 1;
  return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
}

/** Narkowicz 2015 ACES filmic fit; input linear >= 0, output in [0,1]. */
export function acesFilmic(x: number): number {
  if (!(x > 0)) return 0;
  if (x === Infinity) return 1;
  const y = (x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14);
  return y >= 1 ? 1 : y;
}

/** Reinhard x/(1+x); input linear >= 0, output in [0,1). */
export function reinhard(x: number): number {
  if (!(x > 0)) return 0;
  if (x === Infinity) return 1;
  return x / (1 + x);
}

/**
 * Linear-domain thresholds between consecutive 8-bit sRGB code values:
 * THRESH[k] = srgbDecode((k + 0.5) / 255), k = 0..254. Code = number of thresholds <= x.
 */
const SRGB8_THRESH: Float64Array = (() => {
  const t = new Float64Array(255);
  for (let k = 0; k < 255; k++) t[k] = srgbDecode((k + 0.5) / 255);
  return t;
})();

/**
 * Linear value -> 8-bit sRGB code value (0..255), equal to
 * round(255 * srgbEncode(clamp(x,0,1))) but computed by an 8-step binary search over
 * the precomputed code-value midpoints. NaN -> 0.
 */
export function linearToSrgb8(x: number): number {
  if (!(x > SRGB8_THRESH[0])) return 0; // also NaN
  if (x >= SRGB8_THRESH[254]) return 255;
  let lo = 0; // invariant: THRESH[lo] <= x
  let hi = 254; // invariant: THRESH[hi] > x
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (SRGB8_THRESH[mid] <= x) lo = mid;
    else hi = mid;
  }
  return lo + 1;
}

/** Array form of {@link linearToSrgb8} (no exposure, no tonemap). */
export function linearToSrgb8Array(src: ArrayLike<number>, dst?: Uint8Array): Uint8Array {
  const out = dst ?? new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = linearToSrgb8(src[i]);
  return out;
}

export type TonemapCurve = 'aces' | 'reinhard' | 'clamp';

export interface TonemapOptions {
  /** Tone curve applied after exposure (default 'aces'). */
  curve?: TonemapCurve;
  /**
   * Whether the last channel of 2- or 4-channel input is alpha (default true). When
   * false every channel is treated as colour.
   */
  alpha?: boolean;
  /** Output buffer to reuse (length >= input length). */
  dst?: Uint8Array;
}

/**
 * Display transform for previews: exposure (2^stops), tone curve (default ACES filmic
 * fit), sRGB encode, 8-bit quantisation. `rgbLinear` is interleaved with `channels`
 * values per pixel (1..4); the output has the same layout and channel count.
 */
export function tonemapToSrgb8(
  rgbLinear: Float32Array,
  channels: number,
  exposureStops = 0,
  opts: TonemapOptions = {},
): Uint8Array {
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
    throw new RangeError(`tonemapToSrgb8: channels must be 1..4, got ${channels}`);
  }
  if (rgbLinear.length % channels !== 0) {
    throw new RangeError(`tonemapToSrgb8: data length ${rgbLinear.length} is not a multiple of ${channels}`);
  }
  if (!Number.isFinite(exposureStops)) throw new RangeError(`tonemapToSrgb8: bad exposure ${exposureStops}`);
  const curve = opts.curve ?? 'aces';
  const hasAlpha = (opts.alpha ?? true) && (channels === 2 || channels === 4);
  const alphaIdx = hasAlpha ? channels - 1 : -1;
  const n = rgbLinear.length;
  const out = opts.dst ?? new Uint8Array(n);
  if (out.length < n) throw new RangeError(`tonemapToSrgb8: dst too small (${out.length} < ${n})`);
  const scale = Math.pow(2, exposureStops);
  const tm = curve === 'aces' ? acesFilmic : curve === 'reinhard' ? reinhard : null;
  if (curve !== 'aces' && curve !== 'reinhard' && curve !== 'clamp') {
    throw new RangeError(`tonemapToSrgb8: unknown curve '${String(curve)}'`);
  }
  for (let i = 0, c = 0; i < n; i++) {
    const v = rgbLinear[i];
    if (c === alphaIdx) {
      out[i] = v > 0 ? (v >= 1 ? 255 : Math.round(v * 255)) : 0;
    } else {
      const x = v * scale;
      out[i] = linearToSrgb8(tm ? tm(x) : x);
    }
    if (++c === channels) c = 0;
  }
  return out;
}

// ---- metering ------------------------------------------------------------------------

export interface MeterOptions {
  /** Values per pixel of `rgb`, colour first (default 3; 4 = RGBA). */
  stride?: number;
  /** Pixels whose coverage is below this are not metered (default 0.5). */
  threshold?: number;
  /** Divide each pixel's luminance by its coverage (premultiplied input; default false). */
  unpremultiply?: boolean;
}

/**
 * Mean Rec.709 luminance (0.2126 R + 0.7152 G + 0.0722 B) over the covered pixels. Coverage is
 * `mask[p]` when a mask is given, else alpha (channel 3) when `stride` is 4, else 1; a pixel is
 * metered when its coverage is >= `threshold`. null when no pixel is metered or the sum is not
 * > 0 (black, NaN).
 */
export function meanLuminance(rgb: ArrayLike<number>, mask?: ArrayLike<number> | null, opts: MeterOptions = {}): number | null {
  const stride = opts.stride ?? 3;
  const threshold = opts.threshold ?? 0.5;
  const unpremultiply = opts.unpremultiply ?? false;
  const alpha = !mask && stride === 4;
  const n = Math.floor(rgb.length / stride);
  let sum = 0;
  let count = 0;
  for (let p = 0, i = 0; p < n; p++, i += stride) {
    const m = mask ? mask[p] : alpha ? rgb[i + 3] : 1;
    if (!(m >= threshold)) continue;
    const l = 0.2126 * rgb[i] + 0.7152 * rgb[i + 1] + 0.0722 * rgb[i + 2];
    sum += unpremultiply ? l / m : l;
    count++;
  }
  if (count === 0 || !(sum > 0)) return null;
  return sum / count;
}

export interface AutoExposureOptions extends MeterOptions {
  /** Mean luminance to reach (default 0.18, 18% grey). */
  target?: number;
  /** The result is clamped to [-maxStops, maxStops] (default 8). */
  maxStops?: number;
}

/**
 * Exposure in stops that brings the {@link meanLuminance} of the covered pixels to `target`
 * (18% grey by default), clamped to +-8 stops; 0 when nothing is metered. The 'auto' exposure
 * of preview.png, the OLAT relight previews and the dashboard's sample view.
 */
export function autoExposure(rgb: ArrayLike<number>, mask?: ArrayLike<number> | null, opts: AutoExposureOptions = {}): number {
  const mean = meanLuminance(rgb, mask, opts);
  if (mean === null) return 0;
  const max = opts.maxStops ?? 8;
  return Math.max(-max, Math.min(max, Math.log2((opts.target ?? 0.18) / mean)));
}
