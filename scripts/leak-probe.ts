// temporary probe (not committed): per-process PSS and page object counts over a long run
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { prepareBatch, ShardRunner } from '../renderer/pipelines/batch/run.js';
import type { Renderer } from '../renderer/engine/renderer.js';
import { browserProcesses, procKb } from './bench/lib.js';

const n = Number(process.argv[2] ?? 120);
const size = Number(process.argv[3] ?? 64);
const config = parseBatchConfig({ name: 'probe', heads: ['procedural'], envMaps: ['builtin:studio', 'builtin:city', 'builtin:sunset', 'builtin:forest'], width: size, height: size, seed: 7, shardSize: 1, augment: { cropProbability: 0 }, background: 'environment', samples: n, render: { msaa: 4 } });
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
const prep = await prepareBatch(config, { outDir });
let R: Renderer | null = null;
const runner = new ShardRunner({ config, samplesDir: prep.samplesDir, worker: 0, recycleAfter: n + 1, onWorkerStart: (r) => { R = r; } });
const NET = false;
function procs() {
  const by: Record<string, number> = {};
  for (const pid of browserProcesses()) {
    let t = 'browser';
    try { const c = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); const m = /--type=([a-z-]+)/.exec(c); if (m) t = m[1]; if (/--utility-sub-type=([a-z.]+)/.exec(c)) t += ':' + /--utility-sub-type=([a-z.A-Z]+)/.exec(c)![1].split('.').pop(); } catch { /* gone */ }
    by[t] = (by[t] ?? 0) + Math.round(procKb(pid, 'smaps_rollup', /^Pss:\s+(\d+)\s+kB/m) / 1024);
  }
  return by;
}
for (let i = 0; i < n; i++) {
  await runner.renderIndex(i);
  if (i === 0 && NET) { const pg = (R as any).page; const c = await pg.createCDPSession(); await c.send('Network.disable'); await (pg._client?.() ?? c).send('Network.disable'); console.log('network disabled'); }
  fs.rmSync(path.join(prep.samplesDir, String(i).padStart(6, '0')), { recursive: true, force: true });
  if ((i + 1) % 20 === 0 || i === 0 || i === 9) {
    if (process.env.PAGE_GC === '1') { const c = await (R as any).page.createCDPSession(); await c.send('HeapProfiler.collectGarbage'); await c.detach(); }
    const page = await R!.evaluate(() => window.vls.stats());
    console.log(JSON.stringify({ sample: i + 1, procs: procs(), page }));
  }
}
await runner.close();
