import { notFound, type Reply } from './envelope.js';

/** What both KV engines share: listing the direct children of a prefix, and a plain-object test. */

/** Lists the direct children of a prefix among keys; folders end in "/". */
export function listKeys(keys: Iterable<string>, prefix: string): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const rest = k.slice(prefix.length);
    if (rest === '') continue;
    const slash = rest.indexOf('/');
    out.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
  }
  return [...out].sort();
}

/** A LIST answer; an empty list is a 404, as in Vault. */
export function listReply(keys: string[]): Reply {
  if (keys.length === 0) throw notFound();
  return { data: { keys } };
}

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
