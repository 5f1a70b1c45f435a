// Fidelity bench: the scenes (fixed before any result was looked at; all are reported) and the
// sample spec each one becomes for our renderer.
import path from 'node:path';
import { parseSampleSpec, type SampleSpec, type SampleSpecInput } from '../../../renderer/core/spec.js';
import { PROJECT_ROOT } from '../../../renderer/io/paths.js';

export interface FidelityScene {
  name: string;
  /** 'procedural' or a head folder. */
  head: string;
  yawDeg: number;
  pitchDeg?: number;
  environment: { map: string; rotationDeg?: number; intensity?: number }[];
  pointLights?: { position: [number, number, number]; color?: [number, number, number]; intensity: number; radius?: number }[];
}

export const LPS = 'assets/heads/lee_perry_smith';
export const PROC = 'procedural';
/** A Poly Haven map of ../shared/assets/envmaps (resolved from the repository root). */
export const sharedMap = (name: string) => path.join(PROJECT_ROOT, '..', 'shared', 'assets', 'envmaps', `${name}.hdr`);

export const SCENES: FidelityScene[] = [
  { name: 'lps-studio-front', head: LPS, yawDeg: 0, environment: [{ map: 'studio_small_03_1k' }] },
  { name: 'lps-studio-turned', head: LPS, yawDeg: 40, environment: [{ map: 'studio_small_03_1k' }] },
  { name: 'lps-sun-front', head: LPS, yawDeg: 0, environment: [{ map: 'rooitou_park_1k' }] },
  { name: 'lps-sun-turned', head: LPS, yawDeg: 40, environment: [{ map: 'rooitou_park_1k', rotationDeg: 90 }] },
  { name: 'lps-soft-front', head: LPS, yawDeg: 0, environment: [{ map: 'venice_sunset_1k' }] },
  { name: 'lps-indoor-turned', head: LPS, yawDeg: 40, environment: [{ map: 'st_fagans_interior_1k' }] },
  { name: 'lps-night-front', head: LPS, yawDeg: 0, environment: [{ map: 'dikhololo_night_1k' }] },
  { name: 'lps-point-turned', head: LPS, yawDeg: 20, environment: [], pointLights: [{ position: [0.35, 0.25, 0.5], color: [1, 0.95, 0.9], intensity: 0.5, radius: 0.02 }] },
  { name: 'proc-studio-front', head: PROC, yawDeg: 0, environment: [{ map: 'studio_small_03_1k' }] },
  { name: 'proc-sun-turned', head: PROC, yawDeg: 40, environment: [{ map: 'rooitou_park_1k' }] },
  { name: 'proc-warehouse-front', head: PROC, yawDeg: 0, environment: [{ map: 'empty_warehouse_01_1k' }] },
  {
    name: 'proc-mix-turned',
    head: PROC,
    yawDeg: -40,
    environment: [{ map: 'kiara_1_dawn_1k', rotationDeg: 120, intensity: 0.8 }, { map: 'studio_small_03_1k', rotationDeg: -60, intensity: 0.4 }],
    pointLights: [{ position: [-0.4, 0.2, 0.45], intensity: 0.2, radius: 0.02 }],
  },
];
/** Scenes that also get a second Cycles render (another seed) for the noise floor. */
export const NOISE_FLOOR_SCENES = ['lps-studio-front', 'lps-sun-front'];
/** Background alignment: background = environment in both, a rotated map with structure. */
export const BACKGROUND_SCENE: FidelityScene = { name: 'bg-venice-turned', head: PROC, yawDeg: 40, environment: [{ map: 'venice_sunset_1k', rotationDeg: 60 }] };
export const BACKGROUND_SPP = 16; // camera rays that miss the head see the world without noise

export function sceneSpec(s: FidelityScene, size: number, background: 'transparent' | 'environment' = 'transparent'): SampleSpec {
  const input: SampleSpecInput = {
    id: s.name,
    head: s.head,
    width: size,
    height: size,
    camera: { yawDeg: s.yawDeg, pitchDeg: s.pitchDeg ?? 0 },
    lighting: {
      environment: s.environment.map((l) => ({ map: l.map.startsWith('builtin:') || l.map.includes('/') ? l.map : sharedMap(l.map), rotationDeg: l.rotationDeg ?? 0, intensity: l.intensity ?? 1 })),
      pointLights: s.pointLights ?? [],
    },
    background,
    passes: ['beauty', 'mask'],
  };
  return parseSampleSpec(input, `fidelity scene ${s.name}`);
}


export function mapsLabel(s: FidelityScene): string {
  const env = s.environment.map((l) => `${l.map.replace(/^builtin:/, '').replace(/_1k$/, '')}${l.rotationDeg ? `@${l.rotationDeg}°` : ''}${(l.intensity ?? 1) !== 1 ? `x${l.intensity}` : ''}`);
  const pts = (s.pointLights ?? []).map(() => 'point');
  return [...env, ...pts].join(' + ') || '–';
}

export function headLabel(s: FidelityScene): string {
  return s.head === PROC ? 'procedural' : path.basename(s.head);
}
