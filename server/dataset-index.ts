// Node-only. The sample index of a dataset, for the dashboard's browsing routes
// (server/routes/datasets.ts): one small record per sample (head, environment maps, passes,
// lighting keys, interned), sorted by index, with facet counts and cached filters.
//
// Per sample it keeps what the grid's filters need: the head reference, the identity
// (renderer/dataset/identity.ts: a drawn ICT head's identity weights, else head.id), and the skin tone of a drawn skin (head.params.skin):
// its ITA, computed with the dataset card's functions (renderer/dataset/skin-tone.ts), and its ITA
// bin ('unknown' for heads whose skin was not drawn).
//
// The index is built from manifest.jsonl when the dataset is finished (one line per sample)
// and from the sample folders otherwise (each sample.json read once: folders are immutable once
// renamed into place), cached in memory and refreshed when the mtime of manifest.jsonl or of the
// samples folder changes. The index of a large finished dataset is also kept in
// <output>/.cache/index/<ds>.json (keyed by the manifest's mtime and size), so a restarted server
// does not parse a 100,000-line manifest again.
//
// Records are read through the dataset's own schema module (renderer/dataset/records.ts): the
// tolerant SampleIndexView of sample.json / manifest lines. A record of another dataset format
// version is listed all the same, with its version counted (formatSummary), so the dashboard can
// say that the dataset was written by an older (or newer) format instead of failing.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { resolveUnderRoot } from './files.js';
import { SAMPLE_RE, validDatasetName } from './dataset-ids.js';
import { mapLimit } from './util/limiter.js';
import { statOrNull } from './util/fs.js';
import { writeFileAtomic } from '../renderer/io/fs-atomic.js';
import { passNameOfFile } from '../renderer/core/display.js';
import { ITA_BINS, UNKNOWN_SKIN_TONE, itaBin, itaOfSkin } from '../renderer/dataset/skin-tone.js';
import { identityKeyOf } from '../renderer/dataset/identity.js';
import { DATASET_FORMAT_VERSION, SampleIndexViewSchema, formatVersionNote, recordFormatVersion, type SampleIndexView } from '../renderer/dataset/records.js';

class Interner {
  readonly list: string[] = [];
  private map = new Map<string, number>();
  id(s: string): number {
    let i = this.map.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.map.set(s, i);
    }
    return i;
  }
  find(s: string): number | undefined {
    return this.map.get(s);
  }
}

// ---------------------------------------------------------------------------------------------
// the sample index

export interface SampleRec {
  id: string;
  index: number;
  head: number;
  envs: number[];
  /** bit set over DatasetIndex.passes */
  passes: number;
  /** index into DatasetIndex.keySets */
  keys: number;
  /** the record's dataset format version (format_version; 1 when absent) */
  format: number;
  /** index into DatasetIndex.identities (head.id) */
  identity: number;
  /** ITA (degrees) of the drawn skin's cheek albedo; null when the head has no skin draw */
  ita: number | null;
  /** index into ITA_BINS; ITA_BINS.length = unknown */
  tone: number;
}

/** The skin-tone bin names in facet order: the ITA bins (light to dark), then unknown. */
export const SKIN_TONES: readonly string[] = [...ITA_BINS.map((b) => b.name), UNKNOWN_SKIN_TONE];
const UNKNOWN_TONE = ITA_BINS.length;

interface Stamp {
  samplesMtime: number;
  manifestMtime: number;
  manifestSize: number;
}

export interface DatasetIndex {
  name: string;
  dir: string;
  heads: Interner;
  identities: Interner;
  envs: Interner;
  passes: Interner;
  keySets: Interner;
  recs: Map<string, SampleRec>;
  sorted: SampleRec[];
  stamp: Stamp;
  /** bumps on every change (filter caches key on it) */
  version: number;
  source: 'manifest' | 'folders' | 'manifest+folders' | 'empty';
  buildMs: number;
  filterCache: Map<string, SampleRec[]>;
}

const PERSISTED_VERSION = 4;

interface PersistedIndex {
  version: typeof PERSISTED_VERSION;
  dir: string;
  manifestMtime: number;
  manifestSize: number;
  heads: string[];
  identities: string[];
  envs: string[];
  passes: string[];
  keySets: string[];
  /** id, index, head, envs, passes, keys, format, identity, ita, tone */
  recs: [string, number, number, number[], number, number, number, number, number | null, number][];
}

/** A sample.json (or manifest line) through the schema's index view, or null when it does not fit. */
function indexView(raw: unknown): SampleIndexView | null {
  const r = SampleIndexViewSchema.safeParse(raw);
  return r.success ? r.data : null;
}

