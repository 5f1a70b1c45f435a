import { expect } from 'chai';
import { Rng } from '../renderer/core/rng.js';
import {
  type EnvImage,
  type RGB,
  createEnv,
  dirFromUv,
  envFromFunction,
  flattenEncoding,
  meanRadiance,
  mixEnv,
  pixelSolidAngle,
  reduceEnv,
  resizeEnv,
  rotateEnv,
  sampleBilinear,
  totalPower,
  uvFromDir,
} from '../renderer/core/latlong.js';
import {
  SH_K0,
  evalSH9,
  irradianceSH9,
  projectEnvSH9,
  rotateSH9Y,
  shBasis,
} from '../renderer/core/sh9.js';
import {
  type Lighting,
  lightingToEnv,
  mixLighting,
  projectPointLightsToEnv,
  samplePointLightsH,
  sampleLightingTriplet,
  scaleLighting,
} from '../renderer/core/lighting.js';

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));

function expectRgbClose(a: RGB, b: RGB, rel: number, msg = ''): void {
  for (let c = 0; c < 3; c++) {
    expect(relErr(a[c], b[c]), `${msg} channel ${c}: ${a[c]} vs ${b[c]}`).to.be.lessThan(rel);
  }
}

/** A "real-ish" HDR map: ambient sky gradient + a few coloured Gaussian-like lobes. */
function lobeMap(width: number, height: number, sharp = 40): EnvImage {
  const lobes: { m: [number, number, number]; k: number; c: RGB }[] = [
    { m: norm([0.3, 0.8, 0.5]), k: sharp, c: [20, 18, 14] },
    { m: norm([-0.7, 0.2, 0.3]), k: sharp / 4, c: [1, 2, 4] },
    { m: norm([0.1, -0.3, -0.9]), k: sharp / 2, c: [3, 1, 0.5] },
  ];
  return envFromFunction(width, height, (x, y, z) => {
    const out: RGB = [0.2 + 0.1 * y, 0.25 + 0.1 * y, 0.3 + 0.15 * y];
    for (const l of lobes) {
      const e = Math.exp(l.k * (x * l.m[0] + y * l.m[1] + z * l.m[2] - 1));
      out[0] += l.c[0] * e;
      out[1] += l.c[1] * e;
      out[2] += l.c[2] * e;
    }
    return out;
  });
}

function norm(v: [number, number, number]): [number, number, number] {
  const l = Math.hypot(...v);
  return [v[0] / l, v[1] / l, v[2] / l];
}

function bruteIrradiance(env: EnvImage, n: [number, number, number]): RGB {
  const { width: W, height: H, data } = env;
  const E: RGB = [0, 0, 0];
  for (let y = 0; y < H; y++) {
    const om = pixelSolidAngle(y, W, H);
    for (let x = 0; x < W; x++) {
      const d = dirFromUv((x + 0.5) / W, (y + 0.5) / H);
      const c = d[0] * n[0] + d[1] * n[1] + d[2] * n[2];
      if (c <= 0) continue;
      const i = (y * W + x) * 3;
      E[0] += data[i] * c * om;
      E[1] += data[i + 1] * c * om;
      E[2] += data[i + 2] * c * om;
    }
  }
  return E;
}

