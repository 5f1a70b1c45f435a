// Procedural head textures: albedo (sRGB), tangent-space normal map (OpenGL convention),
// specular and roughness, synthesised per texel from the mesh's parametrisation.
//
// The mannequin (plain 'procedural') keeps its hand-tuned albedo. A drawn person's albedo is the
// pigment model every drawn head shares (renderer/assets/skin-model.ts: melanin from the tone,
// pheomelanin, haemoglobin redder on the cheeks, nose, ears and lips), with the ICT skin's region
// weights, brows of the drawn darkness and density, freckles and an oilier T-zone; its regions
// follow the drawn shape (layout.ts) and its noise the skin's noise seed.

import { linearToSrgb8 } from '../../core/color.js';
import { DETAILS, resolveOptions, type ProceduralHeadOptions } from './options.js';
import { clamp01, smoothstep, lerp, gauss2, segDist2, noise3, fbm3 } from './noise.js';
import { FACE_DY, NEUTRAL_SHAPE, type HeadShape } from './shape.js';
import { AZ_WARP, azimuthForU, type ProceduralHeadMesh } from './mesh.js';
import { proceduralLabel } from './labels.js';
import { browCentreY, browHalfThickness, lashLineY, lipCornerFade, lowerLipY, mouthLineY, upperLipY } from './layout.js';
import { melaninOf, pigmentAlbedo } from '../skin-model.js';
import type { IctSkinParams } from '../ict/params.js';

export interface ProceduralHeadTextures {
  size: number;
  /** sRGB 8-bit RGB. */
  albedo: Uint8Array;
  /** Tangent-space normal, 8-bit RGB. */
  normal: Uint8Array;
  /** 8-bit grey. */
  specular: Uint8Array;
  /** 8-bit grey. */
  roughness: Uint8Array;
  /** 8-bit label ids (core/labels.ts), same layout (labels.ts). */
  labels: Uint8Array;
  /** Drawn skins: the mean linear albedo of the cheeks (texels with the cheek weight above 0.8), the ITA reference patch. */
  cheek?: number[];
}

/** Region masks on the face, from a modelling-frame surface point and its normal. */
interface Regions {
  front: number;
  cheeks: number;
  nose: number;
  lips: number;
  brows: number;
  lids: number;
  lashLine: number;
  mouthLine: number;
  tzone: number;
  ears: number;
  scalp: number;
  neck: number;
}

