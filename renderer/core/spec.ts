// Node-only. The fully specified sample: head, camera, lighting, passes. Validated with zod so
// every error names the field. Defaults are documented here and in README "Sample spec".
import { z } from 'zod';
import { PASS_NAMES } from './passes.js';
import { parseWithSchema } from './validation.js';
import { safeNameSchema } from './names.js';

const Vec3 = z.tuple([z.number(), z.number(), z.number()]);

/** Each shadowed point light takes a cube-map texture unit; 4 is Babylon's per-material limit. */
export const MAX_POINT_LIGHTS = 4;

/** Rendered image side, and environment layers summed per lighting (each is a full map in memory). */
export const MAX_IMAGE_SIZE = 4096;
export const MAX_ENV_LAYERS = 64;

/**
 * Bound on environment intensity, weight and their product, and on point-light intensity:
 * keeps weight x intensity x map values finite in float32 (the encodings) and far from
 * overflow; a render that still exceeds half range (65504) is refused when written.
 */
export const MAX_LIGHT_SCALE = 1e6;

export const EnvLayerSchema = z
  .object({
    /** 'builtin:NAME', a .hdr/.exr path. */
    map: z.string().min(1),
    rotationDeg: z.number().default(0),
    intensity: z.number().min(0).max(MAX_LIGHT_SCALE).default(1),
    weight: z.number().min(0).max(MAX_LIGHT_SCALE).default(1),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.intensity * l.weight > MAX_LIGHT_SCALE) {
      ctx.addIssue({ code: 'custom', path: ['intensity'], message: `intensity x weight = ${l.intensity * l.weight} exceeds ${MAX_LIGHT_SCALE}` });
    }
  });

export const PointLightSchema = z
  .object({
    position: Vec3,
    color: Vec3.default([1, 1, 1]),
    /** Babylon PointLight intensity with inverse-square falloff (radiant intensity, W/sr-like units). */
    intensity: z.number().min(0).max(MAX_LIGHT_SCALE),
    /** Emitter radius in metres (soft specular highlight size). */
    radius: z.number().min(0).default(0.02),
  })
  .strict();

export const LightingSchema = z
  .object({
    environment: z.array(EnvLayerSchema).max(MAX_ENV_LAYERS).default([]),
    pointLights: z.array(PointLightSchema).max(MAX_POINT_LIGHTS).default([]),
  })
  .strict();

/**
 * Camera bounds. Heads are ~0.2 m across at the origin: closer than 5 cm the camera is inside the
 * head (nothing rendered), beyond 100 m it is a few pixels and depth precision is gone; a target
 * beyond 100 m cannot frame the head. Angles within +-10 turns keep float error negligible.
 */
export const MIN_CAMERA_DISTANCE = 0.05;
export const MAX_CAMERA_DISTANCE = 100;
export const MAX_TARGET_M = 100;
export const MAX_ANGLE_DEG = 3600;

const Coord = z.number().min(-MAX_TARGET_M).max(MAX_TARGET_M);

export const CameraSchema = z
  .object({
    yawDeg: z.number().min(-MAX_ANGLE_DEG).max(MAX_ANGLE_DEG).default(0),
    pitchDeg: z.number().min(-89).max(89).default(0),
    rollDeg: z.number().min(-MAX_ANGLE_DEG).max(MAX_ANGLE_DEG).default(0),
    distance: z.number().min(MIN_CAMERA_DISTANCE).max(MAX_CAMERA_DISTANCE).default(0.75),
    fovYDeg: z.number().gt(1).lt(170).default(25),
    target: z.tuple([Coord, Coord, Coord]).default([0, 0.02, 0]),
  })
  .strict();

