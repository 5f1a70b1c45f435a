// Compares two dataset (or sequence) folders file by file: binary files by sha256, JSON/JSONL after
// dropping fields that legitimately differ between runs (wall-clock timings, creation times, which
// worker rendered a sample) and after replacing each side's checkout root in strings by "<root>"
// (meta.json records the head descriptor's path). Used to show that a refactor changed no output
// byte: `npm run compare-datasets -- A B [--root-a DIR] [--root-b DIR]`. Exit 0 = identical.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { Command } from 'commander';

/** Keys whose values depend on the run, not on the config and seed. */
export const VOLATILE_KEYS = new Set(['timings', 'timingsMs', 'createdAt', 'writeMs', 'worker', 'attempt', 'totalMs', 'elapsedMs']);
/** Files whose content is a digest of volatile files (dataset.json's manifestSha256 is dropped with VOLATILE_KEYS instead). */
const TEXT_EXTS = new Set(['.md', '.txt']);

function walk(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, base, out);
    else if (e.isFile()) out.push(path.relative(base, p));
  }
  return out.sort();
}

function scrub(v: unknown, root: string): unknown {
  if (typeof v === 'string') return root ? v.split(root).join('<root>') : v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, root));
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      if (VOLATILE_KEYS.has(k) || k === 'manifestSha256') continue;
      o[k] = scrub((v as Record<string, unknown>)[k], root);
    }
    return o;
  }
  return v;
}

/** A file's comparable digest. */
export function fileDigest(file: string, root: string): string {
  const ext = path.extname(file).toLowerCase();
  const buf = fs.readFileSync(file);
  let key: string | Buffer = buf;
  if (ext === '.json') key = JSON.stringify(scrub(JSON.parse(buf.toString('utf8')), root));
  else if (ext === '.jsonl') {
    key = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.stringify(scrub(JSON.parse(l), root)))
      .join('\n');
  } else if (TEXT_EXTS.has(ext)) key = root ? buf.toString('utf8').split(root).join('<root>') : buf;
  return crypto.createHash('sha256').update(key).digest('hex');
}

export interface CompareResult {
  files: number;
  onlyA: string[];
  onlyB: string[];
  differ: string[];
}

export function compareDatasets(a: string, b: string, rootA = '', rootB = ''): CompareResult {
  const fa = walk(a);
  const fb = walk(b);
  const sb = new Set(fb);
  const sa = new Set(fa);
  const differ: string[] = [];
  for (const f of fa) if (sb.has(f) && fileDigest(path.join(a, f), rootA) !== fileDigest(path.join(b, f), rootB)) differ.push(f);
  return { files: fa.length, onlyA: fa.filter((f) => !sb.has(f)), onlyB: fb.filter((f) => !sa.has(f)), differ };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const program = new Command('compare-datasets')
    .description('Compare two dataset folders byte for byte (JSON without run-dependent fields). Exit 0 when identical.')
    .argument('<a>', 'first dataset folder')
    .argument('<b>', 'second dataset folder')
    .option('--root-a <dir>', 'checkout that rendered A (its path is replaced by <root> in JSON strings)', '')
    .option('--root-b <dir>', 'checkout that rendered B', '')
    .parse();
  const [a, b] = program.args as [string, string];
  const o = program.opts<{ rootA: string; rootB: string }>();
  const r = compareDatasets(path.resolve(a), path.resolve(b), o.rootA && path.resolve(o.rootA), o.rootB && path.resolve(o.rootB));
  for (const f of r.onlyA) console.log(`only in A: ${f}`);
  for (const f of r.onlyB) console.log(`only in B: ${f}`);
  for (const f of r.differ) console.log(`differs:   ${f}`);
  const same = !r.onlyA.length && !r.onlyB.length && !r.differ.length;
  console.log(`${r.files} files in A; ${r.onlyA.length} only in A, ${r.onlyB.length} only in B, ${r.differ.length} differ: ${same ? 'IDENTICAL' : 'DIFFERENT'}`);
  process.exit(same ? 0 : 1);
}
