// Node-only (pure maths on a loaded model). Semantic parsing label maps in the ICT UV layouts:
// the skin atlas (same texels as skin.ts's maps, each tied to a point of the neutral surface) and
// the eyeball shell. Labels live in UV space, so they follow the surface through every identity
// and expression; the regions are the skin model's (lips from the outer-lip landmarks, brows from
// the brow band skin.ts paints, so a painted brow is a labelled brow) plus nose, ears and neck
// bounded by landmarks and the neutral head's measured geometry (source frame, cm; +X is the
// subject's left).
import type { IctModel } from './model.js';
import { browWeight, neutralLandmark, positionMap, ICT_LIMBUS_UV } from './skin.js';
import { convexHull, insideConvex, pointInPolygon, polyline, solve } from '../../core/plane.js';
import { labelId } from '../../core/labels.js';

const ID = {
  skin: labelId('skin'),
  nose: labelId('nose'),
  leftBrow: labelId('left_brow'),
  rightBrow: labelId('right_brow'),
  leftEar: labelId('left_ear'),
  rightEar: labelId('right_ear'),
  mouth: labelId('mouth_interior'),
  upperLip: labelId('upper_lip'),
  lowerLip: labelId('lower_lip'),
  neck: labelId('neck'),
};

const skinLabelMemo = new Map<string, Uint8Array>();

/**
 * Label ids (8-bit) of the skin atlas at tile size S (2S x S, row 0 = top, like skin.ts's maps).
 * They depend on the model and the size only (every identity shares them): made once per process.
 */
export function buildIctSkinLabels(model: IctModel, S: number): Uint8Array {
  const key = `${model.key}:${S}`;
  let hit = skinLabelMemo.get(key);
  if (!hit) {
    hit = makeSkinLabels(model, S);
    skinLabelMemo.set(key, hit);
  }
  return hit.slice();
}

function makeSkinLabels(model: IctModel, S: number): Uint8Array {
  const { W, H, pos, nrm, tag } = positionMap(model, S);
  const L = (i: number) => neutralLandmark(model, i);
  const lipPoly = Array.from({ length: 12 }, (_, k) => L(48 + k));
  const lipZ = Math.min(...lipPoly.map((p) => p[2])) - 0.8;
  // The line between the lips: corners and the midpoints of the inner upper/lower landmarks.
  const mid = (a: number, b: number) => [(L(a)[0] + L(b)[0]) / 2, (L(a)[1] + L(b)[1]) / 2];
  const lipLine = polyline([L(48), L(60), mid(61, 67), mid(62, 66), mid(63, 65), L(64), L(54)]);
  const browL = [17, 18, 19, 20, 21].map(L);
  const browR = [22, 23, 24, 25, 26].map(L);
  // The external nose: bridge from between the eyes (27) widening to the alae, closed by the
  // nostril base (31-35).
  const n31 = L(31);
  const n35 = L(35);
  const top = L(27)[1] + 0.2;
  const alarHalf = n35[0] + 0.55;
  const nosePoly = [
    [-0.85, top],
    [0.85, top],
    [1.1, L(29)[1]],
    [alarHalf, L(30)[1] - 0.6],
    [alarHalf - 0.15, n35[1] - 0.1],
    n35,
    L(34),
    L(33),
    L(32),
    n31,
    [-alarHalf + 0.15, n31[1] - 0.1],
    [-alarHalf, L(30)[1] - 0.6],
    [-1.1, L(29)[1]],
  ];
  const noseZ = Math.min(L(39)[2], L(42)[2]) + 0.3;
  // The jaw line (landmarks 4-12): the neck is what lies below it (under the chin, down the
  // throat); behind the jaw angle, below its height.
  const jaw = polyline([4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => [L(i)[0], L(i)[1]]));
  const jawAngleY = Math.max(L(4)[1], L(12)[1]) - 0.6;
  const ear = earTexels(W, H, pos, nrm, tag);
  const out = new Uint8Array(W * H);
  for (let t = 0; t < W * H; t++) {
    const px = pos[t * 3];
    const py = pos[t * 3 + 1];
    const pz = pos[t * 3 + 2];
    if (!Number.isFinite(px)) {
      out[t] = ID.skin;
      continue;
    }
    const tg = tag[t];
    if (tg === 2) {
      out[t] = ID.mouth;
      continue;
    }
    if (tg !== 1) {
      out[t] = ID.skin; // eye sockets: the flesh at the eye corners
      continue;
    }
    const ax = Math.abs(px);
    const frontFacing = nrm[t * 3 + 2] > -0.2;
    let id = ID.skin;
    if (pz > lipZ && pointInPolygon(px, py, lipPoly)) id = py >= lipLine(px) ? ID.upperLip : ID.lowerLip;
    else if (browWeight(px, py, pz, browL, browR) >= 0.5) id = px > 0 ? ID.leftBrow : ID.rightBrow;
    else if (pz > noseZ && frontFacing && pointInPolygon(px, py, nosePoly)) id = ID.nose;
    else if (ear[t]) id = px > 0 ? ID.leftEar : ID.rightEar;
    else if (pz > 4 ? py < jaw(px) - 0.25 && (ax < 5.7 || py < jawAngleY) : py < jawAngleY) id = ID.neck;
    out[t] = id;
  }
  return out;
}

