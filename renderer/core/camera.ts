// Camera model shared by Node (metadata, background rays) and the page (Babylon camera).
// Canonical world: right-handed, metres, +Y up, the head faces +Z, head centre at origin.
import type { PageCamera, Vec3 } from './protocol.js';

export interface OrbitCamera {
  /** Degrees about +Y; 0 = in front of the face (on +Z), positive moves the camera toward +X. */
  yawDeg: number;
  /** Degrees of elevation; positive = camera above the target looking down. */
  pitchDeg: number;
  /** Degrees about the viewing axis; positive tilts the camera's up vector toward its right. */
  rollDeg: number;
  /** Metres from the target. */
  distance: number;
  /** Vertical field of view in degrees. */
  fovYDeg: number;
  target: Vec3;
  width: number;
  height: number;
  near?: number;
  far?: number;
}

/** The page's camera (pose, vertical fov, clip planes) plus the image size and the matrices. */
export interface ResolvedCamera extends PageCamera {
  width: number;
  height: number;
  /** OpenCV intrinsics (pixels; x right, y down, principal point at the image centre). */
  K: number[][];
  /** 4x4 row-major world -> camera, OpenCV axes (x right, y down, z forward). */
  worldToCameraCV: number[][];
  /** 4x4 row-major camera -> world, OpenGL axes (x right, y up, looking down -z). */
  cameraToWorldGL: number[][];
}

const DEG = Math.PI / 180;

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
export function normalize(a: Vec3): Vec3 {
  const l = Math.hypot(a[0], a[1], a[2]) || 1;
  return [a[0] / l, a[1] / l, a[2] / l];
}

/** Focal length in pixels for a vertical field of view. */
export function focalPixels(fovYRad: number, height: number): number {
  return height / 2 / Math.tan(fovYRad / 2);
}

export function resolveCamera(c: OrbitCamera): ResolvedCamera {
  const yaw = c.yawDeg * DEG;
  const pitch = c.pitchDeg * DEG;
  const dir: Vec3 = [Math.sin(yaw) * Math.cos(pitch), Math.sin(pitch), Math.cos(yaw) * Math.cos(pitch)];
  const position: Vec3 = [c.target[0] + dir[0] * c.distance, c.target[1] + dir[1] * c.distance, c.target[2] + dir[2] * c.distance];
  const forward = normalize(sub(c.target, position));
  // Right-handed look-at: right = forward x worldUp; roll rotates up about forward.
  let right = cross(forward, [0, 1, 0]);
  if (Math.hypot(...right) < 1e-6) right = [1, 0, 0];
  right = normalize(right);
  const up0 = cross(right, forward);
  const r = c.rollDeg * DEG;
  const up = normalize([
    up0[0] * Math.cos(r) + right[0] * Math.sin(r),
    up0[1] * Math.cos(r) + right[1] * Math.sin(r),
    up0[2] * Math.cos(r) + right[2] * Math.sin(r),
  ]);
  const rightRolled = normalize(cross(forward, up));
  const fovYRad = c.fovYDeg * DEG;
  const f = focalPixels(fovYRad, c.height);
  const K = [
    [f, 0, c.width / 2],
    [0, f, c.height / 2],
    [0, 0, 1],
  ];
  // OpenCV rows: x = right, y = -up, z = forward.
  const rows: Vec3[] = [rightRolled, [-up[0], -up[1], -up[2]], forward];
  const worldToCameraCV = [
    ...rows.map((row) => [row[0], row[1], row[2], -dot(row, position)]),
    [0, 0, 0, 1],
  ];
  const back: Vec3 = [-forward[0], -forward[1], -forward[2]];
  const cameraToWorldGL = [
    [rightRolled[0], up[0], back[0], position[0]],
    [rightRolled[1], up[1], back[1], position[1]],
    [rightRolled[2], up[2], back[2], position[2]],
    [0, 0, 0, 1],
  ];
  return {
    position,
    target: [...c.target] as Vec3,
    up,
    fovYRad,
    near: c.near ?? 0.01,
    far: c.far ?? 100,
    width: c.width,
    height: c.height,
    K,
    worldToCameraCV,
    cameraToWorldGL,
  };
}

/** World-space unit ray direction through the centre of pixel (x, y) (row 0 = top). */
export function pixelRay(cam: ResolvedCamera, x: number, y: number): Vec3 {
  const f = cam.K[0][0];
  const dx = (x + 0.5 - cam.width / 2) / f;
  const dy = (y + 0.5 - cam.height / 2) / f;
  const R = cam.worldToCameraCV; // rows are camera axes in world coordinates
  return normalize([
    R[0][0] * dx + R[1][0] * dy + R[2][0],
    R[0][1] * dx + R[1][1] * dy + R[2][1],
    R[0][2] * dx + R[1][2] * dy + R[2][2],
  ]);
}

/** Rotates world-space vectors into OpenCV camera space (x right, y down, z forward). */
export function worldToCameraDir(cam: ResolvedCamera, v: Vec3): Vec3 {
  const R = cam.worldToCameraCV;
  return [R[0][0] * v[0] + R[0][1] * v[1] + R[0][2] * v[2], R[1][0] * v[0] + R[1][1] * v[1] + R[1][2] * v[2], R[2][0] * v[0] + R[2][1] * v[1] + R[2][2] * v[2]];
}