describe('latlong conventions', () => {
  it('Blender/three.js convention: the centre is +X, u=0.75 is +Z (the face), u=0.25 is -Z, row 0 the zenith; round-trips', () => {
    const c = dirFromUv(0.5, 0.5);
    expect(c[0]).to.be.closeTo(1, 1e-12);
    expect(c[1]).to.be.closeTo(0, 1e-12);
    expect(c[2]).to.be.closeTo(0, 1e-12);
    const pz = dirFromUv(0.75, 0.5);
    expect(pz[2]).to.be.closeTo(1, 1e-12);
    expect(dirFromUv(0.25, 0.5)[2]).to.be.closeTo(-1, 1e-12);
    // u = 0.5 + atan2(z, x) / 2pi, v = acos(y) / pi (the statement of Blender's lookup).
    const [u, v] = uvFromDir(0.3, 0.4, -0.5);
    expect(u).to.be.closeTo(0.5 + Math.atan2(-0.5, 0.3) / (2 * Math.PI), 1e-12);
    expect(v).to.be.closeTo(Math.acos(0.4 / Math.hypot(0.3, 0.4, 0.5)) / Math.PI, 1e-12);
    expect(dirFromUv(0.3, 0)[1]).to.be.closeTo(1, 1e-12);
    const rng = new Rng(7);
    for (let i = 0; i < 100; i++) {
      const d = rng.unitVector();
      const [u, v] = uvFromDir(...d);
      const e = dirFromUv(u, v);
      for (let k = 0; k < 3; k++) expect(e[k]).to.be.closeTo(d[k], 1e-9);
    }
  });

  it('pixel solid angles sum to 4pi', () => {
    let s = 0;
    for (let y = 0; y < 37; y++) s += 53 * pixelSolidAngle(y, 53, 37);
    expect(s).to.be.closeTo(4 * Math.PI, 1e-12);
  });

  it('rotateEnv by +90 deg moves light from +Z (front, u=0.75) to +X (u=0.5)', () => {
    const env = envFromFunction(64, 32, (x, y, z) => Math.exp(20 * (z - 1)));
    const rot = rotateEnv(env, 90);
    const atX = sampleBilinear(rot, 0.5, 0.5)[0];
    const atZ = sampleBilinear(rot, 0.75, 0.5)[0];
    expect(atX).to.be.greaterThan(0.9);
    expect(atZ).to.be.lessThan(0.01);
  });

  it('non-integer rotation conserves total power; mixEnv resamples mismatched sizes', () => {
    const env = lobeMap(64, 32);
    expectRgbClose(totalPower(rotateEnv(env, 37.3)), totalPower(env), 1e-6);
    const m = mixEnv(createEnv(16, 8, [1, 1, 1]), createEnv(32, 16, [3, 3, 3]), 0.25);
    expect(m.width).to.equal(16);
    for (const v of m.data) expect(v).to.be.closeTo(0.25 + 0.75 * 3, 1e-6);
    const up = resizeEnv(createEnv(16, 8, [2, 2, 2]), 40, 20);
    for (const v of up.data) expect(v).to.be.closeTo(2, 1e-6);
  });
});

describe('reduceEnv (16x16 lighting encoding)', () => {
  it('reduces a constant map to that constant and conserves energy', () => {
    const env = createEnv(128, 64, [0.5, 1.25, 3]);
    const r = reduceEnv(env, 16, 16);
    expect(r.width).to.equal(16);
    expect(r.height).to.equal(16);
    for (let i = 0; i < r.data.length; i += 3) {
      expect(r.data[i]).to.be.closeTo(0.5, 1e-6);
      expect(r.data[i + 1]).to.be.closeTo(1.25, 1e-6);
      expect(r.data[i + 2]).to.be.closeTo(3, 1e-6);
    }
    expectRgbClose(totalPower(r), totalPower(env), 1e-6);
    expectRgbClose(meanRadiance(r), [0.5, 1.25, 3], 1e-6);
    const flat = flattenEncoding(r);
    expect(flat.length).to.equal(16 * 16 * 3);
  });

  it('conserves energy for a lobe map: 16x16, 32x16 and non-integer ratios', () => {
    const env = lobeMap(256, 128);
    const full = totalPower(env);
    for (const [w, h] of [
      [16, 16],
      [32, 16],
      [24, 10],
      [17, 13],
    ] as const) {
      const r = reduceEnv(env, w, h);
      expectRgbClose(totalPower(r), full, 1e-5, `${w}x${h}`);
    }
    // non-integer ratio from a non-power-of-two source too
    const env2 = lobeMap(100, 50);
    expectRgbClose(totalPower(reduceEnv(env2, 16, 16)), totalPower(env2), 1e-5, '100x50->16x16');
  });

  it('the solid-angle-weighted average differs from a plain pixel average near the poles', () => {
    // Only the top source row (smallest solid angle) is bright: the weighted cell value
    // must be below the plain mean of the block's rows.
    const env = createEnv(32, 32);
    for (let x = 0; x < 32; x++) env.data[x * 3] = 1;
    const r = reduceEnv(env, 16, 16);
    const w0 = pixelSolidAngle(0, 32, 32);
    const w1 = pixelSolidAngle(1, 32, 32);
    expect(r.data[0]).to.be.closeTo(w0 / (w0 + w1), 1e-6);
    expect(r.data[0]).to.be.lessThan(0.5);
  });

  it('rotating a 64x32 map by 90 degrees rolls its 16x16 encoding by exactly 4 columns (toward smaller u)', () => {
    const env = lobeMap(64, 32);
    const a = reduceEnv(env, 16, 16);
    const b = reduceEnv(rotateEnv(env, 90), 16, 16);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        for (let c = 0; c < 3; c++) {
          const got = b.data[(y * 16 + x) * 3 + c];
          const want = a.data[(y * 16 + ((x + 4) % 16)) * 3 + c];
          expect(got).to.equal(want);
        }
      }
    }
  });
});

