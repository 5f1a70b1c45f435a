// npx tsx scripts/make-scan-labels.ts [--size 1024] [--debug DIR] [--check]
//
// The Lee Perry-Smith scan's semantic parsing label map and its 68 Multi-PIE landmarks, made
// from the scan itself (../shared/assets/heads/lee_perry_smith, or the fetch-assets cache):
// writes assets/heads/lee_perry_smith/labels.png (8-bit label ids, core/labels.ts, in the UV
// layout of Map-COL.jpg) and puts `labels` and `landmarks` (GLB units, before scaleToMetres)
// into its head.json, keeping every other field (the CC BY 3.0 attribution included).
//
// How:
//  - a frontal view of the mesh (orthographic along -Z, 0.01 units = 0.4 mm a pixel: depth,
//    normal, and the albedo at each pixel's UV) finds the features: the nose tip (the most
//    forward point), the closed eyes' lash lines (the darkest thin line in each eye's window:
//    corners where it fades), the brows (the dark hair), the lips (their colour: corners,
//    upper and lower borders) and the mouth line (the crease inside them, a depth minimum),
//    the subnasale and the alar creases (the sharpest bends of the midline's and a row's depth
//    profiles), the jaw (the face's frontal contour: where the surface turns away or steps
//    back over the neck). Each landmark is its (x, y) cast onto the mesh, so it lies on the
//    surface; the rest follow the 300-W mean shape's proportions (lid points at thirds of the
//    lash line, lip points at fractions of the mouth's half-width, nostril points between the
//    alar creases and the subnasale);
//  - a position map (every texel of the UV layout tied to a point of the surface by rasterising
//    the triangles in UV space; v = 0 at the image's bottom, uvOrigin 'bottom-left') labels the
//    texels: lips and brows by the same colour masks in UV space (so the label follows the
//    paint), the nose inside a polygon through the nose landmarks, the ears where the surface
//    stands off the skull's side (a quadratic fitted round each ear), the neck below the jaw
//    landmarks (and the shoulders and chest: the table has no torso class), skin elsewhere; the
//    closed eyes are lids (skin), the stubble is skin.
//
// --debug DIR writes pictures to check it by eye (frontal albedo with landmarks and label
// colours, the UV label map over the albedo). --check recomputes and compares with the
// committed files instead of writing them (exit 1 when they differ).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Command } from 'commander';
import { parseGlb, readAccessor } from '../renderer/io/gltf-write.js';
import { resolveAssetPath, SHARED_ASSETS, ASSET_CACHE } from '../renderer/io/asset-roots.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { HeadDescriptorSchema } from '../renderer/assets/head.js';
import { labelId, SEGMENTATION_LABELS } from '../renderer/core/labels.js';
import { castFront, faceContour, frontalDepthMap, type FrontalMap, type Vec3 } from '../renderer/assets/procedural-head/landmarks.js';
import { convexHull, pointInPolygon, polyline, solve } from '../renderer/core/plane.js';

const HEAD_DIR = path.join(PROJECT_ROOT, 'assets', 'heads', 'lee_perry_smith');

const program = new Command()
  .name('make-scan-labels')
  .description('Label map (labels.png) and 68 landmarks (head.json) of the Lee Perry-Smith scan, from its mesh and albedo.')
  .option('--size <px>', 'label map size (square)', '1024')
  .option('--debug <dir>', 'write check pictures into this folder')
  .option('--check', 'compare with the committed labels.png / landmarks instead of writing', false)
  .showHelpAfterError();

const ID = {
  skin: labelId('skin'),
  nose: labelId('nose'),
  leftBrow: labelId('left_brow'),
  rightBrow: labelId('right_brow'),
  leftEar: labelId('left_ear'),
  rightEar: labelId('right_ear'),
  upperLip: labelId('upper_lip'),
  lowerLip: labelId('lower_lip'),
  neck: labelId('neck'),
};

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

interface Scan {
  P: Float32Array;
  N: Float32Array;
  UV: Float32Array;
  I: Uint16Array | Uint32Array;
  /** Albedo (sRGB 8-bit RGB), row 0 = top of the image. */
  col: { data: Buffer; W: number; H: number };
}

function fail(msg: string): never {
  console.error(`make-scan-labels: ${msg}`);
  process.exit(1);
}

async function loadScan(): Promise<{ scan: Scan; descriptor: Record<string, unknown> }> {
  const descPath = path.join(HEAD_DIR, 'head.json');
  const descriptor = JSON.parse(fs.readFileSync(descPath, 'utf8')) as Record<string, unknown>;
  const d = HeadDescriptorSchema.parse(descriptor);
  const base = resolveAssetPath(path.resolve(HEAD_DIR, d.baseDir ?? '.'));
  const meshFile = path.join(base, d.mesh);
  const albedoFile = d.maps.albedo ? path.join(base, d.maps.albedo) : '';
  if (!fs.existsSync(meshFile) || !albedoFile || !fs.existsSync(albedoFile)) {
    fail(
      `the Lee Perry-Smith scan is not here: ${meshFile} (or its albedo ${albedoFile || '(none named)'}) does not exist. ` +
        `Put the assets in ${path.join(SHARED_ASSETS, 'heads', 'lee_perry_smith')} or run \`npm run fetch-assets\` (into ${ASSET_CACHE}).`,
    );
  }
  if (d.uvOrigin !== 'bottom-left') fail(`expected uvOrigin 'bottom-left' in ${descPath}, found '${d.uvOrigin}'`);
  const g = parseGlb(fs.readFileSync(meshFile));
  const prims = g.json.meshes.flatMap((m: { primitives: unknown[] }) => m.primitives);
  if (prims.length !== 1) fail(`expected one mesh primitive in ${meshFile}, found ${prims.length}`);
  const prim = prims[0];
  const P = readAccessor(g, prim.attributes.POSITION) as Float32Array;
  const N = readAccessor(g, prim.attributes.NORMAL) as Float32Array;
  const UV = readAccessor(g, prim.attributes.TEXCOORD_0) as Float32Array;
  const I = readAccessor(g, prim.indices) as Uint16Array | Uint32Array;
  const img = await sharp(albedoFile).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { scan: { P, N, UV, I, col: { data: img.data, W: img.info.width, H: img.info.height } }, descriptor };
}

/** Bilinear albedo (0..1 sRGB) at a UV (bottom-left origin). */
function albedoAt(col: Scan['col'], u: number, v: number, out: number[]): void {
  const x = u * col.W - 0.5;
  const y = (1 - v) * col.H - 0.5;
  const x0 = Math.max(0, Math.min(col.W - 1, Math.floor(x)));
  const y0 = Math.max(0, Math.min(col.H - 1, Math.floor(y)));
  const x1 = Math.min(col.W - 1, x0 + 1);
  const y1 = Math.min(col.H - 1, y0 + 1);
  const fx = Math.max(0, Math.min(1, x - x0));
  const fy = Math.max(0, Math.min(1, y - y0));
  for (let k = 0; k < 3; k++) {
    const a = col.data[(y0 * col.W + x0) * 3 + k];
    const b = col.data[(y0 * col.W + x1) * 3 + k];
    const c = col.data[(y1 * col.W + x0) * 3 + k];
    const d = col.data[(y1 * col.W + x1) * 3 + k];
    out[k] = ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy) / 255;
  }
}

