// Node-only (JPEG through sharp). Camera simulation: turns a clean linear render into what a real
// camera would have written, as a seeded, recorded augmentation of INPUT images only (targets stay
// clean and linear). Two steps:
//
//   sampleCameraSimParams(rng, options) -> CameraSimParams   every random draw, incl. a noise seed
//   applyCameraSim(rgb, w, h, params)   -> output + record   deterministic given (image, params)
//
// so the record in sample.json / frame.json reproduces the output exactly, without the rng.
//
// Pipeline (in this order, each stage switchable; a disabled stage is the identity and records null):
//   1. exposure      x *= autoGain * 2^ev. autoGain (auto: true) meters the mean Rec.709 luminance of
//                    the masked pixels (mask = alpha >= 0.5, else the whole image) to `autoTarget`.
//   2. vignetting    x *= 1 - strength * r^2, r = distance to the image centre / half-diagonal
//                    (so the corners lose `strength` of their light). Optical: before the sensor.
//   3. noise         Poisson-Gaussian on the raw linear signal, per channel:
//                      y = a * Poisson(max(x, 0) / a) + N(0, b),  so  E[y] = x, Var[y] = a*x + b.
//                    ISO mapping (normalised units, 1.0 = sensor saturation):
//                      a = (ISO / 100) / fullWellElectronsIso100          (shot noise: gain per electron)
//                      b = (a * readNoiseElectrons)^2 + adcNoise^2        (pre-gain read noise + ADC noise)
//                    then clipped to [0, 1] (sensor saturation).
//   4. white balance the camera's white-balance error: per-channel gains g = w(6504 K) / w(T) (G = 1),
//                    w(T) = linear sRGB of the Planckian (black-body) white at T, from the Kim et al.
//                    (2002) cubic-spline fit of the Planckian locus; then G *= 1 + tint. T below 6504 K
//                    (camera assumed a warmer light) gives a blue cast, above gives an orange one.
//                    Clipped to [0, 1] after the gains.
//   5. CRF           camera response curve, [0,1] -> [0,1], one of CRF_NAMES (see crfEval); analytic
//                    curves, not measured data.
//   6. quantise      round to 8 bits.
//   7. JPEG          sharp/libjpeg at `quality`, chroma 4:2:0 or 4:4:4; the output is the decoded JPEG.
//
// Input: linear RGB or RGBA (premultiplied alpha, i.e. the render composited over black, as the
// renderer's beauty is); alpha is used only as the exposure metering mask.
import { z } from 'zod';
import sharp from 'sharp';
import { Rng, hashString } from '../core/rng.js';
import { srgbEncode, acesFilmic, meanLuminance } from '../core/color.js';

export const CAMERA_SIM_VERSION = 1;

const Range = (lo: number, hi: number, min = -Infinity, max = Infinity) =>
  z
    .tuple([z.number().min(min).max(max), z.number().min(min).max(max)])
    .refine((r) => r[0] <= r[1], 'range must be [lo, hi] with lo <= hi')
    .default([lo, hi]);

export const CRF_NAMES = ['srgb', 'gamma', 'rec709', 'filmic', 'scurve'] as const;
export type CrfName = (typeof CRF_NAMES)[number];

