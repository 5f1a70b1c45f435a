// The names of the passes (AOVs) a sample can have. The registry (renderer/develop/passes/index.ts)
// maps each name to its module and is typed against this list, so the two cannot drift.
const NAMES = ['beauty', 'albedo', 'normal', 'diffuse', 'specular', 'depth', 'mask', 'preview', 'segmentation'] as const;
export type PassName = (typeof NAMES)[number];
export const PASS_NAMES: readonly string[] = NAMES;

/** Passes that do not depend on the lighting: a training sample writes them once, under its first lighting. */
export const LIGHTING_INDEPENDENT_PASSES: readonly string[] = ['albedo', 'normal', 'depth', 'mask', 'segmentation'];