function recordOf(idx: DatasetIndex, s: SampleIndexView, folderId?: string): SampleRec | null {
  const id = folderId ?? (typeof s.id === 'string' ? s.id : typeof s.index === 'number' ? String(s.index).padStart(6, '0') : null);
  if (!id || !SAMPLE_RE.test(id)) return null;
  const index = s.index ?? Number(id);
  const headName = s.head?.ref ?? s.head?.id ?? '(unknown)';
  const identityName = identityKeyOf(s.head ?? {});
  const params = (s.head as { params?: unknown } | undefined)?.params;
  const ita = params && typeof params === 'object' ? itaOfSkin((params as { skin?: unknown }).skin) : null;
  const bin = ita === null ? null : itaBin(ita);
  const envs = new Set<number>();
  let passes = 0;
  const keys: string[] = [];
  for (const l of s.lightings ?? []) {
    if (l.key !== undefined) keys.push(l.key);
    for (const e of l.lighting?.environment ?? []) if (e.map !== undefined) envs.add(idx.envs.id(e.map));
    for (const p of l.passes ?? []) passes |= 1 << Math.min(30, idx.passes.id(p));
  }
  return {
    id,
    index,
    head: idx.heads.id(headName),
    envs: [...envs].sort((a, b) => a - b),
    passes,
    keys: idx.keySets.id(keys.join(',')),
    format: recordFormatVersion(s),
    identity: idx.identities.id(identityName),
    ita,
    tone: bin ? ITA_BINS.indexOf(bin) : UNKNOWN_TONE,
  };
}

function emptyIndex(name: string, dir: string): DatasetIndex {
  return {
    name,
    dir,
    heads: new Interner(),
    identities: new Interner(),
    envs: new Interner(),
    passes: new Interner(),
    keySets: new Interner(),
    recs: new Map(),
    sorted: [],
    stamp: { samplesMtime: -1, manifestMtime: -1, manifestSize: -1 },
    version: 0,
    source: 'empty',
    buildMs: 0,
    filterCache: new Map(),
  };
}

async function readManifest(idx: DatasetIndex, file: string): Promise<void> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    let s: SampleIndexView | null;
    try {
      s = indexView(JSON.parse(line));
    } catch {
      continue; // a torn line: the folders pass below picks the sample up
    }
    const r = s && recordOf(idx, s);
    if (r) idx.recs.set(r.id, r);
  }
}

export class DatasetIndexes {
  private cache = new Map<string, DatasetIndex>();
  private pending = new Map<string, Promise<DatasetIndex>>();
  constructor(private readonly outputRoot: string) {}

  /** The dataset folder's real path, or null (bad name, not a dataset, outside the root). */
  datasetDir(name: unknown): string | null {
    if (!validDatasetName(name)) return null;
    for (const marker of ['batch.json', 'manifest.jsonl', 'dataset.json']) {
      const f = fs.existsSync(this.outputRoot) ? resolveUnderRoot(this.outputRoot, `${name}/${marker}`) : null;
      if (f) return path.dirname(f);
    }
    return null;
  }

  /** The cached index as it is (no refresh), if any. */
  peek(name: string): DatasetIndex | undefined {
    return this.cache.get(name);
  }

