// Bench section "batch": complete training samples (the eq. 9 triplet with every pass, written
// and encoded) at 512 px with 1 and 2 workers, the orchestrator's overhead (a job submitted over
// HTTP to an in-process server, split into time inside the renderer, sample assembly/writing and
// the rest), and worker memory over a long run (sample 10 against sample N, default 500).
import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';
import type { Server } from 'node:http';
import { parseBatchConfig, type BatchConfig, type BatchConfigInput } from '../../renderer/pipelines/batch/config.js';
import { runBatch, prepareBatch, ShardRunner, type BatchResult } from '../../renderer/pipelines/batch/run.js';
import { createApp } from '../../server/app.js';
import { JobManager, type JobView } from '../../server/jobs.js';
import { EmbeddedExecutor } from '../../server/executor-embedded.js';
import { browserProcesses, procKb, median, pct, mib, CpuAccount, type Section, type BenchContext, type Table } from './lib.js';

const TRAINING: BatchConfigInput = {
  name: 'bench-training',
  heads: ['procedural'],
  envMaps: ['builtin:studio', 'builtin:city', 'builtin:sunset', 'builtin:forest'],
  width: 512,
  height: 512,
  seed: 7,
  shardSize: 1,
  // the crop renders up to 1/0.7 larger: off, so every sample costs the same
  augment: { cropProbability: 0 },
  background: 'environment',
};

interface RunStats {
  workers: number;
  samples: number;
  wallS: number;
  /** wall of the rendering phase / samples */
  sPerSample: number;
  samplesPerS: number;
  /** steady state: median of per-sample totals (render + write), from sample.json */
  medianSampleS: number;
  /** summed over samples, seconds: inside renderSample (all lightings) and the sample total */
  renderS: number;
  sampleTotalS: number;
}

/** Per-sample seconds from each sample.json: inside the renderer (all lightings) and the total. */
export function sampleTimings(outDir: string, n: number): { render: number[]; total: number[] } {
  const render: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = JSON.parse(fs.readFileSync(path.join(outDir, 'samples', String(i).padStart(6, '0'), 'sample.json'), 'utf8')) as { run: { timingsMs: Record<string, number> } };
    const t = s.run.timingsMs;
    render.push(Object.entries(t).filter(([k]) => k !== 'total').reduce((a, [, v]) => a + v, 0) / 1000);
    total.push(t.total / 1000);
  }
  return { render, total };
}

function stats(r: BatchResult, outDir: string, workers: number): RunStats {
  const t = sampleTimings(outDir, r.total);
  return {
    workers,
    samples: r.rendered,
    wallS: r.elapsedMs / 1000,
    sPerSample: r.secondsPerSample,
    samplesPerS: 1 / r.secondsPerSample,
    medianSampleS: median(t.total),
    renderS: t.render.reduce((a, b) => a + b, 0),
    sampleTotalS: t.total.reduce((a, b) => a + b, 0),
  };
}

/** Node RSS and the browser tree's PSS right now (bytes). */
function memoryNow(): { nodeRss: number; browserPss: number; browserRss: number; heapUsed: number } {
  let pss = 0;
  let rss = 0;
  for (const pid of browserProcesses()) {
    pss += procKb(pid, 'smaps_rollup', /^Pss:\s+(\d+)\s+kB/m) * 1024;
    rss += procKb(pid, 'status', /^VmRSS:\s+(\d+)\s+kB/m) * 1024;
  }
  return { nodeRss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, browserPss: pss, browserRss: rss };
}

async function throughput(ctx: BenchContext, samples: number): Promise<{ one: RunStats; two: RunStats }> {
  const config = parseBatchConfig({ ...TRAINING, samples });
  const res: RunStats[] = [];
  for (const workers of [1, 2]) {
    const outDir = path.join(ctx.tmpDir, `training-${workers}w`);
    ctx.log(`batch: ${samples} training samples at 512 px with ${workers} worker(s)`);
    const r = await runBatch(config, { outDir, workers, backend: ctx.opts.backend });
    res.push(stats(r, outDir, workers));
  }
  return { one: res[0], two: res[1] };
}

