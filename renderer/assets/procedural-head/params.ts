// Procedural people: the seeded draw of one head (shape proportions and a skin), the options
// (zod) and the head references that carry them: 'procedural:<seed>' and 'procedural:{json}'.
// Plain 'procedural' is the fixed mannequin (no draw; shape.ts NEUTRAL_SHAPE, the hand-tuned
// textures), kept byte for byte.
//
// Everything comes from one explicit Rng(seed), never Math.random. The streams are forked in the
// order sampleIctParams (renderer/assets/ict/params.ts) forks its own, so 'procedural:<seed>'
// draws exactly the skin 'ict:<seed>' would (the ICT fallback keeps each sample's skin), with the
// same options (IctSkinSchema) and the same model (renderer/assets/skin-model.ts); the shape comes
// from the 'identity' stream. Everything drawn is returned (ProceduralHeadParams) for the
// sample's metadata.
import { z } from 'zod';
import { Rng } from '../../core/rng.js';
import { drawSkinParams } from '../skin-model.js';
import { ICT_IPD_RANGE_CM, IctSkinSchema, stableStringify, type IctSkinParams } from '../ict/params.js';

/** Bump when the draw or the generated person changes for the same options: part of every cache hash. */
export const PROCEDURAL_PERSON_GENERATOR_VERSION = 1;

/**
 * The shape of a procedural head: multipliers (1 = the mannequin's) and offsets (metres, 0 = the
 * mannequin's) of its primitives and facial relief (shape.ts, layout.ts).
 */
export interface ProceduralShape {
  /** 0 (more feminine) .. 1 (more masculine): the latent some draws below lean on (not used by the geometry itself). */
  dimorphism: number;
  /** Uniform scale of the whole head. */
  size: number;
  /** Width of the cranium and the face (the ears move with it). */
  headWidth: number;
  /** Length of the back of the head (front-back). */
  headLength: number;
  /** Height of the cranium above the ears. */
  crown: number;
  /** Width of the jaw (the lower face's sections toward the chin). */
  jawWidth: number;
  /** How much lower the chin sits (m; the lower face's length). */
  chinLength: number;
  /** How far forward the chin stands (m). */
  chinProjection: number;
  /** Relief of the cheekbones. */
  cheekbones: number;
  /** Relief of the brow ridge and glabella. */
  browRidge: number;
  /** Width of the nose (bridge, tip, alae). */
  noseWidth: number;
  /** Projection of the nose off the face. */
  noseProjection: number;
  /** How much lower the nose tip and base sit (m; the nose's length). */
  noseLength: number;
  /** Offset of each eye's |x| (m): half the change of the interpupillary distance. */
  eyeSpacing: number;
  /** Width of the mouth. */
  mouthWidth: number;
  /** Height (fullness) of the lips' vermilion, painted and in relief. */
  lips: number;
  /** Offset of the painted brows' height (m). */
  browHeight: number;
  /** Thickness of the painted brows. */
  browThickness: number;
  /** Size of the ears. */
  earSize: number;
}

export type ProceduralShapeKey = keyof ProceduralShape;

/** The mannequin's shape (plain 'procedural'): every multiplier 1, every offset 0. */
export const NEUTRAL_SHAPE_PARAMS: Readonly<ProceduralShape> = Object.freeze({
  dimorphism: 0.5,
  size: 1,
  headWidth: 1,
  headLength: 1,
  crown: 1,
  jawWidth: 1,
  chinLength: 0,
  chinProjection: 0,
  cheekbones: 1,
  browRidge: 1,
  noseWidth: 1,
  noseProjection: 1,
  noseLength: 0,
  eyeSpacing: 0,
  mouthWidth: 1,
  lips: 1,
  browHeight: 0,
  browThickness: 1,
  earSize: 1,
});

/**
 * Each parameter's draw: a normal N(mean + lean * (dimorphism - 0.5), sd) redrawn outside [lo, hi]
 * (the plausible range, also what a fixed value may take). Adult ranges: the head is 0.92-1.08 of
 * the mannequin (breadth ~0.14-0.17 m, crown to chin ~0.21-0.26 m), the interpupillary distance is
 * kept within ICT_IPD_RANGE_CM (5.6-7.4 cm, redrawn like an ICT identity's).
 */
