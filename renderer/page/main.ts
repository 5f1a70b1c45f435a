// Browser-only entry point, bundled by esbuild (renderer/engine/bundle.ts) and served by Node.
// Exposes window.vls: Node drives it through page.evaluate. One scene (scene.ts), kept warm
// across samples; heads and environment maps are loaded once and cached by key. A sample render
// is render.ts, an OLAT capture olat.ts.
import { Matrix } from '@babylonjs/core/Maths/math.vector.js';
import { initScene, info, isContextLost, stats } from './scene.js';
import { render } from './render.js';
import { olat } from './olat.js';
import { headGeometry, setHeadVisibility } from './visibility.js';

declare global {
  interface Window {
    vls: { render: typeof render; olat: typeof olat; info: typeof info; headGeometry: typeof headGeometry; setHeadVisibility: typeof setHeadVisibility; isContextLost: () => boolean; stats: typeof stats; ready: boolean };
  }
}

// Every module above has loaded (Babylon's side-effect imports included) before the engine exists.
initScene();

window.vls = { render, olat, info, headGeometry, setHeadVisibility, isContextLost, stats, ready: true };
// Keep Matrix referenced for tree-shaking stability of math helpers used by head.ts.
void Matrix;