// ---------------------------------------------------------------------------
// Image helpers (Float32 images W x H, row-major)
// ---------------------------------------------------------------------------

function boxBlur(src: Float32Array, W: number, H: number, r: number): Float32Array {
  const tmp = new Float32Array(W * H);
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    let s = 0;
    let n = 0;
    for (let x = -r; x < W + r; x++) {
      if (x + r < W && x + r >= 0) {
        s += src[y * W + x + r];
        n++;
      }
      if (x - r - 1 >= 0 && x - r - 1 < W) {
        s -= src[y * W + x - r - 1];
        n--;
      }
      if (x >= 0 && x < W) tmp[y * W + x] = s / n;
    }
  }
  for (let x = 0; x < W; x++) {
    let s = 0;
    let n = 0;
    for (let y = -r; y < H + r; y++) {
      if (y + r < H && y + r >= 0) {
        s += tmp[(y + r) * W + x];
        n++;
      }
      if (y - r - 1 >= 0 && y - r - 1 < H) {
        s -= tmp[(y - r - 1) * W + x];
        n--;
      }
      if (y >= 0 && y < H) out[y * W + x] = s / n;
    }
  }
  return out;
}

/** Approximate Gaussian: three box blurs. */
function blur(src: Float32Array, W: number, H: number, sigma: number): Float32Array {
  const r = Math.max(1, Math.round(Math.sqrt((12 * sigma * sigma) / 3 + 1) / 2));
  return boxBlur(boxBlur(boxBlur(src, W, H, r), W, H, r), W, H, r);
}

function dilate(src: Uint8Array, W: number, H: number, r: number): Uint8Array {
  const f = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) f[i] = src[i];
  const b = boxBlur(f, W, H, r);
  return Uint8Array.from(b, (v) => (v > 1e-6 ? 1 : 0));
}

function erode(src: Uint8Array, W: number, H: number, r: number): Uint8Array {
  const f = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) f[i] = src[i];
  const b = boxBlur(f, W, H, r);
  return Uint8Array.from(b, (v) => (v > 1 - 1e-6 ? 1 : 0));
}

const close = (m: Uint8Array, W: number, H: number, r: number) => erode(dilate(m, W, H, r), W, H, r);
const open = (m: Uint8Array, W: number, H: number, r: number) => dilate(erode(m, W, H, r), W, H, r);

/** 4-connected components of a mask: labels (0 = none) and sizes (index = label). */
function components(m: Uint8Array, W: number, H: number): { lab: Int32Array; sizes: number[] } {
  const lab = new Int32Array(W * H);
  const sizes = [0];
  for (let p0 = 0; p0 < W * H; p0++) {
    if (!m[p0] || lab[p0]) continue;
    const id = sizes.length;
    let n = 0;
    const st = [p0];
    lab[p0] = id;
    while (st.length) {
      const p = st.pop()!;
      n++;
      const x = p % W;
      const y = (p - x) / W;
      if (x > 0 && m[p - 1] && !lab[p - 1]) (lab[p - 1] = id), st.push(p - 1);
      if (x < W - 1 && m[p + 1] && !lab[p + 1]) (lab[p + 1] = id), st.push(p + 1);
      if (y > 0 && m[p - W] && !lab[p - W]) (lab[p - W] = id), st.push(p - W);
      if (y < H - 1 && m[p + W] && !lab[p + W]) (lab[p + W] = id), st.push(p + W);
    }
    sizes.push(n);
  }
  return { lab, sizes };
}

/** Keeps the largest component of a mask (optionally only those overlapping `within`). */
function largest(m: Uint8Array, W: number, H: number): Uint8Array {
  const { lab, sizes } = components(m, W, H);
  let best = 0;
  for (let i = 1; i < sizes.length; i++) if (sizes[i] > (sizes[best] ?? 0)) best = i;
  return Uint8Array.from(lab, (v) => (best && v === best ? 1 : 0));
}

/** Fills the holes of a mask (what the border cannot reach through the complement). */
function fillHoles(m: Uint8Array, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H).fill(1);
  const st: number[] = [];
  const push = (p: number) => {
    if (!m[p] && out[p]) {
      out[p] = 0;
      st.push(p);
    }
  };
  for (let x = 0; x < W; x++) push(x), push((H - 1) * W + x);
  for (let y = 0; y < H; y++) push(y * W), push(y * W + W - 1);
  while (st.length) {
    const p = st.pop()!;
    const x = p % W;
    const y = (p - x) / W;
    if (x > 0) push(p - 1);
    if (x < W - 1) push(p + 1);
    if (y > 0) push(p - W);
    if (y < H - 1) push(p + W);
  }
  return out;
}

/** Otsu's threshold of the values (within [lo, hi]). */
function otsu(values: number[], lo: number, hi: number, bins = 128): number {
  const h = new Array(bins).fill(0);
  for (const v of values) h[Math.max(0, Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins)))]++;
  const total = values.length;
  let sum = 0;
  for (let i = 0; i < bins; i++) sum += i * h[i];
  let sB = 0;
  let wB = 0;
  let best = 0;
  let bestVar = -1;
  for (let i = 0; i < bins; i++) {
    wB += h[i];
    if (!wB) continue;
    const wF = total - wB;
    if (!wF) break;
    sB += i * h[i];
    const mB = sB / wB;
    const mF = (sum - sB) / wF;
    const v = wB * wF * (mB - mF) * (mB - mF);
    if (v > bestVar) {
      bestVar = v;
      best = i;
    }
  }
  return lo + ((best + 1) / bins) * (hi - lo);
}

// ---------------------------------------------------------------------------
// The frontal view
// ---------------------------------------------------------------------------

interface Front {
  map: FrontalMap;
  /** sRGB albedo per pixel (3 floats), luma, redness, darkness (local mean minus luma). */
  rgb: Float32Array;
  luma: Float32Array;
  red: Float32Array;
  dark: Float32Array;
  /** Pixel of (x, y) and back. */
  pix: (x: number, y: number) => [number, number];
  xy: (i: number, j: number) => [number, number];
}

const RES = 0.01; // mesh units (4.25e-4 m) per frontal pixel

