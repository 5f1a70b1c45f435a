// Node-only. The dashboard's script: server/public/src/main.ts (TypeScript, no framework) bundled
// by esbuild in memory, served at /dashboard.js. Rebuilt when a source file changes (checked by
// mtimes, at most once a second), so editing the dashboard needs no build step and nothing is
// fetched from a CDN.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type express from 'express';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_SRC = path.join(HERE, 'public', 'src');
const CORE = path.join(HERE, '..', 'renderer', 'core');

function sourceStamp(): string {
  const parts: string[] = [];
  for (const dir of [DASHBOARD_SRC, CORE]) {
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.ts')) continue;
      const st = fs.statSync(path.join(dir, f));
      parts.push(`${f}:${st.mtimeMs}:${st.size}`);
    }
  }
  return parts.join('|');
}

let cached: { stamp: string; code: string; etag: string } | null = null;
let building: Promise<{ code: string; etag: string }> | null = null;
let checkedAt = 0;

export async function dashboardBundle(): Promise<{ code: string; etag: string }> {
  const now = Date.now();
  if (cached && now - checkedAt < 1000) return cached;
  checkedAt = now;
  const stamp = sourceStamp();
  if (cached && cached.stamp === stamp) return cached;
  building ??= (async () => {
    const out = await build({
      entryPoints: [path.join(DASHBOARD_SRC, 'main.ts')],
      bundle: true,
      format: 'esm',
      target: 'es2022',
      minify: false,
      sourcemap: 'inline',
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    });
    const code = out.outputFiles[0].text;
    const etag = `"${out.outputFiles[0].hash}"`;
    cached = { stamp, code, etag };
    return cached;
  })().finally(() => {
    building = null;
  });
  return building;
}

/** GET /dashboard.js */
export function mountDashboardBundle(app: express.Express, log?: (m: string) => void): void {
  app.get('/dashboard.js', async (req, res) => {
    try {
      const b = await dashboardBundle();
      res.set({ 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache', ETag: b.etag });
      if (req.headers['if-none-match'] === b.etag) return void res.status(304).end();
      res.send(b.code);
    } catch (err) {
      log?.(`dashboard bundle failed: ${(err as Error).message}`);
      res.status(500).json({ error: `dashboard bundle failed: ${(err as Error).message}` });
    }
  });
  // The sources are bundled, not served.
  app.use('/src', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
}
