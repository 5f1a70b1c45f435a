// Skips with a reason that shows: the spec reporter prints it after the test title, and the
// pending summary (test/support/pending-summary.ts) groups pending tests by it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Context, Runnable, Suite } from 'mocha';
import { PROJECT_ROOT } from '../../renderer/io/paths.js';

/** ../shared/assets relative to the repo root (absent on a fresh machine). */
export const SHARED_ASSETS = path.resolve(PROJECT_ROOT, '..', 'shared', 'assets');

type WithReason = { vlsSkipReason?: string };

function markTests(suite: Suite, reason: string): void {
  for (const t of suite.tests) {
    if ((t as WithReason).vlsSkipReason === undefined) {
      (t as WithReason).vlsSkipReason = reason;
      t.title += ` [skipped: ${reason}]`;
    }
  }
  for (const s of suite.suites) markTests(s, reason);
}

/**
 * `this.skip()` with a reason. In a test it skips the test; in a `before` hook, every test of
 * the suite (and its sub-suites).
 */
export function skipBecause(ctx: Context, reason: string): never {
  const r = ctx.test as Runnable | undefined;
  if (r && (r as unknown as { type?: string }).type === 'hook' && r.parent) {
    (r.parent as Suite & WithReason).vlsSkipReason = reason;
    markTests(r.parent, reason);
  } else if (r) {
    (r as Runnable & WithReason).vlsSkipReason = reason;
    r.title += ` [skipped: ${reason}]`;
  }
  ctx.skip();
}

/** Reason a pending test was skipped (its own, or a before hook's on an enclosing suite). */
export function skipReasonOf(r: Runnable): string | undefined {
  let node: (Runnable | Suite | undefined) & WithReason = r;
  while (node) {
    if (node.vlsSkipReason) return node.vlsSkipReason;
    node = node.parent as Suite & WithReason;
  }
  return undefined;
}

/** Whether `cmd` runs (`cmd args`, exit 0). */
export function hasCommand(cmd: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Whether an executable named `name` is on PATH. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, name)));
}

/** Whether /usr/bin/python3 imports every module in `modules`. */
export function pythonHas(modules: string[], py = '/usr/bin/python3'): boolean {
  return fs.existsSync(py) && hasCommand(py, ['-c', `import ${modules.join(', ')}`]);
}
