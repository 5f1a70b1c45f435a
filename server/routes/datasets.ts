// Node-only. Dataset browsing routes for the dashboard. Every id in a URL is validated (dataset
// names [A-Za-z0-9._-]+, sample ids \d{6,}, lighting keys from the sample's own sample.json, pass
// names from a fixed list) and every file is opened through resolveUnderRoot (server/files.ts), so
// an unknown id or a traversal path is a 404 JSON answer, never a file outside the output root.
//
//   GET /api/datasets                                   datasets under the output root
//   GET /api/datasets/:ds                               counts, facets (heads, identities, skin-tone bins, env maps, passes), lighting keys, config summary
//   GET /api/datasets/:ds/samples?offset&limit&head&env&pass&identity&skin
//                                                       one page of the (filtered) sample index, sorted by index; per sample
//                                                       its head, identity (renderer/dataset/identity.ts), ITA and skin-tone bin (ITA_BINS or 'unknown')
//   GET /api/datasets/:ds/samples/:id                   sample.json + per-lighting meta + pass list + provenance; prev/next (same filters);
//                                                       landmarks (or null), segmentation (file, label table) or null, skin tone
//   GET /api/datasets/:ds/samples/:id/thumb?key&pass&size
//                                                       WebP thumbnail, cached on disk under <output>/.cache/thumbs/<ds>/<id>/
//   GET /api/datasets/:ds/samples/:id/:key/<pass>.f16   the pass as half floats (interleaved; X-Image-Width/Height/Channels/Kind headers),
//                                                       tonemapped in the browser (the exposure slider needs no request)
//   GET /api/datasets/:ds/samples/:id/:key/<pass>.png?exposure
//                                                       the same tonemapped on the server (links, downloads); preview.png / mask.png as stored
//   GET /api/datasets/:ds/samples/:id/:key/env.f16?width
//                                                       the lighting's environment layers summed into one lat-long map (256x128 default), half floats
//   GET /api/datasets/:ds/samples/:id/:key/env16.f32    the 16x16x3 float32 encoding as stored
//   GET /api/datasets/:ds/samples/:id/:key/segmentation.png
//                                                       the label map as stored (8-bit grey ids)
//   GET /api/datasets/:ds/samples/:id/:key/segmentation.u8
//                                                       the same ids as raw bytes, one per pixel, row 0 = top (X-Image-Width/Height headers)
//   GET /api/segmentation/labels                        the label table this server's renderer writes (renderer/core/labels.ts)
//
//
// The sample index behind the listings is server/dataset-index.ts; pass decoding
// server/pass-images.ts, thumbnails server/thumbnails.ts, environment previews
// server/env-preview.ts.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type express from 'express';
import type { Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { resolveUnderRoot } from '../files.js';
import { KEY_RE, SAMPLE_RE, validDatasetName } from '../dataset-ids.js';
import { DatasetIndexes, applyFilter, facets, formatSummary, recJson, type DatasetIndex, type Filter } from '../dataset-index.js';
import { encodeDisplayPng, imageWork, loadPassImage } from '../pass-images.js';
import { envPreview } from '../env-preview.js';
import { THUMB_SIZES, thumbnail } from '../thumbnails.js';
import { readJsonOrNull } from '../util/fs.js';
import { readPng } from '../../renderer/io/image-io.js';
import { SEGMENTATION_LABELS, type SegmentationLabel } from '../../renderer/core/labels.js';
import { ITA_BINS, itaBin, itaOfSkin, UNKNOWN_SKIN_TONE } from '../../renderer/dataset/skin-tone.js';
import { notFound, wrap, type Handler } from './http.js';
import { PASS_FILES, type DisplayKind, type HalfImage } from '../../renderer/core/display.js';
import { SampleRecordSchema, formatVersionNote, parseRecord, recordFormatVersion, type SampleLightingEntry, type SampleRecord } from '../../renderer/dataset/records.js';
import { identityKeyOf } from '../../renderer/dataset/identity.js';

const MAX_LIMIT = 500;

type SampleJson = SampleRecord;
type SampleLighting = SampleLightingEntry;

/** A sample.json read through the dataset schema (any format version: old ones are shown with a note). */
interface LoadedSample {
  file: string;
  sample: SampleJson;
  /** its format_version (1 when absent) */
  format: number;
}

/** What every handler works against: the output root, its dataset indexes, validated reads. */
class DatasetRoutes {
  readonly root: string;
  readonly indexes: DatasetIndexes;
  constructor(readonly ctx: AppContext) {
    this.root = ctx.outputRoot;
    this.indexes = new DatasetIndexes(this.root);
  }

  /** A file under the output root (resolveUnderRoot), or null. */
  under(rel: string): string | null {
    return fs.existsSync(this.root) ? resolveUnderRoot(this.root, rel) : null;
  }

  /**
   * sample.json of a validated (dataset, sample id), through the dataset's record schema; or null
   * after answering 404 (no such sample, or a sample.json that is not a sample record: the
   * answer names the field).
   */
  loadSample(res: Response, ds: unknown, id: unknown): LoadedSample | null {
    const raw = validDatasetName(ds) && typeof id === 'string' && SAMPLE_RE.test(id) ? this.under(`${ds}/samples/${id}/sample.json`) : null;
    const json = readJsonOrNull<unknown>(raw);
    if (!raw || json === null) {
      notFound(res, 'no such sample');
      return null;
    }
    try {
      return { file: raw, sample: parseRecord(json, SampleRecordSchema, `sample ${String(id)}: sample.json`, { anyVersion: true }), format: recordFormatVersion(json) };
    } catch (err) {
      notFound(res, (err as Error).message.split('\n')[0]);
      return null;
    }
  }
}

/** A lighting key named by the sample itself. */
const lightingOf = (s: SampleJson, key: unknown) => (typeof key === 'string' && KEY_RE.test(key) ? s.lightings?.find((l) => l.key === key) : undefined);

/** The first lighting (it holds the lighting-independent passes), if its key is a valid one. */
const firstLighting = (s: SampleJson) => {
  const l = s.lightings?.[0];
  return l && typeof l.key === 'string' && KEY_RE.test(l.key) ? l : undefined;
};

/** Folder of a lighting whose key was validated (KEY_RE): its own folder name if that is valid too. */
const folderOf = (l: { key: string; folder?: string }) => (typeof l.folder === 'string' && KEY_RE.test(l.folder) ? l.folder : l.key);

function filterOf(q: Request['query']): Filter {
  const s = (v: unknown) => (typeof v === 'string' && v !== '' && v.length < 1000 ? v : undefined);
  return { head: s(q.head), env: s(q.env), pass: s(q.pass), identity: s(q.identity), skin: s(q.skin) };
}

function sendHalf(res: Response, img: HalfImage, kind: DisplayKind): void {
  res.set({
    'Content-Type': 'application/octet-stream',
    'X-Image-Width': String(img.width),
    'X-Image-Height': String(img.height),
    'X-Image-Channels': String(img.channels),
    'X-Image-Kind': kind,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.send(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength));
}

function parseExposure(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : 0;
  return Number.isFinite(n) ? Math.max(-20, Math.min(20, n)) : 0;
}

// ---------------------------------------------------------------------------------------------
// GET /api/datasets

function listDatasets(r: DatasetRoutes): Handler {
  const { root, indexes } = r;
  return async (_req, res) => {
    const out: { name: string; samples: number; complete: boolean; width: number | null; height: number | null; description: string | null; lightingKeys: string[] }[] = [];
    if (fs.existsSync(root)) {
      for (const e of fs.readdirSync(root, { withFileTypes: true })) {
        if (!e.isDirectory() || !validDatasetName(e.name)) continue;
        const dir = indexes.datasetDir(e.name);
        if (!dir || !fs.existsSync(path.join(dir, 'batch.json'))) continue;
        const batch = readJsonOrNull<{ config?: { samples?: number; width?: number; height?: number; description?: string; lighting?: { mode?: string } } }>(path.join(dir, 'batch.json'));
        // The list stays cheap (no sample.json read): a finished dataset's count from its index or
        // dataset.json, an unfinished one's sample folders counted.
        const complete = fs.existsSync(path.join(dir, 'manifest.jsonl'));
        let samples: number | undefined;
        if (complete) samples = indexes.peek(e.name)?.sorted.length ?? readJsonOrNull<{ samples?: number }>(path.join(dir, 'dataset.json'))?.samples;
        if (samples === undefined) {
          try {
            samples = (await fsp.readdir(path.join(dir, 'samples'))).filter((n) => SAMPLE_RE.test(n)).length;
          } catch {
            samples = 0;
          }
        }
        const cfg = batch?.config;
        out.push({
          name: e.name,
          samples,
          complete,
          width: cfg?.width ?? null,
          height: cfg?.height ?? null,
          description: cfg?.description ?? null,
          lightingKeys: cfg?.lighting?.mode === 'single' ? ['single'] : ['input_i', 'input_j', 'target_k'],
        });
      }
    }
    res.json({ datasets: out.sort((a, b) => a.name.localeCompare(b.name)) });
  };
}

// ---------------------------------------------------------------------------------------------
// GET /api/datasets/:ds

function datasetSummary(r: DatasetRoutes): Handler {
  return async (req, res) => {
    const idx = await r.indexes.get(req.params.ds);
    if (!idx) return notFound(res, `no dataset ${String(req.params.ds).slice(0, 100)}`);
    const batch = readJsonOrNull<{ config?: Record<string, unknown>; contentHash?: string }>(r.under(`${idx.name}/batch.json`));
    const dataset = readJsonOrNull<Record<string, unknown>>(r.under(`${idx.name}/dataset.json`));
    const cfg = (batch?.config ?? {}) as Record<string, unknown>;
    res.json({
      name: idx.name,
      total: idx.sorted.length,
      planned: typeof cfg.samples === 'number' ? cfg.samples : null,
      complete: !!r.under(`${idx.name}/manifest.jsonl`),
      index: { source: idx.source, buildMs: Math.round(idx.buildMs * 10) / 10 },
      facets: facets(idx),
      format: formatSummary(idx),
      passFiles: Object.keys(PASS_FILES),
      config: { width: cfg.width ?? null, height: cfg.height ?? null, description: cfg.description ?? null, seed: cfg.seed ?? null, heads: cfg.heads ?? [], envMaps: cfg.envMaps ?? [] },
      provenance: {
        configContentHash: batch?.contentHash ?? dataset?.configContentHash ?? null,
        generator: dataset?.generator ?? null,
        manifestSha256: dataset?.manifestSha256 ?? null,
        versions: dataset?.versions ?? null,
      },
    });
  };
}

// ---------------------------------------------------------------------------------------------
// GET /api/datasets/:ds/samples

function samplePage(r: DatasetRoutes): Handler {
  return async (req, res) => {
    const idx = await r.indexes.get(req.params.ds);
    if (!idx) return notFound(res, 'no such dataset');
    const list = applyFilter(idx, filterOf(req.query));
    const offset = Math.max(0, Math.min(list.length, Math.floor(Number(req.query.offset ?? 0)) || 0));
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(Number(req.query.limit ?? 100)) || 100));
    res.json({ dataset: idx.name, total: list.length, datasetTotal: idx.sorted.length, offset, limit, items: list.slice(offset, offset + limit).map((rec) => recJson(idx, rec)) });
  };
}

