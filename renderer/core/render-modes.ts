// Shared by the page and Node: which component the page's shader writes in each render.
// Values are uniform values in the PBR pass plugin (renderer/page/pass-plugin.ts).
export const RENDER_MODES = {
  /** Linear HDR radiance, alpha = coverage. */
  beauty: 0,
  /** Linear base colour (surfaceAlbedo). */
  albedo: 1,
  /** Diffuse shading: what albedo multiplies (direct + IBL irradiance terms). */
  diffuse: 2,
  /** Specular radiance: direct specular + IBL radiance. */
  specular: 3,
  /** World-space unit normal after normal mapping. */
  normal: 4,
  /** Euclidean distance from the camera centre, metres (in R). */
  depth: 5,
  /** Segmentation class id (core/labels.ts) of the surface at the pixel centre (in R). */
  label: 6,
  /**
   * Where the surface point at the pixel centre was in the previous frame of a deforming head
   * (world metres; the per-vertex positions of that frame, interpolated like the geometry); the
   * point itself for a head that does not deform.
   */
  motionPrev: 7,
  /** Likewise for the next frame. */
  motionNext: 8,
} as const;

export type RenderModeName = keyof typeof RENDER_MODES;

/** How many channels Node needs from each mode (the rest are not transferred). */
export const MODE_CHANNELS: Record<RenderModeName, number> = {
  beauty: 4,
  albedo: 3,
  diffuse: 3,
  specular: 3,
  normal: 3,
  depth: 1,
  label: 1,
  motionPrev: 3,
  motionNext: 3,
};

/** Modes read back as float32 (precision matters); the others travel as half floats. */
export const MODE_FLOAT32: Record<RenderModeName, boolean> = {
  beauty: false,
  albedo: false,
  diffuse: false,
  specular: false,
  normal: false,
  depth: true,
  label: false,
  motionPrev: true,
  motionNext: true,
};
