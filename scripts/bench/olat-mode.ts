// Bench section "olat-mode": the light-stage dataset mode against direct rendering, samples per
// second for 1, 4, 16 and 64 lightings (triplet samples) per pose. Every run is a real batch
// (runBatch: written, finalized) with an empty cache, one worker, the passes OLAT mode writes;
// the direct run renders the same passes. Wall times include one browser start per run.
import fs from 'node:fs';
import path from 'node:path';
import { parseBatchConfig, type BatchConfigInput } from '../../renderer/pipelines/batch/config.js';
import { runBatch } from '../../renderer/pipelines/batch/run.js';
import { OLAT_PASSES } from '../../renderer/pipelines/batch/olat-schema.js';
import { type BenchContext, type Section, type SectionResult, type Table } from './lib.js';

const SIZE = 128;

function base(name: string, samples: number): BatchConfigInput {
  return {
    name,
    heads: ['procedural'],
    envMaps: ['builtin:studio', 'builtin:city', 'builtin:sunset', 'builtin:forest'],
    width: SIZE,
    height: SIZE,
    samples,
    seed: 11,
    shardSize: samples,
    workers: 1,
    augment: { cropProbability: 0 },
    passes: [...OLAT_PASSES],
  };
}

async function timed(ctx: BenchContext, name: string, raw: BatchConfigInput): Promise<{ samples: number; wallS: number }> {
  const dir = path.join(ctx.tmpDir, name);
  const cacheRoot = path.join(ctx.tmpDir, `${name}-cache`);
  const t0 = performance.now();
  const r = await runBatch(parseBatchConfig(raw), { outDir: dir, backend: ctx.opts.backend, renderer: { cacheRoot } });
  const wallS = (performance.now() - t0) / 1000;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(cacheRoot, { recursive: true, force: true });
  ctx.log(`olat-mode: ${name}: ${r.rendered} samples in ${wallS.toFixed(1)} s`);
  return { samples: r.rendered, wallS };
}

export const olatModeSection: Section = {
  name: 'olat-mode',
  title: 'Light-stage dataset mode (OLAT stacks) against direct rendering',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const rows: { label: string; samples: number; wallS: number }[] = [];
    const direct = await timed(ctx, 'direct', base('direct', 4));
    rows.push({ label: 'direct rendering', ...direct });
    for (const perPose of [1, 4, 16, 64]) {
      const samples = Math.max(4, perPose);
      const r = await timed(ctx, `olat-${perPose}`, { ...base(`olat-${perPose}`, samples), olat: { rig: 'olat114', lightingsPerPose: perPose, shadowMapSize: 512 } });
      rows.push({ label: `OLAT mode, ${perPose} per pose (${samples / perPose} pose${samples / perPose > 1 ? 's' : ''})`, ...r });
    }
    const d = direct.samples / direct.wallS;
    const table: Table = {
      title: `Triplet samples at ${SIZE}×${SIZE} (${OLAT_PASSES.join(', ')}), procedural head, olat114 rig (512² shadow maps), one worker, empty caches`,
      columns: ['run', 'samples', 'wall (s)', 'samples/s', 'vs direct'],
      rows: rows.map((r) => {
        const sps = r.samples / r.wallS;
        return [r.label, String(r.samples), r.wallS.toFixed(1), sps.toFixed(3), `${(sps / d).toFixed(2)}×`];
      }),
    };
    return {
      intro: ['Each run is a whole batch (`runBatch`: plan, render or capture + relight, write, finalize) with its own empty cache, so a pose\'s stack capture (114 lights, each with its shadow map) is paid once per pose; wall times include one browser start.'],
      tables: [table],
      notes: ['OLAT mode writes no diffuse/specular split and no segmentation (a stack holds beauty per light); its lightings differ from direct renders where point lights fall between rig lights (test/olat-batch.test.ts: 27-29 dB for triplet targets with point lights, 30-31 dB for environments at 96 px).'],
      data: { size: SIZE, rows },
    };
  },
};
