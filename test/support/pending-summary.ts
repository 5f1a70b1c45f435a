// Mocha root-hook plugin (.mocharc.json "require"): after the spec reporter's totals, prints the
// pending tests grouped by skip reason, e.g. "7 pending: redis-server not installed (...)", so
// a run on a machine without the optional tools says what it did not test.
import type { Runnable, Suite } from 'mocha';
import { skipReasonOf } from './skip.js';

let root: Suite | undefined;

export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    let s = this.test?.parent;
    while (s?.parent) s = s.parent;
    root = s;
  },
};

function pendingTests(s: Suite, out: Runnable[] = []): Runnable[] {
  for (const t of s.tests) if (t.isPending()) out.push(t);
  for (const c of s.suites) pendingTests(c, out);
  return out;
}

/** Runs after the reporter's epilogue. */
export function mochaGlobalTeardown(): void {
  if (!root) return;
  const byReason = new Map<string, number>();
  for (const t of pendingTests(root)) {
    const r = skipReasonOf(t) ?? 'no reason given';
    byReason.set(r, (byReason.get(r) ?? 0) + 1);
  }
  if (byReason.size === 0) return;
  const total = [...byReason.values()].reduce((a, b) => a + b, 0);
  const lines = [...byReason.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => `  ${n} pending: ${r}`);
  console.log(`\n${total} pending test(s) by reason:\n${lines.join('\n')}\n`);
}