// ---------------------------------------------------------------------------------------------
// GET /api/datasets/:ds/samples/:id

/** Each valid lighting of a sample: its role, lighting, present passes and render metadata. */
function lightingsJson(r: DatasetRoutes, ds: string, id: string, sample: SampleJson) {
  return (sample.lightings ?? []).filter((l) => typeof l.key === 'string' && KEY_RE.test(l.key)).map((l) => {
    const folder = folderOf(l);
    const meta = readJsonOrNull<Record<string, unknown>>(r.under(`${ds}/samples/${id}/${folder}/meta.json`));
    const spec = (meta?.spec ?? {}) as Record<string, unknown>;
    const passes = Object.entries(PASS_FILES)
      .filter(([, p]) => !!r.under(`${ds}/samples/${id}/${folder}/${p.file}`))
      .map(([name, p]) => ({ name, label: p.label, kind: p.kind, file: `${folder}/${p.file}` }));
    return {
      key: l.key,
      role: l.role ?? null,
      lighting: l.lighting ?? null,
      passes,
      hasPreview: !!r.under(`${ds}/samples/${id}/${folder}/preview.png`),
      hasEnv16: !!r.under(`${ds}/samples/${id}/${folder}/env_latlong16.f32`),
      sh9: (l.encodings as { sh9?: number[] } | undefined)?.sh9 ?? null,
      meta: meta ? { renderer: meta.renderer ?? null, timings: meta.timings ?? null, createdAt: meta.createdAt ?? null, render: spec.render ?? null, output: spec.output ?? null, background: spec.background ?? null } : null,
    };
  });
}