export const CameraSimSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Master switch. Default false: no camera images are written.'),
    exposure: z
      .object({
        enabled: z.boolean().default(true),
        auto: z.boolean().default(true).describe('Meter the masked mean luminance to autoTarget before the ev offset. Default true.'),
        autoTarget: z.number().positive().default(0.18).describe('Metered mean linear luminance. Default 0.18 (mid grey).'),
        evRange: Range(-1, 1, -16, 16).describe('Exposure error in stops, uniform. Default [-1, 1].'),
      })
      .strict()
      .default({ enabled: true, auto: true, autoTarget: 0.18, evRange: [-1, 1] }),
    vignetting: z
      .object({
        enabled: z.boolean().default(true),
        strengthRange: Range(0, 0.4, 0, 1).describe('Fraction of light lost in the corners (1 - s r^2), uniform. Default [0, 0.4].'),
      })
      .strict()
      .default({ enabled: true, strengthRange: [0, 0.4] }),
    noise: z
      .object({
        enabled: z.boolean().default(true),
        isoRange: Range(100, 3200, 1, 409600).describe('ISO, log-uniform. Default [100, 3200].'),
        fullWellElectronsIso100: z.number().positive().default(6000).describe('Electrons at saturation at ISO 100 (a = ISO/100 / this). Default 6000 (small phone-class sensor).'),
        readNoiseElectrons: z.number().min(0).default(4).describe('Pre-gain read noise, electrons RMS. Default 4.'),
        adcNoise: z.number().min(0).default(2e-4).describe('Post-gain noise std, normalised units. Default 2e-4.'),
      })
      .strict()
      .default({ enabled: true, isoRange: [100, 3200], fullWellElectronsIso100: 6000, readNoiseElectrons: 4, adcNoise: 2e-4 }),
    whiteBalance: z
      .object({
        enabled: z.boolean().default(true),
        temperatureRange: Range(5000, 8500, 1667, 25000).describe('Colour temperature (K) the camera wrongly assumes (the scene is lit at 6504 K), uniform in mired. Default [5000, 8500] (gains R 0.84..1.14, B 1.33..0.81).'),
        tintRange: Range(-0.05, 0.05, -0.5, 0.5).describe('Green gain offset (G *= 1 + tint), uniform. Default [-0.05, 0.05].'),
      })
      .strict()
      .default({ enabled: true, temperatureRange: [5000, 8500], tintRange: [-0.05, 0.05] }),
    crf: z
      .object({
        enabled: z.boolean().default(true),
        curves: z.array(z.enum(CRF_NAMES)).min(1).default([...CRF_NAMES]).describe(`Curves drawn uniformly (${CRF_NAMES.join(', ')}). Default all.`),
        gammaRange: Range(1.8, 2.6, 1, 4).describe("'gamma' curve exponent, uniform. Default [1.8, 2.6]."),
        contrastRange: Range(1.1, 1.6, 1, 3).describe("'scurve' contrast, uniform. Default [1.1, 1.6]."),
        shoulderRange: Range(1.5, 4, 0.5, 16).describe("'filmic' white scale, uniform. Default [1.5, 4]."),
      })
      .strict()
      .default({ enabled: true, curves: [...CRF_NAMES], gammaRange: [1.8, 2.6], contrastRange: [1.1, 1.6], shoulderRange: [1.5, 4] }),
    jpeg: z
      .object({
        enabled: z.boolean().default(true),
        qualityRange: Range(60, 95, 1, 100).describe('libjpeg quality, uniform integer. Default [60, 95].'),
        chromaSubsampling: z.enum(['4:2:0', '4:4:4']).default('4:2:0'),
      })
      .strict()
      .default({ enabled: true, qualityRange: [60, 95], chromaSubsampling: '4:2:0' }),
  })
  .strict()
  .describe('Camera simulation of input images (exposure, vignetting, Poisson-Gaussian noise, white balance, response curve, JPEG). Default disabled.');

export type CameraSimOptions = z.infer<typeof CameraSimSchema>;
export type CameraSimOptionsInput = z.input<typeof CameraSimSchema>;

export interface CameraSimParams {
  version: number;
  /** Seeds the noise stream (new Rng(noiseSeed)). */
  noiseSeed: number;
  exposure: { ev: number; auto: boolean; autoTarget: number; /** set: use it instead of metering (e.g. locked for a video) */ autoGain?: number } | null;
  vignetting: { strength: number } | null;
  noise: { iso: number; a: number; b: number } | null;
  whiteBalance: { temperatureK: number; tint: number; gains: [number, number, number] } | null;
  crf: { curve: CrfName; gamma?: number; contrast?: number; shoulder?: number } | null;
  jpeg: { quality: number; chromaSubsampling: '4:2:0' | '4:4:4' } | null;
}

