// Names that become folder names (dataset names, sequence names, sample ids): one path
// segment that can never leave the folder it is joined to. "." and ".." (and any dot-only name)
// would resolve to the root itself or its parent, and a leading dot makes a hidden folder the file
// routes refuse to serve, so a name must start with a letter, digit, "_" or "-".
import { z } from 'zod';

/** Longest accepted name: folder names are at most 255 bytes, and temp suffixes get appended. */
export const MAX_NAME_LENGTH = 128;

export const SAFE_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
export const SAFE_NAME_MESSAGE = 'letters, digits, ".", "_" and "-" only, not starting with "." (so not "." or "..")';

export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && SAFE_NAME_RE.test(name);
}

/** The zod field of such a name. */
export function safeNameSchema() {
  return z.string().max(MAX_NAME_LENGTH).regex(SAFE_NAME_RE, SAFE_NAME_MESSAGE);
}

/** A file name turned into a default name: unsafe characters -> "_", leading dots dropped. */
export function nameFromFile(base: string, fallback: string): string {
  const n = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, MAX_NAME_LENGTH);
  return n || fallback;
}
