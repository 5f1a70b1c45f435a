// Who a sample shows, as one key shared by the dataset card and the server's filters: a drawn ICT
// head is its identity weights (the same person under another expression, gaze or skin draw is
// the same identity), any other head its id.
import crypto from 'node:crypto';
import { stableStringify } from '../assets/ict/params.js';

export function identityKeyOf(head: { id?: string; ref?: string; params?: { identity?: unknown } | null }): string {
  const w = head.params?.identity;
  if (Array.isArray(w)) return `ict-identity-${crypto.createHash('sha256').update(stableStringify(w)).digest('hex').slice(0, 12)}`;
  return head.id ?? head.ref ?? '(unknown)';
}