/** The label table of a dataset's segmentation.png: dataset.json's (a finished dataset), else this renderer's. */
function segmentationLabels(dataset: Record<string, unknown> | null): { labels: readonly SegmentationLabel[]; source: 'dataset.json' | 'renderer' } {
  const labels = (dataset?.segmentation as { labels?: unknown } | undefined)?.labels;
  const byte = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;
  const valid =
    Array.isArray(labels) &&
    labels.length > 0 &&
    labels.every((l) => !!l && typeof l === 'object' && byte((l as SegmentationLabel).id) && typeof (l as SegmentationLabel).name === 'string' && Array.isArray((l as SegmentationLabel).color) && (l as SegmentationLabel).color.length === 3 && (l as SegmentationLabel).color.every(byte));
  return valid ? { labels: labels as SegmentationLabel[], source: 'dataset.json' } : { labels: SEGMENTATION_LABELS, source: 'renderer' };
}

/** The segmentation map of a sample (the first lighting folder holding segmentation.png), or null. */
function segmentationJson(r: DatasetRoutes, ds: string, id: string, sample: SampleJson, dataset: Record<string, unknown> | null) {
  for (const l of sample.lightings ?? []) {
    if (typeof l.key !== 'string' || !KEY_RE.test(l.key)) continue;
    const folder = folderOf(l);
    if (!r.under(`${ds}/samples/${id}/${folder}/segmentation.png`)) continue;
    const { labels, source } = segmentationLabels(dataset);
    return { key: l.key, file: `${folder}/segmentation.png`, labels, labelsSource: source };
  }
  return null;
}

