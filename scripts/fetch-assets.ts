// npm run fetch-assets: downloads the public assets the examples use (ICT Face Model Light, the
// Lee Perry-Smith scan, Poly Haven HDRIs) into a cache laid out like ../shared/assets, so a fresh
// machine needs nothing but Node. Every file is checked against assets/public-assets.json
// (size, SHA-256). Downloads go to <dest>/.partial/ and are renamed into place only when
// verified, so the cache never holds a half or wrong file; an interrupted download resumes
// (HTTP Range) or restarts on the next attempt or run.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { ASSET_CACHE } from '../renderer/io/asset-roots.js';
import { writeFileAtomic } from '../renderer/io/fs-atomic.js';

const MANIFEST = path.join(PROJECT_ROOT, 'assets', 'public-assets.json');
const RESOLUTIONS = ['1k', '2k', '4k'] as const;

const Sha = z.string().regex(/^[0-9a-f]{64}$/);
const FileSchema = z.strictObject({
  path: z.string().min(1),
  url: z.string().nullable(),
  size: z.number().int().nonnegative().optional(),
  sha256: Sha.optional(),
  gzip: z.boolean().optional(),
  sourceSize: z.number().int().nonnegative().optional(),
  sourceSha256: Sha.optional(),
});
const ManifestSchema = z.object({
  groups: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      license: z.string(),
      licenseUrl: z.string(),
      attribution: z.string(),
      files: z.array(FileSchema),
      hdris: z
        .object({
          urlTemplate: z.string(),
          pathTemplate: z.string(),
          resolutions: z.array(z.enum(RESOLUTIONS)),
          names: z.array(z.string()),
          checksums: z.record(z.string(), z.record(z.string(), z.object({ size: z.number().int(), sha256: Sha }))),
        })
        .optional(),
    }),
  ),
});
type Manifest = z.infer<typeof ManifestSchema>;
type Group = Manifest['groups'][number];

/** One file to fetch: where it goes, where it comes from, what its bytes must be. */
interface Item {
  group: Group;
  path: string;
  /** null: no public upstream (made for ../shared/assets); only a --base-url mirror has it */
  url: string | null;
  hdriName?: string;
  /** the bytes as stored in the cache */
  size?: number;
  sha256?: string;
  /** upstream serves the plain file (sourceSha256), stored gzipped */
  gzip?: { size?: number; sha256?: string };
}

interface Options {
  dest: string;
  baseUrl?: string;
  only?: string[];
  hdriRes: (typeof RESOLUTIONS)[number];
  retries: number;
  jobs: number;
  allowUnverified: boolean;
  list: boolean;
  manifest: string;
}

const intArg = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${v}"`);
  return n;
};

const program = new Command('fetch-assets')
  .description('Download the public assets (ICT Face Model Light, Lee Perry-Smith scan, Poly Haven HDRIs) into a cache the renderer searches like ../shared/assets; every file is SHA-256-checked.')
  .addOption(new Option('--dest <dir>', 'cache folder (the renderer looks here after ../shared/assets)').default(ASSET_CACHE, 'output/.cache/assets'))
  .option('--base-url <url>', 'fetch <url>/<path> from a mirror laid out like ../shared/assets instead of the upstream URLs')
  .option('--only <list>', 'comma-separated: group ids (ict_facekit, lee_perry_smith, hdris), HDRI names (e.g. lebombo), file paths or folders (e.g. heads/ict_facekit/LICENSE)', 'everything')
  .option('--hdri-res <res>', 'HDRI resolution: 1k, 2k or 4k (upstream names <name>_<res>.hdr; only 1k checksums are known)', '1k')
  .option('--allow-unverified', 'accept files whose SHA-256 the manifest does not know (2k/4k HDRIs); prints their hashes', false)
  .option('--retries <n>', 'extra attempts per file after a failed transfer (each resumes with HTTP Range when the server allows)', intArg(0), 2)
  .option('--jobs <n>', 'parallel downloads', intArg(1), 4)
  .option('--list', 'print what would be fetched and exit', false)
  .addOption(new Option('--manifest <file>', 'asset manifest').default(MANIFEST, 'assets/public-assets.json'))
  .addHelpText('after', `\nLicences: ICT Face Model Light MIT, Lee Perry-Smith scan CC BY 3.0 (attribution required), Poly Haven HDRIs CC0.`);

function parseOptions(): Options {
  const o = program.parse().opts<{ dest: string; baseUrl?: string; only: string; hdriRes: string; retries: number; jobs: number; allowUnverified: boolean; list: boolean; manifest: string }>();
  if (!(RESOLUTIONS as readonly string[]).includes(o.hdriRes)) program.error(`error: option '--hdri-res <res>' must be one of ${RESOLUTIONS.join(', ')}, got "${o.hdriRes}"`);
  if (o.baseUrl !== undefined) {
    try {
      new URL(o.baseUrl);
    } catch {
      program.error(`error: option '--base-url <url>' is not a URL: "${o.baseUrl}"`);
    }
  }
  const only = o.only === 'everything' ? undefined : o.only.split(',').map((s) => s.trim()).filter(Boolean);
  return { ...o, dest: path.resolve(o.dest), only, hdriRes: o.hdriRes as Options['hdriRes'] };
}

