// Commander argument parsers shared by the CLIs. Each returns the value or throws commander's
// InvalidArgumentError, which commander prints as `error: option '--x <n>' argument 'v' is
// invalid. <message>` (exit 1).
import { InvalidArgumentError } from 'commander';

/** An integer >= min ("expected a positive integer" for min 1). */
export function intAtLeast(min: number): (v: string) => number {
  const what = min === 1 ? 'a positive integer' : `an integer >= ${min}`;
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
}

/** A finite number >= min. */
export function numberAtLeast(min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`expected a number >= ${min}`);
    return n;
  };
}

/** A TCP port, 0 (any free one) to 65535. */
export function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return n;
}