export const SHAPE_DRAWS: Readonly<Record<Exclude<ProceduralShapeKey, 'dimorphism'>, { lo: number; hi: number; mean: number; lean: number; sd: number }>> = {
  size: { lo: 0.92, hi: 1.08, mean: 1, lean: 0.06, sd: 0.028 },
  headWidth: { lo: 0.88, hi: 1.12, mean: 1, lean: 0.03, sd: 0.045 },
  headLength: { lo: 0.9, hi: 1.1, mean: 1, lean: 0, sd: 0.04 },
  crown: { lo: 0.9, hi: 1.1, mean: 1, lean: 0, sd: 0.035 },
  jawWidth: { lo: 0.82, hi: 1.2, mean: 1, lean: 0.15, sd: 0.06 },
  chinLength: { lo: -0.008, hi: 0.012, mean: 0.001, lean: 0.006, sd: 0.004 },
  chinProjection: { lo: -0.006, hi: 0.006, mean: 0, lean: 0.002, sd: 0.0025 },
  cheekbones: { lo: 0.3, hi: 1.9, mean: 1, lean: 0, sd: 0.35 },
  browRidge: { lo: 0.3, hi: 2, mean: 1, lean: 0.9, sd: 0.25 },
  noseWidth: { lo: 0.8, hi: 1.4, mean: 1.03, lean: 0.08, sd: 0.1 },
  noseProjection: { lo: 0.75, hi: 1.35, mean: 1, lean: 0.08, sd: 0.11 },
  noseLength: { lo: -0.004, hi: 0.005, mean: 0.0005, lean: 0.0015, sd: 0.002 },
  eyeSpacing: { lo: -0.003, hi: 0.003, mean: -0.0007, lean: 0, sd: 0.0013 },
  mouthWidth: { lo: 0.86, hi: 1.16, mean: 1, lean: 0.03, sd: 0.05 },
  lips: { lo: 0.65, hi: 1.5, mean: 1.03, lean: -0.15, sd: 0.16 },
  browHeight: { lo: -0.0025, hi: 0.0025, mean: 0, lean: -0.0015, sd: 0.001 },
  browThickness: { lo: 0.65, hi: 1.45, mean: 1, lean: 0.3, sd: 0.15 },
  earSize: { lo: 0.85, hi: 1.2, mean: 1, lean: 0.05, sd: 0.07 },
};

const SHAPE_KEYS = Object.keys(SHAPE_DRAWS) as (keyof typeof SHAPE_DRAWS)[];

/** Interpupillary distance (m) of a shape: the closed eyes' centres sit at |x| = 0.0325 + eyeSpacing (layout.ts lash line), scaled. */
export function proceduralIpdM(s: Pick<ProceduralShape, 'eyeSpacing' | 'size'>): number {
  return 2 * (0.0325 + s.eyeSpacing) * s.size;
}

const shapeFields = { dimorphism: z.number().min(0).max(1).optional() } as Record<ProceduralShapeKey, z.ZodOptional<z.ZodNumber>>;
for (const k of SHAPE_KEYS) shapeFields[k] = z.number().min(SHAPE_DRAWS[k].lo).max(SHAPE_DRAWS[k].hi).optional();
const ShapeOverridesSchema = z
  .object(shapeFields)
  .strict()
  .describe(`Fixed shape parameters (replace the draw), each within its plausible range: ${SHAPE_KEYS.map((k) => `${k} ${SHAPE_DRAWS[k].lo}..${SHAPE_DRAWS[k].hi}`).join(', ')}.`);

/** Options of a procedural person ('procedural:<seed>', 'procedural:{json}'). */
export const ProceduralOptionsSchema = z
  .object({
    seed: z.number().int().min(0).max(0xffffffff).optional().describe('Draw seed; in a batch config leave it out to draw a new person per sample (seed 0 when resolved alone).'),
    detail: z.enum(['low', 'high']).default('high').describe("'high' (default): 192x144 mesh, 1024^2 maps; 'low': 64x48, 512^2 (tests)."),
    skin: IctSkinSchema.default(IctSkinSchema.parse({})).describe('The skin draw: the ICT source\'s options and model (tone range, freckle probability).'),
    shape: ShapeOverridesSchema.default({}),
  })
  .strict();
export type ProceduralOptions = z.infer<typeof ProceduralOptionsSchema>;
export type ProceduralOptionsInput = z.input<typeof ProceduralOptionsSchema>;

/** Everything drawn for one procedural person (sample.json head.params). */
export interface ProceduralHeadParams {
  source: 'procedural';
  generator: number;
  seed: number;
  detail: 'low' | 'high';
  shape: ProceduralShape;
  /** Shapes redrawn because their interpupillary distance left ICT_IPD_RANGE_CM. */
  shapeRedraws: number;
  skin: IctSkinParams;
}

// ---- head references ----

/** 'procedural:<seed>' or 'procedural:{json}' (plain 'procedural' is the fixed mannequin, not a draw). */
export function isProceduralDrawRef(ref: string): boolean {
  return ref.startsWith('procedural:');
}

