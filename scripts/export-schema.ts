// npm run export-schema: writes scenes/batch.schema.json (JSON Schema of batch configs, from
// the zod schema in renderer/pipelines/batch/config.ts; defaults are in the descriptions).
import path from 'node:path';
import { batchConfigJsonSchema } from '../renderer/pipelines/batch/config.js';
import { writeJsonAtomic } from '../renderer/io/fs-atomic.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';

const arg = process.argv[2];
if (arg === '--help' || arg === '-h' || (arg?.startsWith('-') ?? false)) {
  // A flag is not an output path: print usage instead of writing a file named "--help".
  console.log('Usage: export-schema [file]\n\nWrite the JSON Schema of batch configs.\n\nArguments:\n  file  output file (default: "scenes/batch.schema.json")');
  process.exit(arg === '--help' || arg === '-h' ? 0 : 1);
}
const out = path.resolve(arg ?? path.join(PROJECT_ROOT, 'scenes', 'batch.schema.json'));
await writeJsonAtomic(out, batchConfigJsonSchema());
console.log(out);