/** The ITA and bin of a sample's drawn skin (head.params.skin); bin 'unknown' without one. */
function skinToneJson(sample: SampleJson) {
  const ita = itaOfSkin(sample.head?.params?.skin);
  const bin = ita === null ? null : itaBin(ita);
  return { ita: ita === null ? null : Math.round(ita * 100) / 100, bin: bin?.name ?? UNKNOWN_SKIN_TONE, bins: ITA_BINS.map((b) => b.name) };
}

/** prev / next of a sample in the (filtered) index order. */
function navOf(idx: DatasetIndex | null, filter: Filter, id: string, at: number) {
  let prev: string | null = null;
  let next: string | null = null;
  let position: number | null = null;
  let total: number | null = null;
  if (idx) {
    const list = applyFilter(idx, filter);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].index < at) lo = mid + 1;
      else hi = mid;
    }
    if (lo < list.length && list[lo].id === id) {
      position = lo;
      prev = lo > 0 ? list[lo - 1].id : null;
      next = lo + 1 < list.length ? list[lo + 1].id : null;
    } else {
      prev = lo > 0 ? list[lo - 1].id : null;
      next = lo < list.length ? list[lo].id : null;
    }
    total = list.length;
  }
  return { prev, next, position, total };
}

function sampleDetail(r: DatasetRoutes): Handler {
  return async (req, res) => {
    const { ds, id } = req.params;
    const s = r.loadSample(res, ds, id);
    if (!s) return;
    const { sample } = s;
    const lightings = lightingsJson(r, ds as string, id as string, sample);
    const dataset = readJsonOrNull<Record<string, unknown>>(r.under(`${ds}/dataset.json`));
    const batch = readJsonOrNull<{ contentHash?: string; configFile?: string | null }>(r.under(`${ds}/batch.json`));
    const nav = navOf(await r.indexes.get(ds), filterOf(req.query), id as string, sample.index);
    res.json({
      dataset: ds,
      id,
      index: sample.index,
      seed: sample.seed ?? null,
      head: sample.head ?? null,
      camera: sample.camera ?? null,
      augment: sample.augment ?? null,
      draws: sample.lighting ?? null,
      lightings,
      run: sample.run ?? null,
      files: sample.files ?? [],
      identity: sample.head ? identityKeyOf(sample.head as { id?: string; ref?: string; params?: { identity?: unknown } }) : null,
      skinTone: skinToneJson(sample),
      landmarks: sample.landmarks ?? null,
      segmentation: segmentationJson(r, ds as string, id as string, sample, dataset),
      provenance: {
        sampleVersion: sample.sampleVersion ?? null,
        formatVersion: s.format,
        formatNote: formatVersionNote(s.format),
        configContentHash: batch?.contentHash ?? dataset?.configContentHash ?? null,
        configFile: batch?.configFile ?? dataset?.configFile ?? null,
        generator: dataset?.generator ?? null,
        datasetSeed: dataset?.seed ?? null,
      },
      nav,
    });
  };
}

