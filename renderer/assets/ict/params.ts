// Pure (no files): the ICT head source's options (zod), the head reference strings that carry
// them ("ict", "ict:<seed>", "ict:{json}") and the seeded draw of every weight of one head:
// identity w_i ~ N(0, sigma^2) (optionally truncated), an expression (neutral / named preset /
// sparse random mix, plus fixed weights), eye gaze (eyeLook*), blinks, skin and iris appearance.
// Everything comes from one explicit Rng(seed), never Math.random, and everything drawn is
// returned (IctHeadParams) for the sample's metadata.
import { z } from 'zod';
import { Rng } from '../../core/rng.js';
import { ICT_EXPRESSIONS, ICT_IDENTITY_COUNT, ICT_SHAPES, type IctShapeName } from './manifest.js';
import { IPD_MODES_CM, IPD_NEUTRAL_CM } from './eye-basis.js';
import { ICT_NEUTRAL_FILE, defaultIctDir } from './model.js';
import fs from 'node:fs';
import path from 'node:path';

/** Drawn identities whose interpupillary distance falls outside this (cm) are redrawn (adult range). */
export const ICT_IPD_RANGE_CM: readonly [number, number] = [5.6, 7.4];

/** Interpupillary distance (cm) of identity weights (exact: eye centres are linear in the weights). */
export function ictIpdCm(identity: readonly number[]): number {
  const d = [...IPD_NEUTRAL_CM];
  identity.forEach((w, i) => {
    for (let k = 0; k < 3; k++) d[k] += w * IPD_MODES_CM[i][k];
  });
  return Math.hypot(d[0], d[1], d[2]);
}

/** Bump when the draw or the generated head changes for the same options: part of every cache hash. */
export const ICT_GENERATOR_VERSION = 6;

/** Identity weights beyond this many standard deviations of the model are refused. */
export const ICT_MAX_IDENTITY_WEIGHT = 5;

const range01 = z
  .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
  .superRefine(([lo, hi], ctx) => {
    if (!(lo <= hi)) ctx.addIssue({ code: 'custom', message: `range [lo, hi] needs lo <= hi, got [${lo}, ${hi}]` });
  });

/** Named expressions: ARKit weights (scaled by U(presetScale) per draw). */
export const ICT_PRESETS: Readonly<Record<string, Partial<Record<IctShapeName, number>>>> = {
  smile: { mouthSmile_L: 0.7, mouthSmile_R: 0.7, cheekSquint_L: 0.4, cheekSquint_R: 0.4, eyeSquint_L: 0.2, eyeSquint_R: 0.2 },
  bigSmile: { mouthSmile_L: 1, mouthSmile_R: 1, cheekSquint_L: 0.7, cheekSquint_R: 0.7, jawOpen: 0.25, mouthUpperUp_L: 0.3, mouthUpperUp_R: 0.3, mouthLowerDown_L: 0.3, mouthLowerDown_R: 0.3 },
  surprise: { browInnerUp_L: 0.8, browInnerUp_R: 0.8, browOuterUp_L: 0.8, browOuterUp_R: 0.8, eyeWide_L: 0.7, eyeWide_R: 0.7, jawOpen: 0.4, mouthFunnel: 0.2 },
  sad: { mouthFrown_L: 0.7, mouthFrown_R: 0.7, browInnerUp_L: 0.6, browInnerUp_R: 0.6, mouthShrugLower: 0.3 },
  anger: { browDown_L: 0.8, browDown_R: 0.8, eyeSquint_L: 0.4, eyeSquint_R: 0.4, noseSneer_L: 0.4, noseSneer_R: 0.4, mouthPress_L: 0.4, mouthPress_R: 0.4 },
  disgust: { noseSneer_L: 0.8, noseSneer_R: 0.8, mouthUpperUp_L: 0.6, mouthUpperUp_R: 0.6, browDown_L: 0.4, browDown_R: 0.4 },
  mouthOpen: { jawOpen: 0.6 },
  pucker: { mouthPucker: 0.8 },
  talk: { jawOpen: 0.3, mouthFunnel: 0.2, mouthLowerDown_L: 0.2, mouthLowerDown_R: 0.2 },
};
export const ICT_PRESET_NAMES = Object.keys(ICT_PRESETS);

