// Node-only. The output folder of a batch (or sequence) run: the lock of its one writer, the
// identity of what it holds (content hash of the config, over the EXPANDED environment-map list,
// and the dataset format version, recorded in batch.json / sequence.json), the scan of finished sample folders, stale temp cleanup, and the
// atomic commit of a sample folder (temp folder renamed last).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempPathFor, TEMP_SUFFIX_RE } from '../io/fs-atomic.js';
import { envMapFileHash, resolveEnvMapSync } from '../io/envmap-io.js';
import { SAMPLE_JSON, sampleDirName, stableStringify, sha256 } from './layout.js';
import { DATASET_FORMAT_VERSION, UNVERSIONED_FORMAT } from './records.js';

export const LOCK_FILE = '.lock';
const SAMPLE_DIR_RE = /^\d{6,}$/;
const SAMPLE_TEMP_RE = /^\d{6,}\.tmp-/;

// ---------------------------------------------------------------------------------------------
// lock

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(outDir: string): () => void {
  const file = path.join(outDir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), token: randomBytes(6).toString('hex') });
  const release = () => {
    try {
      if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  };
  // The lock is written to a temp file and hard-linked into place, so it appears complete or not
  // at all (writing it in place left a 0-byte .lock on a full disk); link() fails on an existing
  // lock just like the 'wx' flag.
  const tmp = tempPathFor(file);
  try {
    fs.writeFileSync(tmp, mine, { flag: 'wx' });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot write the lock file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        try {
          fs.linkSync(tmp, file);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
          // A filesystem without hard links: exclusive create, removed again if the write fails.
          try {
            fs.writeFileSync(file, mine, { flag: 'wx' });
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') release();
            throw e;
          }
        }
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the lock file ${file}: ${(err as Error).message}`, { cause: err });
        let other: { pid?: number; host?: string } = {};
        try {
          other = JSON.parse(fs.readFileSync(file, 'utf8'));
        } catch {
          /* unreadable: stale */
        }
        if (other.pid && other.host === os.hostname() && pidAlive(other.pid)) {
          throw new Error(`${outDir} is being written by another batch run (pid ${other.pid}); wait for it, or delete ${file} if that process is not a render-batch`);
        }
        fs.rmSync(file, { force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  throw new Error(`cannot lock ${outDir} (${file})`);
}

// ---------------------------------------------------------------------------------------------
// identity

export function diffPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (stableStringify(a) === stableStringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return [prefix || '(root)'];
}

/** One envMaps entry that names files, as the identity hashes it: the files it expands to, by name and content. */
export interface EnvMapFilesIdentity {
  ref: string;
  files: { name: string; sha256: string }[];
}

/** A config's envMaps, when it has them (an array of strings). */
function envMapRefs(content: unknown): string[] | null {
  const refs = content && typeof content === 'object' ? (content as { envMaps?: unknown }).envMaps : undefined;
  return Array.isArray(refs) && refs.every((r) => typeof r === 'string') ? refs : null;
}

/**
 * The expanded environment-map list of `refs` as identity: for every entry that is not a builtin
 * (a file, or a folder expanded to its .hdr/.exr files by the one resolver, io/envmap-io.ts), the
 * file names and their sha256. Builtin maps ship with the pinned package and are identified by
 * their references. null when every entry is a builtin (the references are the whole list).
 */
export function envMapFilesIdentity(refs: readonly string[]): EnvMapFilesIdentity[] | null {
  const files = refs.filter((r) => !r.startsWith('builtin:'));
  if (files.length === 0) return null;
  return files.map((ref) => ({
    ref,
    files: resolveEnvMapSync(ref).map((m) => ({ name: path.basename(m.ref), sha256: envMapFileHash(m.ref) })),
  }));
}

/**
 * The content hash of a config's content part (what batch.json / sequence.json record): its JSON,
 * plus, when its envMaps name files or folders, the expanded map list with every file's content
 * hash (envMapFilesIdentity), so a map added to, removed from or changed in a folder between runs
 * changes the identity and a resume is refused.
 */
export function contentHashOf(content: unknown): string {
  const refs = envMapRefs(content);
  const maps = refs ? envMapFilesIdentity(refs) : null;
  return sha256(stableStringify(maps ? { content, envMapFiles: maps } : content));
}

/**
 * Refuses an output folder whose identity file (batch.json, sequence.json) records a different
 * content hash, or another dataset format version (no `format_version` = version 1): resuming it
 * would mix samples of two configs or formats. `items` names what the folder holds ("samples").
 */
export function checkFolderIdentity(outDir: string, fileName: string, hash: string, content: unknown, what: { items: string; config: string }): void {
  const file = path.join(outDir, fileName);
  if (!fs.existsSync(file)) return;
  let prev: { format_version?: unknown; contentHash?: string; content?: unknown; config?: unknown } = {};
  try {
    prev = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); delete it only if the ${what.items} in ${outDir} are from this config`);
  }
  const version = prev.format_version ?? UNVERSIONED_FORMAT;
  if (version !== DATASET_FORMAT_VERSION) {
    const note = prev.format_version === undefined ? ` (${fileName} has no "format_version")` : '';
    throw new Error(`${outDir} holds ${what.items} of dataset format version ${String(version)}${note}; this checkout writes version ${DATASET_FORMAT_VERSION}: use another --out, or delete the folder to start over`);
  }
  if (prev.contentHash !== hash) {
    const fields = diffPaths(prev.content ?? prev.config, content).slice(0, 8).join(', ');
    const refs = envMapRefs(content);
    const maps = refs ? envMapFilesIdentity(refs) : null;
    if (!fields && maps) {
      const now = maps.map((m) => `${m.ref} (${m.files.length} file(s): ${m.files.slice(0, 6).map((f) => f.name).join(', ')}${m.files.length > 6 ? ', ...' : ''})`).join('; ');
      throw new Error(
        `${outDir} holds ${what.items} drawn from a different set of environment maps: the config is the same, but the map files its envMaps expand to were added, removed or changed since the folder was started (or it was started by a checkout that did not hash map files); they now are ${now}. Resuming would draw from another list: use another --out, or delete the folder to start over`,
      );
    }
    throw new Error(`${outDir} holds ${what.items} of a different ${what.config} (differs in: ${fields || 'unknown fields'}); use another --out, or delete the folder to start over`);
  }
}

