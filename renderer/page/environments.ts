// Browser-only. Environment cubes, loaded from the lat-long maps Node serves and cached by URL,
// cube size and prefiltering (most recently used kept).
import { EquirectFloatCubeTexture } from './env-texture.js';
import { scene } from './scene.js';
import type { PageEnvironment } from '../core/protocol.js';

const envs = new Map<string, Promise<EquirectFloatCubeTexture>>();

// Mixed lightings (eq. 9) make a new map for nearly every render: keep only the most recently
// used cubes (a cube is ~2 MB at 128² and 6 faces), else a long batch grows without bound.
const MAX_CACHED_ENVS = 8;

function evictEnvironments(): void {
  while (envs.size > MAX_CACHED_ENVS) {
    const [oldKey, oldTex] = envs.entries().next().value as [string, Promise<EquirectFloatCubeTexture>];
    envs.delete(oldKey);
    oldTex.then((t) => {
      if (scene.environmentTexture !== t) t.dispose();
    }, () => undefined);
  }
}

export function getEnvironment(env: PageEnvironment): Promise<EquirectFloatCubeTexture> {
  const key = `${env.url}|${env.cubeSize}|${env.prefilter}`;
  let p = envs.get(key);
  if (p) {
    envs.delete(key); // move to the most recent end
    envs.set(key, p);
  } else {
    p = new Promise<EquirectFloatCubeTexture>((resolve, reject) => {
      const tex: EquirectFloatCubeTexture = new EquirectFloatCubeTexture(
        env.url,
        scene,
        env.cubeSize,
        env.prefilter,
        () => resolve(tex),
        (msg?: string) => reject(new Error(`environment ${env.url} failed to load: ${msg ?? 'unknown error'}`)),
      );
    });
    p.catch(() => envs.delete(key));
    envs.set(key, p);
    evictEnvironments();
  }
  return p;
}
