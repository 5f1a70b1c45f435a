// Registry of named passes (AOVs), one module each. Add a pass: write a module exporting a
// PassDefinition, add its name to renderer/core/passes.ts and map it here (the type checker
// refuses a name without a module).
import type { PassDefinition } from './types.js';
import type { RenderModeName } from '../../core/render-modes.js';
import { PASS_NAMES, type PassName } from '../../core/passes.js';
import { beautyPass } from './beauty.js';
import { albedoPass } from './albedo.js';
import { normalPass } from './normal.js';
import { diffusePass } from './diffuse.js';
import { specularPass } from './specular.js';
import { depthPass } from './depth.js';
import { maskPass } from './mask.js';
import { previewPass } from './preview.js';
import { segmentationPass } from './segmentation.js';

export type { PassDefinition, PassContext, PassFile, EncodedPassFile } from './types.js';

const REGISTRY: Record<PassName, PassDefinition> = {
  beauty: beautyPass,
  albedo: albedoPass,
  normal: normalPass,
  diffuse: diffusePass,
  specular: specularPass,
  depth: depthPass,
  mask: maskPass,
  preview: previewPass,
  segmentation: segmentationPass,
};

/** Every pass, in the order of PASS_NAMES. */
export const PASSES: readonly PassDefinition[] = PASS_NAMES.map((n) => REGISTRY[n as PassName]);

export { PASS_NAMES };

export function getPass(name: string): PassDefinition {
  const p = PASSES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown pass "${name}" (known: ${PASS_NAMES.join(', ')})`);
  return p;
}

/** Render modes needed for a set of passes, in a stable order (beauty first: it carries the mask). */
export function modesFor(passNames: readonly string[]): RenderModeName[] {
  const order: RenderModeName[] = ['beauty', 'albedo', 'diffuse', 'specular', 'normal', 'depth', 'label'];
  const need = new Set<RenderModeName>(['beauty']);
  for (const n of passNames) for (const m of getPass(n).requires) need.add(m);
  return order.filter((m) => need.has(m));
}