const GAZE_SHAPES = new Set<string>(['eyeLookDown_L', 'eyeLookDown_R', 'eyeLookIn_L', 'eyeLookIn_R', 'eyeLookOut_L', 'eyeLookOut_R', 'eyeLookUp_L', 'eyeLookUp_R', 'eyeBlink_L', 'eyeBlink_R']);
/** What a sparse random mix picks from: the 53 expressions without gaze and blink (drawn on their own). */
export const ICT_SPARSE_SHAPES = ICT_EXPRESSIONS.filter((s) => !GAZE_SHAPES.has(s));

const shapeName = z.enum(ICT_SHAPES as unknown as [string, ...string[]]);

export const IctExpressionSchema = z
  .object({
    neutral: z.number().min(0).max(1).default(0.4).describe('Probability of the neutral face (before gaze and blink). Default 0.4.'),
    preset: z.number().min(0).max(1).default(0.3).describe('Probability of a named preset (the rest is a sparse random mix). Default 0.3.'),
    presets: z
      .array(z.enum(ICT_PRESET_NAMES as [string, ...string[]]))
      .min(1)
      .default([...ICT_PRESET_NAMES])
      .describe(`Presets drawn uniformly: ${ICT_PRESET_NAMES.join(', ')}. Default all.`),
    presetScale: range01.default([0.5, 1]).describe('A preset is scaled by U(lo, hi). Default [0.5, 1].'),
    sparseCount: z
      .tuple([z.number().int().min(1).max(10), z.number().int().min(1).max(10)])
      .default([1, 3])
      .describe('Number of shapes in a sparse mix, uniform integer. Default [1, 3].'),
    sparseWeight: range01.default([0.2, 0.8]).describe('Weight of each shape of a sparse mix, U(lo, hi). Default [0.2, 0.8].'),
    fixed: z
      .partialRecord(shapeName, z.number().min(0).max(1))
      .default({})
      .describe('Weights added to every draw (each in [0, 1], the model range); sums are clamped to [0, 1].'),
  })
  .strict();

export const IctGazeSchema = z
  .object({
    probability: z.number().min(0).max(1).default(0.6).describe('Probability that the eyes look away from straight ahead. Default 0.6.'),
    horizontal: z.number().min(0).max(1).default(0.6).describe('Largest eyeLookIn/Out weight. Default 0.6.'),
    vertical: z.number().min(0).max(1).default(0.4).describe('Largest eyeLookUp/Down weight. Default 0.4.'),
  })
  .strict();

export const IctBlinkSchema = z
  .object({
    probability: z.number().min(0).max(1).default(0.1).describe('Probability of a (partial) blink of both eyes. Default 0.1.'),
    weight: range01.default([0.5, 1]).describe('eyeBlink weight, U(lo, hi). Default [0.5, 1].'),
  })
  .strict();

export const IctSkinSchema = z
  .object({
    tone: range01
      .default([0, 1])
      .describe('Melanin parameter t, U(lo, hi): 0 = very light (ITA > 55 deg, Fitzpatrick I), 1 = very dark (ITA < -30 deg, VI). Default [0, 1].'),
    freckles: z.number().min(0).max(1).default(0.25).describe('Probability of freckles (more likely on light skin). Default 0.25.'),
  })
  .strict();

/** Options of the ICT head source (the batch config's `{ source: "ict", ... }` and "ict:{...}" refs). */
export const IctOptionsSchema = z
  .object({
    seed: z.number().int().min(0).max(0xffffffff).optional().describe('Draw seed; in a batch config leave it out to draw a new identity per sample.'),
    sigma: z.number().gt(0).max(3).default(1).describe('Identity weights w_i ~ N(0, sigma^2). Default 1 (upstream randomize_identity).'),
    truncation: z.number().gt(0).max(ICT_MAX_IDENTITY_WEIGHT).optional().describe('Redraw identity weights with |w_i| > truncation * sigma. Default: none.'),
    identity: z
      .array(z.number().min(-ICT_MAX_IDENTITY_WEIGHT).max(ICT_MAX_IDENTITY_WEIGHT))
      .max(ICT_IDENTITY_COUNT)
      .optional()
      .describe(`Fixed identity weights (mode 0, 1, ...; the rest 0), each within +-${ICT_MAX_IDENTITY_WEIGHT}: replaces the draw.`),
    expressions: IctExpressionSchema.default(IctExpressionSchema.parse({})),
    gaze: IctGazeSchema.default(IctGazeSchema.parse({})),
    blink: IctBlinkSchema.default(IctBlinkSchema.parse({})),
    skin: IctSkinSchema.default(IctSkinSchema.parse({})),
    textureSize: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048)]).default(1024).describe('Side of one UV tile of the skin textures in texels (the map holds the face and the head tiles side by side: 2x wide). Default 1024.'),
  })
  .strict();