function frontView(scan: Scan): Front {
  const map = frontalDepthMap(scan.P, scan.I, RES, scan.N);
  const { W, H } = map;
  const rgb = new Float32Array(W * H * 3);
  const luma = new Float32Array(W * H);
  const red = new Float32Array(W * H);
  const c = [0, 0, 0];
  for (let p = 0; p < W * H; p++) {
    const t = map.tri[p];
    if (t < 0) continue;
    const a = scan.I[t * 3], b = scan.I[t * 3 + 1], d = scan.I[t * 3 + 2];
    const l0 = map.bary[p * 2], l1 = map.bary[p * 2 + 1], l2 = 1 - l0 - l1;
    const u = l0 * scan.UV[a * 2] + l1 * scan.UV[b * 2] + l2 * scan.UV[d * 2];
    const v = l0 * scan.UV[a * 2 + 1] + l1 * scan.UV[b * 2 + 1] + l2 * scan.UV[d * 2 + 1];
    albedoAt(scan.col, u, v, c);
    rgb.set(c, p * 3);
    luma[p] = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    red[p] = (c[0] - c[1]) / (c[0] + c[1] + c[2] + 1e-3);
  }
  const fine = blur(luma, W, H, 1);
  const wide = blur(luma, W, H, 10);
  const dark = new Float32Array(W * H);
  for (let p = 0; p < W * H; p++) dark[p] = map.tri[p] < 0 ? 0 : wide[p] - fine[p];
  return {
    map,
    rgb,
    luma,
    red,
    dark,
    pix: (x, y) => [Math.round((x - map.x0) / RES), Math.round((y - map.y0) / RES)],
    xy: (i, j) => [map.x0 + i * RES, map.y0 + j * RES],
  };
}

// ---------------------------------------------------------------------------
// Features and landmarks (frontal x, y in mesh units; +X is the subject's left)
// ---------------------------------------------------------------------------

interface Features {
  tip: [number, number];
  eyes: Record<'right' | 'left', { inner: [number, number]; outer: [number, number]; lineY: (x: number) => number }>;
  brows: Record<'right' | 'left', { mask: Uint8Array; thr: number; inner: number; outer: number; topAt: (x: number) => number; botAt: (x: number) => number }>;
  lips: { mask: Uint8Array; thr: number; right: [number, number]; left: [number, number]; topAt: (x: number) => number; botAt: (x: number) => number; lineAt: (x: number) => number };
  subnasale: [number, number];
  alar: Record<'right' | 'left', number>;
}

/** Window of the frontal image in mesh units (x0..x1, y0..y1), as pixel ranges. */
function win(f: Front, x0: number, x1: number, y0: number, y1: number) {
  const [i0, j0] = f.pix(Math.min(x0, x1), Math.min(y0, y1));
  const [i1, j1] = f.pix(Math.max(x0, x1), Math.max(y0, y1));
  return { i0: Math.max(0, i0), i1: Math.min(f.map.W - 1, i1), j0: Math.max(0, j0), j1: Math.min(f.map.H - 1, j1) };
}

function findTip(f: Front): [number, number] {
  const { W, H, z } = f.map;
  let best = -Infinity;
  let bi = -1;
  for (let p = 0; p < W * H; p++) {
    const [x, y] = f.xy(p % W, Math.floor(p / W));
    if (Math.abs(x) < 1 && y > -1 && z[p] > best) {
      best = z[p];
      bi = p;
    }
  }
  return f.xy(bi % W, Math.floor(bi / W));
}

/**
 * A closed eye's lash line: the darkest thin line (darkness = the wide local mean minus the
 * fine luma) through the middle of the eye's window, tracked column by column outward both
 * ways (the row moving at most a pixel a column, half a pixel on average) while it stays above 30% of its strength at
 * the start; its ends are the corners, the track (smoothed) the lid line.
 */
function findEye(f: Front, tip: [number, number], side: -1 | 1) {
  const { W } = f.map;
  const w = win(f, tip[0] + side * 0.2, tip[0] + side * 1.5, tip[1] + 0.3, tip[1] + 0.72);
  const best = (i: number, j0: number, j1: number) => {
    let bj = -1;
    let bv = -Infinity;
    for (let j = Math.max(w.j0, j0); j <= Math.min(w.j1, j1); j++) {
      const v = f.dark[j * W + i];
      if (v > bv) (bv = v), (bj = j);
    }
    return { j: bj, v: bv };
  };
  // Start in the middle half of the window, at its strongest column.
  const span = w.i1 - w.i0;
  let start = { i: -1, j: -1, v: -Infinity };
  const [, s0] = f.pix(0, tip[1] + 0.35);
  const [, s1] = f.pix(0, tip[1] + 0.65);
  for (let i = w.i0 + Math.round(span / 4); i <= w.i1 - Math.round(span / 4); i++) {
    const b = best(i, s0, s1);
    if (b.v > start.v) start = { i, ...b };
  }
  const track: { i: number; j: number; v: number }[] = [start];
  for (const dir of [-1, 1]) {
    let j = start.j;
    const run: number[] = [];
    const rows = [start.j];
    for (let i = start.i + dir; i >= w.i0 && i <= w.i1; i += dir) {
      // At most a pixel a column, and two over the last four (slope <= 1/2).
      const back = rows[Math.max(0, rows.length - 4)];
      const b = best(i, Math.max(j - 1, back - 2), Math.min(j + 1, back + 2));
      run.push(b.v);
      const recent = run.slice(-5);
      if (recent.reduce((a, c) => a + c, 0) / recent.length < 0.3 * start.v) break;
      j = b.j;
      rows.push(j);
      if (dir < 0) track.unshift({ i, ...b });
      else track.push({ i, ...b });
    }
  }
  // The last few columns of each end were already fading: drop those under the threshold.
  while (track.length > 2 && track[0].v < 0.3 * start.v) track.shift();
  while (track.length > 2 && track[track.length - 1].v < 0.3 * start.v) track.pop();
  const pts = track.map((c) => {
    const [x, y] = f.xy(c.i, c.j);
    return { x, y, w: Math.max(1e-3, c.v) };
  });
  // The line: the track smoothed over 9 columns, as a function of x.
  const xs = pts.map((p) => p.x);
  const ys = pts.map((_, k) => {
    const seg = pts.slice(Math.max(0, k - 4), k + 5);
    return seg.reduce((a, p) => a + p.y, 0) / seg.length;
  });
  const lineY = (x: number) => {
    const u = (x - xs[0]) / (xs[xs.length - 1] - xs[0]);
    const t = Math.max(0, Math.min(xs.length - 1, u * (xs.length - 1)));
    const k = Math.min(xs.length - 2, Math.floor(t));
    return ys[k] + (ys[k + 1] - ys[k]) * (t - k);
  };
  const xa = xs[0];
  const xb = xs[xs.length - 1];
  const inner = side < 0 ? Math.max(xa, xb) : Math.min(xa, xb);
  const outer = side < 0 ? Math.min(xa, xb) : Math.max(xa, xb);
  return { inner: [inner, lineY(inner)] as [number, number], outer: [outer, lineY(outer)] as [number, number], lineY };
}

