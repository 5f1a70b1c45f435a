// Node-only server utilities (no project imports): forgiving stats and reads.
import fs from 'node:fs';
import fsp from 'node:fs/promises';

export async function statOrNull(p: string): Promise<fs.Stats | null> {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

/** A JSON file parsed, or null (no file, unreadable, not JSON). */
export function readJsonOrNull<T>(file: string | null): T | null {
  if (!file) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}