/** The params with every image-dependent value resolved (exposure.autoGain, gain), as recorded. */
export interface CameraSimRecord extends CameraSimParams {
  exposure: { ev: number; auto: boolean; autoTarget: number; autoGain: number; meteredLuminance: number | null; gain: number } | null;
  order: string[];
  output: { format: 'jpeg' | 'png'; width: number; height: number; encoding: string };
}

export const CAMERA_SIM_ORDER = ['exposure', 'vignetting', 'noise', 'whiteBalance', 'crf', 'quantise8', 'jpeg'];

// ---------------------------------------------------------------------------------------------
// sampling

/** Noise parameters (var = a x + b) for an ISO, see the header. */
export function noiseModelForIso(iso: number, opts: Pick<CameraSimOptions['noise'], 'fullWellElectronsIso100' | 'readNoiseElectrons' | 'adcNoise'> = CameraSimSchema.parse({}).noise): { a: number; b: number } {
  const a = iso / 100 / opts.fullWellElectronsIso100;
  const b = (a * opts.readNoiseElectrons) ** 2 + opts.adcNoise ** 2;
  return { a, b };
}

/** Draws every random value of the simulation. Disabled stages draw nothing and record null. */
export function sampleCameraSimParams(rng: Rng, options: CameraSimOptionsInput | CameraSimOptions = {}): CameraSimParams {
  const o = CameraSimSchema.parse(options);
  // Fixed draw order: each stage draws only when enabled, after the noise seed.
  const noiseSeed = rng.nextUint32();
  const exposure = o.exposure.enabled ? { ev: rng.uniform(o.exposure.evRange[0], o.exposure.evRange[1]), auto: o.exposure.auto, autoTarget: o.exposure.autoTarget } : null;
  const vignetting = o.vignetting.enabled ? { strength: rng.uniform(o.vignetting.strengthRange[0], o.vignetting.strengthRange[1]) } : null;
  let noise: CameraSimParams['noise'] = null;
  if (o.noise.enabled) {
    const [lo, hi] = o.noise.isoRange;
    const iso = Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
    noise = { iso, ...noiseModelForIso(iso, o.noise) };
  }
  let whiteBalance: CameraSimParams['whiteBalance'] = null;
  if (o.whiteBalance.enabled) {
    const [tlo, thi] = o.whiteBalance.temperatureRange;
    const mired = rng.uniform(1e6 / thi, 1e6 / tlo);
    const temperatureK = 1e6 / mired;
    const tint = rng.uniform(o.whiteBalance.tintRange[0], o.whiteBalance.tintRange[1]);
    whiteBalance = { temperatureK, tint, gains: whiteBalanceGains(temperatureK, tint) };
  }
  let crf: CameraSimParams['crf'] = null;
  if (o.crf.enabled) {
    const curve = rng.pick(o.crf.curves);
    crf = { curve };
    if (curve === 'gamma') crf.gamma = rng.uniform(o.crf.gammaRange[0], o.crf.gammaRange[1]);
    if (curve === 'scurve') crf.contrast = rng.uniform(o.crf.contrastRange[0], o.crf.contrastRange[1]);
    if (curve === 'filmic') crf.shoulder = rng.uniform(o.crf.shoulderRange[0], o.crf.shoulderRange[1]);
  }
  const jpeg = o.jpeg.enabled ? { quality: rng.int(o.jpeg.qualityRange[0], o.jpeg.qualityRange[1]), chromaSubsampling: o.jpeg.chromaSubsampling } : null;
  return { version: CAMERA_SIM_VERSION, noiseSeed, exposure, vignetting, noise, whiteBalance, crf, jpeg };
}

// ---------------------------------------------------------------------------------------------
// colour science helpers