async function orchestrator(ctx: BenchContext, samples: number): Promise<{ wallS: number; renderS: number; sampleTotalS: number; firstEventMs: number }> {
  const outputRoot = path.join(ctx.tmpDir, 'server-out');
  const jobs = new JobManager({ outputRoot, executor: new EmbeddedExecutor({ workers: 1, backend: ctx.opts.backend }) });
  const app = createApp({ jobs, assetRoots: [], allowedHosts: ['127.0.0.1'] });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    ctx.log(`batch: ${samples} training samples through the server (HTTP submit, SSE until done)`);
    const t0 = performance.now();
    const r = await fetch(`${base}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: { ...TRAINING, name: 'bench-server', samples, workers: 1 } }) });
    if (r.status !== 201) throw new Error(`submit: HTTP ${r.status} ${await r.text()}`);
    const id = ((await r.json()) as JobView).id;
    let firstEventMs = NaN;
    const res = await fetch(`${base}/api/jobs/${id}/events`);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let last: JobView | null = null;
    while (!last || !['done', 'failed', 'cancelled'].includes(last.status)) {
      const { value, done } = await reader.read();
      if (done) break;
      if (Number.isNaN(firstEventMs)) firstEventMs = performance.now() - t0;
      buf += dec.decode(value, { stream: true });
      let k: number;
      while ((k = buf.indexOf('\n\n')) >= 0) {
        const data = buf.slice(0, k).split('\n').find((l) => l.startsWith('data: '));
        buf = buf.slice(k + 2);
        if (data) last = JSON.parse(data.slice(6)) as JobView;
      }
    }
    await reader.cancel();
    const wallS = (performance.now() - t0) / 1000;
    if (last?.status !== 'done') throw new Error(`server job ended ${last?.status}: ${JSON.stringify(last?.errors)}`);
    const t = sampleTimings(path.join(outputRoot, 'bench-server'), samples);
    return { wallS, renderS: t.render.reduce((a, b) => a + b, 0), sampleTotalS: t.total.reduce((a, b) => a + b, 0), firstEventMs };
  } finally {
    server.closeAllConnections();
    server.close();
    await jobs.close();
  }
}

async function leak(ctx: BenchContext, n: number, size: number): Promise<{ at: { sample: number; mem: ReturnType<typeof memoryNow> }[]; secondsPerSample: number }> {
  const config: BatchConfig = parseBatchConfig({ ...TRAINING, name: 'bench-leak', width: size, height: size, samples: n, render: { msaa: 4 } });
  const outDir = path.join(ctx.tmpDir, 'leak');
  const prep = await prepareBatch(config, { outDir });
  // Recycling off: this measures one browser's growth (workers start a fresh one every 250 samples).
  const runner = new ShardRunner({ config, samplesDir: prep.samplesDir, worker: 0, backend: ctx.opts.backend, recycleAfter: n + 1 });
  const at: { sample: number; mem: ReturnType<typeof memoryNow> }[] = [];
  const marks = new Set([1, 10, 50, 100, 200, 300, 400, n]);
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      await runner.renderIndex(i);
      // written samples are not what is measured: delete them to keep the disk small
      fs.rmSync(path.join(prep.samplesDir, String(i).padStart(6, '0')), { recursive: true, force: true });
      if (marks.has(i + 1)) {
        (globalThis as { gc?: () => void }).gc?.();
        at.push({ sample: i + 1, mem: memoryNow() });
        ctx.log(`batch: leak run: sample ${i + 1}/${n}: browser PSS ${mib(at.at(-1)!.mem.browserPss)} MiB, Node RSS ${mib(at.at(-1)!.mem.nodeRss)} MiB`);
      }
    }
  } finally {
    await runner.close();
  }
  return { at, secondsPerSample: (performance.now() - t0) / 1000 / n };
}

export const batchSection: Section = {
  name: 'batch',
  title: 'Batch engine and orchestrator',
  async run(ctx) {
    const opts = { samples: ctx.opts.batchSamples, leakSamples: ctx.opts.leakSamples, leakSize: ctx.opts.leakSize };
    const cpu = new CpuAccount();
    const t0 = performance.now();
    const tp = await throughput(ctx, opts.samples);
    const orch = await orchestrator(ctx, opts.samples);
    const lk = opts.leakSamples > 0 ? await leak(ctx, opts.leakSamples, opts.leakSize) : null;
    const cpuUse = cpu.stop();
    const elapsedS = (performance.now() - t0) / 1000;
    const s = (v: number) => v.toFixed(2);
    const tables: Table[] = [
      {
        title: `Complete 512² training samples (triplet: 3 renders, all passes, encodings, written), ${opts.samples} samples per run`,
        columns: ['workers', 's / sample (wall)', 'samples / s', 'median per-sample render+write, s', 'wall incl. browser start, s'],
        rows: [tp.one, tp.two].map((r) => [String(r.workers), s(r.sPerSample), r.samplesPerS.toFixed(3), s(r.medianSampleS), s(r.wallS)]),
      },
      {
        title: 'Ratio in this run',
        columns: ['measure', 'value'],
        rows: [
          ['2 workers vs 1 (samples / s)', `${(tp.two.samplesPerS / tp.one.samplesPerS).toFixed(2)}x`],
          ['per-sample render+write, 2 workers vs 1 (contention)', `${(tp.two.medianSampleS / tp.one.medianSampleS).toFixed(2)}x`],
        ],
      },
      {
        title: `Orchestrator: the same ${opts.samples} samples submitted over HTTP, 1 worker, until the SSE "done" event`,
        columns: ['share of wall time', 'seconds', 'share'],
        rows: [
          ['inside Renderer.renderSample (3 lightings)', s(orch.renderS), pct(orch.renderS / orch.wallS)],
          ['sample assembly: encodings + pass writing + rename', s(orch.sampleTotalS - orch.renderS), pct((orch.sampleTotalS - orch.renderS) / orch.wallS)],
          ['orchestration: browser start, scheduling, dataset files, HTTP/SSE', s(orch.wallS - orch.sampleTotalS), pct((orch.wallS - orch.sampleTotalS) / orch.wallS)],
          ['total', s(orch.wallS), '100 %'],
        ],
      },
    ];
    if (lk) {
      const ref = lk.at.find((a) => a.sample === 10) ?? lk.at[0];
      tables.push({
        title: `Worker memory over one long run (one renderer and one browser, recycling off, ${lk.at.at(-1)!.sample} samples at ${opts.leakSize}², ${lk.secondsPerSample.toFixed(2)} s / sample)`,
        columns: ['after sample', 'browser PSS, MiB', 'browser RSS, MiB', 'Node RSS, MiB', 'Node heap, MiB', 'browser PSS vs sample 10'],
        rows: lk.at.map((a) => [String(a.sample), mib(a.mem.browserPss), mib(a.mem.browserRss), mib(a.mem.nodeRss), mib(a.mem.heapUsed), `${(((a.mem.browserPss - ref.mem.browserPss) / ref.mem.browserPss) * 100).toFixed(1)} %`]),
      });
    }
    const notes: string[] = [];
    if (tp.one.sPerSample > 0.5) notes.push(`**Goal of ≤ 0.5 s per complete 512² training sample not met (${s(tp.one.sPerSample)} s with 1 worker, ${s(tp.two.sPerSample)} s with 2).** A triplet sample is three full renders plus ~20 passes written; see the renderer section for the per-render split.`);
    if (cpuUse && cpuUse.otherShare > 0.15) notes.push(`**Noisy run: other processes used ${pct(cpuUse.otherShare)} of the CPU during this section.**`);
    return {
      intro: [
        `Machine: ${ctx.system.cpuModel}, ${ctx.system.cores} cores, ${ctx.system.memTotalGiB.toFixed(0)} GiB, ${ctx.system.node}. Section took ${elapsedS.toFixed(0)} s.` +
          (cpuUse ? ` CPU: this bench ${pct(cpuUse.ownShare)}, other processes ${pct(cpuUse.otherShare)}.` : ''),
        'Config: scenes/default.json at 512² without the crop augmentation (procedural head, 4 builtin maps, eq. 9 triplets with 1-3 point lights, environment background).',
      ],
      tables,
      notes,
      data: { throughput: tp, orchestrator: orch, leak: lk, cpuUse, elapsedS },
    };
  },
};