describe('SH9', () => {
  it('constant map projects to c0 = sqrt(4pi)*L only', () => {
    const L: RGB = [0.7, 1.3, 2.0];
    const c = projectEnvSH9(createEnv(64, 32, L));
    for (let ch = 0; ch < 3; ch++) expect(c[ch]).to.be.closeTo(Math.sqrt(4 * Math.PI) * L[ch], 2e-5);
    for (let k = 3; k < 27; k++) expect(Math.abs(c[k])).to.be.lessThan(1e-5);
    // irradiance of a uniform environment is pi*L for every normal
    expectRgbClose(irradianceSH9(c, 0, 0, 1), [Math.PI * L[0], Math.PI * L[1], Math.PI * L[2]], 1e-4);
  });

  it('clamped cosine lobe max(0, d.n) matches the analytic coefficients', () => {
    const zonal = [Math.sqrt(Math.PI) / 2, Math.sqrt(Math.PI / 3), Math.sqrt(5 * Math.PI) / 8];
    const band = [0, 1, 1, 1, 2, 2, 2, 2, 2];
    const normals: [number, number, number][] = [[0, 1, 0], [0, 0, 1], norm([0.3, -0.5, 0.8])];
    for (const n of normals) {
      const env = envFromFunction(512, 256, (x, y, z) => Math.max(0, x * n[0] + y * n[1] + z * n[2]));
      const c = projectEnvSH9(env);
      const Y = shBasis(...n);
      for (let k = 0; k < 9; k++) {
        const l = band[k];
        const want = zonal[l] * Math.sqrt((4 * Math.PI) / (2 * l + 1)) * Y[k];
        expect(c[k * 3], `n=${n} k=${k}`).to.be.closeTo(want, 1e-3);
      }
    }
    // for n = +Y explicitly: c0 = sqrt(pi)/2, c(Y1-1 = y) = sqrt(pi/3)
    const cy = projectEnvSH9(envFromFunction(512, 256, (_x, y) => Math.max(0, y)));
    expect(cy[0]).to.be.closeTo(Math.sqrt(Math.PI) / 2, 1e-3);
    expect(cy[3]).to.be.closeTo(Math.sqrt(Math.PI / 3), 1e-3);
  });

  it('evalSH9 reconstructs a band-limited map', () => {
    const f = (x: number, y: number, z: number): number => 1 + 0.5 * x - 0.3 * y + 0.2 * z + 0.4 * x * y - 0.3 * (3 * z * z - 1) + 0.25 * (x * x - y * y);
    const c = projectEnvSH9(envFromFunction(256, 128, f));
    const rng = new Rng(3);
    for (let i = 0; i < 20; i++) {
      const d = rng.unitVector();
      expect(evalSH9(c, ...d)[1]).to.be.closeTo(f(...d), 2e-3);
    }
  });

  it('SH9 irradiance matches brute-force integration for 20 random normals', () => {
    // Tolerances: band-limited (order <= 2) map: SH9 irradiance is exact up to
    // discretisation (< 2e-3 relative). Smooth map (wide lobes): < 3% relative.
    const low = envFromFunction(256, 128, (x, y, z) => [
      1 + 0.5 * x + 0.3 * y * z,
      1 - 0.4 * z + 0.2 * (x * x - y * y),
      1.2 + 0.6 * y + 0.3 * x * z,
    ]);
    const smooth = envFromFunction(256, 128, (x, y, z) => {
      const a = Math.exp(2 * (0.6 * x + 0.8 * y - 1));
      const b = Math.exp(1.5 * (-z - 1));
      return [0.3 + 2 * a + b, 0.3 + 1.5 * a + 0.5 * b, 0.4 + a + 0.2 * b];
    });
    const cLow = projectEnvSH9(low);
    const cSmooth = projectEnvSH9(smooth);
    const rng = new Rng(11);
    let worstLow = 0;
    let worstSmooth = 0;
    for (let i = 0; i < 20; i++) {
      const n = rng.unitVector();
      const bl = bruteIrradiance(low, n);
      const bs = bruteIrradiance(smooth, n);
      const sl = irradianceSH9(cLow, ...n);
      const ss = irradianceSH9(cSmooth, ...n);
      for (let ch = 0; ch < 3; ch++) {
        worstLow = Math.max(worstLow, relErr(sl[ch], bl[ch]));
        worstSmooth = Math.max(worstSmooth, relErr(ss[ch], bs[ch]));
      }
    }
    expect(worstLow).to.be.lessThan(2e-3);
    expect(worstSmooth).to.be.lessThan(0.03);
  });

  it('rotateSH9Y is consistent with rotateEnv', () => {
    const env = lobeMap(64, 32, 8);
    const c = projectEnvSH9(env);
    const scale = Math.abs(c[0]);
    for (const deg of [90, -45, 180, 33.75]) {
      // 33.75 deg = 6 pixels of 64: still an integer shift, so exact
      const a = projectEnvSH9(rotateEnv(env, deg));
      const b = rotateSH9Y(c, deg);
      for (let k = 0; k < 27; k++) expect(Math.abs(a[k] - b[k]), `deg=${deg} k=${k}`).to.be.lessThan(1e-5 * scale);
    }
    // non-integer shift on a smooth high-res map: interpolation error only
    const smooth = lobeMap(256, 128, 4);
    const cs = projectEnvSH9(smooth);
    const a = projectEnvSH9(rotateEnv(smooth, 17.3));
    const b = rotateSH9Y(cs, 17.3);
    for (let k = 0; k < 27; k++) expect(Math.abs(a[k] - b[k])).to.be.lessThan(2e-3 * Math.abs(cs[0]));
    // band-0 invariant and the +Z lobe's band-1 vector moves to +X
    const lobe = projectEnvSH9(envFromFunction(64, 32, (_x, _y, z) => Math.max(0, z)));
    const r = rotateSH9Y(lobe, 90);
    expect(r[3 * 3]).to.be.closeTo(lobe[2 * 3], 1e-5); // x-coefficient <- old z-coefficient
    expect(r[2 * 3]).to.be.closeTo(0, 1e-5);
    expect(SH_K0).to.be.closeTo(0.5 / Math.sqrt(Math.PI), 1e-6);
  });
});

