/**
 * Bright regions of an environment map as distant (directional) lights, so that the sun or a
 * softbox in a map casts shadows like any light; the rest of the map (the residual) stays image
 * based light. Isomorphic: no Node APIs, no DOM. Conventions: latlong.ts.
 *
 * The split is exact in energy: for every pixel, residual + extracted = map, and each light's
 * irradiance is the extracted power of its region, E = sum extracted(p) * Omega(p) (RGB), from
 * the power-weighted mean direction of the region. A light delivers E * max(0, n·d) to a surface
 * with normal n (exact for a region small against the angle to the terminator).
 *
 * Regions: pixels brighter (luminance) than a level (first `highRatio` x the map's
 * solid-angle-weighted median luminance, then x4, x16, ...) seed connected regions (8-neighbours,
 * wrapping in u), grown over neighbours brighter than level x lowRatio/highRatio. A region whose
 * power-weighted RMS angular spread exceeds `maxSpreadDeg` is not one light (a bright sky): its
 * core is looked for at the next level. In a region each pixel keeps at most the growth level
 * (its hue kept: L * min(1, low / Y)) and the excess goes to the light. The `maxLights` most
 * powerful regions become lights; the rest stays in the residual untouched. Slots left over
 * split the widest lights at their power median (an area source as several lights).
 */

import { type EnvImage, type RGB, type Vec3, pixelSolidAngle } from './latlong.js';
import { cross, normalize } from './camera.js';

export interface ExtractedLight {
  /** Unit direction toward the light (world frame). */
  direction: Vec3;
  /** Irradiance on a surface facing the light (RGB, the map's radiance units x sr). */
  irradiance: RGB;
  /** Solid angle of the region (sr), and its angular radius acos(1 - Omega / 2pi) in radians. */
  solidAngle: number;
  angularRadius: number;
  /** Power-weighted RMS angle (radians) of the extracted radiance around `direction`: the source's size for soft shadows. */
  spread: number;
  /** Pixels in the region. */
  pixels: number;
}

export interface ExtractLightsOptions {
  /** Most lights kept (default 4). */
  maxLights?: number;
  /** Seed level over the median luminance (default 40). */
  highRatio?: number;
  /** Growth level over the median luminance (default 8). */
  lowRatio?: number;
  /** Regions with less than this share of the map's luminance power stay in the residual (default 0.02). */
  minShare?: number;
  /** Regions whose RMS angular spread exceeds this (degrees) are not one light (default 12): skies stay image based. */
  maxSpreadDeg?: number;
  /** Spare light slots split sources wider than this (degrees, default 3) at their power median (default on). */
  splitSpreadDeg?: number;
}

export interface ExtractLightsResult {
  lights: ExtractedLight[];
  residual: EnvImage;
  /** Share of the map's luminance power moved into lights. */
  extractedShare: number;
  /** The median luminance the levels are relative to. */
  medianLuminance: number;
}

const lum = (r: number, g: number, b: number) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