// ---------------------------------------------------------------------------------------------
// GET /api/datasets/:ds/samples/:id/thumb

function sampleThumb(r: DatasetRoutes): Handler {
  return async (req, res) => {
    const { ds, id } = req.params;
    const s = r.loadSample(res, ds, id);
    if (!s) return;
    const l = req.query.key !== undefined ? lightingOf(s.sample, req.query.key) : firstLighting(s.sample);
    if (!l) return notFound(res, 'no such lighting');
    const pass = typeof req.query.pass === 'string' && req.query.pass !== '' ? req.query.pass : 'preview';
    if (pass !== 'preview' && !Object.hasOwn(PASS_FILES, pass)) return notFound(res, 'no such pass');
    const size = Number(req.query.size ?? 128);
    if (!THUMB_SIZES.includes(size)) return notFound(res, `size must be one of ${THUMB_SIZES.join(', ')}`);
    const folder = folderOf(l);
    let src = r.under(`${ds}/samples/${id}/${folder}/${pass === 'preview' ? 'preview.png' : PASS_FILES[pass].file}`);
    let usedKey = l.key;
    // Lighting-independent passes live in the first lighting folder only.
    if (!src && pass !== 'preview') {
      const first = firstLighting(s.sample);
      if (first && first !== l) {
        src = r.under(`${ds}/samples/${id}/${folderOf(first)}/${PASS_FILES[pass].file}`);
        usedKey = first.key;
      }
    }
    if (!src) return notFound(res, 'no such pass in this sample');
    const file = await thumbnail(r.ctx, ds as string, id as string, usedKey, pass, size, src);
    res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    res.type('image/webp');
    res.sendFile(file, { dotfiles: 'allow' });
  };
}

// ---------------------------------------------------------------------------------------------
// GET /api/datasets/:ds/samples/:id/:key/<file>

/** env.f16: the lighting's environment layers summed into one lat-long map, half floats. */
async function envPreviewFile(r: DatasetRoutes, l: SampleLighting, req: Request, res: Response): Promise<void> {
  const width = Number(req.query.width ?? 256);
  if (![64, 128, 256, 512].includes(width)) return notFound(res, 'width must be 64, 128, 256 or 512');
  const img = await envPreview(l.lighting?.environment ?? [], width, r.ctx);
  if (!img) return notFound(res, 'environment map not available on this server');
  return sendHalf(res, img, 'radiance');
}

/** A pass of one lighting: f16 half floats, or a PNG (mask as stored, others tonemapped). */
async function passFile(req: Request, res: Response, f: string, name: string, ext: string): Promise<void> {
  const meta = PASS_FILES[name];
  if (ext === 'png' && name === 'mask') {
    res.set('Cache-Control', 'no-cache');
    return void res.type('image/png').sendFile(f, { dotfiles: 'allow' });
  }
  const img = await loadPassImage(f, name);
  if (ext === 'f16') return sendHalf(res, img, meta.kind);
  const png = await encodeDisplayPng(img, meta.kind, parseExposure(req.query.exposure));
  res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  res.type('image/png').send(png);
}

