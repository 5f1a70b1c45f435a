// Node-only. The ids a dataset URL may carry: dataset names [A-Za-z0-9._-]+ (not starting with a
// dot), sample ids \d{6,}, lighting keys / folders [A-Za-z0-9_-]{1,64}.
export const DATASET_RE = /^[A-Za-z0-9._-]+$/;
export const SAMPLE_RE = /^\d{6,}$/;
export const KEY_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function validDatasetName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 200 && DATASET_RE.test(s) && !s.startsWith('.');
}