export type IctOptions = z.infer<typeof IctOptionsSchema>;
export type IctOptionsInput = z.input<typeof IctOptionsSchema>;

/** The batch config's object form: `{ "source": "ict", ...IctOptions }`. */
export const IctSourceSchema = IctOptionsSchema.extend({
  source: z.literal('ict'),
  fallback: z
    .literal('procedural')
    .optional()
    .describe("Without the ICT model files (../shared/assets/heads/ict_facekit or the fetch-assets cache), use the procedural head instead of failing (said on stderr and in the dataset card). Default: fail naming the missing file."),
}).strict();

let warnedFallback = false;
/** Whether the ICT model's files are present (the neutral mesh; loadIctModel names any other missing file). */
export function ictModelPresent(dir = defaultIctDir()): boolean {
  return fs.existsSync(path.join(dir, `${ICT_NEUTRAL_FILE}.gz`));
}

/**
 * The fallback reference of ICT options without the model files: a procedural person
 * ('procedural:<seed>', renderer/assets/procedural-head/params.ts) with the same seed and skin
 * options, so it draws the same skin the ICT identity would have; without a seed
 * 'procedural:{...}' (the batch then draws a new person per sample, like an unseeded ICT entry).
 * The form is the one procedural-head proceduralRef gives (defaults left out, sorted keys).
 */
function fallBack(fallback: 'procedural', o: IctOptions): string {
  if (!warnedFallback) {
    warnedFallback = true;
    process.stderr.write(`ICT face model not found at ${defaultIctDir()}: the config's ICT heads fall back to the ${fallback} head (fallback: "${fallback}"; README "ICT identities")\n`);
  }
  const out: Record<string, unknown> = {};
  if (o.seed !== undefined) out.seed = o.seed;
  if (stableStringify(o.skin) !== stableStringify(IctSkinSchema.parse({}))) out.skin = o.skin;
  const keys = Object.keys(out);
  if (keys.length === 1 && keys[0] === 'seed') return `${fallback}:${o.seed}`;
  return `${fallback}:${stableStringify(out)}`;
}

// ---- head references ----

export function isIctRef(ref: string): boolean {
  return ref === 'ict' || ref.startsWith('ict:');
}

/** 'ict' -> {}, 'ict:<seed>' -> { seed }, 'ict:{json}' -> the options; validated (errors name the field). */
export function parseIctRef(ref: string): IctOptions {
  let raw: unknown = {};
  if (ref !== 'ict') {
    const body = ref.slice(4);
    if (/^\d+$/.test(body)) raw = { seed: Number(body) };
    else {
      try {
        raw = JSON.parse(body);
      } catch {
        throw new Error(`head "${ref}": expected "ict", "ict:<seed>" or "ict:{json options}"`);
      }
    }
  }
  const r = IctOptionsSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => `head ${ref}: field "${i.path.join('.') || '(root)'}": ${i.message}`).join('\n'));
  return r.data;
}

/** JSON with sorted keys (stable across insertion orders). */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The canonical reference of options (defaults left out, so refs stay short). With
 * `fallback: 'procedural'` (a config entry's option) and no ICT model files (`present()` false),
 * the fallback reference instead, a procedural person of the same seed and skin options
 * ('procedural:<seed>'; 'procedural:{}' without a seed: one per sample), said once on stderr.
 */
export function ictRef(opts: IctOptionsInput & { fallback?: 'procedural' }, present: () => boolean = () => ictModelPresent()): string {
  const { fallback, ...rest } = opts;
  const full = IctOptionsSchema.parse(rest);
  if (fallback && !present()) return fallBack(fallback, full);
  const defaults = IctOptionsSchema.parse({});
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(full)) {
    if (stableStringify(v) !== stableStringify((defaults as Record<string, unknown>)[k])) out[k] = v;
  }
  const keys = Object.keys(out);
  if (keys.length === 0) return 'ict';
  if (keys.length === 1 && keys[0] === 'seed') return `ict:${out.seed}`;
  return `ict:${stableStringify(out)}`;
}

// ---- the draw ----

export interface IctSkinParams {
  /** Melanin parameter in [0, 1] (0 very light .. 1 very dark). */
  tone: number;
  /** Blood (haemoglobin) multiplier. */
  haemoglobin: number;
  /** Yellow-red balance of the melanin (pheomelanin share), 0..1. */
  pheomelanin: number;
  /** Freckle density, 0 = none. */
  freckles: number;
  /** Eyebrow hair: darkness 0..1 (1 = near black) and density 0..1. */
  browDarkness: number;
  browDensity: number;
  /** Oiliness of the T-zone (specular and roughness), 0..1. */
  oiliness: number;
  /** Eyelash darkness 0..1 (1 = near black). */
  lashDarkness: number;
  /** Noise seed of the texture detail. */
  noiseSeed: number;
}