function regions(x: number, yModel: number, z: number, nz: number, s: HeadShape, ns: number): Regions {
  const ax = Math.abs(x);
  const y = yModel + FACE_DY;
  const p = s.p;
  const e = p.eyeSpacing;
  // The face: by position (so steep parts like the lower lip keep their colour),
  // and not on the ears or the sides of the head.
  const front = smoothstep(0.035, 0.06, z) * (0.4 + 0.6 * smoothstep(-0.2, 0.3, nz));
  const cheeks = front * gauss2(ax, y, 0.042 * p.headWidth, -0.012, 0.02, 0.018);
  const nose = front * gauss2(x, y, 0, 0.002 - p.noseLength, 0.012 * p.noseWidth, 0.016);
  // Lips (vermilion): between the upper-lip border (with a cupid's bow) and the
  // lower-lip border, around the mouth line; soft edges.
  let lips = 0;
  let mouthLine = 0;
  {
    const ym = mouthLineY(ax, s);
    const yu = upperLipY(ax, s);
    const yl = lowerLipY(ax, s);
    const edge = 0.0009;
    const inside = smoothstep(-edge, edge, yu - y) * smoothstep(-edge, edge, y - yl);
    lips = front * inside * lipCornerFade(ax, s);
    const dm = (y - ym) / 0.0006;
    mouthLine = front * Math.exp(-dm * dm) * (1 - smoothstep(0.02 * p.mouthWidth, 0.026 * p.mouthWidth, ax));
  }
  // Eyebrows: arcs above the sockets, thick at the head (toward the nose),
  // thinning to the tail; ragged edges.
  let brows = 0;
  {
    const by = browCentreY(ax, s);
    const thick = browHalfThickness(ax, s);
    const ragged = 1 + 0.25 * noise3(x * 900, y * 900, 1.7, 83 + ns);
    const dy = Math.abs(y - by) / (thick * ragged);
    brows = front * (1 - smoothstep(0.6, 1.15, dy)) * smoothstep(0.008 + e, 0.015 + e, ax) * (1 - smoothstep(0.05 + e, 0.059 + e, ax));
  }
  // Closed lids and the lash line along their lower edge (a gentle downward curve).
  const lids = front * gauss2(ax, y, 0.032 + e, 0.029, 0.015, 0.0085);
  let lashLine = 0;
  {
    const t = (ax - (0.0325 + e)) / 0.0135;
    const ly = lashLineY(ax, s);
    const along = 1 - smoothstep(0.8, 1.05, Math.abs(t));
    const dy = (y - ly) / 0.0007;
    lashLine = front * along * Math.exp(-dy * dy);
  }
  const tzone = front * Math.max(gauss2(x, y, 0, 0.075, 0.03, 0.022), gauss2(x, y, 0, 0.015, 0.011, 0.04), gauss2(x, y, 0, -0.074, 0.016, 0.012));
  const ears = smoothstep(0.064 * p.headWidth, 0.074 * p.headWidth, ax) * gauss2(0, yModel, 0, -0.01, 1, 0.035 * p.earSize) * (1 - smoothstep(-0.005, 0.02, z));
  const scalp = smoothstep(0.07, 0.095, yModel);
  const neck = 1 - smoothstep(-0.125, -0.105, yModel);
  return { front, cheeks, nose, lips, brows, lids, lashLine, mouthLine, tzone, ears, scalp, neck };
}

/** Fine height field (metres) for the normal map: pores, fine wrinkles, micro bumps. */
function skinHeight(x: number, yModel: number, z: number, r: Regions, poreFreq: number, poreGain: number, s: HeadShape, ns: number): number {
  const y = yModel + FACE_DY;
  const e = s.p.eyeSpacing;
  let h = 0;
  // Pores: small pits where the noise is high, denser/deeper on nose and cheeks.
  const poreAmp = 0.000026 * (1 + 0.8 * r.nose + 0.6 * r.cheeks) * (1 - 0.8 * r.lips) * poreGain;
  if (poreAmp > 0) {
    const n = noise3(x * poreFreq, y * poreFreq, z * poreFreq, 11 + ns);
    const pit = Math.max(0, n - 0.15);
    h -= poreAmp * pit * 4;
    h += poreAmp * 0.6 * noise3(x * poreFreq * 1.7, y * poreFreq * 1.7, z * poreFreq * 1.7, 23 + ns);
  }
  // Micro-relief (a few mm): gentle fbm.
  h += 0.00005 * fbm3(x, y, z, 180, 3, 37 + ns);
  const ax = Math.abs(x);
  // Forehead lines: horizontal waves, slightly wavy, fading toward the temples.
  {
    const m = r.front * smoothstep(0.057, 0.064, y) * (1 - smoothstep(0.082, 0.092, y)) * (1 - smoothstep(0.03, 0.05, ax));
    if (m > 0) {
      const warp = 0.0015 * noise3(x * 60, y * 60, 3.1, 41 + ns);
      h -= 0.00009 * m * Math.pow(0.5 + 0.5 * Math.cos((2 * Math.PI * (y + warp)) / 0.0075), 3);
    }
  }
  // Crow's feet: radial lines at the outer eye corners.
  {
    const cx = ax - (0.05 + e);
    const cy = y - 0.027;
    const rr = Math.hypot(cx, cy);
    const m = r.front * smoothstep(0.0, 0.004, cx) * (1 - smoothstep(0.006, 0.016, rr));
    if (m > 0) {
      const ang = Math.atan2(cy, cx);
      h -= 0.00006 * m * Math.pow(0.5 + 0.5 * Math.cos(ang * 14), 4);
    }
  }
  // Under-eye creases.
  {
    const u = segDist2(ax, y, 0.022 + e, 0.017, 0.045 + e, 0.02);
    const d = u.d / 0.0012;
    h -= 0.00006 * r.front * Math.sin(Math.PI * u.t) * Math.exp(-d * d);
  }
  // Lips: fine vertical lines.
  if (r.lips > 0) {
    const warp = 0.0006 * noise3(x * 300, y * 300, 7.7, 53 + ns);
    h -= 0.00004 * r.lips * Math.pow(0.5 + 0.5 * Math.cos((2 * Math.PI * (x + warp)) / 0.0016), 2);
  }
  // Neck rings.
  if (r.neck > 0) {
    const warp = 0.002 * noise3(x * 40, y * 40, z * 40, 61 + ns);
    h -= 0.00006 * r.neck * Math.pow(0.5 + 0.5 * Math.cos((2 * Math.PI * (y + warp)) / 0.013), 6) * smoothstep(0.0, 0.03, z + 0.02);
  }
  return h;
}

