// Small 2D geometry and linear algebra shared by the label-map makers (renderer/assets/ict/labels.ts,
// scripts/make-scan-labels.ts) and the skin model: polylines, polygons, convex hulls, binary
// masks on a texel grid, a small dense solve. Pure functions.

/** Piecewise-linear y(x) through points (sorted by x here), clamped at the ends. */
export function polyline(pts: readonly (readonly number[])[]): (x: number) => number {
  const p = pts.slice().sort((a, b) => a[0] - b[0]);
  return (x) => {
    if (x <= p[0][0]) return p[0][1];
    for (let k = 1; k < p.length; k++) {
      if (x <= p[k][0]) return p[k - 1][1] + ((x - p[k - 1][0]) / (p[k][0] - p[k - 1][0] || 1)) * (p[k][1] - p[k - 1][1]);
    }
    return p[p.length - 1][1];
  };
}

/** Even-odd point-in-polygon test. */
export function pointInPolygon(x: number, y: number, poly: readonly (readonly number[])[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Convex hull (monotone chain), one consistent orientation (insideConvex's). */
export function convexHull<P extends readonly number[]>(pts: readonly P[]): P[] {
  const p = pts.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: readonly number[], a: readonly number[], b: readonly number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list: P[]) => {
    const h: P[] = [];
    for (const q of list) {
      while (h.length >= 2 && cross(h[h.length - 2], h[h.length - 1], q) <= 0) h.pop();
      h.push(q);
    }
    return h.slice(0, -1);
  };
  return half(p).concat(half(p.slice().reverse()));
}

/** Whether (x, y) lies inside (or on) a convexHull() result. */
export function insideConvex(x: number, y: number, hull: readonly (readonly number[])[]): boolean {
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % hull.length];
    if ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) < 0) return false;
  }
  return true;
}

/** Solves A x = b (small, symmetric positive definite) by Gaussian elimination with pivoting. */
export function solve(A: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c || M[c][c] === 0) continue;
      const k = M[r][c] / M[c][c];
      for (let j = c; j <= n; j++) M[r][j] -= k * M[c][j];
    }
  }
  return M.map((row, i) => row[n] / (row[i] || 1));
}
