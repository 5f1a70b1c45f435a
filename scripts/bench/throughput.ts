// Bench section "throughput": what a user of `npm run render-batch` gets. scenes/default.json as
// shipped (ICT population, crops, triplets, every pass, written and finalized) at 512 px, once
// with its own heads and once with the procedural head, one worker, an empty cache; steady state =
// median per-sample time after the first sample. In the same run: one Blender Cycles 16-spp
// 512 px frame of the real scan (render time only, as Blender reports it), so the ratio
// Cycles frame / our sample is measured on the same machine under the same load.
import fs from 'node:fs';
import path from 'node:path';
import { parseBatchConfig, type BatchConfigInput } from '../../renderer/pipelines/batch/config.js';
import { runBatch } from '../../renderer/pipelines/batch/run.js';
import { Renderer } from '../../renderer/engine/renderer.js';
import { PROJECT_ROOT } from '../../renderer/io/paths.js';
import { SHARED_ASSETS } from '../../renderer/io/asset-roots.js';
import { findBlender, runBlender, blenderScene, type BlenderResult } from './fidelity/blender.js';
import { SCENES, LPS, sceneSpec } from './fidelity/scenes.js';
import { sampleTimings } from './batch.js';
import { median, CpuAccount, type BenchContext, type Section, type SectionResult, type Table } from './lib.js';

const SIZE = 512;
const CYCLES_SPP = 16;

interface Run {
  label: string;
  samples: number;
  wallS: number;
  firstS: number;
  steadyS: number;
  perSampleS: number[];
}

async function batchRun(ctx: BenchContext, label: string, name: string, raw: BatchConfigInput): Promise<Run> {
  const dir = path.join(ctx.tmpDir, `throughput-${name}`);
  const cacheRoot = path.join(ctx.tmpDir, `throughput-${name}-cache`);
  const t0 = performance.now();
  const r = await runBatch(parseBatchConfig(raw), { outDir: dir, backend: ctx.opts.backend, renderer: { cacheRoot } });
  const wallS = (performance.now() - t0) / 1000;
  const per = sampleTimings(dir, r.rendered).total;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(cacheRoot, { recursive: true, force: true });
  const steadyS = median(per.slice(1));
  ctx.log(`throughput: ${label}: ${r.rendered} samples in ${wallS.toFixed(1)} s, first ${per[0].toFixed(2)} s, steady ${steadyS.toFixed(2)} s`);
  return { label, samples: r.rendered, wallS, firstS: per[0], steadyS, perSampleS: per };
}

async function cyclesFrame(ctx: BenchContext): Promise<{ renderS: number; wallS: number } | { skipped: string }> {
  const blender = findBlender();
  if (!blender) return { skipped: 'Blender not found (no `blender` on PATH and no `VLS_BLENDER`)' };
  if (!fs.existsSync(SHARED_ASSETS)) return { skipped: '../shared/assets not found (the real scan)' };
  const scene = SCENES.find((s) => s.head === LPS && s.name === 'lps-studio-front') ?? SCENES.find((s) => s.head === LPS)!;
  const dir = path.join(ctx.tmpDir, 'throughput-cycles');
  fs.mkdirSync(dir, { recursive: true });
  const renderer = await Renderer.launch({ backend: ctx.opts.backend });
  try {
    const sample = await renderer.renderSample(sceneSpec(scene, SIZE));
    const bs = await blenderScene(sample, dir, CYCLES_SPP, [0], 'ours');
    const sceneJson = path.join(dir, 'scene.json');
    fs.writeFileSync(sceneJson, JSON.stringify(bs, null, 1));
    const t0 = performance.now();
    await runBlender(blender, sceneJson, path.join(dir, 'blender.log'));
    const wallS = (performance.now() - t0) / 1000;
    const res = JSON.parse(fs.readFileSync(bs.resultJson, 'utf8')) as BlenderResult;
    ctx.log(`throughput: Cycles ${CYCLES_SPP} spp ${SIZE}² (${scene.name}): render ${res.renders[0].renderS.toFixed(1)} s, Blender wall ${wallS.toFixed(1)} s`);
    return { renderS: res.renders[0].renderS, wallS };
  } finally {
    await renderer.close();
  }
}

export const throughputSection: Section = {
  name: 'throughput',
  title: 'Throughput of scenes/default.json against a Cycles frame',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const samples = Math.max(3, ctx.opts.batchSamples);
    const shipped = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'scenes', 'default.json'), 'utf8')) as BatchConfigInput & { $schema?: string };
    delete shipped.$schema;
    const base: BatchConfigInput = { ...shipped, width: SIZE, height: SIZE, samples, workers: 1, shardSize: samples };
    const cpu = new CpuAccount();
    const t0 = performance.now();
    const runs: Run[] = [];
    runs.push(await batchRun(ctx, 'scenes/default.json, procedural head', 'procedural', { ...base, name: 'bench-throughput-procedural', heads: ['procedural'] }));
    runs.push(await batchRun(ctx, 'scenes/default.json as shipped (a new ICT identity per sample, or a drawn procedural person without the ICT model)', 'default', { ...base, name: 'bench-throughput-default' }));
    const cyc = await cyclesFrame(ctx);
    const load = cpu.stop();
    const cyclesS = 'renderS' in cyc ? cyc.renderS : NaN;
    const table: Table = {
      title: `Complete ${SIZE}² triplet samples (3 lightings, every pass of the config, written), ${samples} per run, one worker, empty cache`,
      columns: ['run', 'first sample, s', 'steady state, s / sample (median after the first)', 'wall incl. browser start, s', `Cycles ${CYCLES_SPP}-spp frame / our sample`],
      rows: runs.map((r) => [r.label, r.firstS.toFixed(2), r.steadyS.toFixed(2), r.wallS.toFixed(1), Number.isFinite(cyclesS) ? `${(cyclesS / r.steadyS).toFixed(2)}× (goal ≥ 5×)` : '–']),
    };
    const intro = [
      `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${ctx.system.cpuModel}, ${ctx.system.cores} cores; section took ${((performance.now() - t0) / 1000).toFixed(0)} s. ${load ? `CPU: this bench ${(100 * load.ownShare).toFixed(1)} %, other processes ${(100 * load.otherShare).toFixed(1)} %.` : ''}`,
      'scenes/default.json as shipped except size (512²), sample count and one worker: random camera, crops (probability 0.5, rendered up to 1/0.7 larger), eq. 9 triplets with 1-3 point lights, environment background, the fidelity features on (environment sources as shadowed lights, visibility, bounce, GGX chain).',
      'renderS' in cyc
        ? `Cycles: Blender's own render time for one ${CYCLES_SPP}-spp ${SIZE}² frame of the real scan (fidelity scene lps-studio-front, CPU, no denoising) = **${cyclesS.toFixed(1)} s** (Blender wall incl. start and glTF import ${cyc.wallS.toFixed(1)} s).`
        : `Cycles frame: **skipped** (${cyc.skipped}).`,
    ];
    return {
      intro,
      tables: [table],
      notes: ['A population config pays each new identity once (ICT mesh, textures and the visibility ray trace, ~15-35 s on 2 cores), and every sample draws a new one: that cost is inside its steady state. Per-sample times come from each sample.json (`run.timingsMs.total`).'],
      data: { size: SIZE, samples, runs, cycles: cyc },
    };
  },
};
