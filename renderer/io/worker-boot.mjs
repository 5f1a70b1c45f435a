// Entry of the project's TypeScript worker threads (olat/relight.ts, assets/visibility.ts); plain
// JavaScript on purpose, and nothing but a loader.
// Node 20 does not apply tsx's loader (inherited through execArgv) to a worker's entry or its
// imports (tsx issue #354, node issue #47747), so a TypeScript worker module is loaded here with
// tsx's own API (the project's dependency); a compiled .js module is imported directly.
// workerData: { entry: file URL of the worker module }.
import { workerData } from 'node:worker_threads';

const { entry } = workerData;
if (/\.[mc]?ts$/.test(new URL(entry).pathname)) {
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(entry, import.meta.url);
} else await import(entry);
