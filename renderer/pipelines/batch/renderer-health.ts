// Node-only. Whether a failed sample's error came from a broken renderer (replace it and retry the
// sample) rather than from the sample itself: the shard runner's retry policy (run.ts).
import { RendererError, type Renderer } from '../../engine/renderer.js';

const RETRYABLE_KINDS = new Set<RendererError['kind']>(['crash', 'closed', 'timeout', 'context-lost']);

function timeout<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

/** Did this error come from a broken renderer (replace it and retry) rather than from the sample? */
export async function rendererBroken(renderer: Renderer | null, err: unknown): Promise<boolean> {
  if (!renderer) return true; // failed to launch
  if (err instanceof RendererError && RETRYABLE_KINDS.has(err.kind)) return true;
  if (renderer.failed) return true;
  if (err instanceof RendererError && err.kind === 'page') {
    // A dying browser first rejects the pending call with a protocol error ('page'); the
    // 'disconnected' event may come a moment later. Probe the page to tell the two apart.
    const alive = await Promise.race([renderer.evaluate(() => true).then(() => true, () => false), timeout(5000, false)]);
    return !alive || !!renderer.failed;
  }
  return false;
}

