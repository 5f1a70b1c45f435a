// npm run olat-capture -- [--rig olat114] [--head procedural] [--size 512] [--yaw 0 ...] [--out FILE]
// Captures an OLAT stack (one head, one camera pose, every light of a rig alone) into one file.
import path from 'node:path';
import { Command } from 'commander';
import { Renderer } from '../renderer/engine/renderer.js';
import type { Backend } from '../renderer/engine/browser.js';
import { makeRig, RIG_DEFAULTS, RIG_PRESETS } from '../renderer/core/rig.js';
import { captureStack } from '../renderer/pipelines/olat/capture.js';
import { writeStack } from '../renderer/pipelines/olat/stack-io.js';

function num(name: string, check: (n: number) => boolean = Number.isFinite) {
  return (v: string): number => {
    const n = Number(v);
    if (!check(n)) throw new Error(`${name}: invalid value "${v}"`);
    return n;
  };
}
const positiveInt = (name: string) => num(name, (n) => Number.isInteger(n) && n > 0);
const positive = (name: string) => num(name, (n) => Number.isFinite(n) && n > 0);

const program = new Command()
  .name('olat-capture')
  .description('Capture an OLAT stack: the head lit by each light of a virtual light stage alone (linear HDR, half float), plus albedo, normal, depth and mask once, in one .olat file.')
  .option('--rig <name>', `rig: ${Object.keys(RIG_PRESETS).join(', ')} or fibonacci:N`, 'olat114')
  .option('--distance <m>', 'light distance from the head centre, metres', positive('--distance'), RIG_DEFAULTS.distance)
  .option('--irradiance <E>', 'irradiance each light delivers at the head centre', positive('--irradiance'), RIG_DEFAULTS.irradiance)
  .option('--light-size <m>', 'emitter radius, metres', num('--light-size', (n) => n >= 0), RIG_DEFAULTS.size)
  .option('--min-elevation <deg>', 'no lights below this elevation (-90 = full sphere)', num('--min-elevation'), -90)
  .option('--head <ref>', "head: 'procedural' or a head folder / head.json", 'procedural')
  .option('--size <px>', 'image width and height', positiveInt('--size'), 512)
  .option('--yaw <deg>', 'camera yaw (0 = in front, + toward +X)', num('--yaw'), 0)
  .option('--pitch <deg>', 'camera pitch (+ = above)', num('--pitch'), 0)
  .option('--roll <deg>', 'camera roll', num('--roll'), 0)
  .option('--camera-distance <m>', 'camera distance from the target, metres', positive('--camera-distance'), 0.75)
  .option('--fov <deg>', 'vertical field of view, degrees', positive('--fov'), 25)
  .option('--shadow-map <px>', 'shadow map size per light', positiveInt('--shadow-map'), 1024)
  .option('--subsurface', 'Babylon PBR translucency on (see README)', false)
  .option('--backend <name>', 'WebGL backend: auto, gpu, llvmpipe, swiftshader (env VLS_BACKEND)', 'auto')
  .option('--out <file>', 'stack file (default output/olat/<head>-<rig>-<size>px.olat)')
  .option('--quiet', 'print only the output path and errors', false)
  .showHelpAfterError();

program.parse();
const o = program.opts<{
  rig: string;
  distance: number;
  irradiance: number;
  lightSize: number;
  minElevation: number;
  head: string;
  size: number;
  yaw: number;
  pitch: number;
  roll: number;
  cameraDistance: number;
  fov: number;
  shadowMap: number;
  subsurface: boolean;
  backend: Backend | 'auto';
  out?: string;
  quiet: boolean;
}>();

async function main(): Promise<void> {
  const rig = makeRig(o.rig, { distance: o.distance, irradiance: o.irradiance, size: o.lightSize, minElevationDeg: o.minElevation });
  const headName = path.basename(o.head).replace(/\.json$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
  const out = path.resolve(o.out ?? path.join('output', 'olat', `${headName}-${rig.name.replace(':', '')}-${o.size}px.olat`));
  const log = o.quiet ? undefined : (m: string) => console.error(m);
  const renderer = await Renderer.launch({ backend: o.backend, log });
  try {
    const t0 = performance.now();
    const stack = await captureStack(renderer, {
      head: o.head,
      width: o.size,
      height: o.size,
      camera: { yawDeg: o.yaw, pitchDeg: o.pitch, rollDeg: o.roll, distance: o.cameraDistance, fovYDeg: o.fov },
      rig,
      shadowMapSize: o.shadowMap,
      subsurface: o.subsurface,
    });
    const captureMs = performance.now() - t0;
    const h = writeStack(out, stack);
    const t = (stack.header.capture.timings as { page: { shadowMs: number; drawMs: number; readMs: number; intrinsicsMs: number } }).page;
    log?.(
      `${rig.lights.length} lights (${rig.name}, ${o.distance} m) at ${o.size}x${o.size}: captured in ${(captureMs / 1000).toFixed(1)} s ` +
        `(${(captureMs / rig.lights.length).toFixed(0)} ms per light; page: intrinsics ${t.intrinsicsMs.toFixed(0)} ms, shadows ${t.shadowMs.toFixed(0)}, draw ${t.drawMs.toFixed(0)}, readback ${t.readMs.toFixed(0)})`,
    );
    log?.(
      `${h.pixelCount} covered pixels (${((100 * h.pixelCount) / (o.size * o.size)).toFixed(1)} %); file ${(h.bytes.file / 2 ** 20).toFixed(1)} MiB per pose ` +
        `(OLAT ${(h.bytes.olat / 2 ** 20).toFixed(1)} MiB = ${(h.bytes.perImage / 2 ** 10).toFixed(0)} KiB per light, intrinsics ${(h.bytes.intrinsics / 2 ** 20).toFixed(1)} MiB)`,
    );
    console.log(out);
  } finally {
    await renderer.close();
  }
}

main().catch((err: Error) => {
  console.error(`olat-capture: ${err.message}`);
  process.exitCode = 1;
});
