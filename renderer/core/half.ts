/**
 * IEEE 754 binary16 ("half") <-> binary32 conversion. Isomorphic: no Node APIs,
 * usable in the browser page as well as in Node.
 *
 * float -> half: round-to-nearest-even (RNE), driven by 512-entry tables indexed by
 *   sign+exponent of the float32 bit pattern (van der Zijp style, extended with an
 *   exact RNE step). Overflow (|x| >= 65520) -> +/-Inf, underflow below half the
 *   smallest denormal (2^-25) -> +/-0, exactly 2^-25 -> 0 (ties to even), denormal
 *   halves are produced correctly, NaN -> quiet NaN (top mantissa bits kept, sign kept).
 * half -> float: one 65536-entry Float32Array table (exact; every half is a float).
 *
 * Bit patterns are read by aliasing a Uint32Array over the Float32Array's buffer, which
 * is endian-neutral (both views use host order).
 */

// --- float32 -> half tables -------------------------------------------------------

/** Base half bits (sign | exponent, plus implicit bit for denormals) per float sign+exponent. */
const BASE = new Uint16Array(512);
/** Right shift applied to the (possibly implicit-bit-extended) 23/24-bit mantissa. */
const SHIFT = new Uint8Array(512);
/** 0x800000 when the implicit leading bit must be added to the mantissa (half denormal range). */
const IMPLICIT = new Uint32Array(512);

(function buildFloatToHalfTables(): void {
  for (let i = 0; i < 256; i++) {
    const e = i - 127; // unbiased float exponent
    let base: number;
    let shift: number;
    let implicit = 0;
    if (e < -25) {
      // |x| < 2^-25: always rounds to zero (even the largest value is below half an ulp).
      base = 0;
      shift = 25; // 24-bit mantissa >>> 25 == 0 and the remainder never reaches the halfway mark
    } else if (e <= -15) {
      // Half denormals: value / 2^-24 = (0x800000 | m) >> (126 - (e + 127)) = ... >> (-e - 1)
      base = 0;
      shift = -e - 1; // e=-15 -> 14, e=-25 -> 24
      implicit = 0x800000;
    } else if (e <= 15) {
      // Normal halves: exponent re-biased, mantissa truncated to 10 bits (+RNE below).
      base = (e + 15) << 10;
      shift = 13;
    } else {
      // Overflow and Inf/NaN (NaN handled separately in the converters).
      base = 0x7c00;
      shift = 25;
    }
    BASE[i] = base;
    SHIFT[i] = shift;
    IMPLICIT[i] = implicit;
    BASE[i | 0x100] = base | 0x8000;
    SHIFT[i | 0x100] = shift;
    IMPLICIT[i | 0x100] = implicit;
  }
})();

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Convert float32 bit pattern to half bits (RNE). */
function bitsToHalf(bits: number): number {
  const se = bits >>> 23; // sign + exponent, 0..511
  if ((se & 0xff) === 0xff) {
    const m = bits & 0x7fffff;
    const sign = (bits >>> 16) & 0x8000;
    if (m === 0) return sign | 0x7c00; // +/-Inf
    return sign | 0x7e00 | (m >>> 13); // quiet NaN, keep the top payload bits
  }
  const shift = SHIFT[se];
  const m = (bits & 0x7fffff) | IMPLICIT[se];
  let h = BASE[se] + (m >>> shift);
  // Round to nearest, ties to even. A carry out of the mantissa correctly bumps the
  // exponent (and 0x7bff + 1 = 0x7c00 = Inf for values >= 65520).
  const halfway = 1 << (shift - 1);
  const rem = m & ((halfway << 1) - 1);
  if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
  return h;
}

/**
 * Convert a number to half bits (RNE). The number is first rounded to float32 (as
 * when it is stored in a Float32Array), so a double lying extremely close to a half
 * rounding boundary may round differently than a direct double->half conversion.
 */
export function toHalf(f: number): number {
  scratchF32[0] = f;
  return bitsToHalf(scratchU32[0]);
}

// --- half -> float32 table ----------------------------------------------------------

let HALF_TO_FLOAT: Float32Array | null = null;

/**
 * The half -> float table (65536 entries, index = half bits), built once and shared: read it,
 * never write it. For hot loops and for handing to worker threads (structured clone).
 */
export function halfToFloatTable(): Float32Array {
  if (HALF_TO_FLOAT) return HALF_TO_FLOAT;
  const t = new Float32Array(65536);
  const u = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) {
      if (m === 0) u[h] = sign >>> 0;
      else t[h] = (sign ? -1 : 1) * m * 2 ** -24; // denormal half: exact in float32
    } else if (e === 31) {
      u[h] = (sign | 0x7f800000 | (m << 13)) >>> 0;
    } else {
      u[h] = (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
    }
  }
  HALF_TO_FLOAT = t;
  return t;
}

/** Convert half bits (0..65535) to a number. */
export function fromHalf(h: number): number {
  return halfToFloatTable()[h & 0xffff];
}

/** Convert float32 values to half bits (RNE). `dst` may be supplied to avoid allocation. */
export function floatsToHalf(src: Float32Array, dst?: Uint16Array): Uint16Array {
  const n = src.length;
  const out = dst ?? new Uint16Array(n);
  if (out.length < n) throw new RangeError(`floatsToHalf: dst length ${out.length} < src length ${n}`);
  const bitsArr = new Uint32Array(src.buffer, src.byteOffset, n);
  const base = BASE;
  const shiftT = SHIFT;
  const impl = IMPLICIT;
  for (let i = 0; i < n; i++) {
    const bits = bitsArr[i];
    const se = bits >>> 23;
    if ((se & 0xff) === 0xff) {
      out[i] = bitsToHalf(bits);
      continue;
    }
    const shift = shiftT[se];
    const m = (bits & 0x7fffff) | impl[se];
    let h = base[se] + (m >>> shift);
    const halfway = 1 << (shift - 1);
    const rem = m & ((halfway << 1) - 1);
    if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
    out[i] = h;
  }
  return out;
}

/** Convert half bits to float32 values. `dst` may be supplied to avoid allocation. */
export function halfsToFloat(src: Uint16Array, dst?: Float32Array): Float32Array {
  const n = src.length;
  const out = dst ?? new Float32Array(n);
  if (out.length < n) throw new RangeError(`halfsToFloat: dst length ${out.length} < src length ${n}`);
  const t = halfToFloatTable();
  // Go through the bit patterns so NaN payloads survive.
  const o32 = new Uint32Array(out.buffer, out.byteOffset, n);
  const t32 = new Uint32Array(t.buffer);
  for (let i = 0; i < n; i++) o32[i] = t32[src[i]];
  return out;
}

/** Largest finite half value. */
export const HALF_MAX = 65504;