/** A brow: the dark hair (Otsu over its window's darkness), the largest patch, closed. */
function findBrow(f: Front, tip: [number, number], side: -1 | 1) {
  const { W, H } = f.map;
  const w = win(f, tip[0] + side * 0.05, tip[0] + side * 1.9, tip[1] + 0.7, tip[1] + 1.5);
  const vals: number[] = [];
  for (let j = w.j0; j <= w.j1; j++) for (let i = w.i0; i <= w.i1; i++) vals.push(f.dark[j * W + i]);
  const thr = otsu(vals, 0, Math.max(...vals));
  let m: Uint8Array = new Uint8Array(W * H);
  for (let j = w.j0; j <= w.j1; j++) for (let i = w.i0; i <= w.i1; i++) m[j * W + i] = f.dark[j * W + i] > thr ? 1 : 0;
  m = largest(close(open(m, W, H, 1), W, H, 4), W, H);
  m = fillHoles(m, W, H);
  let iMin = W;
  let iMax = -1;
  for (let p = 0; p < W * H; p++) if (m[p]) (iMin = Math.min(iMin, p % W)), (iMax = Math.max(iMax, p % W));
  const colExt = (x: number, top: boolean) => {
    const [i] = f.pix(x, 0);
    for (let d = 0; d < 20; d++) {
      for (const ii of [i - d, i + d]) {
        if (ii < 0 || ii >= W) continue;
        let jt = -1;
        let jb = -1;
        for (let j = 0; j < H; j++) if (m[j * W + ii]) (jb = jb < 0 ? j : jb), (jt = j);
        if (jt >= 0) return f.xy(ii, top ? jt : jb)[1];
      }
    }
    throw new Error('brow: no hair near that column');
  };
  const xa = f.xy(iMin, 0)[0];
  const xb = f.xy(iMax, 0)[0];
  return {
    mask: m,
    thr,
    inner: side < 0 ? xb : xa,
    outer: side < 0 ? xa : xb,
    topAt: (x: number) => colExt(x, true),
    botAt: (x: number) => colExt(x, false),
  };
}

/** The lips: their colour (Otsu over the mouth window's redness), the largest patch, closed and filled. */
function findLips(f: Front, tip: [number, number]) {
  const { W, H, z } = f.map;
  const w = win(f, tip[0] - 1.0, tip[0] + 1.0, tip[1] - 1.1, tip[1] - 0.2);
  const vals: number[] = [];
  for (let j = w.j0; j <= w.j1; j++) for (let i = w.i0; i <= w.i1; i++) if (f.map.tri[j * W + i] >= 0) vals.push(f.red[j * W + i]);
  const thr = otsu(vals, Math.min(...vals), Math.max(...vals));
  let m: Uint8Array = new Uint8Array(W * H);
  for (let j = w.j0; j <= w.j1; j++) for (let i = w.i0; i <= w.i1; i++) m[j * W + i] = f.red[j * W + i] > thr ? 1 : 0;
  m = fillHoles(largest(close(open(m, W, H, 1), W, H, 3), W, H), W, H);
  let iMin = W;
  let iMax = -1;
  for (let p = 0; p < W * H; p++) if (m[p]) (iMin = Math.min(iMin, p % W)), (iMax = Math.max(iMax, p % W));
  const colRows = (i: number) => {
    let jt = -1;
    let jb = -1;
    for (let j = 0; j < H; j++) if (m[j * W + i]) (jb = jb < 0 ? j : jb), (jt = j);
    return [jb, jt];
  };
  const cornerY = (i: number, dir: 1 | -1) => {
    let s = 0;
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const [jb, jt] = colRows(i + dir * k);
      if (jt >= 0) (s += (jb + jt) / 2), n++;
    }
    return f.xy(i, s / n)[1];
  };
  const colOf = (x: number) => Math.max(iMin, Math.min(iMax, f.pix(x, 0)[0]));
  // The mouth line: per column, the depth minimum (the crease where the closed lips meet)
  // between the borders, kept off them; a smoothed polyline.
  const line: number[] = [];
  for (let i = iMin; i <= iMax; i++) {
    const [jb, jt] = colRows(i);
    const pad = Math.round((jt - jb) * 0.15);
    let bj = Math.round((jb + jt) / 2);
    let bz = Infinity;
    for (let j = jb + pad; j <= jt - pad; j++) if (z[j * W + i] < bz) (bz = z[j * W + i]), (bj = j);
    line.push(bj);
  }
  const smooth = line.map((_, k) => {
    const win2 = line.slice(Math.max(0, k - 6), k + 7).sort((a, b) => a - b);
    return win2[win2.length >> 1];
  });
  return {
    mask: m,
    thr,
    right: [f.xy(iMin, 0)[0], cornerY(iMin, 1)] as [number, number],
    left: [f.xy(iMax, 0)[0], cornerY(iMax, -1)] as [number, number],
    topAt: (x: number) => f.xy(0, colRows(colOf(x))[1])[1],
    botAt: (x: number) => f.xy(0, colRows(colOf(x))[0])[1],
    lineAt: (x: number) => f.xy(0, smooth[colOf(x) - iMin])[1],
  };
}

/**
 * The subnasale: where the midline's profile bends most sharply (concave) between the nose tip
 * and the upper lip: the columella's underside meeting the lip.
 */
function findSubnasale(f: Front, tip: [number, number], lipTopY: number): [number, number] {
  const zAt = (y: number) => {
    const [i, j] = f.pix(tip[0], y);
    return f.map.z[j * f.map.W + i];
  };
  const d = 4 * RES;
  let best: [number, number] = [tip[0], (tip[1] + lipTopY) / 2];
  let bc = -Infinity;
  for (let y = tip[1] - 0.1; y >= lipTopY + 0.05; y -= RES) {
    const c = zAt(y + d) + zAt(y - d) - 2 * zAt(y);
    if (c > bc) (bc = c), (best = [tip[0], y]);
  }
  return best;
}

/**
 * The alar crease on a row: going out from the midline the depth falls steeply over the ala,
 * then gently over the cheek; the crease is the sharpest bend (largest second difference).
 */
function findAlar(f: Front, x0: number, y: number, side: -1 | 1): number {
  const zs: number[] = [];
  for (let k = 0; k < 120; k++) {
    const [i, j] = f.pix(x0 + side * k * RES, y);
    zs.push(f.map.z[j * f.map.W + i]);
  }
  const d = 4;
  let best = -Infinity;
  let bk = -1;
  for (let k = 15; k < 90; k++) {
    const c = zs[k + d] + zs[k - d] - 2 * zs[k];
    if (c > best) (best = c), (bk = k);
  }
  if (bk < 0 || !Number.isFinite(best)) throw new Error('alar crease not found');
  return x0 + side * bk * RES;
}

