// Node-only. Reading JSON inputs (specs, configs, descriptors) with errors that name the file.
import fs from 'node:fs';
import { writeFileAtomic } from './fs-atomic.js';
import { parseSampleSpec, type SampleSpec } from '../core/spec.js';

/** Reads and parses `file`; errors read `<what> <file> cannot be read / is not valid JSON: ...`. */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

export { formatZodIssues } from '../core/validation.js';

/** Reads and validates a sample spec (render-one's input). */
export function readSampleSpec(file: string): SampleSpec {
  return parseSampleSpec(readJsonFile(file, 'spec'), `spec ${file}`);
}

/**
 * JSON.stringify that refuses non-finite numbers (JSON has none: stringify would silently write
 * `null`, e.g. an `"id": null` that was Infinity). Throws naming `file` and the key path of the
 * first one, e.g. `meta.json: refusing to write non-finite number Infinity at "lighting.pointLights.0.intensity"`.
 */
export function stringifyFinite(value: unknown, file: string, space = 2): string {
  const paths = new WeakMap<object, string>();
  const text = JSON.stringify(
    value,
    function (this: object, key: string, v: unknown) {
      const parent = paths.get(this);
      const p = parent === undefined || parent === '' ? key : `${parent}.${key}`;
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new Error(`${file}: refusing to write non-finite number ${v} at "${p || '(root)'}" (JSON cannot hold NaN/Infinity)`);
      }
      if (v !== null && typeof v === 'object') paths.set(v, p);
      return v;
    },
    space,
  );
  if (text === undefined) throw new TypeError(`${file}: value is not JSON-serialisable`);
  return text;
}

/** Atomic JSON write (temp then rename, fs-atomic.ts) through stringifyFinite: the JSON writer for meta.json / sample.json. */
export async function writeJsonFileAtomic(dest: string, value: unknown, opts: { space?: number; fsync?: boolean } = {}): Promise<void> {
  const text = stringifyFinite(value, dest, opts.space ?? 2);
  await writeFileAtomic(dest, text + '\n', { fsync: opts.fsync });
}