/** segmentation.u8: the label ids of segmentation.png as raw bytes (exact: no colour management in the browser). */
async function labelBytes(res: Response, f: string): Promise<void> {
  const png = await imageWork.run(() => readPng(f));
  if (png.bitDepth !== 8) return notFound(res, `segmentation.png is ${png.bitDepth}-bit, not an 8-bit label map`);
  const n = png.width * png.height;
  const ids = Buffer.alloc(n);
  for (let i = 0; i < n; i++) ids[i] = png.data[i * png.channels];
  res.set({
    'Content-Type': 'application/octet-stream',
    'X-Image-Width': String(png.width),
    'X-Image-Height': String(png.height),
    'X-Image-Channels': '1',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.send(ids);
}

function lightingFile(r: DatasetRoutes): Handler {
  return async (req, res) => {
    const { ds, id, key, file } = req.params;
    const s = r.loadSample(res, ds, id);
    if (!s) return;
    const l = lightingOf(s.sample, key);
    if (!l) return notFound(res, 'no such lighting');
    const base = `${ds}/samples/${id}/${folderOf(l)}`;
    const m = /^([a-z0-9_]+)\.(f16|png|f32|u8)$/.exec(String(file));
    if (!m) return notFound(res);
    const [, name, ext] = m;
    if (name === 'segmentation' && (ext === 'png' || ext === 'u8')) {
      const f = r.under(`${base}/segmentation.png`);
      if (!f) return notFound(res, 'no segmentation in this lighting');
      if (ext === 'png') {
        res.set('Cache-Control', 'no-cache');
        return void res.type('image/png').sendFile(f, { dotfiles: 'allow' });
      }
      return labelBytes(res, f);
    }
    if (ext === 'u8') return notFound(res, 'no such pass');
    if (name === 'env16' && ext === 'f32') {
      const f = r.under(`${base}/env_latlong16.f32`);
      if (!f) return notFound(res);
      res.set({ 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-cache', 'X-Image-Width': '16', 'X-Image-Height': '16', 'X-Image-Channels': '3' });
      return void res.sendFile(f, { dotfiles: 'allow' });
    }
    if (name === 'env' && ext === 'f16') return envPreviewFile(r, l, req, res);
    if (name === 'preview' && ext === 'png') {
      const f = r.under(`${base}/preview.png`);
      if (!f) return notFound(res);
      res.set('Cache-Control', 'no-cache');
      return void res.type('image/png').sendFile(f, { dotfiles: 'allow' });
    }
    if (!Object.hasOwn(PASS_FILES, name) || ext === 'f32') return notFound(res, 'no such pass');
    const f = r.under(`${base}/${PASS_FILES[name].file}`);
    if (!f) return notFound(res, 'no such pass in this lighting');
    return passFile(req, res, f, name, ext);
  };
}

// ---------------------------------------------------------------------------------------------

export function mountDatasetRoutes(app: express.Express, ctx: AppContext): void {
  const r = new DatasetRoutes(ctx);
  app.get('/api/segmentation/labels', (_req, res) => void res.json({ labels: SEGMENTATION_LABELS }));
  app.get('/api/datasets', wrap(listDatasets(r)));
  app.get('/api/datasets/:ds', wrap(datasetSummary(r)));
  app.get('/api/datasets/:ds/samples', wrap(samplePage(r)));
  app.get('/api/datasets/:ds/samples/:id', wrap(sampleDetail(r)));
  app.get('/api/datasets/:ds/samples/:id/thumb', wrap(sampleThumb(r)));
  app.get('/api/datasets/:ds/samples/:id/:key/:file', wrap(lightingFile(r)));
  // Anything else under a dataset: 404 JSON (the app's fallback would say the same, explicitly here).
  app.all('/api/datasets/*rest', (_req, res) => notFound(res));
}