function loadManifest(file: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`asset manifest ${file}: ${(err as Error).message}`);
  }
  const r = ManifestSchema.safeParse(raw);
  if (!r.success) throw new Error(`asset manifest ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function expandItems(m: Manifest, res: Options['hdriRes']): Item[] {
  const items: Item[] = [];
  for (const g of m.groups) {
    for (const f of g.files) {
      items.push({ group: g, path: f.path, url: f.url, size: f.size, sha256: f.sha256, gzip: f.gzip ? { size: f.sourceSize, sha256: f.sourceSha256 } : undefined });
    }
    if (g.hdris) {
      for (const name of g.hdris.names) {
        const fill = (t: string) => t.replaceAll('{name}', name).replaceAll('{res}', res);
        const sum = g.hdris.checksums[res]?.[name];
        items.push({ group: g, path: fill(g.hdris.pathTemplate), url: fill(g.hdris.urlTemplate), hdriName: name, size: sum?.size, sha256: sum?.sha256 });
      }
    }
  }
  return items;
}

function selectItems(all: Item[], only: string[] | undefined): Item[] {
  if (!only) return all;
  const picked = new Set<Item>();
  for (const sel of only) {
    const s = sel.replace(/\/+$/, '');
    const hits = all.filter((it) => it.group.id === s || it.hdriName === s || it.path === s || it.path.startsWith(`${s}/`) || path.posix.basename(it.path) === s);
    if (hits.length === 0) {
      const names = all.flatMap((it) => (it.hdriName ? [it.hdriName] : []));
      throw new Error(`--only: "${sel}" matches no asset (groups: ${[...new Set(all.map((it) => it.group.id))].join(', ')}; HDRIs: ${names.join(', ')}; or a path from assets/public-assets.json)`);
    }
    for (const h of hits) picked.add(h);
  }
  return all.filter((it) => picked.has(it));
}

async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

/** Whether `file` already holds the item's bytes (or, gzipped, the upstream file's bytes). */
async function isPresent(file: string, it: Item): Promise<boolean | 'unverified'> {
  if (!fs.existsSync(file)) return false;
  if (!it.sha256 && !it.gzip?.sha256) return 'unverified';
  if (it.sha256 && (await sha256File(file)) === it.sha256) return true;
  if (it.gzip?.sha256) {
    try {
      return crypto.createHash('sha256').update(zlib.gunzipSync(await fsp.readFile(file))).digest('hex') === it.gzip.sha256;
    } catch {
      return false;
    }
  }
  return false;
}

class FetchError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

/**
 * Downloads `url` into `part`, continuing from its current length with a Range request; a
 * server that answers 200 instead of 206 sends the whole file, so the part is restarted.
 */
async function transfer(url: string, part: string, label: string): Promise<void> {
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  let res: Response;
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow' });
  } catch (err) {
    throw new FetchError(`${label}: cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}`, true);
  }
  if (res.status === 416) {
    // The part is as long as (or longer than) the file: start over.
    await res.body?.cancel();
    await fsp.rm(part, { force: true });
    throw new FetchError(`${label}: server refused the resume range; restarting`, true);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FetchError(`${label}: HTTP ${res.status} ${res.statusText} from ${url}`, res.status >= 500 || res.status === 429);
  }
  let flags = 'w';
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
    if (Number(start) !== have) {
      await res.body?.cancel();
      await fsp.rm(part, { force: true });
      throw new FetchError(`${label}: server resumed at byte ${start ?? '?'} instead of ${have}; restarting`, true);
    }
    flags = 'a';
  }
  if (!res.body) throw new FetchError(`${label}: empty response from ${url}`, true);
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(part, { flags }));
  } catch (err) {
    const got = fs.existsSync(part) ? fs.statSync(part).size : 0;
    throw new FetchError(`${label}: transfer from ${url} interrupted after ${got} bytes (${(err as Error).cause ?? (err as Error).message}); kept for resuming`, true);
  }
}

type Outcome = { item: Item; status: 'fetched' | 'present' | 'skipped' | 'failed'; note?: string };

async function fetchItem(it: Item, o: Options): Promise<Outcome> {
  const dest = path.join(o.dest, ...it.path.split('/'));
  const present = await isPresent(dest, it);
  if (present) return { item: it, status: 'present', note: present === 'unverified' ? 'no checksum known, not re-checked' : undefined };
  const fromMirror = o.baseUrl !== undefined;
  const url = fromMirror ? `${o.baseUrl!.replace(/\/+$/, '')}/${it.path.split('/').map(encodeURIComponent).join('/')}` : it.url;
  if (!url) return { item: it, status: 'skipped', note: 'no public upstream URL (made for ../shared/assets); only a --base-url mirror has it' };
  // From upstream a gzip item arrives plain and is gzipped here; a mirror serves it as stored.
  const gzipAfter = !fromMirror && it.gzip !== undefined;
  const want = gzipAfter ? { size: it.gzip!.size, sha256: it.gzip!.sha256 } : { size: it.size, sha256: it.sha256 };
  if (!want.sha256 && !o.allowUnverified) {
    return { item: it, status: 'failed', note: `${it.path}: no SHA-256 is known for this file (assets/public-assets.json); rerun with --allow-unverified to accept it unchecked` };
  }
  // Keyed by content (or URL when unknown) so a resume never mixes bytes of two versions.
  const key = want.sha256 ?? crypto.createHash('sha256').update(url).digest('hex');
  const partDir = path.join(o.dest, '.partial');
  const part = path.join(partDir, `${key}.part`);
  await fsp.mkdir(partDir, { recursive: true });
  let lastErr: FetchError | undefined;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** attempt)));
    if (want.size !== undefined && fs.existsSync(part) && fs.statSync(part).size > want.size) await fsp.rm(part, { force: true });
    try {
      if (!(want.size !== undefined && fs.existsSync(part) && fs.statSync(part).size === want.size)) await transfer(url, part, it.path);
      lastErr = undefined;
      break;
    } catch (err) {
      if (!(err instanceof FetchError)) throw err;
      lastErr = err;
      if (!err.retryable) break;
    }
  }
  if (lastErr) return { item: it, status: 'failed', note: lastErr.message };
  const gotSize = fs.statSync(part).size;
  const got = await sha256File(part);
  if (want.sha256 && got !== want.sha256) {
    await fsp.rm(part, { force: true });
    const sizeNote = want.size !== undefined && gotSize !== want.size ? ` (size ${gotSize}, expected ${want.size})` : '';
    return { item: it, status: 'failed', note: `${it.path}: SHA-256 mismatch from ${url}: expected ${want.sha256}, got ${got}${sizeNote}; the download was deleted` };
  }
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  if (gzipAfter) {
    await writeFileAtomic(dest, zlib.gzipSync(await fsp.readFile(part), { level: 9 }));
    await fsp.rm(part, { force: true });
  } else {
    const h = await fsp.open(part, 'r+');
    await h.sync();
    await h.close();
    await fsp.rename(part, dest); // same filesystem: atomic
  }
  return { item: it, status: 'fetched', note: want.sha256 ? undefined : `unverified: size ${gotSize}, sha256 ${got}` };
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

async function main(): Promise<number> {
  const o = parseOptions();
  const manifest = loadManifest(o.manifest);
  const items = selectItems(expandItems(manifest, o.hdriRes), o.only);
  if (o.list) {
    for (const it of items) console.log(`${it.path}\t${it.size ?? '?'} bytes\t${it.url ?? '(mirror only)'}`);
    return 0;
  }
  const total = items.reduce((s, it) => s + (it.size ?? 0), 0);
  console.error(`fetch-assets: ${items.length} file(s), about ${mib(total)}, into ${o.dest}${o.baseUrl ? ` from ${o.baseUrl}` : ''}`);
  const outcomes: Outcome[] = [];
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(o.jobs, queue.length) }, async () => {
      for (let it = queue.shift(); it; it = queue.shift()) {
        const r = await fetchItem(it, o);
        outcomes.push(r);
        if (r.status === 'fetched') console.error(`  fetched ${r.item.path}${r.note ? ` (${r.note})` : ''}`);
        if (r.status === 'failed') console.error(`  FAILED  ${r.note}`);
      }
    }),
  );
  await fsp.rmdir(path.join(o.dest, '.partial')).catch(() => undefined); // only when empty
  const count = (s: Outcome['status']) => outcomes.filter((r) => r.status === s);
  const skipped = count('skipped');
  const failed = count('failed');
  console.log(`fetch-assets: ${count('fetched').length} fetched, ${count('present').length} already present, ${skipped.length} skipped, ${failed.length} failed; cache ${o.dest}`);
  if (skipped.length) console.log(`  skipped (${skipped[0].note}): ${skipped.map((r) => r.item.path).join(', ')}`);
  const groups = [...new Set(outcomes.filter((r) => r.status === 'fetched' || r.status === 'present').map((r) => r.item.group))];
  if (groups.length) {
    console.log('Licences (keep the attribution with rendered data):');
    for (const g of groups) console.log(`  ${g.title}: ${g.license} (${g.licenseUrl})\n    ${g.attribution}`);
  }
  if (path.resolve(o.dest) === path.resolve(ASSET_CACHE)) {
    console.log('The renderer finds these files like ../shared/assets (e.g. assets/heads/lee_perry_smith).');
  } else {
    console.log(`Note: the renderer searches ${ASSET_CACHE}, not ${o.dest}.`);
  }
  if (failed.length) {
    console.error(`fetch-assets: error: ${failed.length} file(s) failed:\n${failed.map((r) => `  ${r.note}`).join('\n')}\nRerun the same command to retry (finished files are kept, interrupted ones resume).`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    console.error(`fetch-assets: error: ${err.message}`);
    process.exitCode = 1;
  },
);
