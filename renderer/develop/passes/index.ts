// Registry of named passes (AOVs), one module each. Add a pass: write a module exporting a
// PassDefinition and list it here.
import type { PassDefinition } from './types.js';
import type { RenderModeName } from '../../core/render-modes.js';
import { beautyPass } from './beauty.js';
import { albedoPass } from './albedo.js';
import { normalPass } from './normal.js';
import { diffusePass } from './diffuse.js';
import { specularPass } from './specular.js';
import { depthPass } from './depth.js';
import { maskPass } from './mask.js';
import { previewPass } from './preview.js';

export type { PassDefinition, PassContext, PassFile } from './types.js';

export const PASSES: readonly PassDefinition[] = [beautyPass, albedoPass, normalPass, diffusePass, specularPass, depthPass, maskPass, previewPass];

export const PASS_NAMES: readonly string[] = PASSES.map((p) => p.name);

export function getPass(name: string): PassDefinition {
  const p = PASSES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown pass "${name}" (known: ${PASS_NAMES.join(', ')})`);
  return p;
}

/** Render modes needed for a set of passes, in a stable order (beauty first: it carries the mask). */
export function modesFor(passNames: readonly string[]): RenderModeName[] {
  const order: RenderModeName[] = ['beauty', 'albedo', 'diffuse', 'specular', 'normal', 'depth'];
  const need = new Set<RenderModeName>(['beauty']);
  for (const n of passNames) for (const m of getPass(n).requires) need.add(m);
  return order.filter((m) => need.has(m));
}