/** CIE 1931 xy of the Planckian locus at T kelvin (Kim et al. 2002 cubic spline, 1667..25000 K). */
export function planckianXy(T: number): [number, number] {
  if (!(T >= 1667 && T <= 25000)) throw new RangeError(`planckianXy: T=${T} K outside 1667..25000`);
  const t = 1e3 / T;
  const x = T <= 4000 ? -0.2661239 * t ** 3 - 0.234358 * t ** 2 + 0.8776956 * t + 0.17991 : -3.0258469 * t ** 3 + 2.1070379 * t ** 2 + 0.2226347 * t + 0.24039;
  const y =
    T <= 2222
      ? -1.1063814 * x ** 3 - 1.3481102 * x ** 2 + 2.18555832 * x - 0.20219683
      : T <= 4000
        ? -0.9549476 * x ** 3 - 1.37418593 * x ** 2 + 2.09137015 * x - 0.16748867
        : 3.081758 * x ** 3 - 5.8733867 * x ** 2 + 3.75112997 * x - 0.37001483;
  return [x, y];
}

/** Linear sRGB (Rec.709 primaries, D65) of the Planckian white at T, normalised to G = 1. */
export function planckianWhiteRgb(T: number): [number, number, number] {
  const [x, y] = planckianXy(T);
  const X = x / y;
  const Z = (1 - x - y) / y;
  const r = 3.2404542 * X - 1.5371385 - 0.4985314 * Z;
  const g = -0.969266 * X + 1.8760108 + 0.041556 * Z;
  const b = 0.0556434 * X - 0.2040259 + 1.0572252 * Z;
  return [r / g, 1, b / g];
}

/** Gains of a camera that assumes illuminant T while the scene is lit by (Planckian) 6504 K white. */
export function whiteBalanceGains(temperatureK: number, tint = 0): [number, number, number] {
  const ref = planckianWhiteRgb(6504);
  const w = planckianWhiteRgb(temperatureK);
  return [ref[0] / w[0], 1 + tint, ref[2] / w[2]];
}

/** BT.709 OETF. */
function rec709(x: number): number {
  return x < 0.018 ? 4.5 * x : 1.099 * Math.pow(x, 0.45) - 0.099;
}

/**
 * The camera response curves, linear [0,1] -> encoded [0,1] (input clamped), all monotonic with
 * f(0) = 0 and f(1) = 1. Analytic curves chosen to span the range of real camera responses; none
 * is fitted to measured data (we have no DoRF/EMoR data):
 *  - srgb:   IEC 61966-2-1 sRGB OETF;
 *  - gamma:  x^(1/gamma), gamma in gammaRange (1.8..2.6 by default);
 *  - rec709: ITU-R BT.709 OETF (video cameras);
 *  - filmic: sRGB(ACES(s x) / ACES(s)), Narkowicz's ACES fit with white scale s (shoulder in the
 *            highlights, toe in the shadows: a film-like response);
 *  - scurve: contrast S-curve t^c / (t^c + (1-t)^c) on gamma-2.2-encoded t (the sigmoid shape of
 *            many consumer curves in Grossberg & Nayar's DoRF database, by shape only).
 */
