// Node-only. Reading JSON inputs (specs, configs, descriptors) with errors that name the file.
import fs from 'node:fs';
import type { z } from 'zod';

/** Reads and parses `file`; errors read `<what> <file> cannot be read / is not valid JSON: ...`. */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** One line per zod issue: `<where>: field "a.b": message`. */
export function formatZodIssues(error: z.ZodError, where: string): string {
  return error.issues.map((i) => `${where}: field "${i.path.join('.') || '(root)'}": ${i.message}`).join('\n');
}
