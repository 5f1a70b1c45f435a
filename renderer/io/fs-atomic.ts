/**
 * Atomic file writes: data goes to `${path}.tmp-${pid}-${random}` in the same directory,
 * is fsync'd, then renamed over `path` (rename is atomic within one filesystem on POSIX).
 * On any failure the temp file is removed and the error names the destination path.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** Temp-file name used for an atomic write of `dest` (same directory). */
export function tempPathFor(dest: string): string {
  return `${dest}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Pattern matching temp names produced by {@link tempPathFor}. */
export const TEMP_SUFFIX_RE = /\.tmp-\d+-[0-9a-f]{12}$/;

export interface AtomicWriteOptions {
  /** File mode for the new file (default 0o644, subject to umask). */
  mode?: number;
  /** fsync the file before rename (default true) and the directory after (best effort). */
  fsync?: boolean;
}

/**
 * Write `data` to `dest` atomically. Readers see either the old file or the complete new
 * one, never a partial file. Rejects with an Error whose message starts with the
 * destination path; the original error is attached as `cause`.
 */
export async function writeFileAtomic(
  dest: string,
  data: string | Uint8Array | readonly Uint8Array[],
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const doSync = opts.fsync ?? true;
  const tmp = tempPathFor(dest);
  let handle: fsp.FileHandle | undefined;
  let created = false;
  try {
    handle = await fsp.open(tmp, 'wx', opts.mode ?? 0o644);
    created = true;
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await handle.writeFile(data);
    } else {
      for (const part of data) await handle.write(part);
    }
    if (doSync) await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, dest);
    created = false;
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    if (created) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    const wrapped = new Error(`${dest}: atomic write failed: ${e?.message ?? String(err)}`, { cause: err });
    (wrapped as NodeJS.ErrnoException).code = e?.code;
    throw wrapped;
  }
  if (doSync) await fsyncDir(path.dirname(dest));
}

/** Write `value` as pretty JSON (2-space indent, trailing newline) atomically. */
export async function writeJsonAtomic(dest: string, value: unknown, opts: AtomicWriteOptions & { space?: number } = {}): Promise<void> {
  const text = JSON.stringify(value, null, opts.space ?? 2);
  if (text === undefined) throw new TypeError(`${dest}: value is not JSON-serialisable`);
  await writeFileAtomic(dest, text + '\n', opts);
}

/** Best-effort directory fsync so the rename itself is durable (ignored where unsupported). */
async function fsyncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    /* not supported on this platform / filesystem: ignore */
  } finally {
    if (h) await h.close().catch(() => undefined);
  }
}
