// npm run olat-relight -- <stack.olat> --env builtin:studio@90 [--env MAP@ROT@INTENSITY ...] --out DIR
// npm run olat-relight -- <stack.olat> --triplets 100 --seed 1 --out DIR
// Relights a captured OLAT stack and writes the results as ordinary dataset samples.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { readStack } from '../renderer/pipelines/olat/stack-io.js';
import { Relighter, RELIGHT_ROUTES, type RelightRoute } from '../renderer/pipelines/olat/relight.js';
import { writeRelitSample, writeRelitTriplet, loadLightingMaps, TRIPLET_ROLES } from '../renderer/pipelines/olat/relit-sample.js';
import { lightingWeights } from '../renderer/core/rig.js';
import { sampleLightingTriplet, type Lighting } from '../renderer/core/lighting.js';
import { Rng } from '../renderer/core/rng.js';
import { DEFAULT_ENV_MAPS, LightingDistributionSchema } from '../renderer/pipelines/batch/config.js';
import { resolveEnvMap } from '../renderer/io/envmap-io.js';
import { SAMPLES_DIR, stableStringify } from '../renderer/dataset/layout.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}
function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name}: expected an integer >= ${min}, got "${v}"`);
    return n;
  };
}

const program = new Command()
  .name('olat-relight')
  .description('Relight an OLAT stack (relit = sum of weight_i x OLAT_i, weights = the lighting integrated over each light\'s Voronoi cell) and write dataset samples.')
  .argument('<stack>', 'stack file written by olat-capture')
  .option('--env <MAP[@ROT[@INTENSITY]]>', 'an environment (builtin:NAME or .hdr/.exr path), rotation in degrees about +Y, intensity; repeat for several samples', collect, [])
  .option('--triplets <n>', "write n samples of the video paper's lighting triplets (environments + point lights) in the batch layout", int('--triplets', 0), 0)
  .option('--env-maps <list>', `maps the triplets draw from, comma-separated (default ${DEFAULT_ENV_MAPS.join(',')}; a folder adds its .hdr/.exr)`)
  .option('--seed <n>', 'seed of the triplet draws', int('--seed', 0), 0)
  .option('--start <n>', 'index of the first triplet sample', int('--start', 0), 0)
  .option('--route <name>', `relight route: ${RELIGHT_ROUTES.join(', ')}`, 'wasm')
  .option('--threads <n>', 'worker threads (1 = this thread)', int('--threads', 1), 1)
  .option('--batch <n>', 'target lightings per pass over the stack', int('--batch', 1), 16)
  .option('--background <mode>', 'transparent or environment', 'transparent')
  .option('--head-radius <m>', 'head radius for the point-light distribution and encodings', (v) => Number(v), 0.1)
  .option('--out <dir>', 'output folder (default output/relit/<stack name>)')
  .option('--overwrite', 'replace existing sample folders (single --env samples)', false)
  .option('--info', 'print the stack header and exit', false)
  .showHelpAfterError();

program.parse();
const o = program.opts<{
  env: string[];
  triplets: number;
  envMaps?: string;
  seed: number;
  start: number;
  route: RelightRoute;
  threads: number;
  batch: number;
  background: string;
  headRadius: number;
  out?: string;
  overwrite: boolean;
  info: boolean;
}>();
const stackFile = path.resolve(program.args[0]);

function parseEnv(spec: string): Lighting {
  const [map, rot, intensity] = spec.split('@');
  const rotationDeg = rot === undefined ? 0 : Number(rot);
  const k = intensity === undefined ? 1 : Number(intensity);
  if (!map || !Number.isFinite(rotationDeg) || !(k >= 0)) throw new Error(`--env "${spec}": expected MAP[@ROT[@INTENSITY]]`);
  return { environment: [{ map: map.startsWith('builtin:') || path.isAbsolute(map) ? map : path.resolve(map), rotationDeg, intensity: k, weight: 1 }], pointLights: [] };
}

async function main(): Promise<void> {
  if (!RELIGHT_ROUTES.includes(o.route)) throw new Error(`--route: unknown route "${o.route}" (use ${RELIGHT_ROUTES.join(', ')})`);
  if (o.background !== 'transparent' && o.background !== 'environment') throw new Error('--background: transparent or environment');
  const t0 = performance.now();
  const stack = readStack(stackFile);
  const h = stack.header;
  if (o.info) {
    const { sections, rig, shots, ...rest } = h;
    const oneEach = shots.every((s, i) => s.length === 1 && s[0] === i);
    console.log(JSON.stringify({ ...rest, shots: oneEach ? `one light per image (${shots.length})` : shots, rig: { name: rig.name, description: rig.description, lights: rig.lights.length, centre: rig.centre }, sections }, null, 2));
    return;
  }
  if (o.env.length === 0 && o.triplets === 0) throw new Error('nothing to do: give --env MAP[@ROT[@INTENSITY]] and/or --triplets N');
  const out = path.resolve(o.out ?? path.join('output', 'relit', path.basename(stackFile, path.extname(stackFile))));
  const relighter = await Relighter.create({ imageCount: h.imageCount, pixelCount: h.pixelCount, images: stack.images }, { route: o.route, threads: o.threads, batch: o.batch });
  console.error(`${path.basename(stackFile)}: ${h.imageCount} lights (${h.rig.name}), ${h.width}x${h.height}, ${h.pixelCount} covered pixels; route ${relighter.route}, ${relighter.threads} thread(s), ${relighter.batch} targets per pass (loaded in ${(performance.now() - t0).toFixed(0)} ms)`);
  try {
    const rig = h.rig;
    if (o.env.length) {
      const lightings = o.env.map(parseEnv);
      const loadMap = await loadLightingMaps(lightings);
      const weights = lightings.map((l) => lightingWeights(rig, l, loadMap));
      const tr = performance.now();
      const relit = await relighter.relight(weights);
      const relightMs = performance.now() - tr;
      for (const [k, lighting] of lightings.entries()) {
        const dir = path.join(out, `relit-${String(k).padStart(3, '0')}`);
        await writeRelitSample(dir, { stack, stackFile, lighting, weights: weights[k], relit: relit[k], relighter, background: o.background as 'transparent' | 'environment', id: `relit-${k}` }, { overwrite: o.overwrite, headRadius: o.headRadius });
        console.log(dir);
      }
      console.error(`relit ${lightings.length} lighting(s) in ${relightMs.toFixed(1)} ms`);
    }
    if (o.triplets > 0) {
      const dist = LightingDistributionSchema.parse({ H: { headRadius: o.headRadius } });
      const mapIds = (await Promise.all((o.envMaps ? o.envMaps.split(',') : DEFAULT_ENV_MAPS).map((r) => resolveEnvMap(r.trim())))).flat().map((r) => r.ref);
      const H = { ...dist.H, headCentre: [...rig.centre] as [number, number, number] };
      const perPass = Math.max(1, Math.floor(relighter.batch / 3));
      let relightMs = 0;
      let written = 0;
      fs.mkdirSync(path.join(out, SAMPLES_DIR), { recursive: true });
      const manifest = fs.openSync(path.join(out, 'manifest.jsonl'), 'a');
      try {
        for (let at = o.start; at < o.start + o.triplets; at += perPass) {
          const idx = Array.from({ length: Math.min(perPass, o.start + o.triplets - at) }, (_, k) => at + k);
          const triplets = idx.map((i) =>
            sampleLightingTriplet(Rng.forSample(o.seed, i, 'lighting'), mapIds, {
              G: { intensityRange: dist.G.intensityRange, rotationRange: dist.G.rotationDeg },
              H: { ...H, count: dist.H.count, maxDistance: dist.H.maxDistance, intensityRange: dist.H.intensityRange, lightRadius: dist.H.lightRadius },
              betaShape: dist.betaShape,
            }),
          );
          const lightings = triplets.flatMap((t) => TRIPLET_ROLES.map(([, , key]) => t[key]));
          const loadMap = await loadLightingMaps(lightings);
          const weights = lightings.map((l) => lightingWeights(rig, l, loadMap));
          const tr = performance.now();
          const relit = await relighter.relight(weights);
          relightMs += performance.now() - tr;
          for (const [k, i] of idx.entries()) {
            const sample = await writeRelitTriplet(out, i, o.seed, triplets[k], { stack, stackFile, rig, relighter, headRadius: o.headRadius, loadMap }, { weights: weights.slice(k * 3, k * 3 + 3), relit: relit.slice(k * 3, k * 3 + 3) });
            const { run: _run, files, ...rest } = sample as Record<string, unknown> & { files: string[] };
            fs.writeSync(manifest, stableStringify({ ...rest, files: files.map((f) => `${SAMPLES_DIR}/${sample.id as string}/${f}`) }) + '\n');
            written++;
          }
        }
      } finally {
        fs.closeSync(manifest);
      }
      console.error(`wrote ${written} triplet sample(s) to ${path.join(out, SAMPLES_DIR)}; relighting took ${relightMs.toFixed(0)} ms in all (${((3 * written) / (relightMs / 1000)).toFixed(0)} relit images/s), the rest is EXR/PNG writing`);
      console.log(out);
    }
  } finally {
    await relighter.close();
  }
}

main().catch((err: Error) => {
  console.error(`olat-relight: ${err.message}`);
  process.exitCode = 1;
});
