// Node-only. The on-disk layout of a dataset, owned once: folder and file names, the sample format
// version, and the helpers every writer and reader uses to list and hash files.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export const SAMPLES_DIR = 'samples';
export const SAMPLE_JSON = 'sample.json';
export const SAMPLE_VERSION = 1;

/** A sample's folder name: its index zero-padded to 6 digits (the batch planner's sampleId). */
export function sampleDirName(index: number): string {
  return String(index).padStart(6, '0');
}

/** sample.json minus `run` (timings, worker, attempts, createdAt): the reproducible part. */
export function reproducibleSample(s: Record<string, unknown>): Record<string, unknown> {
  const { run: _run, ...rest } = s;
  return rest;
}

/** Files under `dir`, recursively, as '/'-joined paths relative to `base`, sorted. */
export function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(path.relative(base, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

/** JSON with object keys sorted (stable hashes of configs). */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(stableStringify).join(',') + ']';
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => JSON.stringify(k) + ':' + stableStringify(o[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

export function sha256(s: string | Buffer): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}
