// Node-only. Checks a batch config submitted over HTTP: the zod schema (every issue with its field
// path), then the assets it names. Unlike the CLI (the user's own files), the API only reads
// heads and maps inside the configured asset roots, so a request cannot make the server open
// arbitrary files.
import fs from 'node:fs';
import { isIctRef } from '../renderer/assets/ict/params.js';
import path from 'node:path';
import { BatchConfigSchema, contentConfig, type BatchConfig } from '../renderer/pipelines/batch/config.js';
import { checkBatchAssets } from '../renderer/pipelines/batch/run.js';
import { headDescriptorFiles } from '../renderer/assets/head.js';
import { sha256, stableStringify } from '../renderer/dataset/layout.js';
import { resolveNamedDir } from '../renderer/io/paths.js';

export interface FieldIssue {
  /** dotted field path, e.g. "config.camera.yawDeg.1" */
  path: string;
  message: string;
}

export class ConfigRejected extends Error {
  constructor(
    message: string,
    readonly issues: FieldIssue[],
    readonly status = 400,
  ) {
    super(message);
  }
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A relative asset path must resolve (from the working directory, as the engine does) inside one of the roots. */
function assetAllowed(ref: string, roots: string[]): boolean {
  if (path.isAbsolute(ref) || ref.includes('\0')) return false;
  const abs = path.resolve(ref);
  let real = abs;
  try {
    real = fs.realpathSync(abs);
  } catch {
    /* missing: reported by the asset check */
  }
  return roots.some((r) => inside(r, abs) && inside(fs.existsSync(r) ? fs.realpathSync(r) : r, real));
}

/** An absolute file (e.g. named by a head descriptor) lies inside one of the roots, symlinks resolved. */
function fileAllowed(abs: string, roots: string[]): boolean {
  let real = abs;
  try {
    real = fs.realpathSync(abs);
  } catch {
    /* missing: reported by the asset check */
  }
  return roots.some((r) => inside(r, abs) && inside(fs.existsSync(r) ? fs.realpathSync(r) : r, real));
}

/**
 * The validated config, or ConfigRejected with one issue per bad field. `body` is the request
 * body: { "config": { ...batch config... } }.
 */
export async function validateSubmission(body: unknown, opts: { assetRoots: string[]; outputRoot: string; cacheRoot?: string }): Promise<BatchConfig> {
  if (!body || typeof body !== 'object' || Array.isArray(body) || !('config' in body)) {
    throw new ConfigRejected('request body must be a JSON object {"config": {...batch config...}}', [{ path: 'config', message: 'missing' }]);
  }
  const extra = Object.keys(body).filter((k) => k !== 'config');
  if (extra.length) throw new ConfigRejected(`unknown field(s) ${extra.join(', ')}`, extra.map((k) => ({ path: k, message: 'unknown field' })));
  // Scan folders are expanded while the config is parsed (the folder listed, every mesh read):
  // refused before parsing, so a request cannot make the server list or read files anywhere.
  const rawHeads = ((body as { config: unknown }).config as { heads?: unknown } | null)?.heads;
  if (Array.isArray(rawHeads)) {
    const scans = rawHeads.flatMap((h, i) => (h && typeof h === 'object' && (h as { source?: unknown }).source === 'scans' ? [i] : []));
    if (scans.length) {
      const issues = scans.map((i) => ({ path: `config.heads.${i}`, message: 'scan folders ({"source": "scans"}) are not accepted over HTTP: run render-batch on the machine that holds them' }));
      throw new ConfigRejected(`invalid batch config: ${issues.map((i) => `field "${i.path}": ${i.message}`).join('; ')}`, issues);
    }
  }
  const parsed = BatchConfigSchema.safeParse((body as { config: unknown }).config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: ['config', ...i.path.map(String)].join('.'), message: i.message }));
    throw new ConfigRejected(`invalid batch config: ${issues.map((i) => `field "${i.path}": ${i.message}`).join('; ')}`, issues);
  }
  const config = parsed.data;
  const issues: FieldIssue[] = [];
  // Generated heads (procedural draws, ICT identities) read no path from the request.
  const generated = (h: string) => h === 'procedural' || h.startsWith('procedural:') || isIctRef(h);
  config.heads.forEach((h, i) => {
    if (generated(h)) return;
    if (!assetAllowed(h, opts.assetRoots)) issues.push({ path: `config.heads.${i}`, message: `"${h}" is not inside the server's asset roots (${opts.assetRoots.join(', ')})` });
    // A descriptor inside the roots may still name files anywhere (baseDir, maps, glTF buffers).
    else {
      let named: string[] = [];
      try {
        named = headDescriptorFiles(h);
      } catch {
        /* unreadable descriptor: reported by the asset check below */
      }
      const outside = named.find((f) => !fileAllowed(f, opts.assetRoots));
      if (outside) issues.push({ path: `config.heads.${i}`, message: `head "${h}" names ${outside}, which is not inside the server's asset roots (${opts.assetRoots.join(', ')})` });
    }
  });
  config.envMaps.forEach((m, i) => {
    if (!m.startsWith('builtin:') && !assetAllowed(m, opts.assetRoots)) issues.push({ path: `config.envMaps.${i}`, message: `"${m}" is not inside the server's asset roots (${opts.assetRoots.join(', ')})` });
  });
  if (config.output.dir !== undefined) issues.push({ path: 'config.output.dir', message: 'not accepted over HTTP: datasets go to <output root>/<name>' });
  if (issues.length) throw new ConfigRejected(`invalid batch config: ${issues.map((i) => `field "${i.path}": ${i.message}`).join('; ')}`, issues);
  // Missing assets: the engine's own check names "heads.N" / "envMaps" in its message.
  try {
    await checkBatchAssets(config, opts.cacheRoot);
  } catch (err) {
    const msg = (err as Error).message;
    const m = /field "([^"]+)"/.exec(msg);
    throw new ConfigRejected(msg, [{ path: `config.${m ? m[1] : 'heads'}`, message: msg }]);
  }
  // A dataset folder made by another config is never mixed with this one.
  let datasetDir: string;
  try {
    datasetDir = resolveNamedDir(opts.outputRoot, config.name, 'config.name');
  } catch (err) {
    throw new ConfigRejected((err as Error).message, [{ path: 'config.name', message: (err as Error).message }]);
  }
  const batchJson = path.join(datasetDir, 'batch.json');
  if (fs.existsSync(batchJson)) {
    try {
      const prev = JSON.parse(fs.readFileSync(batchJson, 'utf8')) as { contentHash?: string };
      if (prev.contentHash !== sha256(stableStringify(contentConfig(config)))) {
        throw new ConfigRejected(`dataset "${config.name}" already exists with a different config; choose another name`, [{ path: 'config.name', message: 'a dataset with this name and a different config exists' }], 409);
      }
    } catch (err) {
      if (err instanceof ConfigRejected) throw err;
    }
  }
  return config;
}