export function extractLights(env: EnvImage, opts: ExtractLightsOptions = {}): ExtractLightsResult {
  const maxLights = opts.maxLights ?? 4;
  const highRatio = opts.highRatio ?? 40;
  const lowRatio = opts.lowRatio ?? 8;
  const minShare = opts.minShare ?? 0.02;
  const maxSpreadDeg = opts.maxSpreadDeg ?? 12;
  const splitSpreadDeg = opts.splitSpreadDeg ?? 3;
  const W = env.width;
  const H = env.height;
  const d = env.data;
  const n = W * H;
  const Y = new Float64Array(n);
  const om = new Float64Array(H);
  for (let y = 0; y < H; y++) om[y] = pixelSolidAngle(y, W, H);
  let total = 0;
  for (let p = 0; p < n; p++) {
    Y[p] = lum(d[p * 3], d[p * 3 + 1], d[p * 3 + 2]);
    total += Y[p] * om[Math.floor(p / W)];
  }
  // Solid-angle-weighted median luminance, from a log histogram (1/64 of a stop per bin).
  const BINS = 64 * 64;
  const hist = new Float64Array(BINS);
  const bin = (v: number) => Math.min(BINS - 1, Math.max(0, Math.floor((Math.log2(Math.max(v, 1e-12)) + 40) * 64)));
  for (let p = 0; p < n; p++) hist[bin(Y[p])] += om[Math.floor(p / W)];
  let acc = 0;
  let median = 0;
  for (let b = 0; b < BINS; b++) {
    acc += hist[b];
    if (acc >= 2 * Math.PI) {
      median = 2 ** ((b + 0.5) / 64 - 40);
      break;
    }
  }
  const residual: EnvImage = { width: W, height: H, data: new Float32Array(d) };
  const empty: ExtractLightsResult = { lights: [], residual, extractedShare: 0, medianLuminance: median };
  if (!(total > 0) || maxLights <= 0) return empty;
  // A map with no dark half (median ~ mean) still extracts what is far above its mean.
  const base = Math.max(median, 1e-3 * (total / (4 * Math.PI)));
  const high = highRatio * base;
  const low = lowRatio * base;

  // Levels rise by x4 from `high`: a region too wide to be one light (a bright sky around a sun)
  // is looked at again at the next level, where only its core is over the threshold.
  const taken = new Uint8Array(n);
  const lights: ExtractedLight[] = [];
  let extracted = 0;
  const rd = residual.data;
  const maxSpread = (maxSpreadDeg * Math.PI) / 180;
  const maxY = Y.reduce((a, b) => Math.max(a, b), 0);
  const candidates: { pixels: number[]; power: number; low: number; light: ExtractedLight }[] = [];
  for (let level = high; level < maxY && candidates.length < 4 * maxLights; level *= 4) {
    const low = level * (lowRatio / highRatio);
    const label = new Uint8Array(n);
    const stack: number[] = [];
    for (let p0 = 0; p0 < n; p0++) {
      if (label[p0] || taken[p0] || Y[p0] <= level) continue;
      const pixels: number[] = [];
      label[p0] = 1;
      stack.push(p0);
      while (stack.length) {
        const p = stack.pop()!;
        pixels.push(p);
        const x = p % W;
        const y = (p - x) / W;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= H) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const q = yy * W + ((x + dx + W) % W);
            if (!label[q] && !taken[q] && Y[q] > low) {
              label[q] = 1;
              stack.push(q);
            }
          }
        }
      }
      const light = describe(pixels, low);
      if (!light || light.power < minShare * total) continue;
      if (light.spread > maxSpread) continue; // too wide: its core may qualify at the next level
      for (const p of pixels) taken[p] = 1;
      candidates.push({ pixels, power: light.power, low, light: light.light });
    }
  }
  candidates.sort((a, b) => b.power - a.power);
  const chosen = candidates.slice(0, maxLights);
  // Spare slots go to the widest sources: a region split in two at its power median (along its
  // longer axis) gives two lights, so a softbox shades, highlights and shadows as an area, not a
  // point. Split while a light is wider than `splitSpreadDeg` and slots remain.
  const minSplit = (splitSpreadDeg * Math.PI) / 180;
  while (chosen.length < maxLights) {
    let widest = -1;
    for (let i = 0; i < chosen.length; i++) {
      if (chosen[i].light.spread > minSplit && chosen[i].pixels.length >= 2 && (widest < 0 || chosen[i].light.spread * chosen[i].power > chosen[widest].light.spread * chosen[widest].power)) widest = i;
    }
    if (widest < 0) break;
    const parts = split(chosen[widest]);
    if (!parts) break;
    chosen.splice(widest, 1, ...parts);
  }
  for (const c of chosen) {
    for (const p of c.pixels) {
      const o = p * 3;
      const k = Y[p] > c.low ? c.low / Y[p] : 1;
      rd[o] = d[o] * k;
      rd[o + 1] = d[o + 1] * k;
      rd[o + 2] = d[o + 2] * k;
    }
    extracted += c.power;
    lights.push(c.light);
  }

  /** Splits a region at the power median along the longer axis of its tangent-plane spread. */
  function split(c: (typeof candidates)[number]): (typeof candidates)[number][] | null {
    const cy = c.light.direction[1];
    // Tangent basis around the light's direction.
    const [tx, ty, tz] = normalize(cross(Math.abs(cy) < 0.9 ? [0, 1, 0] : [1, 0, 0], c.light.direction));
    const [bx, by, bz] = cross(c.light.direction, [tx, ty, tz]);
    const a: number[] = [];
    const b: number[] = [];
    const w: number[] = [];
    let ma = 0;
    let mb = 0;
    let sw = 0;
    for (const p of c.pixels) {
      const x = p % W;
      const y = (p - x) / W;
      const th = (Math.PI * (y + 0.5)) / H;
      const phi = 2 * Math.PI * ((x + 0.5) / W - 0.5);
      const dx = Math.sin(th) * Math.cos(phi);
      const dy = Math.cos(th);
      const dz = Math.sin(th) * Math.sin(phi);
      const wt = Math.max(0, Y[p] - c.low) * om[y];
      a.push(dx * tx + dy * ty + dz * tz);
      b.push(dx * bx + dy * by + dz * bz);
      w.push(wt);
      ma += wt * a[a.length - 1];
      mb += wt * b[b.length - 1];
      sw += wt;
    }
    if (!(sw > 0)) return null;
    ma /= sw;
    mb /= sw;
    let va = 0;
    let vb = 0;
    for (let i = 0; i < w.length; i++) {
      va += w[i] * (a[i] - ma) ** 2;
      vb += w[i] * (b[i] - mb) ** 2;
    }
    const key = va >= vb ? a : b;
    const order = c.pixels.map((_, i) => i).sort((i, j) => key[i] - key[j] || c.pixels[i] - c.pixels[j]);
    let acc = 0;
    let cut = 0;
    while (cut < order.length - 1 && acc + w[order[cut]] < sw / 2) acc += w[order[cut++]];
    cut = Math.max(1, Math.min(order.length - 1, cut));
    const halves = [order.slice(0, cut), order.slice(cut)].map((idx) => idx.map((i) => c.pixels[i]));
    const out: (typeof candidates)[number][] = [];
    for (const pixels of halves) {
      const dsc = describe(pixels, c.low);
      if (!dsc || !(dsc.power > 0)) return null;
      out.push({ pixels, power: dsc.power, low: c.low, light: dsc.light });
    }
    return out;
  }

  /** The light a region's excess over `low` makes, its luminance power and its RMS angular spread. */
  function describe(pixels: number[], low: number): { light: ExtractedLight; power: number; spread: number } | null {
    const E: RGB = [0, 0, 0];
    const c: Vec3 = [0, 0, 0];
    let solidAngle = 0;
    let power = 0;
    const dirs: number[] = [];
    const ws: number[] = [];
    for (const p of pixels) {
      const x = p % W;
      const y = (p - x) / W;
      const o = p * 3;
      const k = Y[p] > low ? low / Y[p] : 1;
      const w = om[y];
      const ex0 = d[o] * (1 - k);
      const ex1 = d[o + 1] * (1 - k);
      const ex2 = d[o + 2] * (1 - k);
      E[0] += ex0 * w;
      E[1] += ex1 * w;
      E[2] += ex2 * w;
      const yl = lum(ex0, ex1, ex2) * w;
      power += yl;
      const th = (Math.PI * (y + 0.5)) / H;
      const phi = 2 * Math.PI * ((x + 0.5) / W - 0.5);
      const dx = Math.sin(th) * Math.cos(phi);
      const dy = Math.cos(th);
      const dz = Math.sin(th) * Math.sin(phi);
      c[0] += yl * dx;
      c[1] += yl * dy;
      c[2] += yl * dz;
      dirs.push(dx, dy, dz);
      ws.push(yl);
      solidAngle += w;
    }
    const len = Math.hypot(c[0], c[1], c[2]);
    if (!(len > 0)) return null;
    const dir: Vec3 = [c[0] / len, c[1] / len, c[2] / len];
    let s2 = 0;
    for (let i = 0; i < ws.length; i++) {
      const cos = Math.max(-1, Math.min(1, dirs[i * 3] * dir[0] + dirs[i * 3 + 1] * dir[1] + dirs[i * 3 + 2] * dir[2]));
      s2 += ws[i] * Math.acos(cos) ** 2;
    }
    const spread = Math.sqrt(s2 / power);
    return {
      power,
      spread,
      light: {
        direction: dir,
        irradiance: E,
        solidAngle,
        angularRadius: Math.acos(Math.max(-1, 1 - solidAngle / (2 * Math.PI))),
        spread,
        pixels: pixels.length,
      },
    };
  }
  return { lights, residual, extractedShare: extracted / total, medianLuminance: median };
}
