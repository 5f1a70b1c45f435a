// What every route module gets from the app: the roots it may serve and the job manager.
import type { FileRoot } from './files.js';
import type { JobManager } from './jobs.js';

export interface AppContext {
  outputRoot: string;
  assetRoots: FileRoot[];
  jobs: JobManager;
  cacheRoot?: string;
}