export const RenderOptionsSchema = z
  .object({
    /** MSAA samples for the anti-aliased mask and edges (1 = off). */
    msaa: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).default(4),
    /** Face size of the environment cube (a power of two), built on the CPU from the map as area integrals, with a GGX mip chain. */
    envCubeSize: z
      .number()
      .int()
      .min(16)
      .max(1024)
      .refine((n) => Number.isInteger(Math.log2(n)), { message: 'must be a power of two (16, 32, ..., 1024)' })
      .default(128),
    /** Deprecated, ignored: the environment is always GGX-prefiltered on the CPU (format 2). Accepted so older specs still parse. */
    envPrefilter: z.boolean().default(false),
    /**
     * Bright sources of the environment (sun, softboxes) drawn as shadowed directional lights
     * (renderer/core/env-lights.ts); the rest stays image based. 0 = none (no environment shadows).
     */
    envLights: z.number().int().min(0).max(8).default(4),
    /**
     * Occlusion of the image-based residual: per-vertex SH transfer ray traced once per head
     * (renderer/assets/visibility.ts, cached by geometry) shades it with self-shadowing, and its
     * ambient occlusion darkens the environment's reflection. false = unoccluded.
     */
    envVisibility: z.boolean().default(true),
    /**
     * One diffuse interreflection bounce per vertex (renderer/assets/bounce.ts: the head lights
     * itself, with shadow rays), added to the diffuse shading. Needs the head's visibility
     * precompute (computed when this or envVisibility is on). false = direct light only.
     */
    bounce: z.boolean().default(true),
    /** Side of each point light's cube shadow map face. */
    shadowMapSize: z.number().int().min(64).max(4096).default(1024),
    /**
     * Side of each environment source's (directional) shadow map, fitted to the head and
     * shoulders: 1536 is ~0.3 mm per texel, fine enough that PCF does not darken thin sunlit
     * ridges (ears). Measured on lps-sun-turned against Cycles: energy 0.964 at 1024, 0.979 at
     * 1536 and at 2048; 1536 draws about as fast as 1024, 2048 ~20 % slower.
     */
    envShadowMapSize: z.number().int().min(64).max(4096).default(1536),
    /** Babylon PBR translucency (light through thin skin); changes beauty, see README. */
    subsurface: z.boolean().default(false),
    /**
     * Point-light slots of the shader: a lighting with fewer lights is padded with dark ones
     * (they add exactly 0), so samples with 0-3 lights share one shader variant instead of
     * switching (each switch costs a readiness check and a double draw). 0 = the lighting's own
     * count. The batch planner sets it to the most lights its distribution draws.
     */
    lightSlots: z.number().int().min(0).max(MAX_POINT_LIGHTS).default(0),
  })
  .strict();

export const OutputOptionsSchema = z
  .object({
    exrPixelType: z.enum(['half', 'float']).default('half'),
    exrCompression: z.enum(['zip', 'none']).default('zip'),
    /** Exposure in stops for the tonemapped preview; 'auto' maps the head's mean luminance to 0.18. */
    previewExposure: z.union([z.number(), z.literal('auto')]).default('auto'),
  })
  .strict();

export const SampleSpecSchema = z
  .object({
    id: safeNameSchema().optional(),
    head: z.string().min(1).default('procedural'),
    width: z.number().int().min(16).max(MAX_IMAGE_SIZE).default(512),
    height: z.number().int().min(16).max(MAX_IMAGE_SIZE).default(512),
    camera: CameraSchema.default(CameraSchema.parse({})),
    lighting: LightingSchema.default({ environment: [{ map: 'builtin:studio', rotationDeg: 0, intensity: 1, weight: 1 }], pointLights: [] }),
    background: z.union([z.literal('transparent'), z.literal('environment'), z.object({ color: Vec3 }).strict()]).default('transparent'),
    passes: z
      .array(z.string())
      .default([...PASS_NAMES])
      .superRefine((names, ctx) => {
        for (const [i, n] of names.entries()) {
          if (!PASS_NAMES.includes(n)) ctx.addIssue({ code: 'custom', path: [i], message: `unknown pass "${n}" (known: ${PASS_NAMES.join(', ')})` });
        }
      }),
    render: RenderOptionsSchema.default(RenderOptionsSchema.parse({})),
    output: OutputOptionsSchema.default(OutputOptionsSchema.parse({})),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
  })
  .strict();

export type SampleSpec = z.infer<typeof SampleSpecSchema>;
export type SampleSpecInput = z.input<typeof SampleSpecSchema>;

export function parseSampleSpec(raw: unknown, where = 'spec'): SampleSpec {
  return parseWithSchema(SampleSpecSchema, raw, where);
}