function findFeatures(f: Front): Features {
  const tip = findTip(f);
  const eyes = { right: findEye(f, tip, -1), left: findEye(f, tip, 1) };
  const brows = { right: findBrow(f, tip, -1), left: findBrow(f, tip, 1) };
  const lips = findLips(f, tip);
  const mx = (lips.right[0] + lips.left[0]) / 2;
  const subnasale = findSubnasale(f, tip, lips.topAt(mx));
  const alarY = tip[1] + 0.6 * (subnasale[1] - tip[1]);
  const alar = { right: findAlar(f, tip[0], alarY, -1), left: findAlar(f, tip[0], alarY, 1) };
  return { tip, eyes, brows, lips, subnasale, alar };
}

/** The 68 landmarks (frontal x, y) from the features; jaw from the frontal contour. */
function landmarks2d(f: Front, F: Features): [number, number][] {
  const pts: [number, number][] = new Array(68);
  const { tip, eyes, brows, lips } = F;
  // Eyes: closed, the lids meet on the lash line; upper/lower points 0.5 mm either side.
  const gap = 0.012;
  for (const [side, base] of [['right', 36], ['left', 42]] as const) {
    const e = eyes[side];
    // 36: outer, 37-38 upper lid, 39 inner, 40-41 lower lid (right eye); 42: inner, 43-44, 45 outer, 46-47 (left).
    const a = side === 'right' ? e.outer : e.inner;
    const b = side === 'right' ? e.inner : e.outer;
    const at = (t: number, dy: number): [number, number] => {
      const x = a[0] + (b[0] - a[0]) * t;
      return [x, e.lineY(x) + dy];
    };
    pts[base] = a;
    pts[base + 1] = at(1 / 3, gap);
    pts[base + 2] = at(2 / 3, gap);
    pts[base + 3] = b;
    pts[base + 4] = at(2 / 3, -gap);
    pts[base + 5] = at(1 / 3, -gap);
  }
  // Brows: 17-21 right (outer to inner), 22-26 left (inner to outer), 5% in from the hair's
  // ends, a third of the way down from the hair's upper edge.
  for (const [side, base] of [['right', 17], ['left', 22]] as const) {
    const b = brows[side];
    const from = side === 'right' ? b.outer : b.inner;
    const to = side === 'right' ? b.inner : b.outer;
    for (let k = 0; k < 5; k++) {
      const t = 0.05 + (0.9 * k) / 4;
      const x = from + (to - from) * t;
      const top = b.topAt(x);
      const bot = b.botAt(x);
      pts[base + k] = [x, top - 0.33 * (top - bot)];
    }
  }
  // Nose: 27 between the inner eye corners, a little above them; 28-29 evenly to the tip (30);
  // 31-35 along the nostril base (alar base at 80% of the crease's offset).
  const ci = [(eyes.right.inner[0] + eyes.left.inner[0]) / 2, (eyes.right.inner[1] + eyes.left.inner[1]) / 2];
  const top: [number, number] = [ci[0], ci[1] + 0.07 * (ci[1] - tip[1])];
  pts[27] = top;
  pts[28] = [top[0] + (tip[0] - top[0]) / 3, top[1] + (tip[1] - top[1]) / 3];
  pts[29] = [top[0] + (2 * (tip[0] - top[0])) / 3, top[1] + (2 * (tip[1] - top[1])) / 3];
  pts[30] = tip;
  const sn = F.subnasale;
  const yAt = (t: number) => tip[1] + t * (sn[1] - tip[1]);
  const rx = F.alar.right - sn[0];
  const lx = F.alar.left - sn[0];
  pts[31] = [sn[0] + 0.8 * rx, yAt(0.63)];
  pts[32] = [sn[0] + 0.42 * rx, yAt(0.85)];
  pts[33] = sn;
  pts[34] = [sn[0] + 0.42 * lx, yAt(0.85)];
  pts[35] = [sn[0] + 0.8 * lx, yAt(0.63)];
  // Lips (300-W mean-shape proportions of the half-width from the centre).
  const cx = (lips.right[0] + lips.left[0]) / 2;
  const hw = (lips.left[0] - lips.right[0]) / 2;
  const X = (t: number) => cx + t * hw;
  pts[48] = lips.right;
  pts[49] = [X(-0.62), lips.topAt(X(-0.62))];
  pts[50] = [X(-0.26), lips.topAt(X(-0.26))];
  pts[51] = [cx, lips.topAt(cx)];
  pts[52] = [X(0.26), lips.topAt(X(0.26))];
  pts[53] = [X(0.62), lips.topAt(X(0.62))];
  pts[54] = lips.left;
  pts[55] = [X(0.65), lips.botAt(X(0.65))];
  pts[56] = [X(0.29), lips.botAt(X(0.29))];
  pts[57] = [cx, lips.botAt(cx)];
  pts[58] = [X(-0.29), lips.botAt(X(-0.29))];
  pts[59] = [X(-0.65), lips.botAt(X(-0.65))];
  const q = 0.006; // closed: the inner upper and lower points a quarter millimetre either side
  pts[60] = [X(-0.84), lips.lineAt(X(-0.84))];
  pts[61] = [X(-0.26), lips.lineAt(X(-0.26)) + q];
  pts[62] = [cx, lips.lineAt(cx) + q];
  pts[63] = [X(0.26), lips.lineAt(X(0.26)) + q];
  pts[64] = [X(0.84), lips.lineAt(X(0.84))];
  pts[65] = [X(0.26), lips.lineAt(X(0.26)) - q];
  pts[66] = [cx, lips.lineAt(cx) - q];
  pts[67] = [X(-0.26), lips.lineAt(X(-0.26)) - q];
  // Jaw: the frontal contour from a little below the outer eye corners round the chin.
  const drop = 0.1;
  const { points } = faceContour(f.map, { seed: tip, yRight: eyes.right.outer[1] - drop, yLeft: eyes.left.outer[1] - drop });
  points.forEach((p, k) => (pts[k] = p));
  return pts;
}

// ---------------------------------------------------------------------------
// The label map (UV layout of the albedo; row 0 = top = v 1)
// ---------------------------------------------------------------------------

interface PositionMap {
  S: number;
  /** Surface point per texel (NaN: no triangle covers the texel's centre). */
  pos: Float32Array;
  nrm: Float32Array;
}