export function buildProceduralHeadTextures(mesh: ProceduralHeadMesh, opts?: ProceduralHeadOptions): ProceduralHeadTextures {
  const o = resolveOptions(opts);
  const S = DETAILS[o.detail].texSize;
  const shape = o.shape;
  const skin = o.params?.skin;
  // Noise seeds of the detail: the mannequin's own (offset 0), a drawn skin's from its noise seed.
  const ns = skin ? skin.noiseSeed % 100000 : 0;
  const cheekSum = [0, 0, 0];
  let cheekN = 0;
  const col = [0, 0, 0];
  const { nLon, nLat, gridModel: G, gridNormals: GN } = mesh;
  const cols = nLon + 1;
  const albedo = new Uint8Array(S * S * 3);
  const normal = new Uint8Array(S * S * 3);
  const specular = new Uint8Array(S * S);
  const roughness = new Uint8Array(S * S);
  const labels = new Uint8Array(S * S);
  const height = new Float64Array(S * S);
  const metric = new Float64Array(S * S * 4);

  // Pore scale: about 3 texels on the face (band-limited), but at least ~1 mm.
  const faceTexel = ((2 * Math.PI) / S) * (1 - AZ_WARP) * 0.09;
  const poreWave = Math.max(0.0009, 3.5 * faceTexel);
  const poreFreq = 1 / poreWave;

  const P = [0, 0, 0];
  const N = [0, 0, 0];
  const Du = [0, 0, 0];
  const Dv = [0, 0, 0];
  for (let py = 0; py < S; py++) {
    const gv = ((py + 0.5) / S) * nLat;
    const i0 = Math.min(nLat - 1, Math.floor(gv));
    const fy = gv - i0;
    for (let px = 0; px < S; px++) {
      const gu = ((px + 0.5) / S) * nLon;
      const j0 = Math.min(nLon - 1, Math.floor(gu));
      const fx = gu - j0;
      const a = (i0 * cols + j0) * 3;
      const b = a + 3;
      const c = a + cols * 3;
      const d = c + 3;
      for (let q = 0; q < 3; q++) {
        const top = G[a + q] + (G[b + q] - G[a + q]) * fx;
        const bot = G[c + q] + (G[d + q] - G[c + q]) * fx;
        P[q] = top + (bot - top) * fy;
        Du[q] = ((G[b + q] - G[a + q]) * (1 - fy) + (G[d + q] - G[c + q]) * fy) * nLon; // dP/du
        Dv[q] = (bot - top) * nLat; // dP/dv
        const nt = GN[a + q] + (GN[b + q] - GN[a + q]) * fx;
        const nb = GN[c + q] + (GN[d + q] - GN[c + q]) * fx;
        N[q] = nt + (nb - nt) * fy;
      }
      const nl = Math.hypot(N[0], N[1], N[2]) || 1;
      const nx = N[0] / nl;
      const ny = N[1] / nl;
      const nz = N[2] / nl;
      const [x, y, z] = P;
      const r = regions(x, y, z, nz, shape, ns);
      labels[py * S + px] = proceduralLabel(x, y, z, r, shape);
      const o3 = (py * S + px) * 3;
      if (skin) {
        drawnAlbedo(x, y, z, r, skin, ns, col);
        if (r.cheeks > 0.8) {
          for (let c = 0; c < 3; c++) cheekSum[c] += col[c];
          cheekN++;
        }
        albedo[o3] = linearToSrgb8(col[0]);
        albedo[o3 + 1] = linearToSrgb8(col[1]);
        albedo[o3 + 2] = linearToSrgb8(col[2]);
        // T-zone oiliness (ICT: 0.3 oil on the specular, -0.15 on the roughness).
        const sn = fbm3(x, y, z, 90, 2, 13 + ns);
        const oil = skin.oiliness;
        const spec = clamp01(0.42 + 0.36 * oil * r.tzone + 0.12 * r.nose + 0.1 * r.lips - 0.2 * r.brows - 0.08 * r.scalp + 0.04 * sn);
        const rough = Math.min(0.9, Math.max(0.2, 0.58 - 0.16 * oil * r.tzone - 0.15 * r.lips + 0.12 * r.brows + 0.04 * r.scalp + 0.03 * sn));
        specular[py * S + px] = Math.round(spec * 255);
        roughness[py * S + px] = Math.round(rough * 255);
      } else {
        // ---- The mannequin: albedo (linear, then sRGB) ----
        let cr = 0.55;
        let cg = 0.38;
        let cb = 0.3;
        // Low-frequency blotchiness (brightness and redness).
        const blot = fbm3(x, y, z, 18, 3, 3);
        const red = fbm3(x, y, z, 30, 2, 5);
        const bright = 1 + 0.05 * blot;
        cr *= bright * (1 + 0.03 * red);
        cg *= bright * (1 - 0.03 * red);
        cb *= bright * (1 - 0.02 * red);
        // Fine mottling / freckle-scale variation.
        const mott = fbm3(x, y, z, 260, 2, 7);
        cr *= 1 + 0.02 * mott;
        cg *= 1 + 0.025 * mott;
        cb *= 1 + 0.025 * mott;
        // Redder cheeks, nose and ears.
        const flush = clamp01(0.55 * r.cheeks + 0.5 * r.nose + 0.45 * r.ears);
        cr *= 1 + 0.04 * flush;
        cg *= 1 - 0.14 * flush;
        cb *= 1 - 0.1 * flush;
        // Scalp slightly duller (shaved), neck slightly lighter and less red.
        cr *= 1 - 0.04 * r.scalp;
        cg *= 1 - 0.02 * r.scalp;
        cb *= 1 - 0.01 * r.scalp;
        cg *= 1 + 0.03 * r.neck;
        cb *= 1 + 0.03 * r.neck;
        // Closed lids slightly darker and a bit violet; a soft lash line.
        cr *= 1 - 0.1 * r.lids;
        cg *= 1 - 0.15 * r.lids;
        cb *= 1 - 0.08 * r.lids;
        const lash = clamp01(r.lashLine);
        cr = lerp(cr, 0.07, 0.5 * lash);
        cg = lerp(cg, 0.05, 0.5 * lash);
        cb = lerp(cb, 0.045, 0.5 * lash);
        // Eyebrows: dark brown, hair-streaked.
        if (r.brows > 0) {
          const hair = 0.5 + 0.5 * noise3(x * 350 + y * 120, y * 2200 - x * 700, z * 350, 71);
          const m = r.brows * (0.55 + 0.45 * hair);
          cr = lerp(cr, 0.1, 0.75 * m);
          cg = lerp(cg, 0.065, 0.75 * m);
          cb = lerp(cb, 0.05, 0.75 * m);
        }
        // Lips: darker red.
        if (r.lips > 0) {
          const m = r.lips;
          cr = lerp(cr, 0.4, 0.85 * m);
          cg = lerp(cg, 0.165, 0.85 * m);
          cb = lerp(cb, 0.15, 0.85 * m);
        }
        // The line between the lips.
        const ml = 0.55 * r.mouthLine;
        cr *= 1 - 0.6 * ml;
        cg *= 1 - 0.65 * ml;
        cb *= 1 - 0.6 * ml;
        albedo[o3] = linearToSrgb8(cr);
        albedo[o3 + 1] = linearToSrgb8(cg);
        albedo[o3 + 2] = linearToSrgb8(cb);

        // ---- Specular intensity and roughness (linear 8-bit) ----
        const sn = fbm3(x, y, z, 90, 2, 13);
        let spec = 0.42 + 0.28 * r.tzone + 0.12 * r.nose + 0.1 * r.lips - 0.2 * r.brows - 0.08 * r.scalp + 0.04 * sn;
        spec = clamp01(spec);
        let rough = 0.56 - 0.08 * r.tzone - 0.15 * r.lips + 0.12 * r.brows + 0.04 * r.scalp + 0.03 * sn;
        rough = Math.min(0.9, Math.max(0.2, rough));
        specular[py * S + px] = Math.round(spec * 255);
        roughness[py * S + px] = Math.round(rough * 255);
      }

      // ---- Fine height field and the tangent frame for the normal map ----
      // T along increasing u, B toward the crown (decreasing glTF v), both
      // orthonormal to N. Store the height and the 2x2 metric in that frame.
      let tx = Du[0];
      let ty = Du[1];
      let tz = Du[2];
      let td = tx * nx + ty * ny + tz * nz;
      tx -= td * nx;
      ty -= td * ny;
      tz -= td * nz;
      let tl = Math.hypot(tx, ty, tz);
      if (tl < 1e-9) {
        // Degenerate (pole): use the azimuthal direction.
        const az = azimuthForU((px + 0.5) / S);
        tx = Math.cos(az);
        ty = 0;
        tz = -Math.sin(az);
        td = tx * nx + tz * nz;
        tx -= td * nx;
        ty -= td * ny;
        tz -= td * nz;
        tl = Math.hypot(tx, ty, tz) || 1;
      }
      tx /= tl;
      ty /= tl;
      tz /= tl;
      // B = N x T (right-handed; points toward decreasing v for this parametrisation).
      const bx = ny * tz - nz * ty;
      const by = nz * tx - nx * tz;
      const bz = nx * ty - ny * tx;
      const m = (py * S + px) * 4;
      metric[m] = Du[0] * tx + Du[1] * ty + Du[2] * tz; // T.Du
      metric[m + 1] = Dv[0] * tx + Dv[1] * ty + Dv[2] * tz; // T.Dv
      metric[m + 2] = Dv[0] * bx + Dv[1] * by + Dv[2] * bz; // B.Dv (negative)
      // Texel footprint (metres) to band-limit the pores.
      const lu = Math.hypot(Du[0], Du[1], Du[2]) / S;
      const lv = Math.hypot(Dv[0], Dv[1], Dv[2]) / S;
      const footprint = Math.max(lu, lv, 1e-6);
      const poreGain = 1 - smoothstep(poreWave / 3, poreWave / 2, footprint);
      height[py * S + px] = skinHeight(x, y, z, r, poreFreq, poreGain, shape, ns);
    }
  }

  // ---- Normal map: finite differences of the height field in texture space ----
  // dh/du, dh/dv by central differences (u wraps at the seam, v is one-sided at
  // the poles), then the tangential gradient g = gT T + gB B solves
  // g.Du = dh/du, g.Dv = dh/dv (B.Du = 0 by construction of T).
  for (let py = 0; py < S; py++) {
    const yUp = Math.max(0, py - 1);
    const yDn = Math.min(S - 1, py + 1);
    const dvStep = (yDn - yUp) / S;
    for (let px = 0; px < S; px++) {
      const xL = px === 0 ? S - 1 : px - 1;
      const xR = px === S - 1 ? 0 : px + 1;
      const dhdu = (height[py * S + xR] - height[py * S + xL]) / (2 / S);
      const dhdv = (height[yDn * S + px] - height[yUp * S + px]) / dvStep;
      const m = (py * S + px) * 4;
      const tDu = metric[m];
      const tDv = metric[m + 1];
      const bDv = metric[m + 2];
      const gT = Math.abs(tDu) > 1e-6 ? dhdu / tDu : 0;
      const gB = Math.abs(bDv) > 1e-6 ? (dhdv - gT * tDv) / bDv : 0;
      const nl = Math.sqrt(gT * gT + gB * gB + 1);
      const o3 = (py * S + px) * 3;
      normal[o3] = Math.round((0.5 - (0.5 * gT) / nl) * 255);
      normal[o3 + 1] = Math.round((0.5 - (0.5 * gB) / nl) * 255);
      normal[o3 + 2] = Math.round((0.5 + 0.5 / nl) * 255);
    }
  }
  return { size: S, albedo, normal, specular, roughness, labels, ...(skin ? { cheek: cheekSum.map((v) => v / Math.max(cheekN, 1)) } : {}) };
}

