// Node-only (pure maths). Plausibility checks of a deformed ICT head (source frame, cm), used by
// the tests over many sampled identities:
//  - finite: every coordinate is a finite number;
//  - ipd: distance of the eyeball centres (mean of the outer eyeball shell), metres;
//  - eyes in sockets: every vertex of the eyeball's front cap (the part the lids can uncover:
//    within 60 deg of the eyeball's forward axis) lies inside the convex hull
//    of its socket (the eye-socket cup + the lid skin around the eye opening), tested against
//    the hull's support planes in 162 directions (an outer approximation of the hull that is
//    exact along those directions), with 0.5 mm tolerance;
//  - teeth behind the lips: at neutral no tooth vertex is in front of the skin: for every
//    tooth vertex, the foremost face-mesh vertex within 4 mm in x/y lies further forward.
import { ICT_RANGES, meanOf } from './mesh.js';

function fibonacciDirections(n: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  const g = Math.PI * (3 - Math.sqrt(5));
  for (let i = 0; i < n; i++) {
    const y = 1 - (2 * (i + 0.5)) / n;
    const r = Math.sqrt(1 - y * y);
    out.push([r * Math.cos(g * i), y, r * Math.sin(g * i)]);
  }
  return out;
}
const DIRS = fibonacciDirections(162);

export interface IctGeometryReport {
  finite: boolean;
  ipdM: number;
  /** Eyeball (front half) vertices outside their socket hull, per eye. */
  eyeOutside: [number, number];
  /** Tooth vertices in front of the lips / skin. */
  teethInFront: number;
}

function socketIndices(p: Float32Array, side: 'L' | 'R', centre: [number, number, number]): number[] {
  const [a, b] = side === 'L' ? ICT_RANGES.eyeSocketL : ICT_RANGES.eyeSocketR;
  const idx: number[] = [];
  for (let i = a; i <= b; i++) idx.push(i);
  // The lids and the skin ring around the opening: face vertices within 2.2 cm of the eye centre, in front of it.
  for (let i = ICT_RANGES.face[0]; i <= ICT_RANGES.face[1]; i++) {
    const dx = p[i * 3] - centre[0];
    const dy = p[i * 3 + 1] - centre[1];
    const dz = p[i * 3 + 2] - centre[2];
    if (dx * dx + dy * dy + dz * dz < 2.2 * 2.2 && dz > -0.5) idx.push(i);
  }
  return idx;
}

/** Front-half eyeball vertices outside the socket hull and the largest excess (cm); `shift` moves the eyeball back along its axis first. */
export function eyeExcess(p: Float32Array, side: 'L' | 'R', shift = 0): { outside: number; excess: number; axis: [number, number, number] } {
  const range = side === 'L' ? ICT_RANGES.scleraL : ICT_RANGES.scleraR;
  const c = meanOf(p, range);
  // Forward axis: from the centre to the cornea (the eyeball vertices within 10% of the furthest along +Z, averaged).
  let fx = 0;
  let fy = 0;
  let fz = 0;
  let dzMax = 0;
  for (let i = range[0]; i <= range[1]; i++) dzMax = Math.max(dzMax, p[i * 3 + 2] - c[2]);
  for (let i = range[0]; i <= range[1]; i++) {
    const dz = p[i * 3 + 2] - c[2];
    if (dz > 0.9 * dzMax) {
      fx += p[i * 3] - c[0];
      fy += p[i * 3 + 1] - c[1];
      fz += dz;
    }
  }
  const fl = Math.hypot(fx, fy, fz) || 1;
  const hull = socketIndices(p, side, c);
  const support = DIRS.map(([x, y, z]) => {
    let m = -Infinity;
    for (const i of hull) m = Math.max(m, x * p[i * 3] + y * p[i * 3 + 1] + z * p[i * 3 + 2]);
    return m;
  });
  const ax: [number, number, number] = [fx / fl, fy / fl, fz / fl];
  let out = 0;
  let excess = -Infinity;
  for (let i = range[0]; i <= range[1]; i++) {
    const dx = p[i * 3] - c[0];
    const dy = p[i * 3 + 1] - c[1];
    const dz = p[i * 3 + 2] - c[2];
    // Only the front cap (within 60 deg of the axis) can show between the lids; behind it the
    // shell flares into a flange hidden in the skull.
    if (dx * ax[0] + dy * ax[1] + dz * ax[2] < 0.5 * Math.hypot(dx, dy, dz)) continue;
    const px = p[i * 3] - shift * ax[0];
    const py = p[i * 3 + 1] - shift * ax[1];
    const pz = p[i * 3 + 2] - shift * ax[2];
    let e = -Infinity;
    for (let k = 0; k < DIRS.length; k++) {
      const [x, y, z] = DIRS[k];
      e = Math.max(e, x * px + y * py + z * pz - support[k]);
    }
    excess = Math.max(excess, e);
    if (e > EYE_TOLERANCE_CM) out++;
  }
  return { outside: out, excess, axis: ax };
}