function positionMap(scan: Scan, S: number): PositionMap {
  const pos = new Float32Array(S * S * 3).fill(NaN);
  const nrm = new Float32Array(S * S * 3);
  const { P, N, UV, I } = scan;
  for (let t = 0; t < I.length; t += 3) {
    const vi = [I[t], I[t + 1], I[t + 2]];
    const xs = vi.map((k) => UV[k * 2] * S - 0.5);
    const ys = vi.map((k) => (1 - UV[k * 2 + 1]) * S - 0.5); // uvOrigin bottom-left
    const den = (ys[1] - ys[2]) * (xs[0] - xs[2]) + (xs[2] - xs[1]) * (ys[0] - ys[2]);
    if (Math.abs(den) < 1e-12) continue;
    const x0 = Math.max(0, Math.ceil(Math.min(...xs))), x1 = Math.min(S - 1, Math.floor(Math.max(...xs)));
    const y0 = Math.max(0, Math.ceil(Math.min(...ys))), y1 = Math.min(S - 1, Math.floor(Math.max(...ys)));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const l0 = ((ys[1] - ys[2]) * (x - xs[2]) + (xs[2] - xs[1]) * (y - ys[2])) / den;
        const l1 = ((ys[2] - ys[0]) * (x - xs[2]) + (xs[0] - xs[2]) * (y - ys[2])) / den;
        const l2 = 1 - l0 - l1;
        if (l0 < -1e-6 || l1 < -1e-6 || l2 < -1e-6) continue;
        const o = (y * S + x) * 3;
        for (let k = 0; k < 3; k++) {
          pos[o + k] = l0 * P[vi[0] * 3 + k] + l1 * P[vi[1] * 3 + k] + l2 * P[vi[2] * 3 + k];
          nrm[o + k] = l0 * N[vi[0] * 3 + k] + l1 * N[vi[1] * 3 + k] + l2 * N[vi[2] * 3 + k];
        }
        const nl = Math.hypot(nrm[o], nrm[o + 1], nrm[o + 2]) || 1;
        for (let k = 0; k < 3; k++) nrm[o + k] /= nl;
      }
    }
  }
  return { S, pos, nrm };
}

/**
 * The ears (per texel): the shell standing off the side of the head. Per side, the ear's box is
 * centred on the head's outermost point at ear height (y between the mouth and the brows; it is
 * the rim of the ear), 0.95 units up and down, 0.75 back and forth; the skull's side there is |x| = a quadratic in (y, z) fitted
 * to the outward-facing surface in a ring round the box; the rim is what stands more than
 * EAR_STANDOFF off it; with the rim's back and the concha's bowl next to it, closed over small
 * gaps and filled to its convex hull in UV (the ear is one patch of the scan's unwrap).
 */
const EAR_STANDOFF = 0.1; // units (4 mm)
function earTexels(scan: Scan, pm: PositionMap, lipY: number, browY: number): Uint8Array {
  const { S, pos, nrm } = pm;
  const out = new Uint8Array(S * S);
  for (const side of [-1, 1] as const) {
    // The ear's outermost point.
    let best = -Infinity;
    let E = [0, 0, 0];
    for (let i = 0; i < scan.P.length; i += 3) {
      const x = scan.P[i] * side;
      const y = scan.P[i + 1];
      const z = scan.P[i + 2];
      if (y > lipY && y < browY && x > best) {
        best = x;
        E = [scan.P[i], y, z];
      }
    }
    const box = (y: number, z: number, m: number) => Math.abs(y - E[1]) < 0.95 + m && Math.abs(z - E[2]) < 0.75 + m;
    const A: number[][] = Array.from({ length: 6 }, () => new Array(6).fill(0));
    const b = new Array(6).fill(0);
    for (let t = 0; t < S * S; t++) {
      const px = pos[t * 3];
      if (!Number.isFinite(px) || px * side <= 0 || nrm[t * 3] * side < 0.6) continue;
      const py = pos[t * 3 + 1];
      const pz = pos[t * 3 + 2];
      if (!box(py, pz, 0.5) || box(py, pz, 0)) continue;
      const f = [1, py, pz, py * py, py * pz, pz * pz];
      for (let i = 0; i < 6; i++) {
        b[i] += f[i] * Math.abs(px);
        for (let j = 0; j < 6; j++) A[i][j] += f[i] * f[j];
      }
    }
    const c = solve(A, b);
    const seed = new Uint8Array(S * S);
    const inBox = new Uint8Array(S * S);
    const standOff = new Float32Array(S * S);
    for (let t = 0; t < S * S; t++) {
      const px = pos[t * 3];
      if (!Number.isFinite(px) || px * side <= 0) continue;
      const py = pos[t * 3 + 1];
      const pz = pos[t * 3 + 2];
      if (!box(py, pz, 0)) continue;
      inBox[t] = 1;
      standOff[t] = Math.abs(px) - (c[0] + c[1] * py + c[2] * pz + c[3] * py * py + c[4] * py * pz + c[5] * pz * pz);
      if (standOff[t] > EAR_STANDOFF) seed[t] = 1;
    }
    // Round the rim (the helix, seeded): the rim's back and edges (off the skull, not facing
    // out like it) and the concha's bowl (dipping into the head), near the rim in UV.
    const rim = largest(seed, S, S);
    const near = dilate(rim, S, S, Math.round(S / 40));
    const cand = new Uint8Array(S * S);
    for (let t = 0; t < S * S; t++) if (inBox[t] && near[t] && (rim[t] || (standOff[t] > 0.05 && side * nrm[t * 3] < 0.4))) cand[t] = 1;
    // Bowls beside the rim's middle (concha, cymba), not the fit's dips above or below the ear.
    let ry0 = S;
    let ry1 = 0;
    for (let t = 0; t < S * S; t++) if (rim[t]) (ry0 = Math.min(ry0, Math.floor(t / S))), (ry1 = Math.max(ry1, Math.floor(t / S)));
    const bowls = components(Uint8Array.from(standOff, (v, t) => (inBox[t] && near[t] && v < -0.08 ? 1 : 0)), S, S);
    const cy = new Float64Array(bowls.sizes.length);
    for (let t = 0; t < S * S; t++) if (bowls.lab[t]) cy[bowls.lab[t]] += Math.floor(t / S) / bowls.sizes[bowls.lab[t]];
    const margin = 0.15 * (ry1 - ry0);
    for (let t = 0; t < S * S; t++) {
      const k = bowls.lab[t];
      if (k && cy[k] > ry0 + margin && cy[k] < ry1 - margin) cand[t] = 1;
    }
    const r = Math.max(1, Math.round(S / 200));
    const closed = close(cand, S, S, r);
    // The patch that holds the rim (strays elsewhere in the box are not the ear).
    const { lab, sizes } = components(closed, S, S);
    let keep = 0;
    for (let t = 0; t < S * S && !keep; t++) if (rim[t] && lab[t]) keep = lab[t];
    const pts: [number, number][] = [];
    for (let t = 0; t < S * S; t++) if (keep && lab[t] === keep) pts.push([t % S, Math.floor(t / S)]);
    if (pts.length < (S / 128) ** 2) throw new Error(`ear (${side > 0 ? 'left' : 'right'}): no rim found`);
    {
      const hull = convexHull(pts);
      let x0 = S, x1 = 0, y0 = S, y1 = 0;
      for (const [x, y] of hull) (x0 = Math.min(x0, x)), (x1 = Math.max(x1, x)), (y0 = Math.min(y0, y)), (y1 = Math.max(y1, y));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const t = y * S + x;
          if (!inBox[t]) continue;
          let inside = true;
          for (let h = 0; h < hull.length && inside; h++) {
            const a = hull[h];
            const q = hull[(h + 1) % hull.length];
            if ((q[0] - a[0]) * (y - a[1]) - (q[1] - a[1]) * (x - a[0]) < 0) inside = false;
          }
          if (inside) out[t] = side > 0 ? 2 : 1;
        }
      }
    }
  }
  return out;
}

