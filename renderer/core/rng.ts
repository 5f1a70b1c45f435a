/**
 * Seeded, deterministic pseudo-random number generator (isomorphic: no Node
 * APIs, no DOM; safe to bundle into the browser page).
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator,
 * 128-bit state, 32-bit output), with its four state words seeded through
 * splitmix32 from a 32-bit key. `Math.random` is never used.
 *
 * Streams:
 *  - `new Rng(seed)`: stream keyed by the seed (numbers are reduced to a
 *    32-bit key; non-integers / values >= 2^32 are hashed, not truncated).
 *  - `Rng.forSample(seed, index, stream)`: an independent stream per
 *    (seed, sample index, stream name), obtained by hashing all three. It does
 *    not depend on how many values any other stream has drawn, so sample N can
 *    be regenerated alone.
 *  - `rng.fork(label)`: a child stream keyed by (one 32-bit draw of the parent,
 *    label). It advances the parent by exactly one draw, so repeated forks with
 *    the same label differ, and the result is deterministic given the parent's
 *    call sequence.
 */

/** murmur3 fmix32 finaliser: a good 32-bit avalanche mixer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mix a 32-bit value into a running 32-bit hash. */
export function hashCombine(h: number, v: number): number {
  return fmix32((h ^ (fmix32(v >>> 0) + 0x9e3779b9 + (h << 6) + (h >>> 2))) >>> 0);
}

/** FNV-1a over UTF-16 code units, finalised with fmix32, salted by `h0`. */
export function hashString(s: string, h0 = 0): number {
  let h = (0x811c9dc5 ^ h0) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Reduce any finite number to a 32-bit key (integers in [0, 2^32) map to themselves). */
export function seedKey(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
  if (Number.isInteger(seed) && seed >= 0 && seed < 4294967296) return seed >>> 0;
  if (Number.isInteger(seed) && Math.abs(seed) <= Number.MAX_SAFE_INTEGER) {
    const lo = seed >>> 0; // low 32 bits (two's complement for negatives)
    const hi = Math.floor(seed / 4294967296) >>> 0;
    return hashCombine(hashCombine(0x5eed, lo), hi);
  }
  // Non-integer or huge: hash the decimal representation (exact, platform independent).
  return hashString(String(seed), 0x5eed);
}

const TWO_POW_NEG_32 = 1 / 4294967296;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let s = seedKey(seed) | 0;
    const sm = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Independent stream for (seed, sample index, named stream). */
  static forSample(seed: number, index: number, stream = ''): Rng {
    let h = hashCombine(0x51a3e5, seedKey(seed));
    h = hashCombine(h, seedKey(index));
    h = hashString(stream, h);
    return new Rng(h);
  }

  /** Raw 32-bit unsigned output (sfc32 step). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32-bit resolution. */
  next(): number {
    return this.nextUint32() * TWO_POW_NEG_32;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hiInclusive]. */
  int(lo: number, hiInclusive: number): number {
    lo = Math.ceil(lo);
    hiInclusive = Math.floor(hiInclusive);
    if (hiInclusive < lo) throw new Error(`Rng.int: empty range [${lo}, ${hiInclusive}]`);
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }

  /** Gaussian (Box–Muller; the second value of each pair is cached). */
  normal(mean = 0, std = 1): number {
    let z: number;
    if (this.spareNormal !== null) {
      z = this.spareNormal;
      this.spareNormal = null;
    } else {
      const u1 = 1 - this.next(); // (0, 1]
      const u2 = this.next();
      const r = Math.sqrt(-2 * Math.log(u1));
      const t = 2 * Math.PI * u2;
      z = r * Math.cos(t);
      this.spareNormal = r * Math.sin(t);
    }
    return mean + std * z;
  }

  /** Gamma(shape, scale=1), Marsaglia–Tsang; shape < 1 via Gamma(shape+1)·U^(1/shape). */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new Error(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) {
      const u = 1 - this.next(); // (0, 1]
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next(); // (0, 1]
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return d * v;
      if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) = X/(X+Y), X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    for (;;) {
      const x = this.gamma(a);
      const y = this.gamma(b);
      const s = x + y;
      if (s > 0) return x / s;
    }
  }

  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new Error('Rng.pick: empty array');
    return arr[Math.floor(this.next() * arr.length)] as T;
  }

  /** Uniformly distributed direction on the unit sphere. */
  unitVector(): [number, number, number] {
    const z = 2 * this.next() - 1;
    const phi = 2 * Math.PI * this.next();
    const r = Math.sqrt(Math.max(0, 1 - z * z));
    return [r * Math.cos(phi), r * Math.sin(phi), z];
  }

  /** Child stream keyed by (one draw of this stream, label); advances this stream by one draw. */
  fork(label: string): Rng {
    return new Rng(hashString(label, hashCombine(0xf0f0, this.nextUint32())));
  }
}
