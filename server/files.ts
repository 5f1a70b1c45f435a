// Node-only. Serving files from a fixed set of roots and nothing else. Every file route of the
// orchestrator goes through resolveUnderRoot: the request path is decoded once, resolved against
// the root, and must stay inside it both lexically and after following symlinks (a link in the
// output folder pointing at /etc is refused). Anything else is a 404, never an error that tells
// what exists outside.
import fs from 'node:fs';
import path from 'node:path';
import type { Request, Response, NextFunction } from 'express';

export interface FileRoot {
  /** URL name: /files/<name>/... */
  name: string;
  /** absolute folder */
  dir: string;
}

/** Inside `root` (lexically), without following links. */
export function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The real path of `rel` under `root`, or null when it is not a regular file inside the root
 * (traversal, absolute paths, NUL bytes, dot-files, symlinks leaving the root, folders, missing).
 * `rel` is the already-decoded URL path (express decodes params once; a second %2e%2e layer stays
 * literal and cannot traverse).
 */
export function resolveUnderRoot(root: string, rel: string): string | null {
  if (typeof rel !== 'string' || rel.includes('\0') || rel.includes('\\')) return null;
  const parts = rel.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..' || s.startsWith('.'))) return null; // no traversal, no dot-files (.lock, .cache, .jobs)
  const rootReal = fs.realpathSync(root);
  const abs = path.resolve(rootReal, ...parts);
  if (!inside(rootReal, abs)) return null;
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return null;
  }
  if (!inside(rootReal, real)) return null;
  try {
    if (!fs.statSync(real).isFile()) return null;
  } catch {
    return null;
  }
  return real;
}

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.md': 'text/markdown; charset=utf-8',
  '.exr': 'image/x-exr',
  '.hdr': 'image/vnd.radiance',
  '.f32': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.tar': 'application/x-tar',
};

/** GET /files/<root>/<path...>: the file, or 404. */
export function serveRootFiles(roots: FileRoot[]) {
  const byName = new Map(roots.map((r) => [r.name, r]));
  return (req: Request, res: Response, next: NextFunction): void => {
    const rootName = req.params.root as string;
    const splat = req.params.path as unknown as string[] | string | undefined;
    const rel = Array.isArray(splat) ? splat.join('/') : (splat ?? '');
    const root = byName.get(rootName);
    const file = root && fs.existsSync(root.dir) ? resolveUnderRoot(root.dir, rel) : null;
    if (!file) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()];
    if (type) res.type(type);
    res.set('X-Content-Type-Options', 'nosniff');
    res.sendFile(file, { dotfiles: 'allow', maxAge: 0 }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  };
}