function buildLabels(scan: Scan, f: Front, F: Features, lm2: [number, number][], lm3: Vec3[], S: number): Uint8Array {
  const pm = positionMap(scan, S);
  const { pos, nrm } = pm;
  const W = f.map.W;
  // The albedo at the label map's texels (the albedo may have another size), luma, redness, darkness.
  const c = [0, 0, 0];
  const luma = new Float32Array(S * S);
  const red = new Float32Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      albedoAt(scan.col, (x + 0.5) / S, 1 - (y + 0.5) / S, c);
      luma[y * S + x] = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
      red[y * S + x] = (c[0] - c[1]) / (c[0] + c[1] + c[2] + 1e-3);
    }
  }
  // Darkness at the frontal view's scale: the face has about as many texels per unit as the
  // frontal view has pixels (measured on the nose-to-chin span), so scale the blurs by that.
  const texPerUnit = (() => {
    // Texels per unit near the face: distance in UV over distance on the surface, tip to lip.
    const find = (p: Vec3) => {
      let bt = -1;
      let bd = Infinity;
      for (let t = 0; t < S * S; t++) {
        if (!Number.isFinite(pos[t * 3])) continue;
        const d = (pos[t * 3] - p[0]) ** 2 + (pos[t * 3 + 1] - p[1]) ** 2 + (pos[t * 3 + 2] - p[2]) ** 2;
        if (d < bd) (bd = d), (bt = t);
      }
      return bt;
    };
    const a = find(lm3[30]);
    const b = find(lm3[8]);
    const duv = Math.hypot((a % S) - (b % S), Math.floor(a / S) - Math.floor(b / S));
    const dxyz = Math.hypot(lm3[30][0] - lm3[8][0], lm3[30][1] - lm3[8][1], lm3[30][2] - lm3[8][2]);
    return duv / dxyz;
  })();
  const k = (texPerUnit * RES) || 1;
  const dark = (() => {
    const fine = blur(luma, S, S, 1 * k);
    const wide = blur(luma, S, S, 10 * k);
    return Float32Array.from(wide, (v, i) => v - fine[i]);
  })();
  // Frontal lookups of a texel's point: its pixel, and whether the point is the surface the
  // front sees there (not a hidden layer behind it).
  const frontPixel = (t: number): number => {
    const [i, j] = f.pix(pos[t * 3], pos[t * 3 + 1]);
    if (i < 0 || j < 0 || i >= W || j >= f.map.H) return -1;
    const p = j * W + i;
    return Math.abs(f.map.z[p] - pos[t * 3 + 2]) < 0.06 ? p : -1;
  };
  const gate = (m: Uint8Array, r: number) => dilate(m, W, f.map.H, r);
  const lipGate = gate(F.lips.mask, 4);
  const browGate = { right: gate(F.brows.right.mask, 4), left: gate(F.brows.left.mask, 4) };
  // Colour masks in UV, gated by the frontal features.
  let lipUv: Uint8Array = new Uint8Array(S * S);
  const browUv: Record<'right' | 'left', Uint8Array> = { right: new Uint8Array(S * S), left: new Uint8Array(S * S) };
  for (let t = 0; t < S * S; t++) {
    if (!Number.isFinite(pos[t * 3])) continue;
    const p = frontPixel(t);
    if (p < 0) continue;
    if (lipGate[p] && red[t] > F.lips.thr) lipUv[t] = 1;
    if (browGate.right[p] && dark[t] > F.brows.right.thr) browUv.right[t] = 1;
    if (browGate.left[p] && dark[t] > F.brows.left.thr) browUv.left[t] = 1;
  }
  const rr = Math.max(1, Math.round(k));
  lipUv = fillHoles(largest(close(open(lipUv, S, S, rr), S, S, 3 * rr), S, S), S, S);
  for (const side of ['right', 'left'] as const) browUv[side] = fillHoles(largest(close(open(browUv[side], S, S, rr), S, S, 4 * rr), S, S), S, S);
  // The line between the lips (frontal x -> y), flat beyond the corners.
  const mouthLine = (x: number) => (x <= F.lips.right[0] ? F.lips.right[1] : x >= F.lips.left[0] ? F.lips.left[1] : F.lips.lineAt(x));
  // The external nose: from the bridge between the eyes widening to the alar creases, closed
  // by the nostril base (31-35); on the front (ahead of the inner eye corners).
  const L = lm2;
  const mid = L[30][0];
  const bridge = 0.2; // half-width at the top (0.85 cm)
  const ra = F.alar.right;
  const la = F.alar.left;
  const nosePoly: [number, number][] = [
    [L[27][0] - bridge, L[27][1] + 0.05],
    [L[27][0] + bridge, L[27][1] + 0.05],
    [L[29][0] + 0.26, L[29][1]],
    [la, L[30][1] - 0.14],
    [la - 0.03, L[35][1] - 0.03],
    L[35],
    L[34],
    L[33],
    L[32],
    L[31],
    [ra + 0.03, L[31][1] - 0.03],
    [ra, L[30][1] - 0.14],
    [L[29][0] - 0.26, L[29][1]],
  ];
  const noseZ = Math.min(lm3[39][2], lm3[42][2]);
  const ears = earTexels(scan, pm, L[57][1], Math.max(L[19][1], L[24][1]));
  // The neck: below the jaw (landmarks 4-12) at the front; behind the jaw's angles, below their height.
  const jaw = polyline([4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => L[i]));
  const jawAngleY = Math.max(L[4][1], L[12][1]) - 0.14;
  const jawHalf = Math.max(Math.abs(L[4][0] - mid), Math.abs(L[12][0] - mid));
  const jawZ = Math.min(lm3[4][2], lm3[12][2]) - 0.2;
  const out = new Uint8Array(S * S);
  for (let t = 0; t < S * S; t++) {
    const px = pos[t * 3];
    if (!Number.isFinite(px)) continue;
    const py = pos[t * 3 + 1];
    const pz = pos[t * 3 + 2];
    let id = ID.skin;
    if (lipUv[t]) id = py >= mouthLine(px) ? ID.upperLip : ID.lowerLip;
    else if (browUv.right[t]) id = ID.rightBrow;
    else if (browUv.left[t]) id = ID.leftBrow;
    else if (pz > noseZ && nrm[t * 3 + 2] > -0.3 && pointInPolygon(px, py, nosePoly)) id = ID.nose;
    else if (ears[t]) id = ears[t] === 2 ? ID.leftEar : ID.rightEar;
    else if (pz > jawZ ? py < jaw(px) - 0.02 && (Math.abs(px - mid) < jawHalf || py < jawAngleY) : py < jawAngleY) id = ID.neck;
    out[t] = id;
  }
  // Texels no triangle's interior reaches (island borders, gaps): their neighbours' label, so
  // a nearest lookup at an island's edge finds the island's class; skin where none is near.
  let todo = true;
  for (let it = 0; it < 8 && todo; it++) {
    todo = false;
    const src = out.slice();
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const t = y * S + x;
        if (src[t]) continue;
        let v = 0;
        for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < S && yy < S && src[yy * S + xx]) {
            v = src[yy * S + xx];
            break;
          }
        }
        if (v) out[t] = v;
        else todo = true;
      }
    }
  }
  for (let t = 0; t < S * S; t++) if (!out[t]) out[t] = ID.skin;
  return out;
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/** JSON with small arrays and objects on one line (head.json stays readable). */
function formatJson(v: unknown, indent = ''): string {
  const one = JSON.stringify(v);
  if (one === undefined) return 'null';
  if (typeof v !== 'object' || v === null) return one;
  const flat = Array.isArray(v) ? v.every((e) => typeof e !== 'object' || e === null) : Object.values(v).every((e) => typeof e !== 'object' || e === null);
  if (flat && one.length + indent.length <= 100) return Array.isArray(v) ? `[${v.map((e) => JSON.stringify(e)).join(', ')}]` : `{ ${Object.entries(v).map(([k, e]) => `${JSON.stringify(k)}: ${JSON.stringify(e)}`).join(', ')} }`;
  const next = indent + '  ';
  if (Array.isArray(v)) return `[\n${v.map((e) => next + formatJson(e, next)).join(',\n')}\n${indent}]`;
  return `{\n${Object.entries(v).map(([k, e]) => `${next}${JSON.stringify(k)}: ${formatJson(e, next)}`).join(',\n')}\n${indent}}`;
}

