// Bringing a scan into the canonical frame: metres, +Y up, face toward +Z, right-handed.
export type Axis = '+X' | '-X' | '+Y' | '-Y' | '+Z' | '-Z';

function axisVector(a: Axis): [number, number, number] {
  const s = a[0] === '-' ? -1 : 1;
  const i = 'XYZ'.indexOf(a[1]);
  const v: [number, number, number] = [0, 0, 0];
  v[i] = s;
  return v;
}

/**
 * Column-major 4x4 (Babylon/GL layout, translation in 12..14) mapping source coordinates to
 * canonical axes: source `up` -> +Y, source `facing` -> +Z, then uniform scale to metres.
 */
export function canonicalMatrix(up: Axis, facing: Axis, scaleToMetres: number): number[] {
  const u = axisVector(up);
  const f = axisVector(facing);
  if (u[0] * f[0] + u[1] * f[1] + u[2] * f[2] !== 0) {
    throw new Error(`upAxis ${up} and facing ${facing} must be perpendicular`);
  }
  // Source x-axis of the canonical frame: right-handed, X = Y x Z.
  const x: [number, number, number] = [u[1] * f[2] - u[2] * f[1], u[2] * f[0] - u[0] * f[2], u[0] * f[1] - u[1] * f[0]];
  // Rows of the rotation are the source vectors that become canonical X, Y, Z.
  const R = [x, u, f];
  const s = scaleToMetres;
  const m = new Array(16).fill(0);
  for (let row = 0; row < 3; row++) for (let col = 0; col < 3; col++) m[col * 4 + row] = R[row][col] * s;
  m[15] = 1;
  return m;
}
