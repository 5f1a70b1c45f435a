// The batch config's `olat` block (the light-stage dataset mode, olat-mode.ts), on its own so
// the config schema does not import the OLAT pipeline.
import { z } from 'zod';

/** The passes OLAT mode writes (renderer/pipelines/olat/relit-sample.ts RELIT_PASSES). */
export const OLAT_PASSES: readonly string[] = ['beauty', 'albedo', 'normal', 'depth', 'mask', 'preview'];

export const OlatModeSchema = z
  .object({
    rig: z.string().min(1).default('olat114').describe("The virtual light stage (renderer/core/rig.ts makeRig: 'olat114', 'olat331' or 'fibonacci:N'). Default 'olat114'."),
    lightingsPerPose: z.number().int().min(1).max(1024).default(4).describe('Consecutive samples sharing one pose (head, expression, camera) and its OLAT stack. Default 4.'),
    shadowMapSize: z.union([z.literal(512), z.literal(1024), z.literal(2048)]).default(1024).describe("Side of each rig light's shadow map. Default 1024."),
    maskMsaa: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).default(4).describe('MSAA of the one draw whose coverage is the mask. Default 4.'),
  })
  .strict()
  .describe(
    `Light-stage mode: an OLAT stack per pose, each sample's lighting triplet relit from it (weighted sums). Writes ${OLAT_PASSES.join(', ')} (no diffuse/specular split, no segmentation); needs lighting.mode "triplet" and no crop augmentation. Default null (direct rendering).`,
  );
export type OlatMode = z.infer<typeof OlatModeSchema>;