/** 'procedural:<seed>' -> { seed }, 'procedural:{json}' -> the options; validated (errors name the field). */
export function parseProceduralRef(ref: string): ProceduralOptions {
  if (!isProceduralDrawRef(ref)) throw new Error(`head "${ref}": not a procedural person reference ("procedural:<seed>" or "procedural:{json options}")`);
  const body = ref.slice('procedural:'.length);
  let raw: unknown;
  if (/^\d+$/.test(body)) raw = { seed: Number(body) };
  else {
    try {
      raw = JSON.parse(body);
    } catch {
      throw new Error(`head "${ref}": expected "procedural", "procedural:<seed>" or "procedural:{json options}"`);
    }
  }
  const r = ProceduralOptionsSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => `head ${ref}: field "${i.path.join('.') || '(root)'}": ${i.message}`).join('\n'));
  return r.data;
}

/**
 * The canonical reference of options (defaults left out): 'procedural:<seed>' when only the seed
 * is set, 'procedural:{}' for default options without a seed (a new person per batch sample).
 */
export function proceduralRef(opts: ProceduralOptionsInput): string {
  const full = ProceduralOptionsSchema.parse(opts);
  const defaults = ProceduralOptionsSchema.parse({});
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(full)) {
    if (stableStringify(v) !== stableStringify((defaults as Record<string, unknown>)[k])) out[k] = v;
  }
  const keys = Object.keys(out);
  if (keys.length === 1 && keys[0] === 'seed') return `procedural:${out.seed}`;
  return `procedural:${stableStringify(out)}`;
}

/**
 * What a batch sample draws for a procedural-person reference (the planner's counterpart of the
 * ICT branch): without a seed in the reference, `sampleSeed()` gives one (the batch's
 * per-sample 'identity' stream, as for ICT), so every sample is a new person. Returns the full
 * reference that rebuilds the head and the draw for sample.json head.params.
 */
export function planProceduralHead(ref: string, sampleSeed: () => number): { ref: string; params: ProceduralHeadParams } {
  const opts = parseProceduralRef(ref);
  const full = opts.seed === undefined ? proceduralRef({ ...opts, seed: sampleSeed() }) : ref;
  return { ref: full, params: sampleProceduralParams(parseProceduralRef(full)) };
}

// ---- the draw ----

function truncNormal(rng: Rng, mean: number, sd: number, lo: number, hi: number): number {
  for (let k = 0; k < 100; k++) {
    const v = rng.normal(mean, sd);
    if (v >= lo && v <= hi) return v;
  }
  return Math.min(hi, Math.max(lo, mean));
}

/** Draws every parameter of one procedural person from Rng(opts.seed ?? 0). Pure and deterministic. */
export function sampleProceduralParams(input: ProceduralOptionsInput): ProceduralHeadParams {
  const o = ProceduralOptionsSchema.parse(input);
  const seed = o.seed ?? 0;
  const rng = new Rng(seed);
  // The same forks in the same order as sampleIctParams: identity (here the shape), expression,
  // gaze, blink (unused: the procedural face is neutral, eyes closed), skin.
  const rShape = rng.fork('identity');
  rng.fork('expression');
  rng.fork('gaze');
  rng.fork('blink');
  const rSkin = rng.fork('skin');

  const fixed = o.shape as Partial<ProceduralShape>;
  const dimorphism = fixed.dimorphism ?? rShape.next();
  const draw = (k: keyof typeof SHAPE_DRAWS): number => {
    const d = SHAPE_DRAWS[k];
    const v = truncNormal(rShape, d.mean + d.lean * (dimorphism - 0.5), d.sd, d.lo, d.hi);
    return fixed[k] ?? v; // drawn either way, so fixing one parameter leaves the others as they were
  };
  const shape = { dimorphism } as ProceduralShape;
  for (const k of SHAPE_KEYS) shape[k] = draw(k);
  // Rejection on the interpupillary distance (like an ICT identity's): redraw the two it depends on.
  let shapeRedraws = 0;
  const inRange = () => {
    const cm = proceduralIpdM(shape) * 100;
    return cm >= ICT_IPD_RANGE_CM[0] && cm <= ICT_IPD_RANGE_CM[1];
  };
  const free = fixed.size === undefined || fixed.eyeSpacing === undefined;
  while (free && !inRange() && shapeRedraws < 100) {
    shapeRedraws++;
    shape.size = draw('size');
    shape.eyeSpacing = draw('eyeSpacing');
  }
  const skin = drawSkinParams(rSkin, o.skin);
  return { source: 'procedural', generator: PROCEDURAL_PERSON_GENERATOR_VERSION, seed, detail: o.detail, shape, shapeRedraws, skin };
}