describe('Rng', () => {
  it('Beta(0.5,0.5) passes a KS test against the arcsine law on 10,000 draws', () => {
    const n = 10000;
    const rng = new Rng(12345);
    const xs = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      xs[i] = rng.beta(0.5, 0.5);
      expect(xs[i]).to.be.within(0, 1);
      sum += xs[i];
    }
    xs.sort();
    let D = 0;
    for (let i = 0; i < n; i++) {
      const F = (2 / Math.PI) * Math.asin(Math.sqrt(xs[i]));
      D = Math.max(D, (i + 1) / n - F, F - i / n);
    }
    expect(D).to.be.lessThan(1.36 / Math.sqrt(n));
    const mean = sum / n;
    let v = 0;
    for (const x of xs) v += (x - mean) * (x - mean);
    v /= n - 1;
    expect(mean).to.be.closeTo(0.5, 0.01); // sd of the mean ~ 0.0035
    expect(v).to.be.closeTo(1 / 8, 0.005);
  });

  it('is deterministic per seed and streams are independent', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    const c = new Rng(2);
    const sa = Array.from({ length: 8 }, () => a.next());
    expect(Array.from({ length: 8 }, () => b.next())).to.deep.equal(sa);
    expect(Array.from({ length: 8 }, () => c.next())).to.not.deep.equal(sa);
    expect(Rng.forSample(5, 10, 'light').next()).to.equal(Rng.forSample(5, 10, 'light').next());
    expect(Rng.forSample(5, 10, 'light').next()).to.not.equal(Rng.forSample(5, 11, 'light').next());
    expect(Rng.forSample(5, 10, 'light').next()).to.not.equal(Rng.forSample(5, 10, 'pose').next());
    const p = new Rng(9);
    expect(p.fork('x').next()).to.not.equal(p.fork('x').next());
    for (let i = 0; i < 1000; i++) {
      const k = a.int(2, 4);
      expect(k).to.be.oneOf([2, 3, 4]);
      expect(Math.hypot(...a.unitVector())).to.be.closeTo(1, 1e-12);
    }
  });
});

