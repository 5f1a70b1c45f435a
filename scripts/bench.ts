// npm run bench [-- --sizes 256,512,1024 --repeats 3 --only renderer --out BENCHMARKS.md --json FILE]
//
// Benchmarks, organised as named sections. Each section is a function that returns tables
// (rows of cells) plus raw data; the script prints every section as Markdown, and with --out
// rewrites only that section's block in the file, between
//   <!-- bench:NAME:start --> and <!-- bench:NAME:end -->
// so sections run separately (or added later: OLAT relighting, batch throughput, ...) keep
// each other's numbers. This file is the CLI; the sections live in scripts/bench/ (renderer, batch,
// olat, fidelity/), with the shared contract and probes in scripts/bench/lib.ts and the Markdown
// output in scripts/bench/markdown.ts. Add a section: write a `Section` there and list it in SECTIONS.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { BACKENDS, type Backend } from '../renderer/engine/browser.js';
import { type BenchOptions, type BenchContext, type Section, systemInfo } from './bench/lib.js';
import { FILE_INTRO, replaceBlock, sectionMarkdown } from './bench/markdown.js';
import { rendererSection } from './bench/renderer.js';
import { batchSection } from './bench/batch.js';
import { olatSection } from './bench/olat.js';
import { fidelitySection } from './bench/fidelity/section.js';
import { headsSection } from './bench/heads.js';
import { olatModeSection } from './bench/olat-mode.js';
import { throughputSection } from './bench/throughput.js';

// ---------------------------------------------------------------------------------------
// Options

function parseIntList(v: string): number[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 16 || n > 4096)) {
    throw new Error(`--sizes: expected comma-separated integers in 16..4096, got "${v}"`);
  }
  return out;
}

function parsePositiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got "${v}"`);
    return n;
  };
}

function parseBackend(name: string, allowAuto: boolean) {
  return (v: string): Backend | 'auto' => {
    const ok = allowAuto ? [...BACKENDS, 'auto'] : BACKENDS;
    if (!ok.includes(v as Backend)) throw new Error(`${name}: unknown backend "${v}" (use ${ok.join(', ')})`);
    return v as Backend | 'auto';
  };
}

// ---------------------------------------------------------------------------------------
// Sections registry

const SECTIONS: Section[] = [rendererSection, batchSection, olatSection, fidelitySection, headsSection, olatModeSection, throughputSection];

// ---------------------------------------------------------------------------------------
// Main

const program = new Command()
  .name('bench')
  .description('Benchmark the renderer (and later sections) and write the tables to BENCHMARKS.md.')
  .option('--sizes <list>', 'image sizes (square), comma-separated', parseIntList, [256, 512, 1024])
  .option('--repeats <n>', 'measured samples per size (after one warm-up)', parsePositiveInt('--repeats'), 3)
  .option('--backend <name>', 'WebGL backend: auto, gpu, llvmpipe, swiftshader', parseBackend('--backend', true), 'auto')
  .option('--compare <backend>', 'second backend compared at 512 px in the same run', parseBackend('--compare', false), 'swiftshader')
  .option('--no-compare', 'skip the backend comparison')
  .option('--compare-repeats <n>', 'measured samples for the comparison backend (default: half of --repeats, at least 1)', parsePositiveInt('--compare-repeats'))
  .option('--no-split-wait', 'do not separate the GPU wait from readPixels (report the page timings as they are)')
  .option('--only <sections>', `sections to run, comma-separated (${SECTIONS.map((s) => s.name).join(', ')})`)
  .option('--batch-samples <n>', 'batch section: 512 px training samples per throughput run', parsePositiveInt('--batch-samples'), 6)
  .option('--leak-samples <n>', 'batch section: samples of the long run measuring worker memory (0 = skip)', (v: string) => Number(v), 500)
  .option('--leak-size <n>', 'batch section: image size of the long run', parsePositiveInt('--leak-size'), 64)
  .option('--spp <n>', 'fidelity section: Cycles samples per pixel', parsePositiveInt('--spp'), 128)
  .option('--size <n>', 'fidelity section: image size (square)', parsePositiveInt('--size'), 512)
  .option('--scenes <names>', 'fidelity section: scenes to run, comma-separated (default: all)')
  .option('--out <file>', "rewrite these sections' blocks in a Markdown file (e.g. BENCHMARKS.md)")
  .option('--json <file>', 'also write the raw numbers as JSON')
  .option('--quiet', 'no progress on stderr', false)
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  // Commander's values are BenchOptions except the two it cannot derive.
  const o = program.opts<Omit<BenchOptions, 'only' | 'compareRepeats'> & { only?: string; compareRepeats?: number }>();
  const only = o.only ? o.only.split(',').map((s) => s.trim()).filter(Boolean) : null;
  for (const n of only ?? []) {
    if (!SECTIONS.some((s) => s.name === n)) throw new Error(`--only: unknown section "${n}" (known: ${SECTIONS.map((s) => s.name).join(', ')})`);
  }
  const opts: BenchOptions = {
    ...o,
    compareRepeats: o.compareRepeats ?? Math.max(1, Math.ceil(o.repeats / 2)),
    only,
  };
  const log = opts.quiet ? () => undefined : (m: string) => console.error(m);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-bench-'));
  const ctx: BenchContext = { opts, system: systemInfo(), tmpDir, log };
  const t0 = performance.now();
  const results: { name: string; markdown: string; data: unknown }[] = [];
  try {
    for (const s of SECTIONS) {
      if (only && !only.includes(s.name)) continue;
      log(`== ${s.name}`);
      const r = await s.run(ctx);
      results.push({ name: s.name, markdown: sectionMarkdown(s, r), data: r.data });
    }
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  const totalS = (performance.now() - t0) / 1000;
  log(`bench finished in ${totalS.toFixed(0)} s`);

  for (const r of results) console.log(`${r.markdown}\n`);
  if (opts.out) {
    const file = path.resolve(opts.out);
    let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : FILE_INTRO;
    for (const r of results) doc = replaceBlock(doc, r.name, r.markdown);
    fs.writeFileSync(file, doc);
    log(`updated ${path.relative(process.cwd(), file) || file}`);
  }
  if (opts.json) {
    const file = path.resolve(opts.json);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const sections = Object.fromEntries(results.map((r) => [r.name, r.data]));
    fs.writeFileSync(file, JSON.stringify({ totalS, options: opts, sections }, null, 2));
    log(`wrote ${path.relative(process.cwd(), file) || file}`);
  }
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
