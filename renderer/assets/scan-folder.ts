// Node-only. Scan folders: many raw scans that share one descriptor template (a vendor's heads
// with one topology and one texture naming scheme), named in a batch config's `heads` as
// { "source": "scans", "path": "my-scans/", "glob": "*.glb", "template": { ... } }.
//
// Each matching file becomes one ordinary head folder in the cache,
// `<cacheRoot>/heads/scan-<hash>/head.json` (written atomically), so it goes through
// resolveHead like any head. The template holds HeadDescriptor fields except id, mesh, baseDir
// and landmarks; "{name}" in its paths (and `name`) is the scan's base name
// ("textures/{name}_albedo.png"). Paths are relative to the scan folder. Conventions the
// template leaves out (scaleToMetres, upAxis, facing) are detected per file from the mesh
// (scan-conventions.ts), or refused with the file and the template field named; uvOrigin
// defaults to the format's (glTF top-left, OBJ bottom-left).
//
// The folder name's hash covers the detector version, the scan folder, the file, the file's
// content hash and the template, so the expanded list of references (what a batch's identity
// hashes) changes when a file is added, removed or changed, or the template changes.
// `detected.json` beside head.json records what was detected and the evidence.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { z } from 'zod';
import { HeadDescriptorSchema } from './head.js';
import { PROJECT_ROOT } from '../io/paths.js';
import { tempPathFor } from '../io/fs-atomic.js';
import { resolveAssetPath } from '../io/asset-roots.js';
import { detectScanConventions, ScanConventionError, SCAN_DETECTOR_VERSION, type ConventionEvidence, type ConventionField } from './scan-conventions.js';
import type { Axis } from '../core/frame.js';

export const SCAN_MESH_EXTS = ['.glb', '.gltf', '.obj'] as const;
/** Files one scans entry may expand to (each is a head, loaded and hashed up front). */
export const MAX_SCAN_FILES = 10_000;

const AxisSchema = z.enum(['+X', '-X', '+Y', '-Y', '+Z', '-Z']);

/** A scan folder's shared descriptor: HeadDescriptor without id, mesh, baseDir and landmarks; the conventions optional. */
export const ScanTemplateSchema = HeadDescriptorSchema.omit({ id: true, mesh: true, baseDir: true, landmarks: true })
  .extend({
    name: z.string().optional().describe('Display name; "{name}" is the scan\'s base name. Default "<name> (scan)".'),
    scaleToMetres: z.number().positive().optional().describe('Metres per mesh unit; detected per file when absent (m, cm, mm or inch).'),
    upAxis: AxisSchema.optional().describe('Mesh axis that points up; detected per file when absent.'),
    facing: AxisSchema.optional().describe('Mesh axis the face looks along; detected per file when absent.'),
    uvOrigin: z.enum(['top-left', 'bottom-left']).optional().describe("Where v = 0 lies in the images. Default: 'top-left' for .glb/.gltf, 'bottom-left' for .obj."),
  })
  .strict();

export type ScanTemplate = z.output<typeof ScanTemplateSchema>;

export const ScanSourceSchema = z
  .object({
    source: z.literal('scans'),
    path: z.string().min(1).describe('Folder of scans, relative to the working directory, then the project root.'),
    glob: z
      .string()
      .min(1)
      .optional()
      .describe("File pattern relative to the folder (*, ?, **, {a,b}, [..]); a pattern with '/' or '**' looks into subfolders. Default: every .glb, .gltf and .obj file in the folder. Matches are sorted."),
    template: ScanTemplateSchema.default(ScanTemplateSchema.parse({})).describe('The descriptor every scan shares (HeadDescriptor fields except id, mesh, baseDir, landmarks).'),
  })
  .strict();

export type ScanSource = z.output<typeof ScanSourceSchema>;

const PER_SCAN = ['id', 'mesh', 'baseDir', 'landmarks'];