describe('lighting sampling (eq. 9)', () => {
  const mapIds = ['studio', 'sunset', 'forest', 'night'];
  const opts = {
    G: { intensityRange: [0.5, 1.5] as [number, number] },
    H: { headRadius: 0.1, intensityRange: [0.2, 1.0] as [number, number] },
  };

  it('same seed gives the same triplet; different seed differs; eq. 9 structure', () => {
    const t1 = sampleLightingTriplet(Rng.forSample(42, 7, 'lighting'), mapIds, opts);
    const t2 = sampleLightingTriplet(Rng.forSample(42, 7, 'lighting'), mapIds, opts);
    const t3 = sampleLightingTriplet(Rng.forSample(43, 7, 'lighting'), mapIds, opts);
    expect(t1).to.deep.equal(t2);
    expect(t1).to.not.deep.equal(t3);
    const { b1, b2, X_i, X_j, X_k, Y } = t1.draws;
    expect(t1.Li.environment).to.deep.equal([X_i]);
    expect(t1.Li.pointLights).to.have.length(0);
    expect(t1.Lj.environment).to.deep.equal([
      { ...X_i, weight: b1 },
      { ...X_j, weight: 1 - b1 },
    ]);
    expect(t1.Lk.environment).to.deep.equal([
      { ...X_i, weight: b2 * b1 },
      { ...X_j, weight: b2 * (1 - b1) },
      { ...X_k, weight: 1 - b2 },
    ]);
    // the three X draws come from independent streams
    expect(new Set([X_i.rotationDeg, X_j.rotationDeg, X_k.rotationDeg]).size).to.equal(3);
    expect(b1).to.not.equal(b2);
    expect(t1.Lk.pointLights.map((p) => p.intensity)).to.deep.equal(Y.map((p) => p.intensity));
  });

  it('point lights lie outside the unit head sphere and within 1.5 of it; counts 1..3', () => {
    const rng = new Rng(99);
    const counts = new Set<number>();
    const R = 0.11;
    const C: [number, number, number] = [0, 1.6, 0];
    for (let i = 0; i < 1000; i++) {
      const lights = samplePointLightsH(rng, { headRadius: R, headCentre: C, intensityRange: [1, 2] });
      counts.add(lights.length);
      expect(lights.length).to.be.within(1, 3);
      for (const l of lights) {
        const rn = Math.hypot(...l.normalized!.position);
        expect(rn).to.be.greaterThan(1);
        expect(rn - 1).to.be.at.most(1.5 + 1e-12);
        expect(l.normalized!.distance).to.be.closeTo(rn, 1e-12);
        const rm = Math.hypot(l.position[0] - C[0], l.position[1] - C[1], l.position[2] - C[2]);
        expect(rm / R).to.be.closeTo(rn, 1e-9);
        expect(l.intensity).to.be.closeTo(l.normalized!.intensity * R * R, 1e-12);
        for (const c of l.color) expect(c).to.be.within(0, 1);
      }
    }
    expect([...counts].sort()).to.deep.equal([1, 2, 3]);
  });

  it('mixLighting is linear: env(mix(a,b,t)) == mixEnv(env(a), env(b), t)', () => {
    const maps: Record<string, EnvImage> = {
      studio: lobeMap(64, 32),
      sunset: envFromFunction(64, 32, (x, y) => [1 + x, 0.5 + 0.5 * y, 0.2]),
      forest: createEnv(64, 32, [0.1, 0.4, 0.1]),
      night: lobeMap(64, 32, 5),
    };
    const load = (id: string): EnvImage => maps[id];
    const ta = sampleLightingTriplet(new Rng(1), mapIds, opts);
    const tb = sampleLightingTriplet(new Rng(2), mapIds, opts);
    const a: Lighting = ta.Lk;
    const b: Lighting = tb.Lk;
    const t = 0.37;
    const W = 32;
    const H = 16;
    const lhs = lightingToEnv(mixLighting(a, b, t), load, W, H, 0.1);
    const rhs = mixEnv(lightingToEnv(a, load, W, H, 0.1), lightingToEnv(b, load, W, H, 0.1), t);
    let maxAbs = 0;
    for (const v of rhs.data) maxAbs = Math.max(maxAbs, Math.abs(v));
    for (let i = 0; i < lhs.data.length; i++) expect(Math.abs(lhs.data[i] - rhs.data[i])).to.be.lessThan(1e-5 * maxAbs);
    const s = lightingToEnv(scaleLighting(a, 2.5), load, W, H, 0.1);
    const a1 = lightingToEnv(a, load, W, H, 0.1);
    for (let i = 0; i < s.data.length; i++) expect(s.data[i]).to.be.closeTo(2.5 * a1.data[i], 1e-5 * maxAbs);
  });

  it('projectPointLightsToEnv conserves the irradiance-equivalent power of each light', () => {
    const rng = new Rng(5);
    const R = 0.1;
    const C: [number, number, number] = [0.02, 1.5, -0.01];
    for (let trial = 0; trial < 50; trial++) {
      const lights = samplePointLightsH(rng, { headRadius: R, headCentre: C, intensityRange: [0.5, 2] });
      const want: RGB = [0, 0, 0];
      for (const l of lights) {
        const r2 = (l.position[0] - C[0]) ** 2 + (l.position[1] - C[1]) ** 2 + (l.position[2] - C[2]) ** 2;
        for (let c = 0; c < 3; c++) want[c] += (l.intensity * l.color[c]) / r2;
        // normalised form gives the same irradiance
        expect(l.normalized!.intensity / l.normalized!.distance ** 2).to.be.closeTo(l.intensity / r2, 1e-9);
      }
      for (const [w, h] of [[16, 16], [64, 32]] as const) {
        const env = projectPointLightsToEnv(lights, w, h, C, R);
        expectRgbClose(totalPower(env), want, 1e-5, `${w}x${h}`);
      }
    }
    // single light: the map's irradiance at the head centre, facing the light,
    // approaches I/r^2 as the map resolution increases.
    const light = { position: [0.15, 1.62, 0.2] as [number, number, number], color: [1, 1, 1] as RGB, intensity: 0.01 };
    const v = norm([light.position[0] - C[0], light.position[1] - C[1], light.position[2] - C[2]]);
    const r2 = (light.position[0] - C[0]) ** 2 + (light.position[1] - C[1]) ** 2 + (light.position[2] - C[2]) ** 2;
    const E = light.intensity / r2;
    const hi = projectPointLightsToEnv([light], 256, 128, C, R);
    expect(relErr(bruteIrradiance(hi, v)[0], E)).to.be.lessThan(1e-3);
    const lo = projectPointLightsToEnv([light], 16, 16, C, R);
    expect(relErr(bruteIrradiance(lo, v)[0], E)).to.be.lessThan(0.02); // measured ~0.8%
    // and a normal at 60 degrees from the light gets ~E*cos(60)
    const perp = norm([v[1], -v[0], 0]);
    const n60 = norm([0.5 * v[0] + (Math.sqrt(3) / 2) * perp[0], 0.5 * v[1] + (Math.sqrt(3) / 2) * perp[1], 0.5 * v[2] + (Math.sqrt(3) / 2) * perp[2]]);
    expect(relErr(bruteIrradiance(hi, n60)[0], 0.5 * E)).to.be.lessThan(5e-3);
  });
});

