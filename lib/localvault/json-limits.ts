/**
 * Vault's JSON payload limits (listener "tcp": max_json_depth, max_json_string_value_length,
 * max_json_object_entry_count, max_json_array_element_count), checked on the raw body before it is
 * parsed, with Vault's defaults and error texts. A body that does not start with `{` or `[` is
 * not checked (as in Vault); JSON.parse still validates everything afterwards.
 */

export interface JsonLimits {
  maxDepth: number;
  /** In bytes of the raw (still escaped) string. */
  maxStringValueLength: number;
  maxObjectEntryCount: number;
  maxArrayElementCount: number;
}

/** Vault's documented defaults. */
export const DEFAULT_JSON_LIMITS: JsonLimits = {
  maxDepth: 500,
  maxStringValueLength: 1024 * 1024,
  maxObjectEntryCount: 10_000,
  maxArrayElementCount: 10_000,
};

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Returns Vault's error text for the first limit the body breaks, or undefined when it keeps them all. */
export function jsonLimitViolation(body: Buffer, limits: JsonLimits): string | undefined {
  let i = 0;
  while (i < body.length && isSpace(body[i])) i++;
  if (i >= body.length || (body[i] !== 0x7b && body[i] !== 0x5b)) return undefined;
  // Per open container: 1 = object, 2 = array; and its entry/element count and whether a key is next.
  const kinds: number[] = [];
  const counts: number[] = [];
  let keyNext = false;
  const countValue = (): string | undefined => {
    const top = kinds.length - 1;
    if (top >= 0 && kinds[top] === 2 && ++counts[top] > limits.maxArrayElementCount) return 'JSON array exceeds allowed element count';
    return undefined;
  };
  for (; i < body.length; i++) {
    const b = body[i];
    if (b === 0x7b || b === 0x5b) {
      const err = countValue();
      if (err) return err;
      if (kinds.length + 1 > limits.maxDepth) return 'JSON input exceeds allowed nesting depth';
      kinds.push(b === 0x7b ? 1 : 2);
      counts.push(0);
      keyNext = b === 0x7b;
    } else if (b === 0x7d || b === 0x5d) {
      kinds.pop();
      counts.pop();
      keyNext = false;
    } else if (b === QUOTE) {
      let j = i + 1;
      while (j < body.length && body[j] !== QUOTE) j += body[j] === BACKSLASH ? 2 : 1;
      if (j - i - 1 > limits.maxStringValueLength) return 'JSON string value exceeds allowed length';
      const top = kinds.length - 1;
      if (top >= 0 && kinds[top] === 1 && keyNext) {
        if (++counts[top] > limits.maxObjectEntryCount) return 'JSON object exceeds allowed entry count';
        keyNext = false;
      } else {
        const err = countValue();
        if (err) return err;
      }
      i = j;
    } else if (b === 0x2c) {
      keyNext = kinds[kinds.length - 1] === 1;
    } else if (!isSpace(b) && b !== 0x3a) {
      // A number or literal: one value, however many bytes.
      let j = i;
      while (j + 1 < body.length && !isSpace(body[j + 1]) && body[j + 1] !== 0x2c && body[j + 1] !== 0x7d && body[j + 1] !== 0x5d) j++;
      if (j - i + 1 > limits.maxStringValueLength) return 'JSON number value exceeds allowed length';
      const err = countValue();
      if (err) return err;
      i = j;
    }
  }
  return undefined;
}