/** ScanSourceSchema's issues for a raw entry (path inside the entry), with a hint for per-scan fields put in the template. */
export function scanSourceIssues(raw: unknown): { path: PropertyKey[]; message: string }[] {
  const r = ScanSourceSchema.safeParse(raw);
  if (r.success) return [];
  return r.error.issues.map((i) => {
    const keys = i.code === 'unrecognized_keys' ? i.keys.filter((k) => PER_SCAN.includes(k)) : [];
    if (keys.length && i.path.length === 1 && i.path[0] === 'template') {
      return { path: i.path, message: `${i.message}: ${keys.join(', ')} ${keys.length > 1 ? 'are' : 'is'} per scan (the id is the file's base name, the mesh the file, baseDir the folder; landmarks need a head.json of their own)` };
    }
    return { path: i.path, message: i.message };
  });
}

/** An expansion failure: `field` is the path inside the scans entry (["path"], ["template", "maps", "albedo"]). */
export class ScanFolderError extends Error {
  constructor(
    message: string,
    readonly field: (string | number)[],
  ) {
    super(message);
  }
}

/** One expanded scan. */
export interface ScanHead {
  /** the head reference (the cache folder; relative to the project root when inside it) */
  ref: string;
  dir: string;
  /** the scan file, absolute */
  file: string;
  name: string;
  conventions: { scaleToMetres: number; upAxis: Axis; facing: Axis };
  detected: ConventionField[];
}

// ---------------------------------------------------------------------------------------------
// listing

/** A glob (*, ?, **, {a,b}, [...]) as a RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:[^/]*/)*' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      re += '(?:';
      depth++;
    } else if (c === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (c === ',' && depth > 0) re += '|';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += '[' + (body[0] === '!' ? '^' + body.slice(1) : body) + ']';
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\\]{}]/g, '\\$&');
  }
  if (depth > 0) throw new Error(`unbalanced "{" in pattern "${glob}"`);
  return new RegExp('^' + re + '$');
}

/** Files under `dir` (relative, '/'-separated), dot-entries skipped; into subfolders when `deep`. */
function listFiles(dir: string, deep: boolean): string[] {
  const out: string[] = [];
  const walk = (rel: string, level: number) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const isDir = e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(dir, r), { throwIfNoEntry: false })?.isDirectory());
      if (isDir) {
        if (deep && level < 16) walk(r, level + 1);
      } else out.push(r);
      if (out.length > MAX_SCAN_FILES * 4) return;
    }
  };
  walk('', 0);
  return out;
}

/** Byte order, not locale order: the same on every machine. */
const byCodepoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The folder's scan files (relative paths, sorted) for `glob` (default: every mesh file in the folder). */
export function listScanFiles(folder: string, glob?: string): string[] {
  let files: string[];
  if (glob === undefined) {
    files = listFiles(folder, false).filter((f) => (SCAN_MESH_EXTS as readonly string[]).includes(path.extname(f).toLowerCase()));
  } else {
    let re: RegExp;
    try {
      re = globToRegExp(glob);
    } catch (err) {
      throw new ScanFolderError((err as Error).message, ['glob']);
    }
    files = listFiles(folder, glob.includes('/') || glob.includes('**')).filter((f) => re.test(f));
    const other = files.find((f) => !(SCAN_MESH_EXTS as readonly string[]).includes(path.extname(f).toLowerCase()));
    if (other) throw new ScanFolderError(`pattern "${glob}" matches ${path.join(folder, other)}, which is not a mesh (${SCAN_MESH_EXTS.join(', ')})`, ['glob']);
  }
  return files.sort(byCodepoint);
}

// ---------------------------------------------------------------------------------------------
// one scan