/**
 * Linear albedo of a drawn skin at a surface point (modelling frame) with its regions: the
 * pigment model with the ICT skin's weights (renderer/assets/ict/skin.ts buildIctSkinTextures:
 * melanin mottled, a little more around the eyes and on the scalp, less in the lips; haemoglobin
 * on the cheeks, nose, ears and lips; freckles between the nose and the forehead), then the
 * closed lids' lash line, the brows' hair and the line between the lips.
 */
function drawnAlbedo(x: number, yModel: number, z: number, r: Regions, skin: IctSkinParams, ns: number, col: number[]): void {
  const y = yModel + FACE_DY;
  // The ICT model works in cm: its noise frequencies per cm are 100x these per metre.
  const mott = noise3(x * 90, y * 90, z * 90, ns) * 0.6 + noise3(x * 310, y * 310, z * 310, ns + 7) * 0.4;
  const blot = fbm3(x, y, z, 18, 3, 3 + ns);
  const M0 = melaninOf(skin.tone);
  let M = M0 * (1 + 0.08 * mott + 0.04 * blot + 0.12 * r.lids - 0.35 * r.lips + 0.05 * r.scalp);
  const Hb = skin.haemoglobin * (0.45 + 0.55 * r.cheeks + 0.35 * r.nose + 0.45 * r.ears + 1.4 * r.lips + 0.1 * mott - 0.1 * r.neck);
  if (skin.freckles > 0) {
    const fz = r.front * smoothstep(-0.01, 0.02, y) * (1 - smoothstep(0.06, 0.09, y));
    const f = noise3(x * 700, y * 700, z * 700, ns + 31) + 0.5 * noise3(x * 1300, y * 1300, z * 1300, ns + 37);
    M += fz * skin.freckles * (0.6 + 1.2 * M0) * smoothstep(0.28, 0.5, f);
  }
  pigmentAlbedo(M, skin.pheomelanin, Hb, col);
  // The lash line of the closed lids: lash roots, as dark as the lashes.
  const lash = clamp01(r.lashLine);
  if (lash > 0) {
    const dk = skin.lashDarkness;
    const lc = [lerp(0.06, 0.012, dk), lerp(0.035, 0.01, dk), lerp(0.02, 0.008, dk)];
    for (let c = 0; c < 3; c++) col[c] = lerp(col[c], lc[c], 0.6 * lash);
  }
  // Eyebrows: hair over skin, strand noise along the brow (the ICT skin's hair colour and density).
  if (r.brows > 0) {
    const hair = 0.5 + 0.5 * noise3(x * 350 + y * 120, y * 2200 - x * 700, z * 350, 71 + ns);
    const m = Math.min(1, r.brows * (0.55 + 0.45 * skin.browDensity) * (0.5 + 0.7 * hair));
    const dk = skin.browDarkness;
    const hc = [lerp(0.09, 0.012, dk), lerp(0.05, 0.009, dk), lerp(0.025, 0.007, dk)];
    for (let c = 0; c < 3; c++) col[c] = lerp(col[c], hc[c], 0.95 * m);
  }
  // The line between the lips.
  const ml = 0.55 * r.mouthLine;
  col[0] *= 1 - 0.6 * ml;
  col[1] *= 1 - 0.65 * ml;
  col[2] *= 1 - 0.6 * ml;
}
