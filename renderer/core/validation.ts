// Error text for schema failures, shared by every config, spec and record schema.
import type { z } from 'zod';

/** One line per zod issue: `<where>: field "a.b": message`. */
export function formatZodIssues(error: z.ZodError, where: string): string {
  return error.issues.map((i) => `${where}: field "${i.path.join('.') || '(root)'}": ${i.message}`).join('\n');
}

/** Validates `raw` against `schema`; on failure throws one line per issue (formatZodIssues). */
export function parseWithSchema<S extends z.ZodType>(schema: S, raw: unknown, where: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(formatZodIssues(r.error, where));
  return r.data;
}