async function debugPictures(dir: string, scan: Scan, f: Front, F: Features, labels: Uint8Array, S: number, lm2: [number, number][]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const colour = new Map(SEGMENTATION_LABELS.map((l) => [l.id, l.color]));
  // UV: labels over the albedo.
  const uv = Buffer.alloc(S * S * 3);
  const c = [0, 0, 0];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      albedoAt(scan.col, (x + 0.5) / S, 1 - (y + 0.5) / S, c);
      const l = colour.get(labels[y * S + x])!;
      for (let k = 0; k < 3; k++) uv[(y * S + x) * 3 + k] = Math.round(0.5 * c[k] * 255 + 0.5 * l[k]);
    }
  }
  await sharp(uv, { raw: { width: S, height: S, channels: 3 } }).png().toFile(path.join(dir, 'labels-uv.png'));
  // Frontal: the face's albedo with the landmarks (jaw yellow, others green).
  const tip = lm2[30];
  const X0 = tip[0] - 1.9, Y1 = tip[1] + 1.5;
  const w = Math.round(3.8 / RES), h = Math.round(3.7 / RES);
  const out = Buffer.alloc(w * h * 3);
  for (let r = 0; r < h; r++) {
    for (let q = 0; q < w; q++) {
      const [i, j] = f.pix(X0 + q * RES, Y1 - r * RES);
      const p = j * f.map.W + i;
      for (let k = 0; k < 3; k++) out[(r * w + q) * 3 + k] = Math.round(f.rgb[p * 3 + k] * 255);
      // The lip and brow masks' outlines (magenta).
      for (const m of [F.lips.mask, F.brows.right.mask, F.brows.left.mask]) {
        if (m[p] && (!m[p - 1] || !m[p + 1] || !m[p - f.map.W] || !m[p + f.map.W])) out.set([255, 0, 255], (r * w + q) * 3);
      }
    }
  }
  lm2.forEach(([x, y], n) => {
    const q = Math.round((x - X0) / RES), r = Math.round((Y1 - y) / RES);
    for (let d = -1; d <= 1; d++) for (let e = -1; e <= 1; e++) if (r + d >= 0 && q + e >= 0 && r + d < h && q + e < w) out.set(n < 17 ? [255, 255, 0] : [0, 255, 0], ((r + d) * w + q + e) * 3);
  });
  await sharp(out, { raw: { width: w, height: h, channels: 3 } }).resize(w * 2, h * 2, { kernel: 'nearest' }).png().toFile(path.join(dir, 'landmarks-front.png'));
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{ size: string; debug?: string; check: boolean }>();
  const S = Number(opts.size);
  if (!Number.isInteger(S) || S < 64 || S > 8192) fail(`--size must be an integer from 64 to 8192 (got ${opts.size})`);
  const { scan, descriptor } = await loadScan();
  const f = frontView(scan);
  const F = findFeatures(f);
  const lm2 = landmarks2d(f, F);
  const lm3 = lm2.map(([x, y]) => castFront(scan.P, scan.I, x, y));
  const landmarks = lm3.map((p) => p.map((v) => Math.round(v * 1e5) / 1e5 + 0) as Vec3);
  const labels = buildLabels(scan, f, F, lm2, lm3, S);
  const png = await sharp(Buffer.from(labels), { raw: { width: S, height: S, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();
  const counts = new Map<number, number>();
  for (const v of labels) counts.set(v, (counts.get(v) ?? 0) + 1);
  const names = new Map(SEGMENTATION_LABELS.map((l) => [l.id, l.name]));
  console.log(`labels ${S}x${S}: ${[...counts].sort((a, b) => a[0] - b[0]).map(([id, n]) => `${names.get(id)} ${((100 * n) / (S * S)).toFixed(2)}%`).join(', ')}; ${png.length} bytes`);
  if (opts.debug) await debugPictures(path.resolve(opts.debug), scan, f, F, labels, S, lm2);
  // head.json: every field as it was, labels and landmarks (re)placed before the licence.
  const next: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(descriptor)) {
    if (k === 'labels' || k === 'landmarks') continue;
    if (k === 'license') {
      next.labels = { map: 'labels.png' };
      next.landmarks = landmarks;
    }
    next[k] = v;
  }
  if (!('labels' in next)) Object.assign(next, { labels: { map: 'labels.png' }, landmarks });
  HeadDescriptorSchema.parse(next);
  const json = formatJson(next) + '\n';
  const pngPath = path.join(HEAD_DIR, 'labels.png');
  const jsonPath = path.join(HEAD_DIR, 'head.json');
  if (opts.check) {
    const samePng = fs.existsSync(pngPath) && Buffer.compare(fs.readFileSync(pngPath), png) === 0;
    const sameJson = fs.readFileSync(jsonPath, 'utf8') === json;
    console.log(`check: labels.png ${samePng ? 'matches' : 'DIFFERS'}, head.json ${sameJson ? 'matches' : 'DIFFERS'}`);
    if (!samePng || !sameJson) process.exit(1);
    return;
  }
  fs.writeFileSync(pngPath, png);
  fs.writeFileSync(jsonPath, json);
  console.log(`wrote ${path.relative(PROJECT_ROOT, pngPath)} and the labels + 68 landmarks in ${path.relative(PROJECT_ROOT, jsonPath)}`);
}

await main();
