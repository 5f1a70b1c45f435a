// Node-only. Where the project lives on disk and what it is called: every module that needs the
// checkout root, the cache folder or the package name asks here.
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isSafeName, MAX_NAME_LENGTH, SAFE_NAME_MESSAGE } from '../core/names.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** package.json's name and version (recorded in every meta.json and dataset card). */
export const PKG = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };

/**
 * root/name, checked to be a folder strictly below root (never root itself, never outside it),
 * like the file routes' resolveUnderRoot. Throws naming the field and the name otherwise.
 */
export function resolveNamedDir(root: string, name: string, field = 'name'): string {
  if (!isSafeName(name)) throw new Error(`field "${field}": "${name}" is not a valid name (${SAFE_NAME_MESSAGE}, at most ${MAX_NAME_LENGTH} characters)`);
  const base = path.resolve(root);
  const dir = path.resolve(base, name);
  const rel = path.relative(base, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel) || rel.includes(path.sep)) {
    throw new Error(`field "${field}": "${name}" does not name a folder inside ${base}`);
  }
  return dir;
}
