// npm postinstall: delegate to the TypeScript setup script through tsx (a dependency).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
let tsxCli;
try {
  tsxCli = require.resolve('tsx/cli');
} catch {
  console.warn('virtual-light-stage: tsx is not installed yet; run `npm run setup` after installing.');
  process.exit(0);
}
const r = spawnSync(process.execPath, [tsxCli, 'scripts/setup.ts'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