describe('environment background (renderBackground)', () => {
  it('equals per-pixel ray lookups of the rotated, weighted layers (u-shift fast path)', async () => {
    const { renderBackground, loadEnvMap } = await import('../renderer/assets/environment.js');
    const { resolveCamera, pixelRay } = await import('../renderer/core/camera.js');
    const cam = resolveCamera({ yawDeg: 23, pitchDeg: -8, rollDeg: 4, distance: 0.7, fovYDeg: 40, target: [0, 0.02, 0], width: 48, height: 40 });
    const layers = [
      { map: 'builtin:studio', rotationDeg: 259.2, intensity: 1.3, weight: 0.8 },
      { map: 'builtin:city', rotationDeg: -731.5, intensity: 0.9, weight: 0.2 },
      { map: 'builtin:city', rotationDeg: 10, intensity: 1, weight: 0 },
    ];
    const got = await renderBackground(layers, cam);
    const maps = await Promise.all(layers.map((l) => loadEnvMap(l.map)));
    let worst = 0;
    for (let y = 0; y < cam.height; y++) {
      for (let x = 0; x < cam.width; x++) {
        const d = pixelRay(cam, x, y);
        const ref = [0, 0, 0];
        for (const [i, l] of layers.entries()) {
          // Rotating the environment by a about +Y: L'(d) = L(R(-a) d).
          const a = (-l.rotationDeg * Math.PI) / 180;
          const [u, v] = uvFromDir(d[0] * Math.cos(a) + d[2] * Math.sin(a), d[1], -d[0] * Math.sin(a) + d[2] * Math.cos(a));
          const c = sampleBilinear(maps[i], u, v);
          for (let k = 0; k < 3; k++) ref[k] += c[k] * l.intensity * l.weight;
        }
        for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(got[(y * cam.width + x) * 3 + k] - ref[k]) / Math.max(1e-3, ref[k]));
      }
    }
    expect(worst).to.be.lessThan(1e-4);
  });
});
