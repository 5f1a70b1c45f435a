// Procedural head: small maths helpers and deterministic noise (integer hash + 3D gradient
// noise; no Math.random, so the same inputs give the same bytes every time).

export const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
export const smoothstep = (e0: number, e1: number, x: number): number => {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
};
export const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;
/** Polynomial smooth minimum (iq), blend width k. */
export function smin(a: number, b: number, k: number): number {
  const h = Math.max(k - Math.abs(a - b), 0) / k;
  return Math.min(a, b) - h * h * k * 0.25;
}
export const smax = (a: number, b: number, k: number): number => -smin(-a, -b, k);
/** exp(-d^2) bump with radii (rx, ry) around (cx, cy). */
export function gauss2(x: number, y: number, cx: number, cy: number, rx: number, ry: number): number {
  const dx = (x - cx) / rx;
  const dy = (y - cy) / ry;
  return Math.exp(-(dx * dx + dy * dy));
}
/** Compact smooth bump (1 - r^2)^2 inside an ellipse. */
export function bump2(x: number, y: number, cx: number, cy: number, rx: number, ry: number): number {
  const dx = (x - cx) / rx;
  const dy = (y - cy) / ry;
  const r2 = dx * dx + dy * dy;
  if (r2 >= 1) return 0;
  const t = 1 - r2;
  return t * t;
}
/** Distance from (x, y) to the segment (ax, ay)-(bx, by), and the segment parameter. */
export function segDist2(x: number, y: number, ax: number, ay: number, bx: number, by: number): { d: number; t: number } {
  const vx = bx - ax;
  const vy = by - ay;
  const t = clamp01(((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy));
  const dx = x - (ax + vx * t);
  const dy = y - (ay + vy * t);
  return { d: Math.sqrt(dx * dx + dy * dy), t };
}

// ---------------------------------------------------------------------------
// Deterministic noise (integer hash + 3D gradient noise)
// ---------------------------------------------------------------------------

function hash3(x: number, y: number, z: number, seed: number): number {
  let h = (Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(z | 0, 0x9e3779b1) ^ Math.imul(seed | 0, 0x7feb352d)) | 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function gradDot(h: number, x: number, y: number, z: number): number {
  // Perlin's 12 edge directions (+4 repeats).
  switch (h & 15) {
    case 0: return x + y;
    case 1: return -x + y;
    case 2: return x - y;
    case 3: return -x - y;
    case 4: return x + z;
    case 5: return -x + z;
    case 6: return x - z;
    case 7: return -x - z;
    case 8: return y + z;
    case 9: return -y + z;
    case 10: return y - z;
    case 11: return -y - z;
    case 12: return x + y;
    case 13: return -x + y;
    case 14: return -y + z;
    default: return -y - z;
  }
}

const fade = (t: number): number => t * t * t * (t * (t * 6 - 15) + 10);

/** 3D gradient noise, roughly in [-1, 1], zero at lattice points. */
export function noise3(x: number, y: number, z: number, seed: number): number {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  const zi = Math.floor(z);
  const xf = x - xi;
  const yf = y - yi;
  const zf = z - zi;
  const u = fade(xf);
  const v = fade(yf);
  const w = fade(zf);
  const n000 = gradDot(hash3(xi, yi, zi, seed), xf, yf, zf);
  const n100 = gradDot(hash3(xi + 1, yi, zi, seed), xf - 1, yf, zf);
  const n010 = gradDot(hash3(xi, yi + 1, zi, seed), xf, yf - 1, zf);
  const n110 = gradDot(hash3(xi + 1, yi + 1, zi, seed), xf - 1, yf - 1, zf);
  const n001 = gradDot(hash3(xi, yi, zi + 1, seed), xf, yf, zf - 1);
  const n101 = gradDot(hash3(xi + 1, yi, zi + 1, seed), xf - 1, yf, zf - 1);
  const n011 = gradDot(hash3(xi, yi + 1, zi + 1, seed), xf, yf - 1, zf - 1);
  const n111 = gradDot(hash3(xi + 1, yi + 1, zi + 1, seed), xf - 1, yf - 1, zf - 1);
  const x00 = lerp(n000, n100, u);
  const x10 = lerp(n010, n110, u);
  const x01 = lerp(n001, n101, u);
  const x11 = lerp(n011, n111, u);
  return lerp(lerp(x00, x10, v), lerp(x01, x11, v), w);
}

/** Fractal sum of noise3; `freq` in cycles per metre. */
export function fbm3(x: number, y: number, z: number, freq: number, octaves: number, seed: number): number {
  let sum = 0;
  let amp = 1;
  let norm = 0;
  let f = freq;
  for (let o = 0; o < octaves; o++) {
    sum += amp * noise3(x * f, y * f, z * f, seed + o * 101);
    norm += amp;
    amp *= 0.5;
    f *= 2.03;
  }
  return sum / norm;
}
