// Node-only. Dataset browsing routes for the dashboard. (Minimal for now: the list of datasets
// under the output root.)
import fs from 'node:fs';
import path from 'node:path';
import type express from 'express';
import type { AppContext } from './app.js';

export function mountDatasetRoutes(app: express.Express, ctx: AppContext): void {
  app.get('/api/datasets', (_req, res) => {
    const out: { name: string; samples: number; complete: boolean }[] = [];
    if (fs.existsSync(ctx.outputRoot)) {
      for (const e of fs.readdirSync(ctx.outputRoot, { withFileTypes: true })) {
        if (!e.isDirectory() || e.name.startsWith('.')) continue;
        const dir = path.join(ctx.outputRoot, e.name);
        if (!fs.existsSync(path.join(dir, 'batch.json'))) continue;
        const samples = fs.existsSync(path.join(dir, 'samples')) ? fs.readdirSync(path.join(dir, 'samples')).filter((n) => /^\d{6,}$/.test(n)).length : 0;
        out.push({ name: e.name, samples, complete: fs.existsSync(path.join(dir, 'manifest.jsonl')) });
      }
    }
    res.json({ datasets: out.sort((a, b) => a.name.localeCompare(b.name)) });
  });
}
