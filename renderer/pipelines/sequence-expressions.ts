// Animated expressions of a sequence's ICT head (pure planning): smooth weight curves per shape and
// blinks drawn as a Poisson process from the seed. Each frame becomes its own ICT head (same
// identity, skin and gaze: the draw's streams are forked per kind, renderer/assets/ict/params.ts;
// its expression = the frame's weights), so every frame's mesh is exact and shares the vertex
// order the motion modes and the per-vertex flow rely on.
import { z } from 'zod';
import { ICT_SHAPES } from '../assets/ict/manifest.js';
import { ictRef, isIctRef, parseIctRef } from '../assets/ict/params.js';
import { Rng } from '../core/rng.js';

const DEG = Math.PI / 180;

export const ExpressionCurveSchema = z
  .object({
    shape: z.enum(ICT_SHAPES as unknown as [string, ...string[]]).describe('ICT / ARKit shape name (e.g. jawOpen, mouthSmile_L).'),
    amplitude: z.number().min(0).max(1).default(0.5).describe('w(t) = offset + amplitude * (1 - cos(2 pi f t + phase)) / 2, clamped to [0, 1]. Default 0.5.'),
    offset: z.number().min(0).max(1).default(0).describe('Weight at rest. Default 0.'),
    frequencyHz: z.number().min(0).max(10).default(0.5).describe('Default 0.5 Hz.'),
    phaseDeg: z.number().optional().describe('Phase in degrees; default drawn from the seed.'),
  })
  .strict();

export const BlinkSchema = z
  .object({
    perMinute: z.number().min(0).max(120).default(17).describe('Mean blink rate (a Poisson process drawn from the seed). Default 17 per minute.'),
    durationS: z.number().min(0.02).max(1).default(0.2).describe('Closing and opening of one blink, seconds (weight sin^2 over it). Default 0.2.'),
  })
  .strict();

export const ExpressionAnimationSchema = z
  .object({
    curves: z
      .array(ExpressionCurveSchema)
      .max(64)
      .default(() =>
        [
          { shape: 'jawOpen', amplitude: 0.35, frequencyHz: 0.8 },
          { shape: 'mouthSmile_L', amplitude: 0.5, frequencyHz: 0.3 },
          { shape: 'mouthSmile_R', amplitude: 0.5, frequencyHz: 0.3 },
          { shape: 'browInnerUp_L', amplitude: 0.4, frequencyHz: 0.45 },
          { shape: 'browInnerUp_R', amplitude: 0.4, frequencyHz: 0.45 },
        ].map((c) => ExpressionCurveSchema.parse(c)),
      )
      .describe('Weight curves (summed per shape). Default: talking jaw, a slow smile, raised brows.'),
    blinks: BlinkSchema.nullable().default(BlinkSchema.parse({})).describe('Blinks of both eyes (eyeBlink_L/R); null = none.'),
  })
  .strict();

export type ExpressionAnimation = z.infer<typeof ExpressionAnimationSchema>;

/** Where expressions need an ICT head: the message the sequence config reports on `expressions`. */
export function expressionHeadIssue(head: string): string | null {
  return isIctRef(head) ? null : `animated expressions need an ICT head ("ict", "ict:<seed>" or "ict:{...}"), not "${head}"`;
}

export interface ExpressionPlan {
  /** Drawn (or given) phase per curve, degrees. */
  phasesDeg: number[];
  /** Blink start times, seconds. */
  blinksS: number[];
}

/** The draws of an animation over `durationS` (every phase drawn even when given, so one given phase does not shift the rest). */
export function planExpressions(a: ExpressionAnimation, seed: number, durationS: number): ExpressionPlan {
  const rng = Rng.forSample(seed, 0, 'sequence-expressions');
  const drawn = a.curves.map((c) => {
    const r = rng.uniform(0, 360);
    return c.phaseDeg ?? r;
  });
  // A right-side shape moves with its left twin (same frequency, no phase given): faces are
  // mostly symmetric, and independent phases made lopsided smiles and brows.
  const phasesDeg = a.curves.map((c, i) => {
    if (c.phaseDeg !== undefined || !c.shape.endsWith('_R')) return drawn[i];
    const twin = a.curves.findIndex((d) => d.shape === `${c.shape.slice(0, -2)}_L` && d.frequencyHz === c.frequencyHz);
    return twin >= 0 ? drawn[twin] : drawn[i];
  });
  const blinksS: number[] = [];
  if (a.blinks && a.blinks.perMinute > 0) {
    const mean = 60 / a.blinks.perMinute;
    const br = Rng.forSample(seed, 0, 'sequence-blinks');
    // Start before 0 so a blink can be under way at the first frame.
    for (let t = -a.blinks.durationS + -mean * Math.log(1 - br.next()); t < durationS; t += -mean * Math.log(1 - br.next())) blinksS.push(Math.round(t * 1e4) / 1e4);
  }
  return { phasesDeg, blinksS };
}

/** The shape weights at time t (non-zero ones, sorted by name, rounded to 1e-4). */
export function expressionWeights(a: ExpressionAnimation, plan: ExpressionPlan, t: number): Record<string, number> {
  const w = new Map<string, number>();
  const add = (s: string, v: number) => w.set(s, (w.get(s) ?? 0) + v);
  a.curves.forEach((c, i) => add(c.shape, c.offset + (c.amplitude * (1 - Math.cos(2 * Math.PI * c.frequencyHz * t + plan.phasesDeg[i] * DEG))) / 2));
  if (a.blinks) {
    let b = 0;
    for (const t0 of plan.blinksS) {
      const x = (t - t0) / a.blinks.durationS;
      if (x > 0 && x < 1) b = Math.max(b, Math.sin(Math.PI * x) ** 2);
    }
    if (b > 0) {
      add('eyeBlink_L', b);
      add('eyeBlink_R', b);
    }
  }
  const out: Record<string, number> = {};
  for (const k of [...w.keys()].sort()) {
    const v = Math.round(Math.min(1, Math.max(0, w.get(k)!)) * 1e4) / 1e4;
    if (v > 0) out[k] = v;
  }
  return out;
}

/**
 * The frame's head: the sequence's ICT head with its expression replaced by `weights` (added to
 * the head's own fixed weights, clamped) and no drawn blink (blinks come from the animation).
 */
export function frameHeadRef(baseRef: string, weights: Record<string, number>): string {
  const o = parseIctRef(baseRef);
  const fixed: Record<string, number> = { ...o.expressions.fixed } as Record<string, number>;
  for (const [k, v] of Object.entries(weights)) fixed[k] = Math.min(1, (fixed[k] ?? 0) + v);
  return ictRef({ ...o, expressions: { ...o.expressions, neutral: 1, preset: 0, fixed }, blink: { ...o.blink, probability: 0 } });
}