export function crfEval(crf: NonNullable<CameraSimParams['crf']>, x: number): number {
  if (!(x > 0)) return 0;
  if (x >= 1) return 1;
  switch (crf.curve) {
    case 'srgb':
      return srgbEncode(x);
    case 'gamma':
      return Math.pow(x, 1 / (crf.gamma ?? 2.2));
    case 'rec709':
      return rec709(x);
    case 'filmic': {
      const s = crf.shoulder ?? 2;
      return srgbEncode(acesFilmic(s * x) / acesFilmic(s));
    }
    case 'scurve': {
      const c = crf.contrast ?? 1.3;
      const t = Math.pow(x, 1 / 2.2);
      const p = Math.pow(t, c);
      return p / (p + Math.pow(1 - t, c));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// noise

/** ln Gamma(x), x > 0 (Lanczos g=7, n=9; ~1e-15 relative). */
export function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Exact Poisson(lambda) draw: multiplication method below 10, Hörmann's PTRS above. */
export function poisson(rng: Rng, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda < 10) {
    const L = Math.exp(-lambda);
    let k = 0;
    let p = rng.next();
    while (p > L) {
      k++;
      p *= rng.next();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const U = rng.next() - 0.5;
    const V = rng.next();
    const us = 0.5 - Math.abs(U);
    const k = Math.floor(((2 * a) / us + b) * U + lambda + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - lnGamma(k + 1)) return k;
  }
}

/**
 * The noise stage alone, in place on interleaved data (only the first `colourChannels` of every
 * `stride` values): y = a * Poisson(max(x,0)/a) + N(0, b). No clipping (the pipeline clips after).
 */
export function addPoissonGaussianNoise(data: Float32Array | Float64Array, a: number, b: number, rng: Rng, stride = 1, colourChannels = stride): void {
  const sb = Math.sqrt(b);
  for (let i = 0; i < data.length; i += stride) {
    for (let c = 0; c < colourChannels; c++) {
      const x = data[i + c];
      const shot = a > 0 ? a * poisson(rng, Math.max(0, x) / a) : Math.max(0, x);
      data[i + c] = shot + (sb > 0 ? sb * rng.normal() : 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the pipeline

export interface CameraSimResult {
  /** Display-referred RGB bytes (after the CRF, 8-bit quantisation and, if enabled, JPEG decoding). */
  image8: Uint8Array;
  /** The JPEG file (when the jpeg stage is enabled). */
  jpeg?: Buffer;
  record: CameraSimRecord;
}

/**
 * Applies the simulation to linear RGB (stride 3) or RGBA (stride 4, premultiplied; alpha meters
 * exposure). Deterministic given (image, params). `mask` (coverage per pixel) overrides alpha for
 * metering.
 */
export async function applyCameraSim(src: Float32Array, width: number, height: number, params: CameraSimParams, opts: { stride?: 3 | 4; mask?: Float32Array | null } = {}): Promise<CameraSimResult> {
  const stride = opts.stride ?? (src.length === width * height * 4 ? 4 : 3);
  const n = width * height;
  if (src.length !== n * stride) throw new RangeError(`applyCameraSim: ${src.length} values for ${width}x${height}x${stride}`);
  const x = new Float64Array(n * 3);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) x[p * 3 + c] = src[p * stride + c];

  // 1. exposure
  let exposure: CameraSimRecord['exposure'] = null;
  if (params.exposure) {
    const e = params.exposure;
    let autoGain = 1;
    let metered: number | null = null;
    if (e.autoGain !== undefined) autoGain = e.autoGain;
    else if (e.auto) {
      metered = meanLuminance(src, opts.mask, { stride }); // mask, else alpha >= 0.5
      autoGain = metered ? e.autoTarget / metered : 1;
    }
    const gain = autoGain * Math.pow(2, e.ev);
    for (let i = 0; i < x.length; i++) x[i] *= gain;
    exposure = { ev: e.ev, auto: e.auto, autoTarget: e.autoTarget, autoGain, meteredLuminance: metered, gain };
  }
  // 2. vignetting
  if (params.vignetting && params.vignetting.strength > 0) {
    const s = params.vignetting.strength;
    const cx = width / 2;
    const cy = height / 2;
    const r2max = cx * cx + cy * cy;
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < width; xx++) {
        const dx = xx + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const v = 1 - (s * (dx * dx + dy * dy)) / r2max;
        const i = (y * width + xx) * 3;
        x[i] *= v;
        x[i + 1] *= v;
        x[i + 2] *= v;
      }
    }
  }
  // 3. noise, then sensor saturation
  if (params.noise) {
    addPoissonGaussianNoise(x, params.noise.a, params.noise.b, new Rng(params.noiseSeed), 3, 3);
    for (let i = 0; i < x.length; i++) x[i] = x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i];
  }
  // 4. white balance error
  if (params.whiteBalance) {
    const g = params.whiteBalance.gains;
    for (let i = 0; i < x.length; i += 3) {
      x[i] = Math.min(1, x[i] * g[0]);
      x[i + 1] = Math.min(1, x[i + 1] * g[1]);
      x[i + 2] = Math.min(1, x[i + 2] * g[2]);
    }
  }
  // 5. CRF (none: clamp only, i.e. a linear camera), 6. quantise
  const image8 = new Uint8Array(n * 3);
  const crf = params.crf;
  for (let i = 0; i < x.length; i++) {
    const v = crf ? crfEval(crf, x[i]) : x[i] > 0 ? Math.min(1, x[i]) : 0;
    image8[i] = Math.round(v * 255);
  }
  // 7. JPEG
  let jpeg: Buffer | undefined;
  let out: Uint8Array = image8;
  if (params.jpeg) {
    jpeg = await sharp(image8, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: params.jpeg.quality, chromaSubsampling: params.jpeg.chromaSubsampling, mozjpeg: false })
      .toBuffer();
    const dec = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    if (dec.info.channels !== 3 || dec.info.width !== width || dec.info.height !== height) throw new Error(`applyCameraSim: JPEG decoded to ${dec.info.width}x${dec.info.height}x${dec.info.channels}`);
    out = new Uint8Array(dec.data.buffer, dec.data.byteOffset, dec.data.byteLength);
  }
  const record: CameraSimRecord = {
    ...params,
    exposure,
    order: CAMERA_SIM_ORDER,
    output: {
      format: params.jpeg ? 'jpeg' : 'png',
      width,
      height,
      encoding: `8-bit RGB, display-referred through ${crf ? `the '${crf.curve}' response curve` : 'no curve (linear, clamped)'}${params.jpeg ? `, JPEG q${params.jpeg.quality} ${params.jpeg.chromaSubsampling}` : ''}`,
    },
  };
  return { image8: out, jpeg, record };
}

/** File name of the camera image for a record: camera.jpg (jpeg stage on) or camera.png. */
export function cameraImageFileName(record: Pick<CameraSimRecord, 'jpeg'>): 'camera.jpg' | 'camera.png' {
  return record.jpeg ? 'camera.jpg' : 'camera.png';
}

/**
 * What the batch engine calls for an input lighting: draws the params from `rng`, applies them to
 * the linear beauty as written (RGBA, premultiplied / composited, alpha = coverage), and returns
 * the file to write (`fileName` + `bytes`: the JPEG, or an 8-bit PNG when the jpeg stage is off)
 * plus the record for sample.json. Returns null when `options.enabled` is false.
 *
 * `frame`: a label (e.g. the lighting key) mixed into the noise seed only. Calling with a fresh rng
 * of the same seed for several frames gives one camera (same exposure error, ISO, white balance,
 * curve, JPEG quality) with independent noise per frame, like two frames of one video.
 */
export async function simulateCamera(
  beautyLinearRGBA: Float32Array,
  width: number,
  height: number,
  options: CameraSimOptionsInput | CameraSimOptions,
  rng: Rng,
  opts: { frame?: string } = {},
): Promise<(CameraSimResult & { fileName: 'camera.jpg' | 'camera.png'; bytes: Buffer }) | null> {
  const o = CameraSimSchema.parse(options);
  if (!o.enabled) return null;
  const params = sampleCameraSimParams(rng, o);
  if (opts.frame !== undefined) params.noiseSeed = hashString(opts.frame, params.noiseSeed);
  const res = await applyCameraSim(beautyLinearRGBA, width, height, params, { stride: 4 });
  return { ...res, fileName: cameraImageFileName(res.record), bytes: await encodeCameraImage(res, width, height) };
}

/** The bytes of the camera image file: the JPEG when there is one, else an 8-bit RGB PNG. */
export async function encodeCameraImage(res: Pick<CameraSimResult, 'image8' | 'jpeg'>, width: number, height: number): Promise<Buffer> {
  return res.jpeg ?? (await sharp(res.image8, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer());
}
