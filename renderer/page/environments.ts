// Browser-only. Environment cubes, fetched from the page server and cached by URL (most recently
// used kept).
import type { RawCubeTexture } from '@babylonjs/core/Materials/Textures/rawCubeTexture.js';
import { createEnvCube } from './env-texture.js';
import { scene } from './scene.js';
import type { PageEnvironment } from '../core/protocol.js';

const envs = new Map<string, Promise<RawCubeTexture>>();

// Mixed lightings (eq. 9) make a new environment for nearly every render: keep only the most
// recently used cubes (~2 MB each at 128² with mips), else a long batch grows without bound.
const MAX_CACHED_ENVS = 8;

function evictEnvironments(): void {
  while (envs.size > MAX_CACHED_ENVS) {
    const [oldKey, oldTex] = envs.entries().next().value as [string, Promise<RawCubeTexture>];
    envs.delete(oldKey);
    oldTex.then((t) => {
      if (scene.environmentTexture !== t) t.dispose();
    }, () => undefined);
  }
}

export function getEnvironment(env: PageEnvironment): Promise<RawCubeTexture> {
  const key = env.url;
  let p = envs.get(key);
  if (p) {
    envs.delete(key); // move to the most recent end
    envs.set(key, p);
  } else {
    p = (async () => {
      const res = await fetch(env.url);
      if (!res.ok) throw new Error(`environment ${env.url} failed to load: HTTP ${res.status}`);
      return createEnvCube(scene, await res.arrayBuffer(), env.sh, env.url);
    })();
    p.catch(() => envs.delete(key));
    envs.set(key, p);
    evictEnvironments();
  }
  return p;
}
