// npm run export-schema: writes scenes/batch.schema.json (JSON Schema of batch configs, from
// the zod schema in renderer/node/batch/config.ts; defaults are in the descriptions).
import path from 'node:path';
import { batchConfigJsonSchema } from '../renderer/node/batch/config.js';
import { writeJsonAtomic } from '../renderer/node/fs-atomic.js';
import { PROJECT_ROOT } from '../renderer/node/bundle.js';

const out = path.resolve(process.argv[2] ?? path.join(PROJECT_ROOT, 'scenes', 'batch.schema.json'));
await writeJsonAtomic(out, batchConfigJsonSchema());
console.log(out);