/** Iris colour classes (the usual clinical grouping). */
export const ICT_IRIS_COLOURS = ['brown', 'hazel', 'green', 'blue', 'grey'] as const;
export type IctIrisColour = (typeof ICT_IRIS_COLOURS)[number];

export interface IctEyeParams {
  /** Iris colour class (drawn with probabilities that depend on the skin tone, see irisColourWeights). */
  colour: IctIrisColour;
  /** Shade within the class: 0 light .. 1 dark. */
  iris: number;
  /** Pupil radius as a fraction of the iris radius. */
  pupil: number;
  noiseSeed: number;
}

/** Everything drawn for one ICT head (recorded in the sample's metadata). */
export interface IctHeadParams {
  source: 'ict';
  generator: number;
  seed: number;
  sigma: number;
  truncation: number | null;
  /** 100 identity weights (units of the model's modes). */
  identity: number[];
  /** Whole identity vectors redrawn because their interpupillary distance left ICT_IPD_RANGE_CM. */
  identityRedraws: number;
  /** What the expression was: 'neutral', 'preset:<name>' or 'sparse'. */
  expressionKind: string;
  /** Non-zero shape weights in [0, 1], expression + gaze + blink, sorted by name. */
  expressions: Record<string, number>;
  gaze: { horizontal: number; vertical: number };
  blink: number;
  skin: IctSkinParams;
  eyes: IctEyeParams;
  textureSize: number;
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/**
 * Probabilities of the iris colour classes given the skin tone (0 very light .. 1 very dark):
 * light skin like European populations (brown ~35%, blue ~30%, hazel ~15%, green ~10%, grey
 * ~10%), darker skin almost always brown. Over the default uniform tone draw, brown is by far the
 * most common (~75%), then blue, hazel, green and grey.
 */
export function irisColourWeights(tone: number): Record<IctIrisColour, number> {
  const light = clamp01(1 - tone / 0.6); // 1 at tone 0, 0 from tone 0.6 on
  const w = { brown: 0.35 + 0.63 * (1 - light), hazel: 0.15 * light + 0.015 * (1 - light), green: 0.1 * light + 0.003 * (1 - light), blue: 0.3 * light + 0.001 * (1 - light), grey: 0.1 * light + 0.001 * (1 - light) };
  const sum = Object.values(w).reduce((a, b) => a + b, 0);
  for (const k of ICT_IRIS_COLOURS) w[k] /= sum;
  return w;
}

/** Draws every weight of one head from Rng(opts.seed ?? 0). Pure and deterministic. */
export function sampleIctParams(input: IctOptionsInput): IctHeadParams {
  const o = IctOptionsSchema.parse(input);
  const seed = o.seed ?? 0;
  const rng = new Rng(seed);
  const rId = rng.fork('identity');
  const rEx = rng.fork('expression');
  const rGaze = rng.fork('gaze');
  const rBlink = rng.fork('blink');
  const rSkin = rng.fork('skin');
  const rEyes = rng.fork('eyes');

  const identity = new Array<number>(ICT_IDENTITY_COUNT).fill(0);
  let identityRedraws = 0;
  if (o.identity) o.identity.forEach((w, i) => (identity[i] = w));
  else {
    const lim = o.truncation !== undefined ? o.truncation * o.sigma : Infinity;
    for (;;) {
      for (let i = 0; i < ICT_IDENTITY_COUNT; i++) {
        let w = rId.normal(0, o.sigma);
        for (let k = 0; Math.abs(w) > lim && k < 1000; k++) w = rId.normal(0, o.sigma);
        identity[i] = Math.abs(w) > lim ? Math.sign(w) * lim : w;
      }
      // Rejection: a face whose eyes are implausibly close or far apart (the model's tails at sigma >= 1).
      const ipd = ictIpdCm(identity);
      if ((ipd >= ICT_IPD_RANGE_CM[0] && ipd <= ICT_IPD_RANGE_CM[1]) || identityRedraws >= 100) break;
      identityRedraws++;
    }
  }

  const weights = new Map<string, number>();
  const add = (s: string, w: number) => weights.set(s, (weights.get(s) ?? 0) + w);
  const E = o.expressions;
  let expressionKind = 'neutral';
  const u = rEx.next();
  if (u < E.neutral) expressionKind = 'neutral';
  else if (u < E.neutral + E.preset) {
    const name = rEx.pick(E.presets);
    const k = rEx.uniform(E.presetScale[0], E.presetScale[1]);
    for (const [s, w] of Object.entries(ICT_PRESETS[name])) add(s, (w as number) * k);
    expressionKind = `preset:${name}`;
  } else {
    const n = rEx.int(E.sparseCount[0], E.sparseCount[1]);
    const pool = [...ICT_SPARSE_SHAPES];
    for (let i = 0; i < n && pool.length > 0; i++) {
      const j = rEx.int(0, pool.length - 1);
      add(pool[j], rEx.uniform(E.sparseWeight[0], E.sparseWeight[1]));
      pool.splice(j, 1);
    }
    expressionKind = 'sparse';
  }
  for (const [s, w] of Object.entries(E.fixed)) if (w !== undefined) add(s, w);

  let gh = 0;
  let gv = 0;
  if (rGaze.next() < o.gaze.probability) {
    gh = rGaze.uniform(-o.gaze.horizontal, o.gaze.horizontal);
    gv = rGaze.uniform(-o.gaze.vertical, o.gaze.vertical);
  }
  // ARKit: looking to the subject's left = left eye out + right eye in.
  if (gh > 0) {
    add('eyeLookOut_L', gh);
    add('eyeLookIn_R', gh);
  } else if (gh < 0) {
    add('eyeLookIn_L', -gh);
    add('eyeLookOut_R', -gh);
  }
  if (gv > 0) {
    add('eyeLookUp_L', gv);
    add('eyeLookUp_R', gv);
  } else if (gv < 0) {
    add('eyeLookDown_L', -gv);
    add('eyeLookDown_R', -gv);
  }
  let blink = 0;
  if (rBlink.next() < o.blink.probability) blink = rBlink.uniform(o.blink.weight[0], o.blink.weight[1]);
  if (blink > 0) {
    add('eyeBlink_L', blink);
    add('eyeBlink_R', blink);
  }
  const expressions: Record<string, number> = {};
  for (const s of [...weights.keys()].sort()) {
    const w = clamp01(weights.get(s)!);
    if (w > 0) expressions[s] = w;
  }

  const tone = rSkin.uniform(o.skin.tone[0], o.skin.tone[1]);
  const haemoglobin = rSkin.uniform(0.7, 1.3);
  const pheomelanin = rSkin.uniform(0, 1);
  // Freckles mostly on light skin.
  const freckleDraw = rSkin.next();
  const frecklesAmount = rSkin.uniform(0.3, 1);
  const freckles = freckleDraw < o.skin.freckles * (1.3 - tone) ? frecklesAmount : 0;
  const browDarkness = clamp01(0.35 + 0.65 * tone + rSkin.uniform(-0.25, 0.45));
  const browDensity = rSkin.uniform(0.45, 1);
  const oiliness = rSkin.uniform(0.2, 1);
  const skinNoise = rSkin.nextUint32();
  const lashDarkness = clamp01(0.6 + 0.4 * browDarkness + rSkin.uniform(-0.15, 0.15));
  // Iris colour correlates with skin tone (light skin: blue to brown, dark skin: brown).
  const cw = irisColourWeights(tone);
  let cu = rEyes.next();
  let colour: IctIrisColour = 'brown';
  for (const k of ICT_IRIS_COLOURS) {
    if (cu < cw[k]) {
      colour = k;
      break;
    }
    cu -= cw[k];
  }
  // Darker skin: darker brown irises.
  const iris = clamp01((colour === 'brown' ? 0.3 + 0.6 * tone : 0.5) + rEyes.normal(0, 0.2));
  const pupil = rEyes.uniform(0.3, 0.5);
  const eyeNoise = rEyes.nextUint32();

  return {
    source: 'ict',
    generator: ICT_GENERATOR_VERSION,
    seed,
    sigma: o.sigma,
    truncation: o.truncation ?? null,
    identity,
    identityRedraws,
    expressionKind,
    expressions,
    gaze: { horizontal: gh, vertical: gv },
    blink,
    skin: { tone, haemoglobin, pheomelanin, freckles, browDarkness, browDensity, oiliness, lashDarkness, noiseSeed: skinNoise },
    eyes: { colour, iris, pupil, noiseSeed: eyeNoise },
    textureSize: o.textureSize,
  };
}