// ---------------------------------------------------------------------------------------------
// scan, temps, commit

export interface SampleScan {
  complete: Set<number>;
  removedTemps: string[];
}

/**
 * Finished sample folders (folder + sample.json) and removal of stale temp folders (only by the
 * lock holder before rendering: while workers run, their temp folders are live).
 */
export function scanSamples(samplesDir: string, removeTemps = true): SampleScan {
  const complete = new Set<number>();
  const removedTemps: string[] = [];
  for (const e of fs.readdirSync(samplesDir, { withFileTypes: true })) {
    const p = path.join(samplesDir, e.name);
    // TEMP_SUFFIX_RE (tempPathFor); also any "<id>.tmp-" folder: the engine's own, whatever suffix
    if (TEMP_SUFFIX_RE.test(e.name) || SAMPLE_TEMP_RE.test(e.name)) {
      if (!removeTemps) continue;
      fs.rmSync(p, { recursive: true, force: true });
      removedTemps.push(e.name);
    } else if (e.isDirectory() && SAMPLE_DIR_RE.test(e.name)) {
      if (!fs.existsSync(path.join(p, SAMPLE_JSON))) {
        throw new Error(`sample folder ${p} has no ${SAMPLE_JSON}: it was not written by the batch engine (folders appear complete) — delete it to have it rendered again`);
      }
      complete.add(Number(e.name));
    }
  }
  return { complete, removedTemps };
}

export interface ShardPlan {
  /** indices 0..samples-1 without a finished sample folder */
  missing: number[];
  /** finished sample folders at indices >= samples (a rerun with fewer samples): not in the manifest */
  extra: number[];
  /** the missing indices grouped by shard (shard s = indices [s*shardSize, (s+1)*shardSize)) */
  shards: { start: number; end: number; indices: number[] }[];
}

/** What is left to render of `samples` samples in shards of `shardSize`, given the finished indices. */
export function planShards(complete: ReadonlySet<number>, samples: number, shardSize: number): ShardPlan {
  // One pass over the indices, shard by shard (filtering `missing` once per shard was quadratic:
  // hours at a million samples).
  const missing: number[] = [];
  const shards: ShardPlan['shards'] = [];
  for (let s0 = 0; s0 < samples; s0 += shardSize) {
    const end = Math.min(samples, s0 + shardSize);
    const indices: number[] = [];
    for (let i = s0; i < end; i++) if (!complete.has(i)) indices.push(i);
    if (indices.length) {
      shards.push({ start: s0, end, indices });
      for (const i of indices) missing.push(i);
    }
  }
  const extra = [...complete].filter((i) => i >= samples).sort((a, b) => a - b);
  return { missing, extra, shards };
}

/** Indices 0..samples-1 not in `complete`. */
export function missingIndices(complete: ReadonlySet<number>, samples: number): number[] {
  const gaps: number[] = [];
  for (let i = 0; i < samples; i++) if (!complete.has(i)) gaps.push(i);
  return gaps;
}

/** "N sample folder(s) beyond samples ...": the warning of a rerun with fewer samples. */
export function extraSamplesWarning(samples: number, extra: readonly number[]): string {
  const ids = extra.slice(0, 5).map(sampleDirName).join(', ') + (extra.length > 5 ? ', ...' : '');
  return `${extra.length} sample folder(s) beyond samples = ${samples} (${ids}) are kept on disk but not in the manifest; rerun render-batch with --prune to delete them`;
}

/** Removes the entries of `dir` whose name matches `re` (default: any "*.tmp-*"); returns their names. */
export function removeStaleTemps(dir: string, re: RegExp = /\.tmp-/): string[] {
  const removed: string[] = [];
  for (const e of fs.readdirSync(dir)) {
    if (!re.test(e)) continue;
    fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    removed.push(e);
  }
  return removed;
}

/**
 * Deletes the sample folders at `indices` under `samplesDir` (the caller holds the lock). Each is
 * renamed to a temp name first, so an interrupted prune leaves a temp folder that the next run
 * removes, never a half-deleted sample that looks finished.
 */
export function removeSampleFolders(samplesDir: string, indices: readonly number[]): number {
  let n = 0;
  for (const i of indices) {
    const dir = path.join(samplesDir, sampleDirName(i));
    if (!fs.existsSync(dir)) continue;
    const tmp = tempPathFor(dir);
    fs.renameSync(dir, tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
    n++;
  }
  return n;
}

/**
 * Renames the finished temp folder `tmp` to `final`. Another writer finished it meanwhile (queue
 * mode: a shard re-delivered after a stall while its first worker was still alive): keeps theirs,
 * drops ours (never two copies) and returns false.
 */
export function commitSampleFolder(tmp: string, final: string): boolean {
  if (fs.existsSync(final)) {
    fs.rmSync(tmp, { recursive: true, force: true });
    return false;
  }
  try {
    fs.renameSync(tmp, final);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && fs.existsSync(final)) {
      fs.rmSync(tmp, { recursive: true, force: true });
      return false;
    }
    throw err;
  }
  return true;
}