const EYE_TOLERANCE_CM = 0.05;

/**
 * Seats each eyeball in its socket: where a sampled identity pushes the front of the eyeball
 * through the lids (outside the socket hull), the eyeball (outer and inner shell) moves back
 * along its axis by the smallest shift (bisection, at most 4 mm) that puts it inside. In place;
 * returns the shifts (cm).
 */
export function seatIctEyes(p: Float32Array): [number, number] {
  const shifts: [number, number] = [0, 0];
  (['L', 'R'] as const).forEach((side, s) => {
    const first = eyeExcess(p, side);
    if (first.excess <= 0) return;
    let lo = 0;
    let hi = 0.4;
    if (eyeExcess(p, side, hi).excess > 0) lo = hi;
    else {
      for (let it = 0; it < 12; it++) {
        const mid = (lo + hi) / 2;
        if (eyeExcess(p, side, mid).excess > 0) lo = mid;
        else hi = mid;
      }
    }
    const d = lo === hi ? hi : hi;
    const [a, b] = side === 'L' ? ICT_RANGES.eyeballL : ICT_RANGES.eyeballR;
    for (let i = a; i <= b; i++) for (let k = 0; k < 3; k++) p[i * 3 + k] -= d * first.axis[k];
    shifts[s] = d;
  });
  return shifts;
}

/** Tooth vertices in front of the foremost skin within 4 mm (x/y): a 4 mm grid of the face's max z. */
function teethInFront(p: Float32Array): number {
  const cell = 0.4;
  const grid = new Map<number, number>();
  const key = (x: number, y: number) => Math.floor(x / cell) * 4096 + Math.floor(y / cell);
  for (let i = ICT_RANGES.face[0]; i <= ICT_RANGES.face[1]; i++) {
    const k = key(p[i * 3], p[i * 3 + 1]);
    const z = p[i * 3 + 2];
    if (!(grid.get(k)! >= z)) grid.set(k, z);
  }
  let bad = 0;
  for (let i = ICT_RANGES.teeth[0]; i <= ICT_RANGES.teeth[1]; i++) {
    const x = p[i * 3];
    const y = p[i * 3 + 1];
    const z = p[i * 3 + 2];
    let front = -Infinity;
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) front = Math.max(front, grid.get(key(x + dx * cell, y + dy * cell)) ?? -Infinity);
    if (!(z < front)) bad++;
  }
  return bad;
}

export function checkIctGeometry(p: Float32Array, opts: { teeth?: boolean } = {}): IctGeometryReport {
  let finite = true;
  for (let k = 0; k < p.length; k++) if (!Number.isFinite(p[k])) {
    finite = false;
    break;
  }
  const l = meanOf(p, ICT_RANGES.scleraL);
  const r = meanOf(p, ICT_RANGES.scleraR);
  return {
    finite,
    ipdM: Math.hypot(l[0] - r[0], l[1] - r[1], l[2] - r[2]) * 0.01,
    eyeOutside: [eyeExcess(p, 'L').outside, eyeExcess(p, 'R').outside],
    teethInFront: opts.teeth === false ? 0 : teethInFront(p),
  };
}