function stable(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(stable).join(',') + ']';
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => JSON.stringify(k) + ':' + stable(o[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');

const fileHashes = new Map<string, { key: string; sha256: string }>();
/** sha256 of a file, memoised by path, size, times and inode (a batch config is parsed more than once). */
function fileHash(abs: string): string {
  const st = fs.statSync(abs);
  const key = `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
  const hit = fileHashes.get(abs);
  if (hit?.key === key) return hit.sha256;
  const h = sha256(fs.readFileSync(abs));
  fileHashes.set(abs, { key, sha256: h });
  return h;
}

/** A path as recorded: relative to the project root when inside it (portable), else absolute. */
function recordedPath(abs: string): string {
  const rel = path.relative(PROJECT_ROOT, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
}

/** Writes `text` to `dest` through a temp file and a rename (readers see the old or the new file). */
function writeAtomicSync(dest: string, text: string): void {
  const tmp = tempPathFor(dest);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${dest}: atomic write failed: ${(err as Error).message}`, { cause: err });
  }
}

interface DetectedRecord {
  detector: number;
  file: string;
  sha256: string;
  conventions: { scaleToMetres: number; upAxis: Axis; facing: Axis };
  detected: ConventionField[];
  evidence: ConventionEvidence | null;
}

/**
 * The head folder of one scan (`rel` inside `folder`), written when missing or stale. Throws
 * ScanFolderError naming the template field (a map pattern naming a missing file) or `path`
 * (a mesh that cannot be read or whose conventions are ambiguous).
 */
export function ensureScanHead(folder: string, rel: string, template: ScanTemplate, cacheRoot: string): ScanHead {
  const file = path.join(folder, rel);
  const ext = path.extname(rel).toLowerCase();
  const name = path.basename(rel, path.extname(rel));
  const sub = (s: string) => s.split('{name}').join(name);
  const scanFile = `scan ${file}`;

  // Files the template names, with {name} filled in; every one must exist.
  const need = (field: (string | number)[], pattern: string): string => {
    const p = sub(pattern);
    const abs = resolveAssetPath(path.resolve(folder, p));
    if (!fs.existsSync(abs)) throw new ScanFolderError(`${scanFile}: template.${field.join('.')} "${pattern}" names ${abs}, which does not exist`, ['template', ...field]);
    return p;
  };
  const maps: Record<string, string> = {};
  for (const [k, v] of Object.entries(template.maps)) if (v !== undefined) maps[k] = need(['maps', k], v);
  const parts = template.parts?.map((p, i) => ({
    ...p,
    ...(p.albedoMap !== undefined ? { albedoMap: need(['parts', i, 'albedoMap'], p.albedoMap) } : {}),
    // Label maps resolve against the head.json folder (the cache): written absolute.
    ...(p.labelMap !== undefined ? { labelMap: path.resolve(folder, need(['parts', i, 'labelMap'], p.labelMap)) } : {}),
  }));
  const labels = template.labels ? { ...template.labels, ...(template.labels.map !== undefined ? { map: path.resolve(folder, need(['labels', 'map'], template.labels.map)) } : {}) } : undefined;

  const meshSha = fileHash(file);
  const key = sha256(stable({ detector: SCAN_DETECTOR_VERSION, folder: recordedPath(folder), file: rel, sha256: meshSha, template }));
  const dir = path.resolve(cacheRoot, 'heads', `scan-${key.slice(0, 16)}`);

  // Conventions: the template's, the rest detected once per (mesh, template) and recorded.
  const given = { scaleToMetres: template.scaleToMetres, upAxis: template.upAxis, facing: template.facing };
  const detectedFile = path.join(dir, 'detected.json');
  let rec: DetectedRecord | undefined;
  try {
    const r = JSON.parse(fs.readFileSync(detectedFile, 'utf8')) as DetectedRecord;
    if (r.detector === SCAN_DETECTOR_VERSION && r.sha256 === meshSha && r.conventions?.upAxis && r.conventions.facing && r.conventions.scaleToMetres > 0) rec = r;
  } catch {
    /* missing or unreadable: detect */
  }
  if (!rec) {
    let c: { scaleToMetres: number; upAxis: Axis; facing: Axis; detected: ConventionField[]; evidence: ConventionEvidence | null };
    if (given.scaleToMetres !== undefined && given.upAxis && given.facing) {
      if (given.upAxis[1] === given.facing[1]) throw new ScanFolderError(`template.upAxis ${given.upAxis} and template.facing ${given.facing} must be perpendicular`, ['template', 'facing']);
      c = { scaleToMetres: given.scaleToMetres, upAxis: given.upAxis, facing: given.facing, detected: [], evidence: null };
    } else {
      try {
        c = detectScanConventions(file, given);
      } catch (err) {
        if (err instanceof ScanConventionError) throw new ScanFolderError(err.message, ['path']);
        throw new ScanFolderError(`${scanFile}: ${(err as Error).message.replace(/^scan \S+: /, '')}`, ['path']);
      }
    }
    rec = { detector: SCAN_DETECTOR_VERSION, file: recordedPath(file), sha256: meshSha, conventions: { scaleToMetres: c.scaleToMetres, upAxis: c.upAxis, facing: c.facing }, detected: c.detected, evidence: c.evidence };
    fs.mkdirSync(dir, { recursive: true }); // only once the scan is usable: a refused one leaves nothing
    writeAtomicSync(detectedFile, JSON.stringify(rec, null, 2) + '\n');
  }

  const { name: _n, scaleToMetres: _s, upAxis: _u, facing: _f, uvOrigin, maps: _m, parts: _p, labels: _l, ...rest } = template;
  const descriptor = HeadDescriptorSchema.parse({
    id: name,
    name: template.name !== undefined ? sub(template.name) : `${name} (scan)`,
    ...rest,
    baseDir: path.relative(dir, folder) || '.',
    mesh: rel,
    maps,
    ...(parts ? { parts } : {}),
    ...(labels ? { labels } : {}),
    scaleToMetres: rec.conventions.scaleToMetres,
    upAxis: rec.conventions.upAxis,
    facing: rec.conventions.facing,
    uvOrigin: uvOrigin ?? (ext === '.obj' ? 'bottom-left' : 'top-left'),
  });
  const text = JSON.stringify(descriptor, null, 2) + '\n';
  const headJson = path.join(dir, 'head.json');
  let old: string | null = null;
  try {
    old = fs.readFileSync(headJson, 'utf8');
  } catch {
    /* first time */
  }
  if (old !== text) writeAtomicSync(headJson, text);
  return { ref: recordedPath(dir), dir, file, name, conventions: rec.conventions, detected: rec.detected };
}

// ---------------------------------------------------------------------------------------------
// the folder

/** The folder a scans entry names: absolute, else the working directory, then the project root. */
export function resolveScanFolder(p: string, cwd = process.cwd()): string {
  const candidates = path.isAbsolute(p) ? [p] : [path.resolve(cwd, p), path.resolve(PROJECT_ROOT, p)];
  const found = candidates.map((c) => resolveAssetPath(c)).find((c) => fs.existsSync(c));
  if (!found) throw new ScanFolderError(`scan folder "${p}" does not exist (looked at ${[...new Set(candidates)].join(', ')})`, ['path']);
  if (!fs.statSync(found).isDirectory()) throw new ScanFolderError(`scan folder "${p}" (${found}) is not a folder`, ['path']);
  return found;
}

/**
 * A scans entry -> one head per matching file, in file order. Throws ScanFolderError (field
 * path inside the entry) for a missing folder, no matching files, a map pattern naming a missing
 * file, or a mesh whose conventions are ambiguous (the file and the template field named).
 */
export function expandScanSource(src: ScanSource, opts: { cwd?: string; cacheRoot?: string } = {}): ScanHead[] {
  const folder = resolveScanFolder(src.path, opts.cwd);
  const files = listScanFiles(folder, src.glob);
  if (files.length === 0) {
    throw src.glob !== undefined
      ? new ScanFolderError(`pattern "${src.glob}" matches no files in ${folder}`, ['glob'])
      : new ScanFolderError(`scan folder ${folder} holds no ${SCAN_MESH_EXTS.join('/')} files`, ['path']);
  }
  if (files.length > MAX_SCAN_FILES) throw new ScanFolderError(`${files.length} scans in ${folder}, at most ${MAX_SCAN_FILES} per entry`, [src.glob !== undefined ? 'glob' : 'path']);
  if (src.template.upAxis && src.template.facing && src.template.upAxis[1] === src.template.facing[1]) {
    throw new ScanFolderError(`template.upAxis ${src.template.upAxis} and template.facing ${src.template.facing} must be perpendicular`, ['template', 'facing']);
  }
  const cacheRoot = opts.cacheRoot ?? path.join(PROJECT_ROOT, 'output', '.cache');
  return files.map((rel) => ensureScanHead(folder, rel, src.template, cacheRoot));
}