  /** The index, refreshed if manifest.jsonl or the samples folder changed. Null = no such dataset. */
  async get(name: unknown): Promise<DatasetIndex | null> {
    const dir = this.datasetDir(name);
    if (!dir) return null;
    const key = name as string;
    let p = this.pending.get(key);
    if (!p) {
      p = this.refresh(key, dir).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  /** Where the index of a finished dataset is kept between server runs (keyed by the manifest's mtime and size). */
  private persistedFile(name: string): string {
    return path.join(this.outputRoot, '.cache', 'index', `${name}.json`);
  }

  private async loadPersisted(name: string, dir: string, stamp: Stamp): Promise<DatasetIndex | null> {
    try {
      const j = JSON.parse(await fsp.readFile(this.persistedFile(name), 'utf8')) as PersistedIndex;
      if (j.version !== PERSISTED_VERSION || j.dir !== dir || j.manifestMtime !== stamp.manifestMtime || j.manifestSize !== stamp.manifestSize) return null;
      const idx = emptyIndex(name, dir);
      for (const h of j.heads) idx.heads.id(h);
      for (const h of j.identities) idx.identities.id(h);
      for (const e of j.envs) idx.envs.id(e);
      for (const p of j.passes) idx.passes.id(p);
      for (const k of j.keySets) idx.keySets.id(k);
      for (const [id, index, head, envs, passes, keys, format, identity, ita, tone] of j.recs) idx.recs.set(id, { id, index, head, envs, passes, keys, format, identity, ita, tone });
      return idx;
    } catch {
      return null;
    }
  }

  private async persist(idx: DatasetIndex, stamp: Stamp): Promise<void> {
    if (idx.recs.size < 1000) return; // small datasets index faster than they load
    const j: PersistedIndex = {
      version: PERSISTED_VERSION,
      dir: idx.dir,
      manifestMtime: stamp.manifestMtime,
      manifestSize: stamp.manifestSize,
      heads: idx.heads.list,
      identities: idx.identities.list,
      envs: idx.envs.list,
      passes: idx.passes.list,
      keySets: idx.keySets.list,
      recs: [...idx.recs.values()].map((r) => [r.id, r.index, r.head, r.envs, r.passes, r.keys, r.format, r.identity, r.ita, r.tone]),
    };
    try {
      const file = this.persistedFile(idx.name);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, JSON.stringify(j), { fsync: false });
    } catch {
      /* a read-only output root: the index stays in memory only */
    }
  }

  private async refresh(name: string, dir: string): Promise<DatasetIndex> {
    const t0 = performance.now();
    const samplesDir = path.join(dir, 'samples');
    const manifest = path.join(dir, 'manifest.jsonl');
    // Stat before reading: a change after this point leaves a newer mtime for the next refresh.
    const [ss, ms] = await Promise.all([statOrNull(samplesDir), statOrNull(manifest)]);
    const stamp: Stamp = { samplesMtime: ss?.mtimeMs ?? -1, manifestMtime: ms?.mtimeMs ?? -1, manifestSize: ms?.size ?? -1 };
    let idx = this.cache.get(name);
    if (idx && idx.dir === dir && idx.stamp.samplesMtime === stamp.samplesMtime && idx.stamp.manifestMtime === stamp.manifestMtime && idx.stamp.manifestSize === stamp.manifestSize) return idx;

    let changed = false;
    const manifestChanged = !idx || idx.dir !== dir || idx.stamp.manifestMtime !== stamp.manifestMtime || idx.stamp.manifestSize !== stamp.manifestSize;
    if (ms && manifestChanged) {
      const fresh = (await this.loadPersisted(name, dir, stamp)) ?? emptyIndex(name, dir);
      if (fresh.recs.size === 0) {
        await readManifest(fresh, manifest);
        await this.persist(fresh, stamp);
      }
      fresh.source = 'manifest';
      idx = fresh;
      changed = true;
    } else if (!idx || idx.dir !== dir || (!ms && idx.source.startsWith('manifest'))) {
      idx = emptyIndex(name, dir);
      changed = true;
    }
    // The folders are the truth while the dataset is being written (no manifest yet, or samples
    // added after it). A finished dataset's manifest is newer than its samples folder.
    if (ss && (!ms || stamp.samplesMtime > stamp.manifestMtime) && (changed || idx.stamp.samplesMtime !== stamp.samplesMtime || idx.source === 'manifest')) {
      const names = (await fsp.readdir(samplesDir)).filter((n) => SAMPLE_RE.test(n));
      const present = new Set(names);
      for (const id of idx.recs.keys()) {
        if (!present.has(id)) {
          idx.recs.delete(id);
          changed = true;
        }
      }
      const todo = names.filter((n) => !idx!.recs.has(n));
      const target = idx;
      await mapLimit(todo, 16, async (id) => {
        const f = resolveUnderRoot(this.outputRoot, `${name}/samples/${id}/sample.json`);
        if (!f) return;
        try {
          const view = indexView(JSON.parse(await fsp.readFile(f, 'utf8')));
          const r = view && recordOf(target, view, id);
          if (r) target.recs.set(id, r);
        } catch {
          /* unreadable sample.json (or not a sample record): not listed */
        }
      });
      if (todo.length) changed = true;
      idx.source = ms ? 'manifest+folders' : 'folders';
    }
    if (changed) {
      idx.sorted = [...idx.recs.values()].sort((a, b) => a.index - b.index || (a.id < b.id ? -1 : 1));
      idx.version++;
      idx.filterCache.clear();
      idx.buildMs = performance.now() - t0;
    }
    idx.stamp = stamp;
    this.cache.set(name, idx);
    return idx;
  }
}

export interface Filter {
  head?: string;
  env?: string;
  pass?: string;
  /** head.id (one identity) */
  identity?: string;
  /** a skin-tone bin name of SKIN_TONES ('unknown': no skin draw) */
  skin?: string;
}

export function applyFilter(idx: DatasetIndex, f: Filter): SampleRec[] {
  if (!f.head && !f.env && !f.pass && !f.identity && !f.skin) return idx.sorted;
  const key = JSON.stringify([f.head, f.env, f.pass, f.identity, f.skin]);
  const hit = idx.filterCache.get(key);
  if (hit) return hit;
  const head = f.head ? idx.heads.find(f.head) : undefined;
  const env = f.env ? idx.envs.find(f.env) : undefined;
  const passId = f.pass ? idx.passes.find(passNameOfFile(f.pass)) : undefined;
  const identity = f.identity ? idx.identities.find(f.identity) : undefined;
  const tone = f.skin ? SKIN_TONES.indexOf(f.skin) : -1;
  let out: SampleRec[];
  if ((f.head && head === undefined) || (f.env && env === undefined) || (f.pass && passId === undefined) || (f.identity && identity === undefined) || (f.skin && tone < 0)) out = [];
  else {
    const bit = passId !== undefined ? 1 << Math.min(30, passId) : 0;
    out = idx.sorted.filter(
      (r) =>
        (head === undefined || r.head === head) &&
        (env === undefined || r.envs.includes(env)) &&
        (bit === 0 || (r.passes & bit) !== 0) &&
        (identity === undefined || r.identity === identity) &&
        (tone < 0 || r.tone === tone),
    );
  }
  if (idx.filterCache.size > 32) idx.filterCache.clear();
  idx.filterCache.set(key, out);
  return out;
}

/** At most this many identities are listed in the facets (a dataset of drawn heads has one per sample). */
export const MAX_IDENTITY_FACETS = 1000;

export function facets(idx: DatasetIndex) {
  const heads = new Array<number>(idx.heads.list.length).fill(0);
  const identities = new Array<number>(idx.identities.list.length).fill(0);
  const envs = new Array<number>(idx.envs.list.length).fill(0);
  const passes = new Array<number>(idx.passes.list.length).fill(0);
  const tones = new Array<number>(SKIN_TONES.length).fill(0);
  const keys = new Set<string>();
  const keySetSeen = new Set<number>();
  for (const r of idx.sorted) {
    heads[r.head]++;
    identities[r.identity]++;
    tones[r.tone]++;
    for (const e of r.envs) envs[e]++;
    for (let p = 0; p < passes.length; p++) if (r.passes & (1 << Math.min(30, p))) passes[p]++;
    if (!keySetSeen.has(r.keys)) {
      keySetSeen.add(r.keys);
      for (const k of idx.keySets.list[r.keys].split(',')) if (k) keys.add(k);
    }
  }
  const list = (names: string[], counts: number[]) => names.map((value, i) => ({ value, count: counts[i] })).filter((x) => x.count > 0).sort((a, b) => (a.value < b.value ? -1 : 1));
  const ids = list(idx.identities.list, identities);
  return {
    heads: list(idx.heads.list, heads),
    envs: list(idx.envs.list, envs),
    passes: list(idx.passes.list, passes),
    lightingKeys: [...keys],
    /** distinct head ids (the first MAX_IDENTITY_FACETS by name; identitiesTotal counts all) */
    identities: ids.slice(0, MAX_IDENTITY_FACETS),
    identitiesTotal: ids.length,
    /** every ITA bin in order (light to dark, then unknown), empty ones included; range in degrees (null = open) */
    skinTones: SKIN_TONES.map((value, i) => {
      const b = ITA_BINS[i];
      return { value, count: tones[i], range: b ? ([Number.isFinite(b.lo) ? b.lo : null, Number.isFinite(b.hi) ? b.hi : null] as [number | null, number | null]) : null };
    }),
  };
}

export function recJson(idx: DatasetIndex, r: SampleRec) {
  return {
    id: r.id,
    index: r.index,
    head: idx.heads.list[r.head],
    identity: idx.identities.list[r.identity],
    ita: r.ita === null ? null : Math.round(r.ita * 100) / 100,
    skinTone: SKIN_TONES[r.tone],
    envs: r.envs.map((e) => idx.envs.list[e]),
    keys: idx.keySets.list[r.keys].split(',').filter(Boolean),
  };
}

/**
 * The dataset format versions of the indexed samples: which this server reads, how many samples
 * each version holds, and a warning when any differs.
 */
export function formatSummary(idx: DatasetIndex): { reads: number; found: Record<string, number>; warning: string | null } {
  const found: Record<string, number> = {};
  for (const r of idx.sorted) found[r.format] = (found[r.format] ?? 0) + 1;
  const other = Object.keys(found).map(Number).filter((v) => v !== DATASET_FORMAT_VERSION);
  const warning = other.length
    ? other.map((v) => `${found[v]} of ${idx.sorted.length} sample(s) ${formatVersionNote(v)}`).join('; ')
    : null;
  return { reads: DATASET_FORMAT_VERSION, found, warning };
}