/**
 * The ears (per texel): the shell standing off the side of the head (|x| past the skull at the
 * ear, measured 7.5 cm on the neutral head, within the ear's box), closed over small gaps and
 * with the enclosed concha and canal filled (they dip back toward the skull), in UV space so
 * the front (face tile) and back (head tile) of each ear are found alike.
 */
function earTexels(W: number, H: number, pos: Float32Array, nrm: Float32Array, tag: Uint8Array): Uint8Array {
  const inBox = (py: number, pz: number, m: number) => py > -3.6 - m && py < 6 + m && pz < 4.6 + m && pz > -3.2 - m;
  // The skull's side around the ear, |x| = quadratic in (y, z), fitted per side to the skin in a
  // 2 cm ring around the ear's box (sides facing out): the ear is what stands off it.
  const fits = [1, -1].map((side) => {
    const A: number[][] = Array.from({ length: 6 }, () => new Array(6).fill(0));
    const b = new Array(6).fill(0);
    for (let t = 0; t < W * H; t += 3) {
      const px = pos[t * 3];
      const py = pos[t * 3 + 1];
      const pz = pos[t * 3 + 2];
      if (!Number.isFinite(px) || tag[t] !== 1 || px * side <= 0 || nrm[t * 3] * side < 0.6) continue;
      if (!inBox(py, pz, 2) || inBox(py, pz, 0)) continue;
      const f = [1, py, pz, py * py, py * pz, pz * pz];
      for (let i = 0; i < 6; i++) {
        b[i] += f[i] * Math.abs(px);
        for (let j = 0; j < 6; j++) A[i][j] += f[i] * f[j];
      }
    }
    return solve(A, b);
  });
  const seed = new Uint8Array(W * H);
  const box = new Uint8Array(W * H);
  for (let t = 0; t < W * H; t++) {
    const px = pos[t * 3];
    const py = pos[t * 3 + 1];
    const pz = pos[t * 3 + 2];
    if (!Number.isFinite(px) || tag[t] !== 1 || !inBox(py, pz, 0)) continue;
    box[t] = 1;
    const c = fits[px > 0 ? 0 : 1];
    const skull = c[0] + c[1] * py + c[2] * pz + c[3] * py * py + c[4] * py * pz + c[5] * pz * pz;
    if (Math.abs(px) > skull + 0.35) seed[t] = 1;
  }
  // The rim stands off the skull more than the concha and canal inside it: each connected
  // patch (front and back of each ear, in UV) is filled to its convex hull in the texture.
  const r = Math.max(1, Math.round(H / 96)); // ~5 texels at H = 512
  const closed = erode(dilate(seed, W, H, r), W, H, r);
  const out = new Uint8Array(W * H);
  const seen = new Uint8Array(W * H);
  for (let t0 = 0; t0 < W * H; t0++) {
    if (!closed[t0] || seen[t0]) continue;
    const comp: number[] = [];
    const stack = [t0];
    seen[t0] = 1;
    while (stack.length) {
      const t = stack.pop()!;
      comp.push(t);
      const x = t % W;
      const y = (t - x) / W;
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
        const u = yy * W + xx;
        if (closed[u] && !seen[u]) {
          seen[u] = 1;
          stack.push(u);
        }
      }
    }
    if (comp.length < (H / 64) ** 2) continue; // specks
    const hull = convexHull(comp.map((t) => [t % W, Math.floor(t / W)]));
    let x0 = W, x1 = 0, y0 = H, y1 = 0;
    for (const [x, y] of hull) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (box[y * W + x] && insideConvex(x, y, hull)) out[y * W + x] = 1;
  }
  return out;
}

/** Binary dilation with a square of half-side r (separable). */
function dilate(src: Uint8Array, W: number, H: number, r: number): Uint8Array {
  const tmp = new Uint8Array(W * H);
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let v = 0;
    for (let d = -r; d <= r && !v; d++) {
      const xx = x + d;
      if (xx >= 0 && xx < W) v = src[y * W + xx];
    }
    tmp[y * W + x] = v;
  }
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let v = 0;
    for (let d = -r; d <= r && !v; d++) {
      const yy = y + d;
      if (yy >= 0 && yy < H) v = tmp[yy * W + x];
    }
    out[y * W + x] = v;
  }
  return out;
}

function erode(src: Uint8Array, W: number, H: number, r: number): Uint8Array {
  const inv = src.map((v) => 1 - v);
  return dilate(inv, W, H, r).map((v) => 1 - v);
}

/** Label ids of the eyeball shell's texture (S x S, eye.png's layout): iris disc inside the limbus, sclera outside. */
export function buildIctEyeLabels(S: number, side: 'left' | 'right'): Uint8Array {
  const iris = labelId(side === 'left' ? 'left_iris' : 'right_iris');
  const sclera = labelId(side === 'left' ? 'left_eye' : 'right_eye');
  const out = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const u = (x + 0.5) / S - 0.5;
      const v = (y + 0.5) / S - 0.5;
      out[y * S + x] = Math.hypot(u, v) < ICT_LIMBUS_UV ? iris : sclera;
    }
  }
  return out;
}
